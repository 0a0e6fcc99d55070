"""`cnnlint confirm` on the CPU with a tiny model and a tiny .npz (well under a minute)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, k3):
    folder = tmp_path_factory.mktemp("confirm")
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, 300)
    x = rng.normal(0, 1, (300, 8, 8, 1)).astype("float32")
    for c in range(3):
        x[y == c, c * 2 : c * 2 + 3, :3, 0] += 1.5
    np.savez(folder / "data.npz", x_train=x[:240], y_train=y[:240], x_val=x[240:], y_val=y[240:])
    np.savez(folder / "wide.npz", x=np.zeros((10, 9, 9, 1), "float32"), y=np.zeros(10, "int64"))
    np.savez(folder / "labels.npz", x=np.zeros((10, 8, 8, 1), "float32"), y=np.full(10, 7))
    L = k3.layers
    model = k3.Sequential([k3.Input((8, 8, 1)), L.Conv2D(8, 3, activation="relu"), L.Flatten(),
                           L.Dense(32, activation="relu"), L.Dense(3, activation="softmax")])  # fmt: skip
    model.save(folder / "tiny.keras")
    before = (folder / "tiny.keras").read_bytes()
    lam = k3.Sequential([k3.Input((8, 8, 1)), L.Lambda(lambda t: t * 2.0), L.Flatten(), L.Dense(3)])
    lam.save(folder / "lambda.keras")
    return folder, before


def confirm(folder, *args, env=None):
    return run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"), "--epochs", "4", *args,
                   env=env)  # fmt: skip


def test_confirm_json_has_curves_verdict_and_leaves_the_file_alone(tiny):
    folder, before = tiny
    result = confirm(folder, "--format", "json", "--samples", "120")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)["models"][0]
    c = model["confirm"]
    assert c["train_samples"] == 120 and c["val_samples"] == 60 and c["epochs_run"] == 4
    assert len(c["history"]["val_accuracy"]) == 4
    assert c["device"] == "CPU" and c["backend"] == "tensorflow"
    assert c["verdict"] in ("confirmed", "over-predicted", "under-predicted", "inconclusive", "no-prediction")
    assert c["measured_gap"] == pytest.approx(c["train_accuracy"] - c["val_accuracy"], abs=1e-3)
    assert model["dataset"]["samples"] == 120
    assert (folder / "tiny.keras").read_bytes() == before  # never trains or rewrites the user's file


def test_the_static_estimate_is_for_the_same_run_and_measures_the_data(tiny):
    pytest.importorskip("sklearn")
    folder, _ = tiny
    result = confirm(folder, "--format", "json", "--samples", "120", "--full-epochs", "10", "--batch-size", "16")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)["models"][0]
    assert model["probes"] is not None and model["probes"]["samples"] == 120
    assert model["risk"]["uses_probes"] is True
    assert any("planned run of 80 optimizer steps" in note for note in model["risk"]["notes"])  # 10 x 120/16


def test_seed_makes_it_deterministic(tiny):
    folder, _ = tiny
    runs = [json.loads(confirm(folder, "--format", "json", "--seed", "7").stdout)["models"][0]["confirm"]["history"]
            for _ in range(2)]  # fmt: skip
    assert runs[0] == runs[1]


def test_probe_and_text_output(tiny, tmp_path):
    folder, _ = tiny
    result = confirm(folder, "--probe")
    assert result.returncode == 0, result.stderr
    assert "probe: shuffled labels reach" in result.stdout and "trained 4 epochs" in result.stdout
    md = confirm(folder, "--probe", "--format", "markdown").stdout
    assert "**Shuffled-label probe**: the same 4 epochs on shuffled labels reach" in md and "memorization ratio" in md
    out = tmp_path / "probe.html"
    assert confirm(folder, "--probe", "--format", "html", "-o", str(out)).returncode == 0
    assert "<h3>Shuffled-label probe</h3>" in out.read_text()


def test_html_report_shows_learning_curves(tiny, tmp_path):
    folder, _ = tiny
    out = tmp_path / "confirm.html"
    assert confirm(folder, "--format", "html", "-o", str(out)).returncode == 0
    html = out.read_text()
    assert "Confirm run: learning curves" in html and html.count("<polyline") >= 6
    assert "Gap: measured, then forecast to epoch 50" in html and "<polygon" in html  # the forecast's band
    data_cell = re.search(r"<h3>Training data</h3>.*?<tr><td class=\"mono\">([^<]*)</td>", html, re.S)
    assert data_cell and data_cell.group(1) == str(folder / "data.npz")  # the Data column, as the lint fills it


def test_lambda_is_refused_without_trust_code(tiny):
    folder, _ = tiny
    result = run_cli("confirm", str(folder / "lambda.keras"), "--data", str(folder / "data.npz"), "--epochs", "1")
    assert result.returncode == 2 and "Lambda" in result.stderr and "--trust-code" in result.stderr
    trusted = run_cli("confirm", str(folder / "lambda.keras"), "--data", str(folder / "data.npz"), "--epochs", "1",
                      "--trust-code")  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr


@pytest.mark.parametrize("data, message", [("wide.npz", "the model takes 8x8x1"),
                                           ("labels.npz", "the model's output has 3 units (3 classes)"),
                                           ("missing.npz", "no such data")])  # fmt: skip
def test_bad_data_is_one_line(tiny, data, message):
    folder, _ = tiny
    result = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / data))
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _sees_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_device_gpu_without_gpu_is_one_line(tiny, backend):
    """Under JAX, Keras imports TensorFlow when seeding; its start-up chatter must not reach stderr either."""
    pytest.importorskip(backend)
    if _sees_gpu():
        pytest.skip("this machine has a GPU")
    folder, _ = tiny
    result = confirm(folder, "--device", "gpu", env={"KERAS_BACKEND": backend})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"cnnlint: error: --device gpu, but the {backend} backend sees no GPU"


def test_api_confirm_with_arrays(tiny, k3):
    import types

    import cnnlint
    import cnnlint.confirmation  # the package the API runs: importing it leaves the function in place

    assert isinstance(cnnlint.confirm, types.FunctionType)

    folder, _ = tiny
    with np.load(folder / "data.npz") as d:
        report, result = cnnlint.confirm(str(folder / "tiny.keras"), d["x_train"], d["y_train"], epochs=2,
                                         x_val=d["x_val"], y_val=d["y_val"])  # fmt: skip
    assert result.epochs_run == 2 and result.train_samples == 240 and result.val_samples == 60
    assert result.forecast is None or result.forecast["epochs_done"] == 2
    assert report.graph["trainable_params"] == 8 * 9 + 8 + 6 * 6 * 8 * 32 + 32 + 32 * 3 + 3


def test_progress_bar_on_stderr(tiny, k3, capfd):
    import cnnlint

    folder, _ = tiny
    with np.load(folder / "data.npz") as d:
        cnnlint.confirm(str(folder / "tiny.keras"), d["x_train"], d["y_train"], epochs=3, progress=True)
    err = capfd.readouterr().err
    assert "confirm: epoch 3/3 " in err and " left" in err and "\r\033[K" in err


def _default_sigint() -> None:
    """A shell that starts a job in the background makes it ignore SIGINT, and children inherit that; Ctrl-C
    in a terminal never reaches such a process.  Give the child the default handling a terminal user has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_leaves_no_half_written_output(tiny, tmp_path):
    folder, _ = tiny
    out = tmp_path / "never.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlint", "confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"),
         "--epochs", "100000", "--format", "json", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
    )  # fmt: skip
    time.sleep(12)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_python_swallows_still_stops_the_training():
    """A KeyboardInterrupt raised inside a garbage-collector callback is only printed ("Exception ignored"), which
    let a confirm run train on after Ctrl-C; the flag the handler sets makes the next batch raise it again."""
    import gc
    import os

    from cnnlint.confirmation import training

    def collecting(phase, info):
        if phase == "start":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here, inside the callback, and its exception is swallowed

    # what a user's `cnnlint confirm` has: Python's own handler (earlier tests in this process may have set another)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with training.ctrl_c_stops_training():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # its handler is installed
            training.raise_if_interrupted()  # nothing yet
            gc.callbacks.append(collecting)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(collecting)
            with pytest.raises(KeyboardInterrupt):
                training.raise_if_interrupted()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        training.raise_if_interrupted()  # the next run starts afresh
    finally:
        signal.signal(signal.SIGINT, previous)


