"""Protocols v2-v4: the spec of run ``i`` and how it is trained and measured.

Run ``i`` is fully determined by ``i`` (``random.Random(i)``): data source, classes, training-set size, label
noise, architecture, regularization, optimizer, epoch budget and seeds.  ``study.campaigns`` says which ids each
campaign trains and where its records go; ``python -m study generate CAMPAIGN`` runs one (resumable: ids on disk
are skipped, a line cut by a kill is ignored and retrained).

Protocol (after Jiang et al. 2020): Adam or AdamW, lr 1e-3, batch 64 (128 from n = 5,000), for a fixed budget of
``epochs`` (20, 30 or 40), the "full run" a user would make.  After every epoch the run records train-mode loss and
accuracy (Keras logs), inference-mode loss and accuracy on up to 1,000 fixed training examples (``train_eval_*``)
and on up to 2,000 fixed test examples (``val_*``).  The final measurement is in inference mode on the whole
training subset (with its noisy labels, if any) and the whole test pool of its classes; ``gap`` = train - test
accuracy.  Held-out data never influences training.  Label noise flips the given share of labels to another class,
in the training subset and (independently, at the same rate) in the test pool, since a user's held-out labels come
from the same labelling process.

A CPU machine (``mode="cpu"``) skips runs whose cost (multiply-adds x examples x epochs) is over a CPU budget; they
are not recorded, so a GPU machine can take them later (``large_only``; ``max_cost`` caps them).  Runs over 25 M
parameters (40 M for keras.applications) are recorded as skipped.

Protocol v3 is v2 trained for at least ``V3_MIN_STEPS`` optimizer steps (each curve epoch passes over the
training set several times when n is small).  A v2 run that already took 600 steps is a v3 run as it is (same code
path, same seed); the ``v3-reruns`` campaign retrains the others with the same seed.  Replicates retrain a run with
a second training seed (same data, labels and architecture); ``study.noise_ceiling`` compares the two gaps.

Protocol v4 (risk v3): photos.  Ids from 20,000 are small CNNs (the v2 families and the article's five models,
``examples/build_examples.py``) on CIFAR-10 (32 px) and Imagenette (32-64 px), 2, 5 or 10 classes, n from 100 to
50,000, a fifth of them in greyscale (luminance: a stand-in for X-rays and face crops); ids from 30,000 are
``keras.applications`` networks from scratch (ResNet50, MobileNetV2, EfficientNetB0, DenseNet121, VGG16 with
``weights=None``) at 32 or 64 px and n from 200 to 5,000.  Every v4 run trains at least 600 optimizer steps.  The
photos are decoded by ``study.photos`` into a cache outside the checkout (never committed); each record carries the
photo repository, commit and file-list hash.  Besides the true gap (inference mode) every v4 record has
``keras_gap``, the gap Keras prints (the last epoch's logged training accuracy, averaged with dropout and
augmentation active, minus the validation accuracy).
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from . import photos, records, sources
from .paths import REPO

#: protocol v3: the v2 specs, each trained for at least V3_MIN_STEPS optimizer steps
V3_MIN_STEPS = 600
SIZES = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
MAX_PARAMS = 25_000_000
#: protocol v4 (risk v3): photos.  Ids from PHOTO_START are small CNNs (the v2 families and the article's five
#: models) on CIFAR-10 and Imagenette; ids from APP_START are keras.applications networks from scratch.
PHOTO_START = 20_000
APP_START = 30_000
PHOTO_SIZES = (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
APP_SIZES = (200, 500, 1000, 2000, 5000)
APPS = ("ResNet50", "MobileNetV2", "EfficientNetB0", "DenseNet121", "VGG16")
ARTICLE_MODELS = ("example1_reduced", "example1_4x_width", "example2_plain", "example2_regularized",
                  "example3_augmented")  # fmt: skip
#: VGG16 with its 4096-unit top is 34 M parameters at 32 px
MAX_APP_PARAMS = 40_000_000
#: cost budgets of photo runs on this 2-core machine (a ResNet50 at 32 px trains ~75 examples/s on one thread,
#: about 6e9 multiply-adds/s): at most ~15 minutes for a small CNN, ~35 minutes for an application network
PHOTO_BUDGET = {"cpu": 6e12, "gpu": 4e15}
APP_BUDGET = {"cpu": 1.3e13, "gpu": 4e15}
#: multiply-adds x training examples x epochs; over this a CPU worker leaves the run to a GPU machine
CPU_BUDGET = {"cpu": 1.5e12, "gpu": 4e15}
TRAIN_EVAL = 1000
VAL_EVAL = 2000
EVAL_BATCH = 256


def _training_choices(rng: random.Random) -> dict:
    """Regularization, optimizer and epoch budget, drawn in this order (the recorded runs depend on it)."""
    return {
        "batchnorm": rng.random() < 0.4,
        "dropout": rng.choice([0.0, 0.0, 0.25, 0.5]),
        "l2": rng.choice([0.0, 0.0, 1e-4, 1e-3]),
        "augment": rng.random() < 0.3,
        "optimizer": rng.choice(["adam", "adam", "adamw"]),
        "weight_decay": rng.choice([1e-4, 1e-3, 1e-2]),
        "epochs": rng.choice([20, 30, 40]),
    }


def sample_spec(index: int) -> dict:
    """The data, architecture and training setup of run ``index``."""
    if index >= APP_START:
        return sample_app_spec(index)
    if index >= PHOTO_START:
        return sample_photo_spec(index)
    rng = random.Random(index * 7919 + 17)
    source = sources.SOURCES[index % len(sources.SOURCES)]
    max_classes = sources.CLASSES[source]
    classes = max_classes if source in ("digits", "mnist1d") and rng.random() < 0.6 else rng.randint(2, max_classes)
    pool = (1297 * classes // 10) if source == "digits" else (
        20000 * classes // 10 if source == "mnist1d" else sources.PER_CLASS * classes)  # fmt: skip
    sizes = [s for s in SIZES if s <= pool] or [pool]
    n = rng.choice(sizes)
    two_d = source != "mnist1d"
    family = rng.choice(["plain", "vgg", "residual", "wide_head"])
    depth = rng.choice([1, 2, 2, 3, 3, 4, 5, 6])
    head = "flatten" if family == "wide_head" else rng.choice(["flatten", "flatten", "gap"])
    return {
        "index": index,
        "dataset": source,
        "classes": classes,
        "class_seed": rng.randrange(1_000_000),
        "n": n,
        "label_noise": rng.choice([0.0, 0.0, 0.0, 0.2, 0.4]),
        "seed": rng.randrange(1_000_000),
        "family": family,
        "depth": depth if family != "wide_head" else rng.choice([1, 2, 3]),
        "base_width": rng.choice([4, 8, 16, 32, 64, 128, 256]),
        "growth": rng.choice([1, 1, 2]),
        "kernel": rng.choice([3, 3, 5, 7] if two_d else [3, 5, 7, 9]),
        "pool_every": rng.choice([1, 2, 99]),
        "head": head,
        "dense_units": rng.choice([1024, 2048, 4096]) if family == "wide_head" else (
            rng.choice([0, 32, 128, 512]) if head == "flatten" else rng.choice([0, 0, 64])),  # fmt: skip
        **_training_choices(rng),
    }


def _photo_data(rng: random.Random, sizes: tuple[int, ...], classes_choice: list[int]) -> dict:
    dataset = "cifar10" if rng.random() < 0.55 else "imagenette"
    resolution = 32 if dataset == "cifar10" else rng.choice([32, 32, 48, 64])
    classes = rng.choice(classes_choice)
    pool = {"cifar10": 5000, "imagenette": 940}[dataset] * classes
    return {"dataset": dataset, "resolution": resolution, "grayscale": rng.random() < 0.2, "classes": classes,
            "class_seed": rng.randrange(1_000_000), "n": rng.choice([s for s in sizes if s <= pool])}  # fmt: skip


def sample_photo_spec(index: int) -> dict:
    """A small CNN on photos (protocol v4): the v2 families, or one of the article's five models."""
    rng = random.Random(index * 7919 + 23)
    data = _photo_data(rng, PHOTO_SIZES, [2, 5, 10, 10])
    family = rng.choice(["plain", "plain", "vgg", "residual", "wide_head", "article"])
    depth = rng.choice([1, 2, 2, 3, 3, 4, 5])
    head = "flatten" if family == "wide_head" else rng.choice(["flatten", "flatten", "gap"])
    return {
        "index": index, **data,
        "label_noise": rng.choice([0.0, 0.0, 0.0, 0.0, 0.2]),
        "seed": rng.randrange(1_000_000),
        "family": family,
        "article_model": rng.choice(ARTICLE_MODELS) if family == "article" else None,
        "depth": depth if family != "wide_head" else rng.choice([1, 2, 3]),
        "base_width": rng.choice([8, 16, 32, 32, 64, 128]),
        "growth": rng.choice([1, 2, 2]),
        "kernel": rng.choice([3, 3, 3, 5]),
        "pool_every": rng.choice([1, 1, 2]),
        "head": head,
        "dense_units": rng.choice([1024, 2048]) if family == "wide_head" else (
            rng.choice([0, 64, 128, 512]) if head == "flatten" else rng.choice([0, 0, 64])),  # fmt: skip
        **_training_choices(rng),
        "min_steps": V3_MIN_STEPS,
    }


