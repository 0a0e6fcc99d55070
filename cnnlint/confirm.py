"""``cnnlint confirm``: train a fresh copy briefly on the user's data and check the static estimate.

With `cnnlint.keras`, the only module that imports Keras, and only inside its functions.  The
architecture is rebuilt from the file's config with Keras's safe mode; the
user's weights and file are never loaded or touched.  Works with any Keras 3
backend (``KERAS_BACKEND=tensorflow|jax|torch``); tf.keras 2 files are rebuilt
by Keras 3, which reads their configs.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cnnlint.config import CONFIRM_OPTION_TYPES, api_call, api_value, flag, in_api_call, option
from cnnlint.errors import ConfigError, ModelError
from cnnlint.findings import Dataset
from cnnlint.readers import RawModel, read_model
from cnnlint.rules.safety import unsafe_reasons

#: The full run assumed when the user names none (--full-epochs); the output says so.
DEFAULT_FULL_EPOCHS = 50
#: Training accuracy in inference mode is measured on at most this many training samples per epoch.
TRAIN_EVAL_SAMPLES = 2048


@dataclass
class ConfirmOptions:
    samples: int | None = None
    epochs: int | None = None  # exactly this many epochs; default: fraction * full_epochs
    full_epochs: int | None = None  # the real run's length, forecast target; default DEFAULT_FULL_EPOCHS
    fraction: float = 0.2
    early_stop: bool = True
    budget: float | None = None
    val_split: float = 0.2
    seed: int = 0
    batch_size: int = 32
    device: str = "auto"
    probe: bool = False
    trust_code: bool = False
    progress: bool = False


@dataclass
class ConfirmResult:
    device: str
    backend: str
    train_samples: int
    val_samples: int
    epochs_run: int
    seconds: float
    history: dict[str, list[float]]
    train_accuracy: float
    val_accuracy: float
    measured_gap: float
    gap_trend: float
    converged: bool
    predicted_gap: float | None
    predicted_interval: tuple[float, float] | None
    verdict: str
    verdict_text: str
    probe: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    full_epochs: int = DEFAULT_FULL_EPOCHS
    full_epochs_assumed: bool = False
    planned_epochs: int = 0
    stopped_early: bool = False
    budget_saved: float = 0.0  # share of the planned epochs not trained because the verdict was already decided
    forecast: dict[str, Any] | None = None  # gap, interval, and the continuation path up to full_epochs

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["predicted_interval"] = list(self.predicted_interval) if self.predicted_interval else None
        return data


# ---- data ----------------------------------------------------------------------------------


def load_npz(path: Path) -> tuple[Any, Any, Any, Any]:
    from cnnlint.datasets import load_npz as load  # shared with the lint command's --data

    return load(path)


def load_image_folder(path: Path, image_size: tuple[int, int], channels: int) -> tuple[Any, Any]:
    import numpy as np

    keras = _import_keras_quietly()

    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(channels)
    if mode is None:
        raise ConfigError(f"the model takes {channels} channels; an image folder gives 1, 3 or 4")
    with _quiet_stderr():
        ds = keras.utils.image_dataset_from_directory(path, image_size=image_size, color_mode=mode, batch_size=None,
                                                      shuffle=False, label_mode="int", verbose=False)  # fmt: skip
    xs, ys = [], []
    for x, y in ds:
        xs.append(np.asarray(x))
        ys.append(int(y))
    if not xs:
        raise ConfigError(f"no images found under '{path}' (expected one subfolder per class)")
    return np.stack(xs).astype("float32"), np.array(ys)


def check_data(x: Any, y: Any, input_shape: tuple, classes: int, what: str) -> Any:
    import numpy as np

    if x.ndim != len(input_shape):
        raise ConfigError(f"{what}: x has shape {x.shape}, the model takes {tuple(input_shape)}")
    for got, want in zip(x.shape[1:], input_shape[1:]):
        if want is not None and got != want:
            raise ConfigError(f"{what}: x has shape {x.shape}, the model takes {tuple(input_shape)}")
    if len(x) != len(y):
        raise ConfigError(f"{what}: {len(x)} inputs but {len(y)} labels")
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(1)
    y = y.reshape(-1)
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ConfigError(f"{what}: labels must be class indices or one-hot rows")
        y = y.astype("int64")
    if y.min() < 0 or y.max() >= classes:
        raise ConfigError(f"{what}: labels range {int(y.min())}..{int(y.max())}, the model has {classes} classes")
    return y


# ---- training ------------------------------------------------------------------------------


def _select_device(device: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"


def _describe_device(keras: Any) -> str:
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return f"GPU ({gpus[0].name})" if gpus else "CPU"
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            return "CPU" if device.platform == "cpu" else f"{device.platform.upper()} ({device.device_kind})"
        if backend == "torch":
            import torch

            return f"GPU ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "CPU"
    except Exception:  # device probing is informational only
        pass
    return "unknown"


def _deterministic(keras: Any) -> None:
    """Same seed, same run: TensorFlow needs deterministic kernels switched on explicitly."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _refuse_unsafe(raw: RawModel, trust_code: bool) -> None:
    reasons = unsafe_reasons(raw.config)
    if reasons and not trust_code:
        raise ModelError(
            f"refusing to rebuild: {reasons[0]}" + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""),
            where=raw.source,
            hint=f"loading would execute code; pass {flag('trust-code')} only if you trust this file",
        )


