"""``cnnlint.keras.GapForecast`` inside real ``model.fit`` runs (small models, the CPU, a few seconds each).

TensorFlow in this process; JAX and PyTorch in a subprocess with KERAS_BACKEND set, skipped where the backend is
not installed.  The framework-free part (``ForecastState``) is tested without Keras.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnlint.forecast import Forecast, load_forecaster
from cnnlint.keras import LOG_KEYS, ForecastState
from tests.conftest import REPO

EPOCHS = 4


def data(n: int = 192, seed: int = 0) -> tuple:
    """Three classes of 8x8 images, learnable, with some label noise so the gap can open."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, n)
    x = rng.normal(0, 1, (n, 8, 8, 1)).astype("float32")
    for c in range(3):
        x[y == c, c * 2 : c * 2 + 3, :3, 0] += 1.5
    flip = rng.rand(n) < 0.2
    y[flip] = rng.randint(0, 3, flip.sum())
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 :]


def small_model(k3, seed: int = 0):
    k3.utils.set_random_seed(seed)
    L = k3.layers
    model = k3.Sequential([k3.Input((8, 8, 1)), L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dropout(0.2),
                           L.Dense(32, activation="relu"), L.Dense(3, activation="softmax")])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit(k3, callbacks: list, epochs: int = EPOCHS, verbose: int = 0, seed: int = 0):
    x, y, xv, yv = data(seed=seed)
    model = small_model(k3, seed)
    history = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=32, verbose=verbose,
                        callbacks=callbacks)  # fmt: skip
    return model, history