def sample_app_spec(index: int) -> dict:
    """A keras.applications network from scratch (``weights=None``) on photos at small n (protocol v4)."""
    rng = random.Random(index * 7919 + 29)
    data = _photo_data(rng, APP_SIZES, [2, 5, 10])
    data["resolution"] = 32 if data["dataset"] == "cifar10" else rng.choice([32, 32, 64])
    return {
        "index": index, **data,
        "label_noise": 0.0,
        "seed": rng.randrange(1_000_000),
        "family": "application",
        "application": APPS[index % len(APPS)],
        "augment": rng.random() < 0.3,
        "optimizer": rng.choice(["adam", "adam", "adamw"]),
        "weight_decay": rng.choice([1e-4, 1e-3, 1e-2]),
        "epochs": rng.choice([20, 30]),
        "min_steps": V3_MIN_STEPS,
    }


def is_photo(spec: dict) -> bool:
    return spec["dataset"] in photos.REPOSITORIES


def _compile(model, spec: dict):
    import keras

    if spec["optimizer"] == "adamw":
        optimizer = keras.optimizers.AdamW(1e-3, weight_decay=spec["weight_decay"])
    else:
        optimizer = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _photo_augmentation(x):
    from keras import layers

    x = layers.RandomFlip("horizontal")(x)
    return layers.RandomTranslation(0.1, 0.1)(x)


