"""``GapForecast``: the gap forecast as a Keras callback, inside your own ``model.fit``.

    from cnnlint.keras import GapForecast
    model.fit(x, y, validation_data=(x_val, y_val), epochs=10,
              callbacks=[GapForecast(full_epochs=50, train_sample=(x[:2048], y[:2048]))])

Each epoch it adds ``gap_forecast``, ``gap_forecast_low`` and ``gap_forecast_high`` (the forecast gap, train -
validation accuracy, at epoch ``full_epochs``, and its 80 % interval) to the epoch's logs, so History, CSVLogger and
TensorBoard record them (list GapForecast before those callbacks; the keys are NaN until the forecast starts, at
the second epoch).  Keras is imported only when ``GapForecast`` is first used; ``import cnnlint.keras`` alone
imports no ML framework.  Works with every Keras 3 backend (TensorFlow, JAX, PyTorch).
"""

from __future__ import annotations

import math
import time
from typing import Any

from cnnlint.forecast import Forecast, Forecaster, load_forecaster, measured_gaps

#: Training samples evaluated in inference mode per epoch at most (the cost bound of ``train_sample``).
MAX_TRAIN_SAMPLES = 2048
#: The accuracy metric names Keras logs, in the order they are looked for.
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")
LOG_KEYS = ("gap_forecast", "gap_forecast_low", "gap_forecast_high")

__all__ = ["GapForecast", "ForecastState"]  # noqa: F822 - GapForecast is built by __getattr__


class ForecastState:
    """The framework-free part of the callback: the curves so far, the forecast, the stop rule, the printed line."""

    def __init__(self, forecaster: Forecaster, full_epochs: int, stop_above: float | None = None, patience: int = 0):
        if full_epochs < 2:
            raise ValueError("full_epochs must be at least 2")
        self.forecaster, self.full_epochs = forecaster, full_epochs
        self.stop_above, self.patience = stop_above, patience
        self.history: dict[str, list[float]] = {}
        self.forecasts: list[Forecast | None] = []
        self.above = 0

    def record(self, logs: dict[str, Any], accuracy_key: str | None, train_eval: tuple[float, float] | None) -> None:
        pairs = {"loss": "loss", "val_loss": "val_loss"}
        if accuracy_key:
            pairs.update(accuracy=accuracy_key, val_accuracy=f"val_{accuracy_key}")
        for mine, theirs in pairs.items():
            self.history.setdefault(mine, []).append(_number(logs.get(theirs)))
        if train_eval is not None:
            self.history.setdefault("train_eval_loss", []).append(train_eval[0])
            self.history.setdefault("train_eval_accuracy", []).append(train_eval[1])

    def forecast(self, classes: int, steps_per_epoch: int | None) -> Forecast | None:
        """The forecast from every epoch so far (None before the forecaster's minimum or without the curves)."""
        k = len(self.history.get("loss", []))
        complete = all(len(self.history.get(key, [])) == k and not any(map(math.isnan, self.history[key]))
                       for key in ("loss", "val_loss", "accuracy", "val_accuracy"))  # fmt: skip
        result = None
        if complete and k >= self.forecaster.min_epochs:
            if k >= self.full_epochs:
                now = measured_gaps(self.history)[-1]
                result = Forecast(k, k, now, now, (now, now), observed=True, note="the whole run was trained")
            else:
                result = self.forecaster.forecast(self.history, k, self.full_epochs, classes, steps_per_epoch)
        self.forecasts.append(result)
        return result

    def should_stop(self) -> bool:
        """EarlyStopping-like: the forecast's lower bound above ``stop_above`` for ``patience`` + 1 epochs."""
        latest = self.forecasts[-1] if self.forecasts else None
        if self.stop_above is None or latest is None:
            return False
        self.above = self.above + 1 if latest.interval[0] > self.stop_above else 0
        return self.above > self.patience

    def line(self, epoch: int) -> str:
        """The one line printed for ``epoch`` (0-based)."""
        f = self.forecasts[epoch]
        gaps = measured_gaps({k: v[: epoch + 1] for k, v in self.history.items()})
        now = f"gap {gaps[-1]:.3f}" if gaps and not math.isnan(gaps[-1]) else "gap n/a"
        head = f"GapForecast epoch {epoch + 1}: {now}"
        if f is None:
            return f"{head}; forecast from epoch {self.forecaster.min_epochs}"
        band = f"80 % {f.interval[0]:.3f} to {f.interval[1]:.3f}"
        if f.observed:
            return f"{head}; at epoch {self.full_epochs}: {f.gap:.3f} observed ({band}; {f.note})"
        return f"{head}; forecast at epoch {self.full_epochs}: {f.gap:.3f} ({band})"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _classes(model: Any) -> int:
    try:
        units = model.output_shape[-1]
    except (AttributeError, IndexError, TypeError, ValueError):
        units = None
    return 2 if not units or units == 1 else int(units)


