"""Train a varied corpus of small Keras CNNs on real offline data and record their overfitting.

Every model ``i`` is fully determined by ``i``: its architecture, dataset,
training-set size and seeds are sampled from ``random.Random(i)``.  The ``v1``
campaign (``python -m study generate v1``, ``study.campaigns``) trains ids 0-399
into ``study/runs/v1/``; ids already on disk are skipped.  Kept to rebuild the
v1 runs as they were measured; new runs use ``study.generate``.

Measurement protocol (after Jiang et al. 2020): train with Adam/AdamW at
batch 64 (in one ``fit`` call with a stopping callback) until training accuracy (in the epoch logs) reaches 99 % for two
epochs, the training loss stops improving for 6 epochs, or 40 epochs pass.
Samples over 3 M parameters or 30 M multiply-adds per example are\nrecorded as skipped.  Then evaluate, in inference mode, on the full training subset and on a fixed
held-out split.  The gap is train accuracy minus held-out accuracy.  Held-out
data never influences when training stops.

Datasets (both generated locally, no download):
* ``digits``: scikit-learn's bundled 8x8 digits, upsampled 2x to 16x16x1;
  1,797 images, 597 held out, training subsets of 100 to 1,200.
* ``mnist1d``: the ``mnist1d`` package's generator (seed 42), 40 steps x 1
  channel; 4,000 train / 1,000 held out, subsets of 250 to 4,000.
"""

from __future__ import annotations

import json
import os
import random
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

MAX_EPOCHS = 40
BATCH = 64
#: Samples whose convolutions cost more than this per example are skipped (CPU budget).
MAX_FLOPS = 30_000_000
SIZES = {"digits": [100, 200, 400, 800, 1200], "mnist1d": [250, 500, 1000, 2000, 4000]}


def load_digits():
    import numpy as np
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x = data.images.astype("float32") / 16.0
    x = np.kron(x, np.ones((1, 2, 2), dtype="float32"))[..., None]  # 16x16x1
    y = data.target.astype("int64")
    order = np.random.RandomState(0).permutation(len(y))
    x, y = x[order], y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def load_mnist1d():
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return (
        d["x"][..., None].astype("float32"),
        d["y"].astype("int64"),
        d["x_test"][..., None].astype("float32"),
        d["y_test"].astype("int64"),
    )


def sample_spec(index: int) -> dict:
    """The architecture and training setup of model ``index``."""
    rng = random.Random(index)
    dataset = "digits" if index % 2 == 0 else "mnist1d"
    family = rng.choice(["plain", "vgg", "residual"])
    depth = rng.choice([1, 2, 2, 3, 3, 4, 5, 6])
    base = rng.choice([4, 8, 16, 32, 64, 128])
    growth = rng.choice([1, 1, 2])
    kernel = rng.choice([3, 3, 5, 7] if dataset == "digits" else [3, 5, 7, 9])
    head = rng.choice(["flatten", "flatten", "gap"])
    dense_units = rng.choice([0, 32, 128, 512]) if head == "flatten" else rng.choice([0, 0, 64])
    pool_every = rng.choice([1, 2, 99])
    return {
        "index": index,
        "dataset": dataset,
        "family": family,
        "n": rng.choice(SIZES[dataset]),
        "seed": rng.randrange(1_000_000),
        "depth": depth,
        "base_width": base,
        "growth": growth,
        "kernel": kernel,
        "pool_every": pool_every,
        "head": head,
        "dense_units": dense_units,
        "batchnorm": rng.random() < 0.4,
        "dropout": rng.choice([0.0, 0.0, 0.25, 0.5]),
        "l2": rng.choice([0.0, 0.0, 1e-4, 1e-3]),
        "augment": rng.random() < 0.3,
        "optimizer": rng.choice(["adam", "adam", "adamw"]),
        "weight_decay": rng.choice([1e-4, 1e-3, 1e-2]),
    }


def build_model(spec: dict, input_shape: tuple, classes: int = 10):
    """v1's networks are v2's (``generate.build_model``) with the width capped at 256 filters."""
    from generate import build_model as build_v2

    return build_v2({**spec, "width_cap": 256}, input_shape, classes)


class _StopRule:
    """Stop at 99 % training accuracy for two epochs, or after 6 epochs without a lower training loss."""

    def __new__(cls):
        import keras

        class StopRule(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.best, self.stale, self.high = float("inf"), 0, 0
                self.reason = "max_epochs"
                self.started = time.time()

            def on_epoch_end(self, epoch, logs=None):
                loss, acc = float(logs["loss"]), float(logs["accuracy"])
                self.high = self.high + 1 if acc >= 0.99 else 0
                self.stale = 0 if loss < self.best - 1e-4 else self.stale + 1
                self.best = min(self.best, loss)
                if self.high >= 2:
                    self.reason, self.model.stop_training = "train_acc_99", True
                elif self.stale >= 6:
                    self.reason, self.model.stop_training = "plateau", True

        return StopRule()


def flops_per_example(model) -> int:
    from generate import macs_per_example

    return macs_per_example(model)


def train_one(spec: dict, data: dict, max_params: int) -> dict:
    import keras
    import numpy as np

    x_pool, y_pool, x_test, y_test = data[spec["dataset"]]
    rng = np.random.RandomState(spec["seed"])
    pick = rng.permutation(len(y_pool))[: spec["n"]]
    x_train, y_train = x_pool[pick], y_pool[pick]
    keras.utils.set_random_seed(spec["seed"])
    model = build_model(spec, x_train.shape[1:])
    if model.count_params() > max_params:
        return {"id": spec["index"], "skipped": f"{model.count_params()} params over the cap"}
    if flops_per_example(model) > MAX_FLOPS:
        return {"id": spec["index"], "skipped": f"{flops_per_example(model)} multiply-adds per example over the cap"}
    stopper = _StopRule()
    hist = model.fit(x_train, y_train, batch_size=BATCH, epochs=MAX_EPOCHS, verbose=0,
                     validation_data=(x_test, y_test), shuffle=True, callbacks=[stopper])  # fmt: skip
    curves = {key: [round(float(v), 5) for v in hist.history[key]]
              for key in ("loss", "accuracy", "val_loss", "val_accuracy")}  # fmt: skip
    started = stopper.started
    stop_reason = stopper.reason
    train_loss, train_acc = model.evaluate(x_train, y_train, batch_size=256, verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    return {
        "id": spec["index"],
        "spec": spec,
        "config": json.loads(model.to_json()),
        "params": int(model.count_params()),
        "epochs": len(curves["loss"]),
        "stop_reason": stop_reason,
        "train_acc": round(float(train_acc), 5),
        "test_acc": round(float(test_acc), 5),
        "train_loss": round(float(train_loss), 5),
        "test_loss": round(float(test_loss), 5),
        "gap": round(float(train_acc - test_acc), 5),
        "loss_gap": round(float(test_loss - train_loss), 5),
        "curves": curves,
        "seconds": round(time.time() - started, 1),
        "keras_version": keras.__version__,
    }


_POOLS: dict = {}


def train_index(index: int, max_params: int = 3_000_000) -> dict:
    """Train run ``index`` of protocol v1 and return its record (the pools are loaded once per process)."""
    if not _POOLS:
        _POOLS.update(digits=load_digits(), mnist1d=load_mnist1d())
    return train_one(sample_spec(index), _POOLS, max_params)