def build_any(spec: dict, input_shape: tuple, classes: int):
    """The run's compiled model: an application network, one of the article's models, or a v2 family."""
    import keras

    if spec["family"] == "application":
        inputs = keras.Input(input_shape)
        x = _photo_augmentation(inputs) if spec["augment"] else inputs
        network = getattr(keras.applications, spec["application"])
        # input_tensor keeps one flat graph (augmentation layers, then the network's own), as a user would build it
        model = network(weights=None, input_tensor=x, input_shape=input_shape, classes=classes)
        return _compile(model, spec)
    if spec["family"] == "article":
        sys.path.insert(0, str(REPO / "examples"))
        import build_examples

        model = build_examples.build(keras, input_shape, classes)[spec["article_model"]]
        return _compile(model, spec)
    return build_model(spec, input_shape, classes)


def build_model(spec: dict, input_shape: tuple, classes: int):
    import keras
    from keras import layers

    two_d = len(input_shape) == 3
    conv = layers.Conv2D if two_d else layers.Conv1D
    pool = layers.MaxPooling2D if two_d else layers.MaxPooling1D
    reg = keras.regularizers.L2(spec["l2"]) if spec["l2"] else None
    inputs = keras.Input(input_shape)
    x = inputs
    if spec["augment"] and spec["dataset"] in photos.REPOSITORIES:
        x = _photo_augmentation(x)  # photos: flips are label-preserving
    elif spec["augment"]:
        if two_d:
            x = layers.RandomTranslation(0.1, 0.1)(x)
            x = layers.RandomZoom(0.1)(x)
        else:
            x = layers.GaussianNoise(0.1)(x)
    width, length = spec["base_width"], input_shape[0]

    def conv_bn_relu(x, width):
        x = conv(width, spec["kernel"], padding="same", kernel_regularizer=reg, use_bias=not spec["batchnorm"])(x)
        if spec["batchnorm"]:
            x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    for i in range(spec["depth"]):
        if spec["family"] in ("plain", "wide_head"):
            x = conv_bn_relu(x, width)
        elif spec["family"] == "vgg":
            x = conv_bn_relu(conv_bn_relu(x, width), width)
        else:  # residual block with a 1x1 projection shortcut
            shortcut = conv(width, 1, padding="same", kernel_regularizer=reg)(x)
            x = layers.Add()([conv_bn_relu(conv_bn_relu(x, width), width), shortcut])
        if (i + 1) % spec["pool_every"] == 0 and length >= 4:
            x = pool(2)(x)
            length //= 2
        width = min(width * spec["growth"], spec.get("width_cap", 512))
    if spec["head"] == "gap":
        x = (layers.GlobalAveragePooling2D if two_d else layers.GlobalAveragePooling1D)()(x)
    else:
        x = layers.Flatten()(x)
    if spec["dropout"]:
        x = layers.Dropout(spec["dropout"])(x)
    if spec["dense_units"]:
        x = layers.Dense(spec["dense_units"], activation="relu", kernel_regularizer=reg)(x)
        if spec["dropout"]:
            x = layers.Dropout(spec["dropout"])(x)
    outputs = layers.Dense(classes, activation="softmax", kernel_regularizer=reg)(x)
    return _compile(keras.Model(inputs, outputs), spec)


