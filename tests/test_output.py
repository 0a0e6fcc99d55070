"""`-o PATH`: atomic over regular files, written through to devices and FIFOs, never over an input file."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from cnnlint.errors import ConfigError
from cnnlint.output import input_ids, write_report
from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "example2_plain.keras"


@pytest.fixture
def model(tmp_path) -> Path:
    return Path(shutil.copy(EXAMPLE, tmp_path / "m.keras"))


def assert_refused(result, model: Path, original: bytes) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert model.read_bytes() == original


def test_output_naming_the_model_is_refused(model):
    original = model.read_bytes()
    result = run_cli(str(model), "-o", str(model))
    assert_refused(result, model, original)
    assert "files being read" in result.stderr


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_output_naming_the_model_through_a_link_is_refused(model, kind):
    original = model.read_bytes()
    link = model.with_name("alias.keras")
    (os.symlink if kind == "symlink" else os.link)(model, link)
    assert_refused(run_cli(str(model.parent), "-o", str(link)), model, original)


def test_output_inside_a_linted_model_folder_is_refused(tmp_path):
    folder = tmp_path / "unzipped"
    folder.mkdir()
    import zipfile

    with zipfile.ZipFile(EXAMPLE) as archive:
        archive.extract("config.json", folder)
    config = folder / "config.json"
    original = config.read_bytes()
    assert_refused(run_cli(str(folder), "-o", str(config)), config, original)


def test_symlink_is_written_through_and_kept(model, tmp_path):
    report = tmp_path / "reports" / "r.json"
    report.parent.mkdir()
    report.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(report)
    assert run_cli(str(model), "--format", "json", "-o", str(link)).returncode in (0, 1)
    assert link.is_symlink() and json.loads(report.read_text())["models"][0]["path"] == str(model)


def test_dangling_symlink_creates_its_target(model, tmp_path):
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "new.json")
    assert run_cli(str(model), "--format", "json", "-o", str(link)).returncode in (0, 1)
    assert link.is_symlink() and json.loads((tmp_path / "new.json").read_text())["models"]


def test_regular_file_is_replaced_atomically_keeping_its_mode(tmp_path):
    target = tmp_path / "r.txt"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    write_report(str(target), "new\n")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode  # replaced, not rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]  # no temporary file left


def test_fifo_is_written_through(model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_cli(str(model), "--format", "json", "-o", str(fifo))
    reader.join(timeout=60)
    assert result.returncode in (0, 1), result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(received[0])["models"][0]["path"] == str(model)


def test_character_device_is_written_through(model):
    assert run_cli(str(model), "-o", "/dev/null").returncode in (0, 1)
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_stdout_targets(model, target):
    result = run_cli(str(model), "--format", "json", "-o", target)
    assert result.returncode in (0, 1) and json.loads(result.stdout)["models"]


@pytest.mark.skipif(not Path("/proc/version").exists(), reason="needs /proc")
def test_unwritable_target_is_one_line(model):
    result = run_cli(str(model), "-o", "/proc/version")
    assert result.returncode == 2 and "cannot write '/proc/version'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "internal error" not in result.stderr


def test_folder_target_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="folder"):
        write_report(str(tmp_path), "x")


def test_input_ids_cover_files_inside_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("1")
    inner = os.stat(tmp_path / "a" / "x")
    assert (inner.st_dev, inner.st_ino) in input_ids([tmp_path])
    with pytest.raises(ConfigError, match="being read"):
        write_report(str(tmp_path / "a" / "x"), "report", input_ids([tmp_path / "a"]))


def test_baseline_target_naming_the_model_is_refused(model):
    original = model.read_bytes()
    assert_refused(run_cli(str(model), "--write-baseline", str(model)), model, original)


def test_baseline_refusal_names_the_baseline_option(model):
    result = run_cli(str(model), "--write-baseline", str(model))
    assert "refusing to write the baseline" in result.stderr and "choose another --write-baseline path" in result.stderr


@pytest.mark.parametrize("exists", [False, True])
def test_output_and_written_baseline_naming_one_file_are_refused(model, tmp_path, exists):
    baseline = tmp_path / "baseline.json"
    if exists:
        assert run_cli(str(model), "--write-baseline", str(baseline)).returncode in (0, 1)
    before = baseline.read_bytes() if exists else None
    result = run_cli(str(model), "--write-baseline", str(baseline), "-o", "baseline.json", cwd=tmp_path)  # two spellings
    assert result.returncode == 2 and "--write-baseline and --output both name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (baseline.read_bytes() if exists else baseline.exists()) == (before if exists else False)


def test_output_naming_the_baseline_read_is_refused(model, tmp_path):
    baseline = tmp_path / "baseline.json"
    assert run_cli(str(model), "--write-baseline", str(baseline)).returncode in (0, 1)
    original = baseline.read_bytes()
    assert_refused(run_cli(str(model), "--baseline", str(baseline), "-o", str(baseline)), baseline, original)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_device_stays_a_device_and_fails_in_one_line(model):
    result = run_cli(str(model), "-o", "/dev/full")
    assert result.returncode == 2 and "cannot write '/dev/full'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_output_naming_the_training_data_is_refused(model, tmp_path):
    """``--data`` is read, so it is an input: a report never replaces it (a file, or anything in a folder)."""
    from tests.probe_data import write_image_folder, write_npz

    data = write_npz(tmp_path / "train.npz", (28, 28, 1), classes=10, n=50) or tmp_path / "train.npz"
    original = data.read_bytes()
    result = run_cli(str(model), "--data", str(data), "-o", str(data))
    assert_refused(result, data, original)
    assert "files being read" in result.stderr
    folder = write_image_folder(tmp_path / "images", (8, 8), classes=2, per_class=3)
    target = next(p for p in folder.rglob("*") if p.is_file())
    original = target.read_bytes()
    assert_refused(run_cli(str(model), "--data", str(folder), "-o", str(target)), target, original)


def planted(tmp_path: Path, inside: str) -> tuple[Path, Path, Path]:
    """A checkout (the working directory) with a model folder, and a file outside it a link points at."""
    checkout, secret = tmp_path / "checkout", tmp_path / "home" / ".bashrc"
    (checkout / "models").mkdir(parents=True)
    shutil.copy(EXAMPLE, checkout / "models" / "m.keras")
    secret.parent.mkdir()
    secret.write_text("original")
    link = checkout / inside
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    return checkout, link, secret


@pytest.mark.parametrize("inside", ["models/report.html", "report.html", "reports/out.html"])
def test_a_planted_link_is_never_written_through(tmp_path, inside):
    """In a linted folder, or in the working directory leading out of it: refused, the target untouched."""
    checkout, link, secret = planted(tmp_path, inside)
    result = run_cli("models", "--format", "html", "-o", inside, cwd=checkout)
    assert result.returncode == 2 and "symlink" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert secret.read_text() == "original" and link.is_symlink()


def test_a_planted_folder_link_is_refused_too(tmp_path):
    checkout, _, secret = planted(tmp_path, "models/x")
    (checkout / "out").symlink_to(secret.parent, target_is_directory=True)
    result = run_cli("models", "-o", "out/.bashrc", cwd=checkout)
    assert result.returncode == 2 and "symlink" in result.stderr and secret.read_text() == "original"


def test_the_target_named_itself_is_written(tmp_path):
    checkout, _, secret = planted(tmp_path, "report.html")
    assert run_cli("models", "--format", "json", "-o", str(secret), cwd=checkout).returncode in (0, 1)
    assert json.loads(secret.read_text())["models"]


def test_reports_are_strict_json_with_nan_in_the_config(tmp_path):
    """JSON has no NaN or Infinity: a config holding them (Python's json writes them) gives null, never a bare
    token that GitHub's SARIF upload or jq would reject."""
    nan = float("nan")
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "drop", "rate": nan}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2, "x": float("inf")}},
    ]}}  # fmt: skip
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    assert "NaN" in path.read_text()

    def strict(text: str):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in the report"))

    for fmt in ("json", "sarif"):
        result = run_cli(str(path), "--samples", "100", "--format", fmt)
        assert result.returncode in (0, 1), result.stderr
        strict(result.stdout)
        assert run_cli(str(path), "--format", fmt, "-o", str(tmp_path / f"r.{fmt}")).returncode in (0, 1)
        strict((tmp_path / f"r.{fmt}").read_text())
    report = strict(run_cli(str(path), "--samples", "100", "--format", "json").stdout)["models"][0]
    rates = [f["evidence"]["rate"] for f in report["findings"] if "rate" in f["evidence"]]
    assert rates == [None]  # the NaN the finding quotes, as JSON can hold it
    strict(run_cli("inspect", str(path), "--format", "json").stdout)
