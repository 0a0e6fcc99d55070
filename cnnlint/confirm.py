"""``cnnlint confirm``: train a fresh copy briefly on the user's data and check the static estimate.

The only module that imports Keras, and only inside its functions.  The
architecture is rebuilt from the file's config with Keras's safe mode; the
user's weights and file are never loaded or touched.  Works with any Keras 3
backend (``KERAS_BACKEND=tensorflow|jax|torch``); tf.keras 2 files are rebuilt
by Keras 3, which reads their configs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError, ModelError
from cnnlint.findings import Dataset
from cnnlint.readers import RawModel, read_model
from cnnlint.rules.safety import unsafe_reasons


@dataclass
class ConfirmOptions:
    samples: int | None = None
    epochs: int = 20
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
            hint="loading would execute code; pass --trust-code only if you trust this file",
        )


def rebuild(raw: RawModel, trust_code: bool) -> Any:
    import keras

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


class _Budget:
    """A Keras callback that stops training once ``seconds`` have passed."""

    def __new__(cls, seconds: float | None):
        import keras

        class Budget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if seconds is not None and time.perf_counter() - self.start > seconds:
                    self.model.stop_training = True

        return Budget()


def _train(model: Any, x, y, xv, yv, opts: ConfirmOptions, optimizer: Any) -> tuple[dict, float]:
    outputs = model.output_shape[-1]
    loss = "binary_crossentropy" if outputs == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    epochs = opts.epochs if opts.budget is None else 10_000
    start = time.perf_counter()
    history = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=opts.batch_size,
                        verbose=1 if opts.progress else 0, callbacks=[_Budget(opts.budget)], shuffle=True)  # fmt: skip
    return {k: [round(float(v), 5) for v in vals] for k, vals in history.history.items()}, time.perf_counter() - start


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
    with _quiet_stderr():
        import keras
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


def confirm_raw(raw: RawModel, x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions) -> tuple[Any, ConfirmResult]:
    """Lint, check the data, rebuild, train and compare.  Returns (the static ModelReport, the result)."""
    import numpy as np

    from cnnlint.pipeline import LintSettings, lint_source
    from cnnlint.rules import select_rules

    _refuse_unsafe(raw, opts.trust_code)
    settings = LintSettings(tuple(select_rules()))
    input_shape, classes = _model_io(lint_source(raw, Dataset(), settings), raw, opts)
    y = check_data(x, y, input_shape, classes, "training data")
    rng = np.random.RandomState(opts.seed)
    if xv is None:
        order = rng.permutation(len(x))
        n_val = max(1, int(round(len(x) * opts.val_split)))
        val, train = order[:n_val], order[n_val:]
        xv, yv, x, y = x[val], y[val], x[train], y[train]
    else:
        yv = check_data(xv, yv, input_shape, classes, "validation data")
    if opts.samples:
        if opts.samples > len(x):
            raise ConfigError(f"--samples {opts.samples} is more than the {len(x)} training samples available")
        pick = rng.permutation(len(x))[: opts.samples]
        x, y = x[pick], y[pick]
    x, xv = x.astype("float32"), xv.astype("float32")
    report = lint_source(raw, Dataset(samples=len(x), classes=classes), settings)

    _select_device(opts.device)
    keras = _import_keras_quietly()
    _seed_quietly(keras, opts.seed)
    _deterministic(keras)
    model = rebuild(raw, opts.trust_code)
    device = _describe_device(keras)
    if opts.device == "gpu" and not device.startswith("GPU"):
        raise ConfigError(f"--device gpu, but the {keras.backend.backend()} backend sees no GPU")
    history, seconds = _train(model, x, y, xv, yv, opts, _optimizer(keras, raw))
    _, train_acc = model.evaluate(x, y, batch_size=max(opts.batch_size, 256), verbose=0)
    _, val_acc = model.evaluate(xv, yv, batch_size=max(opts.batch_size, 256), verbose=0)
    gaps = [a - b for a, b in zip(history.get("accuracy", []), history.get("val_accuracy", []))]
    trend = _slope(gaps[-5:])
    converged = len(history["loss"]) >= 3 and abs(_slope(history["loss"][-3:])) < 0.01
    probe = _probe(raw, x, y, xv, yv, opts, history, keras) if opts.probe else None
    result = _verdict(report, float(train_acc), float(val_acc), history, seconds, trend, converged, device,
                      keras.backend.backend(), len(x), len(xv), probe)  # fmt: skip
    report.confirm = result.to_dict()
    return report, result


def _probe(raw, x, y, xv, yv, opts: ConfirmOptions, real_history: dict, keras: Any) -> dict[str, Any]:
    """The same budget on shuffled labels (Zhang et al. 2017): how readily it memorizes noise."""
    import numpy as np

    _seed_quietly(keras, opts.seed)
    model = rebuild(raw, opts.trust_code)
    shuffled = np.random.RandomState(opts.seed + 1).permutation(y)
    epochs = len(real_history["loss"])
    probe_opts = ConfirmOptions(**{**asdict(opts), "epochs": epochs, "budget": None, "progress": False})
    history, _ = _train(model, x, shuffled, xv, yv, probe_opts, _optimizer(keras, raw))
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


def _verdict(report, train_acc, val_acc, history, seconds, trend, converged, device, backend, n_train, n_val,
             probe) -> ConfirmResult:  # fmt: skip
    gap = train_acc - val_acc
    risk = report.risk
    notes = []
    if risk is None:
        verdict, text = "no-prediction", f"measured gap {gap:.2f}; no static estimate to compare (no fitted risk model)"
    else:
        low, high = risk.interval
        if low <= gap <= high:
            verdict = "confirmed"
            text = f"confirmed: measured gap {gap:.2f} is inside the predicted interval {low:.2f} to {high:.2f}"
        elif gap > high:
            verdict = "under-predicted"
            text = (f"under-predicted: measured gap {gap:.2f} is above the predicted {low:.2f} to {high:.2f}; "
                    "this model overfits your data more than its architecture suggests")  # fmt: skip
        elif not converged and trend > 0:
            verdict = "inconclusive"
            text = (f"inconclusive: measured gap {gap:.2f} is below the predicted {low:.2f} to {high:.2f}, but training "
                    "had not converged and the gap was still growing; train longer (--epochs/--budget)")  # fmt: skip
        else:
            verdict = "over-predicted"
            text = (f"over-predicted: measured gap {gap:.2f} is below the predicted {low:.2f} to {high:.2f}; "
                    "your data or training setup regularizes better than the estimate assumed")  # fmt: skip
    if not converged:
        notes.append("training had not converged: a longer run usually widens the gap")
    return ConfirmResult(
        device=device, backend=backend, train_samples=n_train, val_samples=n_val, epochs_run=len(history["loss"]),
        seconds=round(seconds, 2), history=history, train_accuracy=round(train_acc, 4), val_accuracy=round(val_acc, 4),
        measured_gap=round(gap, 4), gap_trend=round(trend, 4), converged=converged,
        predicted_gap=risk.gap if risk else None, predicted_interval=risk.interval if risk else None,
        verdict=verdict, verdict_text=text, probe=probe, notes=notes,
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
    return confirm_raw(raw, x, y, xv, yv, opts)


def confirm_arrays(model_or_path: Any, x: Any, y: Any, *, x_val: Any = None, y_val: Any = None, **options: Any):
    """The API's ``cnnlint.confirm``: arrays in memory, the same steps as the CLI."""
    from cnnlint.api import Report, model_source

    source = model_source(model_or_path)
    raw = source if isinstance(source, RawModel) else read_model(source)
    report, result = confirm_raw(raw, x, y, x_val, y_val, ConfirmOptions(**options))
    return Report(report), result


def render_text(result: ConfirmResult) -> str:
    lines = [
        f"trained {result.epochs_run} epoch{'s' if result.epochs_run != 1 else ''} on {result.train_samples:,} samples "
        f"({result.backend} backend, {result.device}) in {result.seconds:.1f} s",
        f"train accuracy {result.train_accuracy:.3f}, validation accuracy {result.val_accuracy:.3f}, "
        f"gap {result.measured_gap:.3f} (trend {result.gap_trend:+.3f} per epoch)",
        result.verdict_text,
    ]
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