class _EpochRecorder:
    """After every epoch, loss and accuracy in inference mode on a fixed training subsample."""

    def __new__(cls, x, y):
        import keras

        class EpochRecorder(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.losses: list[float] = []
                self.accuracies: list[float] = []

            def on_epoch_end(self, epoch, logs=None):
                loss, acc = self.model.evaluate(x, y, batch_size=EVAL_BATCH, verbose=0)
                self.losses.append(round(float(loss), 5))
                self.accuracies.append(round(float(acc), 5))

        return EpochRecorder()


def macs_per_example(model) -> int:
    """Multiply-adds of the convolution and dense kernels for one example."""
    total = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            total += math.prod(kernel.shape) * math.prod(d or 1 for d in layer.output.shape[1:-1])
    return total


def draw_data(spec: dict, pools: dict):
    """The run's training subset (labels possibly flipped) and its test set, as float32 arrays."""
    import numpy as np

    x_pool, y_pool, x_test, y_test, _ = pools[pool_key(spec)]
    total = 10 if is_photo(spec) else sources.CLASSES[spec["dataset"]]
    rng = np.random.RandomState(spec["class_seed"])
    chosen = np.sort(rng.permutation(total)[: spec["classes"]])
    remap = {int(c): i for i, c in enumerate(chosen)}
    in_train = np.flatnonzero(np.isin(y_pool, chosen))
    in_test = np.flatnonzero(np.isin(y_test, chosen))
    rng = np.random.RandomState(spec["seed"])
    pick = rng.permutation(in_train)[: spec["n"]]
    y_train = np.array([remap[int(v)] for v in y_pool[pick]], "int64")
    flips = rng.rand(len(pick)) < spec["label_noise"]
    shift = rng.randint(1, spec["classes"], size=len(pick))
    y_train = np.where(flips, (y_train + shift) % spec["classes"], y_train)
    y_te = np.array([remap[int(v)] for v in y_test[in_test]], "int64")
    # The held-out labels come from the same labelling process as the training labels: noisy at the same rate.
    rng_test = np.random.RandomState(spec["seed"] + 1)
    flips_te = rng_test.rand(len(y_te)) < spec["label_noise"]
    y_te = np.where(flips_te, (y_te + rng_test.randint(1, spec["classes"], size=len(y_te))) % spec["classes"], y_te)
    x_tr, x_te = sources.as_float(x_pool[pick]), sources.as_float(x_test[in_test])
    if spec.get("grayscale"):  # luminance, as a greyscale photo (an X-ray, a face crop) has one channel
        weights = np.array([0.299, 0.587, 0.114], "float32")
        x_tr, x_te = x_tr @ weights, x_te @ weights
        x_tr, x_te = x_tr[..., None], x_te[..., None]
    return (x_tr, y_train, x_te, y_te,
            {"train_indices_digest": sources.digest(pick), "flipped": int(flips.sum()),
             "test_flipped": int(flips_te.sum())})  # fmt: skip


def pool_key(spec: dict) -> str:
    """Which loaded pool a spec draws from: a source, or a photo source at its resolution."""
    return f"{spec['dataset']}-{spec['resolution']}" if is_photo(spec) else spec["dataset"]


def load_pools(pools: dict, spec: dict) -> dict:
    """``pools`` with the spec's pool loaded (photo pools are loaded on first use: they are large)."""
    key = pool_key(spec)
    if key not in pools:
        if is_photo(spec):
            *pool, provenance = photos.load(spec["dataset"], spec["resolution"])
            pools[key] = (*pool, {**provenance, "digest": sources.digest(*pool)})
        else:
            pool = sources.load_pool(spec["dataset"])
            pools[key] = (*pool, sources.digest(*pool))
    return pools


def cost_budget(spec: dict, mode: str) -> float:
    if spec["family"] == "application":
        return APP_BUDGET[mode]
    return PHOTO_BUDGET[mode] if is_photo(spec) else CPU_BUDGET[mode]


def train_one(spec: dict, pools: dict, mode: str, device: str, cost_range: tuple[float, float] | None = None
              ) -> dict | None:
    import keras
    import numpy as np

    x_train, y_train, x_test, y_test, drawn = draw_data(spec, load_pools(pools, spec))
    # a replicate keeps the data (same training subset, same flipped labels) and changes only the training seed
    keras.utils.set_random_seed(spec["seed"] + spec.get("replicate", 0) * 1_000_003)
    model = build_any(spec, x_train.shape[1:], spec["classes"])
    params = int(model.count_params())
    if params > (MAX_APP_PARAMS if spec["family"] == "application" else MAX_PARAMS):
        return {"id": spec["index"], "skipped": f"{params} params over the cap", "spec": spec}
    macs = macs_per_example(model)
    batch = 128 if spec["n"] >= 5000 else 64
    epochs = spec["epochs"]
    # min_steps: each epoch passes over the (shuffled) training set `passes` times, so a small-n run takes at
    # least min_steps optimizer steps in its spec's number of epochs (one Keras epoch per curve point stays cheap)
    passes = passes_per_epoch(spec, len(y_train), batch)
    low, high = cost_range or (0.0, cost_budget(spec, mode))
    if not low < macs * spec["n"] * spec["epochs"] * passes <= high:
        return None  # left for a machine with a bigger budget (or, on a GPU batch, to the CPU workers)
    x_fit, y_fit = (np.concatenate([x_train] * passes), np.concatenate([y_train] * passes)) if passes > 1 else (
        x_train, y_train)  # fmt: skip
    # an application network evaluates fewer fixed examples per epoch (inference costs it ~1/3 of a training step)
    shrink = 2 if spec["family"] == "application" else 1
    sub = np.random.RandomState(0).permutation(len(y_train))[: TRAIN_EVAL // shrink]
    val = np.random.RandomState(1).permutation(len(y_test))[: VAL_EVAL // shrink]
    started = time.time()
    recorder = _EpochRecorder(x_train[sub], y_train[sub])
    hist = model.fit(x_fit, y_fit, batch_size=batch, epochs=epochs, verbose=0, shuffle=True,
                     validation_data=(x_test[val], y_test[val]), validation_batch_size=EVAL_BATCH,
                     callbacks=[recorder])  # fmt: skip
    curves = {key: [round(float(v), 5) for v in hist.history[key]]
              for key in ("loss", "accuracy", "val_loss", "val_accuracy")}  # fmt: skip
    curves["train_eval_loss"], curves["train_eval_accuracy"] = recorder.losses, recorder.accuracies
    train_loss, train_acc = model.evaluate(x_train, y_train, batch_size=EVAL_BATCH, verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=EVAL_BATCH, verbose=0)
    pool_meta = pools[pool_key(spec)][-1]
    return {
        "id": spec["index"],
        "spec": spec,
        "config": json.loads(model.to_json()),
        "params": params,
        "macs_per_example": macs,
        "input_shape": list(x_train.shape[1:]),
        "test_size": int(len(y_test)),
        "epochs": epochs,
        "passes_per_epoch": passes,
        "batch": batch,
        "train_acc": round(float(train_acc), 5),
        "test_acc": round(float(test_acc), 5),
        "train_loss": round(float(train_loss), 5),
        "test_loss": round(float(test_loss), 5),
        # the true gap: inference-mode accuracy on the whole training subset - on the whole test pool
        "gap": round(float(train_acc - test_acc), 5),
        # the gap Keras prints: the last epoch's logged training accuracy (averaged over the epoch, dropout and
        # augmentation active) - its validation accuracy
        "keras_gap": round(curves["accuracy"][-1] - curves["val_accuracy"][-1], 5),
        "loss_gap": round(float(test_loss - train_loss), 5),
        "curves": curves,
        "data": ({"pool_digest": pool_meta["digest"], "provenance": {k: v for k, v in pool_meta.items()
                  if k != "digest"}} if is_photo(spec) else {"pool_digest": pool_meta}) | drawn,  # fmt: skip
        "seconds": round(time.time() - started, 1),
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "device": device,
        "host": socket.gethostname(),
    }


def free_models() -> None:
    """Drop the finished run's model and graphs: a worker that never did grew to 15 GB over a few hundred runs and
    drove this 24 GB machine into swap-less thrashing (fifth session)."""
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def passes_per_epoch(spec: dict, n: int, batch: int) -> int:
    """How many times one curve epoch passes over the training set, so that the run takes ``spec["min_steps"]``."""
    return max(1, math.ceil(spec.get("min_steps", 0) / (spec["epochs"] * math.ceil(n / batch))))


def optimizer_steps(record: dict) -> int:
    """The optimizer steps a recorded run took (v1 runs record the epochs they actually ran)."""
    spec = record["spec"]
    batch = record.get("batch", 64)
    epochs = record.get("epochs_run", record.get("epochs", spec.get("epochs", 1)))
    return epochs * record.get("passes_per_epoch", 1) * math.ceil(spec["n"] / batch)


def rerun_order(folder: Path, min_steps: int, start: int = 0, max_n: int = 10**9) -> list[int]:
    """The runs in ``folder`` that trained fewer than ``min_steps`` steps, cheapest rerun first."""
    short = [r for r in records.trained(folder) if r["id"] >= start and r["spec"]["n"] <= max_n
             and optimizer_steps(r) < min_steps]  # fmt: skip
    return [r["id"] for r in sorted(short, key=lambda r: (r["macs_per_example"] * min_steps * r["batch"], r["id"]))]


def describe_device() -> str:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            d = jax.devices()[0]
            return f"{d.platform}: {getattr(d, 'device_kind', d)}"
        if backend == "torch":
            import torch

            return f"cuda: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    except Exception as exc:  # the label is informational
        return f"unknown ({exc})"
    return "cpu"