def test_full_epochs_trains_the_fraction_and_prints_a_forecast_and_verdict(tiny):
    folder, _ = tiny
    result = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"), "--full-epochs", "50",
                     "--no-early-stop")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "trained 10 epochs of a 50-epoch run" in out and "(assumed)" not in out
    # a forecast, or where the forecaster lost to the naive forecast held out, the observed gap and why
    assert re.search(r"forecast: gap at epoch 50 -?\d\.\d{3} \(80 % interval -?\d\.\d{3} to -?\d\.\d{3}\)|"
                     r"forecast: none better than the gap observed so far, -?\d\.\d{3} \(80 % band at epoch 50", out), out
    # a verdict, or (in a build whose risk model file is missing) the forecast with no estimate to compare
    assert re.search(r"^((confirmed|over-predicted|under-predicted|inconclusive): |forecast gap at epoch 50 .*no "
                     r"static estimate to compare)", out, re.M), out  # fmt: skip
    assert "forecast gap (80 % band) at epoch" in out


def test_forecast_in_json_and_markdown_and_early_stop_accounting(tiny):
    folder, _ = tiny
    args = ("--full-epochs", "20", "--fraction", "0.5", "--samples", "120")
    result = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"), *args, "--format",
                     "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    c = json.loads(result.stdout)["models"][0]["confirm"]
    assert c["planned_epochs"] == 10 and c["full_epochs"] == 20 and 2 <= c["epochs_run"] <= 10
    f = c["forecast"]
    assert f["full_epochs"] == 20 and f["epochs_done"] == c["epochs_run"]
    assert f["interval"][0] <= f["gap"] <= f["interval"][1] and f["path"][-1]["epoch"] == 20
    if c["stopped_early"]:
        assert c["budget_saved"] == pytest.approx(1 - c["epochs_run"] / 10, abs=1e-3)
        assert any("saved" in note for note in c["notes"])
    else:
        assert c["epochs_run"] == 10 and c["budget_saved"] == 0
    md = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"), *args, "--format",
                 "markdown").stdout  # fmt: skip
    assert "**Confirm run**" in md and "| 20 (forecast) |" in md
    chart = md.split("```mermaid\n")[1].split("```")[0]  # the gap chart: measured, then the forecast and its band
    assert chart.startswith("xychart-beta") and chart.count("    line [") == 3 and "to epoch 20" in chart
    epochs = chart.split('x-axis "epoch" [')[1].split("]")[0].count(",") + 1
    assert all(line.count(",") + 1 == epochs for line in chart.splitlines() if line.startswith("    line ["))