def _print(text: str) -> None:
    try:  # Keras's own printer: stdout, or absl logging where interactive logging is off
        from keras.src.utils.io_utils import print_msg
    except ImportError:
        print(text, flush=True)
        return
    print_msg(text)


def _sample(data: Any, most: int, seed: int) -> tuple[Any, Any] | None:
    """At most ``most`` (x, y) pairs of ``data``, a random subset (files are often sorted by class)."""
    if data is None:
        return None
    import numpy as np

    x, y = data
    n = len(x)
    if n > most:
        pick = np.sort(np.random.RandomState(seed).permutation(n)[:most])
        x, y = np.asarray(x)[pick], np.asarray(y)[pick]
    return x, y


def _build_class() -> type:
    import keras

    class GapForecast(keras.callbacks.Callback):
        """Forecast the final train - validation accuracy gap of this run, each epoch; optionally stop on it.

        Args:
            full_epochs: the length of the full run the forecast is for (usually the ``epochs`` given to fit).
            train_sample: ``(x, y)`` training examples evaluated in inference mode after each epoch (at most
                ``max_train_samples``, a random subset): the true training accuracy, as the final gap is measured.
                Without it the forecast reads Keras's logged training accuracy (no extra pass; a weaker forecast).
            max_train_samples: the bound on that extra evaluation per epoch.
            stop_above: stop training once the forecast's lower bound exceeds this gap (EarlyStopping-like).
            patience: epochs the lower bound must stay above ``stop_above`` before stopping, after the first.
            restore_best_weights: at the end of training, restore the weights of the epoch with the best
                ``monitor`` value, as ``keras.callbacks.EarlyStopping`` does.
            monitor, mode: the quantity (and its direction) ``restore_best_weights`` keeps the best epoch by.
            verbose: ``"auto"`` follows fit's ``verbose``; 0 prints nothing; 1 one line per epoch.
            forecaster: a fitted forecaster (default: the one cnnlint ships).
        """

        def __init__(self, full_epochs: int, train_sample: tuple[Any, Any] | None = None,
                     max_train_samples: int = MAX_TRAIN_SAMPLES, stop_above: float | None = None, patience: int = 0,
                     restore_best_weights: bool = False, monitor: str = "val_loss", mode: str = "auto",
                     verbose: int | str = "auto", seed: int = 0, forecaster: Forecaster | None = None):  # fmt: skip
            super().__init__()
            forecaster = forecaster or load_forecaster()
            if forecaster is None:
                raise RuntimeError("this cnnlint build has no fitted forecaster (cnnlint/data/forecast_model.json)")
            self.forecaster, self.full_epochs = forecaster, int(full_epochs)
            self.stop_above, self.patience = stop_above, int(patience)
            self.train_sample = _sample(train_sample, max_train_samples, seed)
            self.restore_best_weights, self.monitor, self.verbose = restore_best_weights, monitor, verbose
            self.minimize = mode == "min" or (mode == "auto" and not any(w in monitor for w in ("acc", "auc")))
            self.state = ForecastState(forecaster, self.full_epochs, stop_above, self.patience)

        # ---- Keras hooks ----------------------------------------------------------------------

        def on_train_begin(self, logs=None):
            self.state = ForecastState(self.forecaster, self.full_epochs, self.stop_above, self.patience)
            self.stopped_epoch, self.best, self.best_epoch, self.best_weights = 0, None, 0, None
            self.eval_seconds, self.epoch_seconds = 0.0, 0.0
            self._pending: int | None = None
            self._warned: set[str] = set()

        def on_epoch_begin(self, epoch, logs=None):
            self._flush()  # the previous epoch's line, now that Keras has printed its own
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            self.epoch_seconds += time.perf_counter() - self._started
            key = self._accuracy_key(logs)
            self.state.record(logs, key, self._train_eval(key))
            f = self.state.forecast(_classes(self.model), self.params.get("steps") if self.params else None)
            nan = float("nan")
            logs.update(zip(LOG_KEYS, (f.gap, *f.interval) if f else (nan, nan, nan)))
            self._track_best(epoch, logs)
            if self.state.should_stop():
                self.stopped_epoch = epoch
                self.model.stop_training = True
            self._pending = epoch

        def on_train_end(self, logs=None):
            self._flush()
            if self.stopped_epoch and self._verbose():
                f = self.state.forecasts[self.stopped_epoch]
                _print(f"Epoch {self.stopped_epoch + 1}: GapForecast stopped training: the forecast gap's lower "
                       f"bound {f.interval[0]:.3f} is above {self.stop_above}")  # fmt: skip
            if self.restore_best_weights and self.best_weights is not None:
                if self._verbose():
                    _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

        # ---- helpers --------------------------------------------------------------------------

        @property
        def forecasts(self) -> list[Forecast | None]:
            return self.state.forecasts

        def _verbose(self) -> bool:
            if self.verbose == "auto":
                fit_verbose = (self.params or {}).get("verbose", 1)
                return fit_verbose == "auto" or bool(fit_verbose)
            return bool(self.verbose)

        def _flush(self) -> None:
            if self._pending is not None and self._verbose():
                if self._pending == 0:
                    _print(self._cost_line())
                _print(self.state.line(self._pending))
            self._pending = None

        def _cost_line(self) -> str:
            if self.train_sample is None:
                return ("GapForecast: forecasting from Keras's logged training accuracy (no extra pass); pass "
                        "train_sample=(x, y) for the true training accuracy and a sharper forecast")  # fmt: skip
            share = self.eval_seconds / max(self.epoch_seconds, 1e-9)
            return (f"GapForecast: training accuracy in inference mode on {len(self.train_sample[1]):,} samples "
                    f"after each epoch: {self.eval_seconds:.2f} s, {share:.0%} of the epoch's time")  # fmt: skip

        def _accuracy_key(self, logs: dict) -> str | None:
            key = next((k for k in ACCURACY_KEYS if k in logs and f"val_{k}" in logs), None)
            if key is None and "curves" not in self._warned:
                self._warned.add("curves")
                _print("GapForecast: no accuracy metric with validation data in the logs (compile with "
                       "metrics=['accuracy'] and pass validation_data); no forecast")  # fmt: skip
            return key

        def _train_eval(self, key: str | None) -> tuple[float, float] | None:
            if self.train_sample is None or key is None:
                return None
            start = time.perf_counter()
            x, y = self.train_sample
            result = self.model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True)
            took = time.perf_counter() - start
            self.eval_seconds += took
            self.epoch_seconds += took
            return _number(result.get("loss")), _number(result.get(key))

        def _track_best(self, epoch: int, logs: dict) -> None:
            current = logs.get(self.monitor)
            if current is None:
                if self.restore_best_weights and "monitor" not in self._warned:
                    self._warned.add("monitor")
                    _print(f"GapForecast: restore_best_weights monitors '{self.monitor}', which is not in the logs")
                return
            current = float(current)
            better = self.best is None or (current < self.best if self.minimize else current > self.best)
            if better:
                self.best, self.best_epoch = current, epoch
                if self.restore_best_weights:
                    self.best_weights = self.model.get_weights()

    return GapForecast


_CLASSES: dict[str, type] = {}


def __getattr__(name: str) -> Any:
    """``GapForecast`` is built on first use, so that importing this module imports no Keras."""
    if name == "GapForecast":
        if name not in _CLASSES:
            _CLASSES[name] = _build_class()
        return _CLASSES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