def test_importing_the_module_imports_no_framework():
    code = ("import sys, cnnlint.keras; bad = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules];"
            " print(bad); from cnnlint.keras import GapForecast; print('keras' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "True"]


def test_logs_carry_the_forecast_each_epoch(k3):
    from cnnlint.keras import GapForecast

    x, y, _, _ = data()
    callback = GapForecast(full_epochs=20, train_sample=(x, y))
    _, history = fit(k3, [callback])
    h = history.history
    assert all(len(h[key]) == EPOCHS for key in LOG_KEYS)
    assert all(math.isnan(h[key][0]) for key in LOG_KEYS)  # one epoch gives no slope yet
    for mid, low, high in zip(*(h[key][1:] for key in LOG_KEYS)):  # LOG_KEYS: forecast, low, high
        assert -1 <= low <= mid <= high <= 1
    assert callback.forecasts[-1].variant == "eval"  # train_sample: the inference-mode training curve
    assert len(callback.state.history["train_eval_accuracy"]) == EPOCHS


def test_without_train_sample_it_reads_keras_logs_and_needs_no_extra_pass(k3):
    from cnnlint.keras import GapForecast

    callback = GapForecast(full_epochs=20)
    _, history = fit(k3, [callback])
    assert callback.forecasts[-1].variant == "logs" and callback.eval_seconds == 0
    assert "train_eval_accuracy" not in callback.state.history
    assert not math.isnan(history.history["gap_forecast"][-1])


def test_csv_logger_records_the_forecast(k3, tmp_path):
    from cnnlint.keras import GapForecast

    path = tmp_path / "log.csv"
    fit(k3, [GapForecast(full_epochs=20), k3.callbacks.CSVLogger(str(path))])
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert set(LOG_KEYS) <= set(header) and len(lines) == EPOCHS + 1
    last = dict(zip(header, lines[-1].split(",")))
    assert -1 <= float(last["gap_forecast_low"]) <= float(last["gap_forecast"]) <= float(last["gap_forecast_high"])


def test_one_line_per_epoch_after_keras_own_and_none_when_silent(k3, capfd):
    from cnnlint.keras import GapForecast

    x, y, _, _ = data()
    fit(k3, [GapForecast(full_epochs=20, train_sample=(x, y), max_train_samples=50)], verbose=2)
    out = capfd.readouterr().out.splitlines()
    ours = [i for i, line in enumerate(out) if line.startswith("GapForecast epoch ")]
    assert len(ours) == EPOCHS
    keras_lines = [i for i, line in enumerate(out) if "val_loss" in line and not line.startswith("GapForecast")]
    assert len(keras_lines) == EPOCHS
    assert all(k < o for k, o in zip(keras_lines, ours))  # each epoch: Keras's line, then ours
    assert all(o < k for o, k in zip(ours, keras_lines[1:]))  # ... before the next epoch's
    assert any("on 50 samples after each epoch" in line and "of the epoch's time" in line for line in out)
    assert "forecast at epoch 20" in out[ours[-1]] or "observed" in out[ours[-1]]

    fit(k3, [GapForecast(full_epochs=20)], verbose=0)
    assert "GapForecast" not in capfd.readouterr().out
    fit(k3, [GapForecast(full_epochs=20, verbose=0)], verbose=2)
    assert "GapForecast" not in capfd.readouterr().out


def test_stop_above_stops_like_early_stopping(k3):
    from cnnlint.keras import GapForecast

    # every lower bound is above -1: it stops at the first forecast (epoch 2), or after `patience` more epochs
    for patience, stopped in ((0, 2), (1, 3)):
        callback = GapForecast(full_epochs=20, stop_above=-1.0, patience=patience)
        _, history = fit(k3, [callback], epochs=6)
        assert len(history.history["loss"]) == stopped and callback.stopped_epoch == stopped - 1
    never = GapForecast(full_epochs=20, stop_above=1.0)
    _, history = fit(k3, [never], epochs=EPOCHS)
    assert len(history.history["loss"]) == EPOCHS and never.stopped_epoch == 0


def test_restore_best_weights_restores_the_best_epoch(k3):
    from cnnlint.keras import GapForecast

    class Snapshots(k3.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())

    snapshots = Snapshots()
    callback = GapForecast(full_epochs=20, restore_best_weights=True, monitor="val_loss")
    model, history = fit(k3, [callback, snapshots], epochs=5)
    best = int(np.argmin(history.history["val_loss"]))
    assert callback.best_epoch == best
    for got, want in zip(model.get_weights(), snapshots.weights[best]):
        np.testing.assert_array_equal(got, want)
    accuracy = GapForecast(full_epochs=20, restore_best_weights=True, monitor="val_accuracy")
    assert not accuracy.minimize


def test_full_epochs_reached_shows_the_measured_gap(k3):
    from cnnlint.keras import GapForecast

    callback = GapForecast(full_epochs=3)
    _, history = fit(k3, [callback], epochs=4)  # trained past the run it forecasts: the measured gap
    assert callback.forecasts[-1].observed
    h = history.history
    assert h["gap_forecast"][-1] == pytest.approx(h["accuracy"][-1] - h["val_accuracy"][-1], abs=1e-6)


# ---- without Keras ----------------------------------------------------------------------------


def test_state_forecasts_from_the_second_epoch_and_stops_on_the_lower_bound():
    forecaster = load_forecaster()
    assert forecaster is not None
    state = ForecastState(forecaster, full_epochs=30, stop_above=0.0, patience=1)
    logs = [{"loss": 1.0 - 0.1 * e, "accuracy": 0.5 + 0.1 * e, "val_loss": 1.1, "val_accuracy": 0.45}
            for e in range(4)]  # fmt: skip
    stops = []
    for epoch, entry in enumerate(logs):
        state.record(entry, "accuracy", None)
        f = state.forecast(classes=3, steps_per_epoch=5)
        assert (f is None) == (epoch == 0)
        stops.append(state.should_stop())
        assert state.line(epoch).startswith(f"GapForecast epoch {epoch + 1}: gap {0.05 + 0.1 * epoch:.3f}")
    low_above = [f is not None and f.interval[0] > 0 for f in state.forecasts]
    assert stops == [False, False, low_above[1] and low_above[2], low_above[2] and low_above[3]]
    assert "forecast from epoch 2" in state.line(0)


def test_state_without_validation_curves_makes_no_forecast():
    state = ForecastState(load_forecaster(), full_epochs=10)
    for _ in range(3):
        state.record({"loss": 1.0}, None, None)
        assert state.forecast(classes=10, steps_per_epoch=None) is None
    with pytest.raises(ValueError):
        ForecastState(load_forecaster(), full_epochs=1)


def test_line_says_when_the_observed_gap_is_shown():
    state = ForecastState(load_forecaster(), full_epochs=10)
    state.record({"loss": 1, "accuracy": 0.9, "val_loss": 1, "val_accuracy": 0.7}, "accuracy", None)
    state.forecasts.append(Forecast(1, 10, 0.2, 0.2, (0.1, 0.4), "logs", observed=True, note="a reason"))
    assert state.line(0).endswith("0.200 observed (80 % 0.100 to 0.400; a reason)")


# ---- other backends --------------------------------------------------------------------------

BACKEND_SCRIPT = """
import json, numpy as np, keras
from cnnlint.keras import GapForecast
from tests.test_keras_callback import data
x, y, xv, yv = data()
keras.utils.set_random_seed(0)
L = keras.layers
model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dropout(0.2),
                          L.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
callback = GapForecast(full_epochs=12, train_sample=(x, y), stop_above=-1.0, patience=1, restore_best_weights=True)
h = model.fit(x, y, validation_data=(xv, yv), epochs=6, batch_size=32, verbose=0, callbacks=[callback]).history
print(json.dumps({"backend": keras.backend.backend(), "epochs": len(h["loss"]), "stopped": callback.stopped_epoch,
                  "forecast": [h[k][-1] for k in ("gap_forecast_low", "gap_forecast", "gap_forecast_high")],
                  "variant": callback.forecasts[-1].variant}))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends(k3, backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu"}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], capture_output=True, text=True, cwd=REPO,
                            env=env, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend and out["epochs"] == 3 and out["stopped"] == 2 and out["variant"] == "eval"
    low, mid, high = out["forecast"]
    assert -1 <= low <= mid <= high <= 1


def test_the_readme_example_runs(k3, tmp_path):
    readme = (REPO / "docs" / "confirm.md").read_text()
    block = readme.split("<!-- gapforecast-example -->")[1].split("<!-- gapforecast-example-end -->")[0]
    code = block.split("```python")[1].split("```")[0]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("GapForecast epoch ") >= 2
    assert "gap_forecast_low" in (tmp_path / "training.csv").read_text().splitlines()[0]