def test_no_full_epochs_assumes_a_default_and_says_so(tiny):
    folder, _ = tiny
    result = confirm(folder)
    assert result.returncode == 0, result.stderr
    assert "epoch run (assumed)" in result.stdout and "pass --full-epochs" in result.stdout


def test_full_epochs_from_the_config(tmp_path, monkeypatch):
    from cnnlint.commands import configured_full_epochs
    from cnnlint.config import find_config, load_config

    (tmp_path / "cnnlint.toml").write_text('full-epochs = 40\n[[models]]\npath = "big/*.keras"\nfull-epochs = 90\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(find_config())
    assert configured_full_epochs(config, str(tmp_path / "big" / "m.keras")) == 90
    assert configured_full_epochs(config, str(tmp_path / "small.keras")) == 40


def test_x_val_beside_x_and_y_validates_so_every_row_can_train(tiny, tmp_path):
    folder, _ = tiny
    with np.load(folder / "data.npz") as d:
        np.savez(tmp_path / "xy.npz", x=d["x_train"], y=d["y_train"], x_val=d["x_val"], y_val=d["y_val"])
    result = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(tmp_path / "xy.npz"), "--epochs", "1",
                     "--samples", "240", "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    c = json.loads(result.stdout)["models"][0]["confirm"]
    assert c["train_samples"] == 240 and c["val_samples"] == 60


def test_too_many_samples_says_what_the_split_took_and_what_to_change(tiny, tmp_path):
    folder, _ = tiny
    with np.load(folder / "data.npz") as d:
        np.savez(tmp_path / "xy.npz", x=d["x_train"], y=d["y_train"])  # 240 rows, no validation rows
    result = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(tmp_path / "xy.npz"), "--samples", "240")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    line = result.stderr
    assert "--samples 240 is more than the 192 training samples" in line and "--val-split 0.2 holds out 48" in line
    assert "--samples 192 or fewer" in line and "x_val/y_val" in line
    with_val = run_cli("confirm", str(folder / "tiny.keras"), "--data", str(folder / "data.npz"), "--samples", "241")
    assert with_val.returncode == 2 and "the 240 training samples in the data" in with_val.stderr
