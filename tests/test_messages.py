"""What a new user reads when something is missing or mistyped: one line that says what it is and what to do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cnnlint.rules import RULES

from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "example2_plain.keras"

# A finder at the front of sys.meta_path that refuses Keras and its backends, as on a machine without them.
WITHOUT_KERAS = textwrap.dedent("""
    import sys

    class NoKeras:
        blocked = ("keras", "tensorflow", "tf_keras", "jax", "torch")

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoKeras())
    from cnnlint.cli import main
    main(sys.argv[1:])
""")


def run_without_keras(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", WITHOUT_KERAS, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)  # fmt: skip


def test_confirm_without_keras_says_what_to_install(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((20, 28, 28, 1), dtype=np.float32), y=np.arange(20) % 10)
    result = run_without_keras("confirm", str(EXAMPLE), "--data", str(tmp_path / "d.npz"), "--epochs", "1",
                               cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "pip install 'cnnlint[confirm]'" in lines[0] and "internal error" not in lines[0]
    assert result.stdout == ""


def test_lint_works_without_keras(tmp_path):
    result = run_without_keras(str(EXAMPLE), "--samples", "2000", "--no-color", cwd=tmp_path)
    assert result.returncode == 1 and "R201" in result.stdout, result.stderr


@pytest.mark.parametrize(("make", "words"), [
    (lambda tmp: tmp / "missing.keras", "1 path not found"),
    (lambda tmp: tmp / "empty", "1 folder without model files"),
    (lambda tmp: tmp / "nothing*.keras", "1 pattern matching no file"),
])  # fmt: skip
def test_a_path_naming_no_model_is_not_an_unreadable_file(tmp_path, make, words):
    (tmp_path / "empty").mkdir()
    result = run_cli(str(make(tmp_path)), str(EXAMPLE), "--samples", "2000", "--no-color")
    assert result.returncode == 2
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.endswith(f"in 1 model; {words}.") and "unreadable" not in summary
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreadable_file_is_still_called_one(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"not a model")
    summary = run_cli(str(tmp_path / "broken.keras"), "--no-color").stdout.strip().splitlines()[-1]
    assert summary.endswith("in 0 models; 1 file unreadable.")


@pytest.mark.parametrize(("args", "expected"), [
    (["examples", "--samples", "abc"], "'--samples' / '-n': expected a whole number, at least 1; got 'abc'"),
    (["examples", "--classes", "1"], "'--classes': expected a whole number, at least 2; got '1'"),
    (["examples", "-j", "two"], "'--jobs' / '-j': expected a whole number, at least 1; got 'two'"),
    (["confirm", "m.keras", "--data", "d.npz", "--val-split", "half"], "expected a number, from 0.01 to 0.9; got 'half'"),
    (["confirm", "m.keras", "--data", "d.npz", "--epochs", "2.5"], "expected a whole number, at least 1; got '2.5'"),
])  # fmt: skip
def test_numbers_that_are_not_numbers(args, expected):
    result = run_cli(*args, cwd=REPO)
    assert result.returncode == 2
    assert expected in result.stderr and "range" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_docs_show_no_rst_literals_in_a_terminal(code):
    text = run_cli("rule", code).stdout
    prose = re.sub(r"```.*?```", "", text, flags=re.S)  # code fences stay as they are
    assert "``" not in prose
    assert f"({code})" in text.splitlines()[0]


def test_data_that_does_not_fit_is_not_called_an_unreadable_file(tmp_path):
    np.savez(tmp_path / "small.npz", x=np.zeros((20, 9, 9, 1), "float32"), y=np.arange(20) % 10)
    result = run_cli(str(EXAMPLE), "--data", str(tmp_path / "small.npz"), "--no-color", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.endswith("in 0 models; 1 model whose data does not fit it.") and "unreadable" not in summary


def test_a_model_whose_configured_data_is_missing_is_counted_as_such(tmp_path):
    import shutil

    shutil.copy(EXAMPLE, tmp_path / "model.keras")
    (tmp_path / "cnnlint.toml").write_text('[[models]]\npath = "*.keras"\nsamples = 2000\ndata = "missing.npz"\n')
    result = run_cli("model.keras", "--no-color", cwd=tmp_path)
    assert result.returncode == 2 and "missing.npz" in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.endswith("1 model whose data could not be read.") and "unreadable" not in summary
