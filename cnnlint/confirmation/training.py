"""Training a fresh copy: Keras imported quietly, the device, the rebuild (safe mode), the run and its callback.

The only part of confirm that imports Keras, and only inside its functions.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from cnnlint.confirmation.options import ConfirmOptions
from cnnlint.errors import ConfigError, ModelError
from cnnlint.readers import RawModel
from cnnlint.rules.safety import unsafe_reasons
from cnnlint.wording import flag

#: Training accuracy in inference mode is measured on at most this many training samples per epoch.
TRAIN_EVAL_SAMPLES = 2048


def select_device(device: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"


def describe_device(keras: Any) -> str:
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


def deterministic(keras: Any) -> None:
    """Same seed, same run: TensorFlow needs deterministic kernels switched on explicitly."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def refuse_unsafe(raw: RawModel, trust_code: bool) -> None:
    reasons = unsafe_reasons(raw.config)
    if reasons and not trust_code:
        raise ModelError(
            f"refusing to rebuild: {reasons[0]}" + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""),
            where=raw.source,
            hint=f"loading would execute code; pass {flag('trust-code')} only if you trust this file",
        )


def rebuild(raw: RawModel, trust_code: bool) -> Any:
    keras = import_keras_quietly()

    refuse_unsafe(raw, trust_code)
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


#: set by ``ctrl_c_stops_training``'s handler when Ctrl-C arrives
_ctrl_c = {"seen": False}


@contextlib.contextmanager
def ctrl_c_stops_training() -> Iterator[None]:
    """Ctrl-C stops the run even where Python swallows its KeyboardInterrupt: raised inside a garbage-collector
    callback (JAX registers one), it is printed as "Exception ignored" and training went on (seen under load in
    tests/test_confirm.py).  The handler remembers it, and ``Watch`` raises it again at the next batch.  Only where
    Python's own handler is installed (the main thread, no handler of the caller's)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or (
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler):  # fmt: skip
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        _ctrl_c["seen"] = True
        signal.default_int_handler(signum, frame)

    _ctrl_c["seen"] = False
    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is on_sigint:  # not one the caller installed meanwhile
            signal.signal(signal.SIGINT, signal.default_int_handler)
        _ctrl_c["seen"] = False


def raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that arrived since ``ctrl_c_stops_training`` began."""
    if _ctrl_c["seen"]:
        raise KeyboardInterrupt


class Watch:
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
                raise_if_interrupted()
                steps = (self.params or {}).get("steps")
                if self.bar and steps:
                    self.bar.update(self.epoch + (batch + 1) / steps)

            def on_train_end(self, logs=None):
                if self.bar:
                    self.bar.close()

            def on_epoch_end(self, epoch, logs=None):
                raise_if_interrupted()
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


def train(model: Any, x, y, xv, yv, opts: ConfirmOptions, optimizer: Any, epochs: int,
           watch: Any) -> tuple[dict, float]:  # fmt: skip
    outputs = model.output_shape[-1]
    loss = "binary_crossentropy" if outputs == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    start = time.perf_counter()
    raise_if_interrupted()
    model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=opts.batch_size, verbose=0,
              callbacks=[watch], shuffle=True)  # fmt: skip
    return watch.curves, time.perf_counter() - start


def optimizer_for(keras: Any, raw: RawModel) -> Any:
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
    PyTorch backend, `keras.utils.set_random_seed` imports TensorFlow when it is installed.
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


def import_keras_quietly() -> Any:
    try:
        with _quiet_stderr():
            import keras
    except ImportError as exc:  # the lint needs no Keras; confirm trains, so it does
        raise ConfigError(f"confirm trains the model and needs Keras with a backend ({exc}): "
                          "pip install 'cnnlint[confirm]'") from None  # fmt: skip
    return keras


def seed_quietly(keras: Any, seed: int) -> None:
    with _quiet_stderr():
        keras.utils.set_random_seed(seed)


def model_io(report: Any, raw: RawModel, trust_code: bool) -> tuple[tuple, tuple]:
    """Input and output shapes, from cnnlint's graph or, when it cannot tell, from the rebuilt model."""
    graph = report.graph
    if graph is None:
        raise ModelError(report.error or "unreadable model")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ConfigError("confirm supports models with one input and one output")
    input_shape, output_shape = graph.input_shapes[0], graph.output_shapes[0]
    if input_shape is None or output_shape is None or output_shape[-1] is None:
        model = rebuild(raw, trust_code)
        input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    return tuple(input_shape), tuple(output_shape)


def shuffled_label_probe(raw, x, y, xv, yv, opts: ConfirmOptions, real_history: dict, keras: Any) -> dict[str, Any]:
    """The same epochs on shuffled labels (Zhang et al. 2017): how readily it memorizes noise."""
    import numpy as np

    seed_quietly(keras, opts.seed)
    model = rebuild(raw, opts.trust_code)
    shuffled = np.random.RandomState(opts.seed + 1).permutation(y)
    epochs = len(real_history["loss"])
    probe_opts = ConfirmOptions(**{**asdict(opts), "progress": False})
    history, _ = train(model, x, shuffled, xv, yv, probe_opts, optimizer_for(keras, raw), epochs, Watch(None))
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

