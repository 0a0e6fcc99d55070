"""What a new user reads when something is missing or mistyped: one line that says what it is and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

from tests.conftest import REPO

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