def rebuild(raw: RawModel, trust_code: bool) -> Any:
    keras = _import_keras_quietly()

    _refuse_unsafe(raw, trust_code)
    # a fresh copy each time: Keras's deserializer writes Python objects into the dict it is given
    config = json.loads(json.dumps({k: v for k, v in raw.config.items() if k != "compile_config"}))
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=not trust_code)
    except Exception:
        try:
            model = keras.models.model_from_json(json.dumps(config))
        except Exception as exc:
            raise ModelError(f"Keras {keras.__version__} cannot rebuild this architecture ({exc})",
                             where=raw.source) from None  # fmt: skip
    return model


def progress_line(epoch: float, epochs: int, elapsed: float, width: int = 24) -> str:
    """The progress bar confirm draws on stderr: epochs done (fractional within an epoch) and the time left."""
    done = min(max(epoch / max(epochs, 1), 0.0), 1.0)
    filled = round(done * width)
    left = elapsed / epoch * (epochs - epoch) if epoch > 0 else None
    eta = "time left: estimating" if left is None else f"about {_duration(left)} left"
    return f"confirm: epoch {min(int(epoch) + 1, epochs)}/{epochs} {'━' * filled}{'─' * (width - filled)} {eta}"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class _Progress:
    """Draws :func:`progress_line` on stderr, at most five times a second, and clears it at the end."""

    def __init__(self, epochs: int, stream: Any = None):
        self.epochs, self.stream, self.start, self.last = epochs, stream or sys.stderr, time.perf_counter(), 0.0

    def update(self, epoch: float, force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self.last >= 0.2:
            self.last = now
            self.stream.write("\r" + progress_line(epoch, self.epochs, now - self.start) + "\033[K")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


class _Watch:
    """A Keras callback that records the epoch logs and stops on the time budget or once ``decide`` says so.

    With ``train_eval`` (a training subsample) it also evaluates the training data in inference mode after
    each epoch, as the final gap is measured, when the forecaster uses that curve.  With ``progress`` (the
    planned epochs) it draws a progress bar on stderr.
    """

    def __new__(cls, seconds: float | None, train_eval: tuple[Any, Any, int] | None = None,
                decide: Callable[[dict[str, list[float]], int], bool] | None = None,
                progress: int | None = None):  # fmt: skip
        import keras

        class Watch(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()
                self.curves: dict[str, list[float]] = {}
                self.stopped_early = False
                self.bar = _Progress(progress) if progress else None
                self.epoch = 0

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch
                if self.bar:
                    self.bar.update(epoch, force=True)

            def on_train_batch_end(self, batch, logs=None):
                steps = (self.params or {}).get("steps")
                if self.bar and steps:
                    self.bar.update(self.epoch + (batch + 1) / steps)

            def on_train_end(self, logs=None):
                if self.bar:
                    self.bar.close()

            def on_epoch_end(self, epoch, logs=None):
                for key in CURVE_KEYS:
                    if logs and key in logs:
                        self.curves.setdefault(key, []).append(round(float(logs[key]), 5))
                if train_eval is not None:
                    xs, ys, batch = train_eval
                    loss, acc = self.model.evaluate(xs, ys, batch_size=batch, verbose=0)
                    self.curves.setdefault("train_eval_loss", []).append(round(float(loss), 5))
                    self.curves.setdefault("train_eval_accuracy", []).append(round(float(acc), 5))
                if seconds is not None and time.perf_counter() - self.start > seconds:
                    self.model.stop_training = True
                elif decide is not None and decide(self.curves, epoch + 1):
                    self.stopped_early = self.model.stop_training = True

        return Watch()


CURVE_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _train(model: Any, x, y, xv, yv, opts: ConfirmOptions, optimizer: Any, epochs: int,
           watch: Any) -> tuple[dict, float]:  # fmt: skip
    outputs = model.output_shape[-1]
    loss = "binary_crossentropy" if outputs == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=opts.batch_size, verbose=0,
              callbacks=[watch], shuffle=True)  # fmt: skip
    return watch.curves, time.perf_counter() - start


def _optimizer(keras: Any, raw: RawModel) -> Any:
    from cnnlint.graph import parse_compile

    info = parse_compile(raw.compile_config, raw.compile_style)
    lr = info.learning_rate if info and info.learning_rate else 1e-3
    if info and info.optimizer and info.optimizer.lower() in ("adamw",):
        return keras.optimizers.AdamW(lr, weight_decay=info.weight_decay or 0.004)
    if info and info.optimizer and info.optimizer.lower() == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    return keras.optimizers.Adam(lr, weight_decay=info.weight_decay if info and info.weight_decay else None)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Keep the backends' C++ start-up chatter (absl, CUDA probing) off stderr, so an error stays one line.

    TensorFlow prints it when first imported, which happens not only on `import keras`: under the JAX or
    PyTorch backend, `keras.utils.set_random_seed` and the image-folder loader import TensorFlow when it is
    installed.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_keras_quietly() -> Any:
    try:
        with _quiet_stderr():
            import keras
    except ImportError as exc:  # the lint needs no Keras; confirm trains, so it does
        raise ConfigError(f"confirm trains the model and needs Keras with a backend ({exc}): "
                          "pip install 'cnnlint[confirm]'") from None  # fmt: skip
    return keras


def _seed_quietly(keras: Any, seed: int) -> None:
    with _quiet_stderr():
        keras.utils.set_random_seed(seed)


def _model_io(report: Any, raw: RawModel, opts: ConfirmOptions) -> tuple[tuple, int]:
    """Input shape and class count, from cnnlint's graph or, when it cannot tell, from the rebuilt model."""
    graph = report.graph
    if graph is None:
        raise ModelError(report.error or "unreadable model")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ConfigError("confirm supports models with one input and one output")
    input_shape, output_shape = graph.input_shapes[0], graph.output_shapes[0]
    if input_shape is None or output_shape is None or output_shape[-1] is None:
        keras = _import_keras_quietly()
        model = rebuild(raw, opts.trust_code)
        input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
        del keras
    units = output_shape[-1]
    return tuple(input_shape), 2 if units == 1 else units


@dataclass(frozen=True)
class _Plan:
    """How long the real run is, how much of it confirm trains, and whether it may stop sooner."""

    full_epochs: int
    full_epochs_assumed: bool
    epochs: int
    early_stop: bool


def plan(opts: ConfirmOptions, min_epochs: int) -> _Plan:
    assumed = opts.full_epochs is None
    full = opts.full_epochs or max(DEFAULT_FULL_EPOCHS, opts.epochs or 0)
    if opts.epochs is not None:
        if opts.epochs > full:
            raise ConfigError(f"{option('epochs', opts.epochs)} is more than {option('full-epochs', full)}; a short run "
                              "must be shorter")  # fmt: skip
        return _Plan(full, assumed, opts.epochs, early_stop=False)
    epochs = min(max(min_epochs, math.ceil(opts.fraction * full - 1e-9)), full)
    return _Plan(full, assumed, epochs, early_stop=opts.early_stop)


def _probes(x: Any, y: Any, source: str) -> Any:
    """The data probes of the training data confirm trains on (what ``--data`` measures for the lint)."""
    from cnnlint.probes import probe_arrays

    return replace(probe_arrays(x, y), source=source)


def split_validation(x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions, rng: Any) -> tuple[Any, Any, Any, Any]:
    """Training and validation rows: ``x_val``/``y_val`` when the data has them, else ``val_split`` of the rows
    (a seeded shuffle), then the training rows subsampled to ``samples``."""
    held_out = None
    if xv is None:
        order = rng.permutation(len(x))
        held_out = max(1, int(round(len(x) * opts.val_split)))
        val, train = order[:held_out], order[held_out:]
        xv, yv, x, y = x[val], y[val], x[train], y[train]
    if opts.samples:
        if opts.samples > len(x):
            raise ConfigError(too_many_samples(opts.samples, len(x), held_out, opts.val_split))
        pick = rng.permutation(len(x))[: opts.samples]
        x, y = x[pick], y[pick]
    return x, y, xv, yv


def too_many_samples(samples: int, train_rows: int, held_out: int | None, val_split: float) -> str:
    """Why ``samples`` is too many, counting the rows the validation split took, and what to change."""
    asked = f"{option('samples', samples)} is more than the {train_rows:,} training samples"
    if held_out is None:
        return f"{asked} in the data (the validation rows come from x_val/y_val); pass {option('samples', train_rows)} or fewer"
    rows = train_rows + held_out
    val_data = "x_val= and y_val=" if in_api_call() else "x_val/y_val in the .npz"
    return (f"{asked} left after the validation split: {option('val-split', val_split)} holds out {held_out:,} of the "
            f"{rows:,} rows; pass {option('samples', train_rows)} or fewer, a smaller {option('val-split')}, or the "
            f"validation rows separately ({val_data}), so that all {rows:,} rows can train")


def confirm_raw(raw: RawModel, x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions,
                data_source: str = "arrays") -> tuple[Any, ConfirmResult]:  # fmt: skip
    """Lint, check the data, rebuild, train and compare.  Returns (the static ModelReport, the result).

    ``data_source`` names the data in the reports (its path, or "arrays")."""
    import numpy as np

    from cnnlint.forecast import MIN_EPOCHS, load_forecaster
    from cnnlint.pipeline import LintSettings, lint_source
    from cnnlint.rules import select_rules

    _refuse_unsafe(raw, opts.trust_code)
    forecaster = load_forecaster()
    the_plan = plan(opts, forecaster.min_epochs if forecaster else MIN_EPOCHS)
    settings = LintSettings(tuple(select_rules()))
    input_shape, classes = _model_io(lint_source(raw, Dataset(), settings), raw, opts)
    y = check_data(x, y, input_shape, classes, "training data")
    if xv is not None:
        yv = check_data(xv, yv, input_shape, classes, "validation data")
    rng = np.random.RandomState(opts.seed)
    x, y, xv, yv = split_validation(x, y, xv, yv, opts, rng)
    x, xv = x.astype("float32"), xv.astype("float32")
    # the static estimate the forecast is judged against is for the user's full run, not for a generic long one,
    # and, since the data is at hand, measures how hard it is (the probes; without scikit-learn they say so)
    dataset = Dataset(samples=len(x), classes=classes, epochs=the_plan.full_epochs, batch_size=opts.batch_size,
                      probes=_probes(x, y, data_source))
    report = lint_source(raw, dataset, settings)

    _select_device(opts.device)
    keras = _import_keras_quietly()
    _seed_quietly(keras, opts.seed)
    _deterministic(keras)
    model = rebuild(raw, opts.trust_code)
    device = _describe_device(keras)
    if opts.device == "gpu" and not device.startswith("GPU"):
        raise ConfigError(f"{option('device', 'gpu')}, but the {keras.backend.backend()} backend sees no GPU")
    train_eval = None
    if forecaster and forecaster.needs("eval_"):
        pick = rng.permutation(len(x))[:TRAIN_EVAL_SAMPLES]  # a random subset: files are often sorted by class
        train_eval = (x[pick], y[pick], max(opts.batch_size, 256))
    steps = math.ceil(len(x) / opts.batch_size)
    decide = None
    if the_plan.early_stop and forecaster and report.risk is not None:
        interval = report.risk.interval

        def decide(curves: dict[str, list[float]], k: int) -> bool:
            if k < forecaster.min_epochs or k >= the_plan.epochs:
                return False
            return decided(forecaster.forecast(curves, k, the_plan.full_epochs, classes, steps).interval, interval)

    watch = _Watch(opts.budget, train_eval, decide, the_plan.epochs if opts.progress else None)
    history, seconds = _train(model, x, y, xv, yv, opts, _optimizer(keras, raw), the_plan.epochs, watch)
    _, train_acc = model.evaluate(x, y, batch_size=max(opts.batch_size, 256), verbose=0)
    _, val_acc = model.evaluate(xv, yv, batch_size=max(opts.batch_size, 256), verbose=0)
    probe = _probe(raw, x, y, xv, yv, opts, history, keras) if opts.probe else None
    measured = _Measured(float(train_acc), float(val_acc), history, seconds, device, keras.backend.backend(), len(x),
                         len(xv), classes, steps)  # fmt: skip
    result = _result(report, measured, the_plan, watch.stopped_early, forecaster, probe)
    report.confirm = result.to_dict()
    return report, result


def _probe(raw, x, y, xv, yv, opts: ConfirmOptions, real_history: dict, keras: Any) -> dict[str, Any]:
    """The same epochs on shuffled labels (Zhang et al. 2017): how readily it memorizes noise."""
    import numpy as np

    _seed_quietly(keras, opts.seed)
    model = rebuild(raw, opts.trust_code)
    shuffled = np.random.RandomState(opts.seed + 1).permutation(y)
    epochs = len(real_history["loss"])
    probe_opts = ConfirmOptions(**{**asdict(opts), "progress": False})
    history, _ = _train(model, x, shuffled, xv, yv, probe_opts, _optimizer(keras, raw), epochs, _Watch(None))
    classes = max(int(y.max()) + 1, 2)
    chance = 1 / classes
    real = real_history["accuracy"][-1]
    noise = history["accuracy"][-1]
    ratio = (noise - chance) / (real - chance) if real - chance > 1e-6 else float("nan")
    return {
        "random_label_train_accuracy": round(noise, 4),
        "real_label_train_accuracy": round(real, 4),
        "chance": round(chance, 4),
        "memorization_ratio": None if math.isnan(ratio) else round(max(ratio, 0.0), 4),
        "epochs": epochs,
        "history": history,
    }


def _slope(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


# ---- forecast and verdict ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measured:
    train_acc: float
    val_acc: float
    history: dict[str, list[float]]
    seconds: float
    device: str
    backend: str
    n_train: int
    n_val: int
    classes: int
    steps_per_epoch: int | None = None


def decided(forecast: tuple[float, float], predicted: tuple[float, float]) -> bool:
    """Whether the forecast's interval already settles the verdict: wholly inside, above or below the prediction."""
    (f_low, f_high), (p_low, p_high) = forecast, predicted
    return f_low > p_high or f_high < p_low or (p_low <= f_low and f_high <= p_high)


def judge(forecast: Any, predicted: tuple[float, float]) -> tuple[str, str]:
    """The verdict from the static interval and the forecast (a ``cnnlint.forecast.Forecast``)."""
    p_low, p_high = predicted
    f_low, f_high = forecast.interval
    what = (f"the gap observed so far is {forecast.gap:.2f} (the forecaster does not beat it here; the naive "
            f"forecast's 80 % band at epoch {forecast.full_epochs}: {f_low:.2f} to {f_high:.2f})"
            if getattr(forecast, "observed", False) else
            f"the forecast gap at epoch {forecast.full_epochs} is {forecast.gap:.2f} (80 % interval {f_low:.2f} to "
            f"{f_high:.2f})")  # fmt: skip
    said = f"{what}; the static estimate is {p_low:.2f} to {p_high:.2f}"
    if f_low > p_high:
        return "under-predicted", (f"under-predicted: {said}. This model will overfit your data more than its "
                                   "architecture suggests")  # fmt: skip
    if f_high < p_low:
        return "over-predicted", (f"over-predicted: {said}. Your data or training setup regularizes better than "
                                  "the estimate assumed")  # fmt: skip
    if p_low <= forecast.gap <= p_high:
        return "confirmed", f"confirmed: {said}"
    side = "above" if forecast.gap > p_high else "below"
    return "inconclusive", (f"inconclusive: {said}. The forecast is {side} the estimate, but its interval overlaps "
                            "it; a larger --fraction narrows the forecast")  # fmt: skip


def _judge_measured(gap: float, predicted: tuple[float, float], epochs: int) -> tuple[str, str]:
    """The whole run was trained: the measured gap is the answer."""
    low, high = predicted
    said = f"the measured gap after the full {epochs} epochs is {gap:.2f}; the static estimate is {low:.2f} to {high:.2f}"
    if gap > high:
        return "under-predicted", f"under-predicted: {said}"
    if gap < low:
        return "over-predicted", f"over-predicted: {said}"
    return "confirmed", f"confirmed: {said}"


def forecast_path(forecaster: Any, history: dict[str, list[float]], k: int, full: int, classes: int,
                  steps_per_epoch: int | None = None, steps: int = 8) -> list[dict[str, float]]:  # fmt: skip
    """The forecast for runs ending between epoch k and the full run: the continuation drawn after the curves."""
    ends = sorted({round(k + (full - k) * i / steps) for i in range(1, steps + 1)} - {k})
    path = []
    for end in ends:
        f = forecaster.forecast(history, k, end, classes, steps_per_epoch)
        path.append({"epoch": end, "gap": round(f.gap, 4), "low": round(f.interval[0], 4),
                     "high": round(f.interval[1], 4)})  # fmt: skip
    return path


def _result(report: Any, m: _Measured, the_plan: _Plan, stopped_early: bool, forecaster: Any,
            probe: dict[str, Any] | None) -> ConfirmResult:  # fmt: skip
    from cnnlint.forecast import measured_gaps

    history = m.history
    k = len(history["loss"])
    gap = m.train_acc - m.val_acc
    gaps = measured_gaps(history)
    trend = _slope(gaps[-5:])
    converged = k >= 3 and abs(_slope(history["loss"][-3:])) < 0.01
    risk = report.risk
    notes = []
    if the_plan.full_epochs_assumed:
        notes.append(f"assumed a full run of {the_plan.full_epochs} epochs; pass --full-epochs (or full-epochs in "
                     "the config) for yours")  # fmt: skip
    forecast, forecast_dict = None, None
    if k >= the_plan.full_epochs:
        pass  # the full run itself was trained: nothing to forecast
    elif forecaster is None:
        notes.append("this build has no fitted forecaster (cnnlint/data/forecast_model.json)")
    elif k < forecaster.min_epochs:
        notes.append(f"trained {k} epoch{'s' if k != 1 else ''}; the forecast needs at least {forecaster.min_epochs}")
    else:
        forecast = forecaster.forecast(history, k, the_plan.full_epochs, m.classes, m.steps_per_epoch)
        forecast_dict = {**forecast.to_dict(), "path": forecast_path(forecaster, history, k, the_plan.full_epochs,
                                                                      m.classes, m.steps_per_epoch)}  # fmt: skip
        if forecast.observed:
            notes.append(f"no forecast used: {forecast.note}")
    if risk is None:
        verdict = "no-prediction"
        shown = f"forecast gap at epoch {forecast.full_epochs} {forecast.gap:.2f}" if forecast else f"measured gap {gap:.2f}"
        text = f"{shown}; no static estimate to compare (no fitted risk model)"
    elif forecast is not None:
        verdict, text = judge(forecast, risk.interval)
    elif k >= the_plan.full_epochs:
        verdict, text = _judge_measured(gap, risk.interval, k)
    else:
        verdict, text = "inconclusive", f"inconclusive: no forecast of the gap at epoch {the_plan.full_epochs} ({notes[-1]})"
    saved = 1 - k / the_plan.epochs if stopped_early else 0.0
    if stopped_early:
        notes.append(f"stopped after {k} of {the_plan.epochs} planned epochs: the forecast already decided the verdict "
                     f"({saved:.0%} of the training budget saved)")  # fmt: skip
    elif k < the_plan.epochs:
        notes.append(f"stopped after {k} of {the_plan.epochs} planned epochs: the --budget time ran out")
    return ConfirmResult(
        device=m.device, backend=m.backend, train_samples=m.n_train, val_samples=m.n_val, epochs_run=k,
        seconds=round(m.seconds, 2), history=history, train_accuracy=round(m.train_acc, 4),
        val_accuracy=round(m.val_acc, 4), measured_gap=round(gap, 4), gap_trend=round(trend, 4), converged=converged,
        predicted_gap=risk.gap if risk else None, predicted_interval=risk.interval if risk else None,
        verdict=verdict, verdict_text=text, probe=probe, notes=notes, full_epochs=the_plan.full_epochs,
        full_epochs_assumed=the_plan.full_epochs_assumed, planned_epochs=the_plan.epochs, stopped_early=stopped_early,
        budget_saved=round(saved, 4), forecast=forecast_dict,
    )  # fmt: skip


# ---- entry points ----------------------------------------------------------------------------


def confirm_path(model_path: str, data_path: str, opts: ConfirmOptions) -> tuple[Any, ConfirmResult]:
    raw = read_model(model_path)
    data = Path(data_path)
    if not data.exists():
        raise ConfigError(f"no such data file or folder: '{data_path}'")
    if data.is_dir():
        from cnnlint.graph import build_graph

        shape = build_graph(raw).input_shapes[0]
        if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
            raise ConfigError("an image folder needs a model with a fixed-size image input")
        x, y = load_image_folder(data, (shape[1], shape[2]), shape[3] or 3)
        xv = yv = None
    else:
        x, y, xv, yv = load_npz(data)
    return confirm_raw(raw, x, y, xv, yv, opts, data_source=data_path)


#: ``ConfirmOptions`` fields that are on/off, and those that may be ``None`` (their default).
_SWITCHES = ("early_stop", "probe", "trust_code", "progress")
_OPTIONAL = ("samples", "epochs", "full_epochs", "budget")


def api_options(options: dict[str, Any]) -> ConfirmOptions:
    """``cnnlint.confirm``'s keyword arguments checked as ``cnnlint confirm`` checks its options.

    An unknown keyword is a ``TypeError`` (as Python raises it), with the closest known one; a bad value is a
    ``ConfigError`` worded with the argument's name.
    """
    known = sorted(f.name for f in fields(ConfirmOptions))
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise TypeError(f"cnnlint.confirm() got an unexpected keyword argument '{name}'"
                            + (f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"))  # fmt: skip
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name in _SWITCHES:
            if not isinstance(value, bool):
                raise ConfigError(f"invalid value for '{name}': expected True or False; got {value!r}")
            checked[name] = value
        elif value is None and name in _OPTIONAL:
            checked[name] = None
        else:
            checked[name] = api_value(value, name, CONFIRM_OPTION_TYPES[name.replace("_", "-")])
    return ConfirmOptions(**checked)


def confirm_arrays(model_or_path: Any, x: Any, y: Any, *, x_val: Any = None, y_val: Any = None, **options: Any):
    """The API's ``cnnlint.confirm``: arrays in memory, the same steps and checks as the CLI, and messages that
    name its arguments (``samples=``, ``val_split=``) instead of the CLI's flags."""
    import numpy as np

    from cnnlint.api import Report, model_source

    with api_call():
        opts = api_options(options)
        if (x_val is None) != (y_val is None):
            raise ConfigError("pass both x_val and y_val (the validation rows and their labels), or neither")
        arrays = [None if a is None else np.asarray(a) for a in (x, y, x_val, y_val)]
        source = model_source(model_or_path)
        raw = source if isinstance(source, RawModel) else read_model(source)
        report, result = confirm_raw(raw, *arrays, opts)
    return Report(report), result


_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], low: float, high: float) -> str:
    span = max(high - low, 1e-9)
    return "".join(_SPARKS[min(max(int((v - low) / span * len(_SPARKS)), 0), len(_SPARKS) - 1)] for v in values)


def curve_lines(result: ConfirmResult) -> list[str]:
    """The measured curves as sparklines and the gap's forecast continuation as numbers."""
    from cnnlint.forecast import measured_gaps

    h = result.history
    gaps = measured_gaps(h)
    if not gaps:
        return []
    lines = [f"curves, epochs 1 to {len(gaps)} (accuracy 0 to 1; gap {min(gaps):+.2f} to {max(gaps):+.2f}):",
             f"  train accuracy       {sparkline(h['accuracy'], 0, 1)}",
             f"  validation accuracy  {sparkline(h['val_accuracy'], 0, 1)}",
             f"  gap{' (inference mode)' if 'train_eval_accuracy' in h else '                 '} "
             f"{sparkline(gaps, min(gaps), max(gaps))}"]  # fmt: skip
    if result.forecast:
        steps = " · ".join(f"{p['epoch']}: {p['gap']:.2f} ({p['low']:.2f} to {p['high']:.2f})"
                           for p in result.forecast["path"])  # fmt: skip
        lines.append(f"  forecast gap (80 % band) at epoch  {steps}")
    return lines


def render_text(result: ConfirmResult) -> str:
    planned = f" of {result.planned_epochs} planned" if result.planned_epochs != result.epochs_run else ""
    lines = [
        f"trained {result.epochs_run}{planned} epoch{'s' if result.epochs_run != 1 else ''} of a "
        f"{result.full_epochs}-epoch run{' (assumed)' if result.full_epochs_assumed else ''} on "
        f"{result.train_samples:,} samples ({result.backend} backend, {result.device}) in {result.seconds:.1f} s",
        f"now: train accuracy {result.train_accuracy:.3f}, validation accuracy {result.val_accuracy:.3f}, "
        f"gap {result.measured_gap:.3f} (trend {result.gap_trend:+.3f} per epoch)",
    ]
    if result.forecast and result.forecast.get("observed"):
        f = result.forecast
        lines.append(f"forecast: none better than the gap observed so far, {f['gap']:.3f} (80 % band at epoch "
                     f"{f['full_epochs']}: {f['interval'][0]:.3f} to {f['interval'][1]:.3f}, as the observed gap "
                     "moved in the study's held-out runs)")  # fmt: skip
    elif result.forecast:
        f = result.forecast
        lines.append(f"forecast: gap at epoch {f['full_epochs']} {f['gap']:.3f} (80 % interval {f['interval'][0]:.3f} "
                     f"to {f['interval'][1]:.3f}), from the first {f['epochs_done']} epochs")  # fmt: skip
    lines += curve_lines(result)
    lines.append(result.verdict_text)
    if result.probe:
        p = result.probe
        ratio = "n/a" if p["memorization_ratio"] is None else f"{p['memorization_ratio']:.2f}"
        lines.append(f"probe: shuffled labels reach {p['random_label_train_accuracy']:.3f} train accuracy in the same "
                     f"{p['epochs']} epochs (chance {p['chance']:.3f}); memorization ratio {ratio} "
                     "(1 = fits noise as fast as real labels)")  # fmt: skip
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines) + "\n"


def progress_wanted() -> bool:
    return sys.stderr.isatty()


class _CallableModule(types.ModuleType):
    """``cnnlint.confirm`` is the API function, but importing this submodule (the API itself does) rebinds the
    package's attribute to the module; so the module answers calls as the function does, and a second
    ``cnnlint.confirm(...)`` works."""

    def __call__(self, model_or_path: Any, x: Any, y: Any, **options: Any) -> Any:
        return confirm_arrays(model_or_path, x, y, **options)


sys.modules[__name__].__class__ = _CallableModule
