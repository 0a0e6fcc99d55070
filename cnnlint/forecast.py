"""Forecast the final accuracy gap of a full training run from the curves of a short one.

The model lives in ``cnnlint/data/forecast_model.json``: gradient-boosted
regression trees fitted by ``study/fit_forecast.py`` (scikit-learn) to the
study corpus's per-epoch curves, exported as plain node lists.  This module
computes the same features the fit used and walks the trees in pure Python,
so forecasting needs neither scikit-learn nor NumPy.

The trees predict the *change* of the gap from now to the last epoch, so the
forecast is the gap observed now plus that change.  Three quantile models give
the median and the 10th and 90th percentiles (the 80 % interval), widened by
a conformal margin measured on held-out data sources.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cnnlint.trees import ensemble

MODEL_PATH = Path(__file__).parent / "data" / "forecast_model.json"

#: Epochs the slopes are taken over (the last few of the short run).
WINDOW = 3
#: The fewest epochs a forecast is made from: two points give a slope.
MIN_EPOCHS = 2


def _slope(values: Sequence[float]) -> float:
    """Least-squares slope per epoch."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    return num / sum((i - mean_x) ** 2 for i in range(n))


def _curvature(values: Sequence[float]) -> float:
    """Change of slope: the slope of the last WINDOW epochs minus that of the WINDOW before them."""
    if len(values) < 4:
        return 0.0
    half = min(WINDOW, len(values) // 2)
    return _slope(values[-half:]) - _slope(values[-2 * half : -half])


def _nan() -> float:
    return float("nan")


def curve_features(history: dict[str, Sequence[float]], epochs_done: int, full_epochs: int,
                   classes: int) -> dict[str, float]:  # fmt: skip
    """The forecaster's inputs from the first ``epochs_done`` epochs of ``history`` (Keras's History keys).

    ``train_eval_accuracy``/``train_eval_loss`` (training data evaluated in inference mode after each epoch)
    are used when present; without them those features are NaN, which the trees route as missing.
    """
    k = epochs_done
    if k < 1 or full_epochs < k:
        raise ValueError(f"cannot forecast epoch {full_epochs} from {k} epochs")
    acc, val_acc, loss, val_loss = (_first(history, key, k) for key in ("accuracy", "val_accuracy", "loss", "val_loss"))
    chance = 1.0 / max(classes, 2)
    gaps = [a - b for a, b in zip(acc, val_acc)]
    window = slice(-min(WINDOW, k), None)
    remaining = full_epochs - k
    gap_slope, acc_slope = _slope(gaps[window]), _slope(acc[window])
    headroom = 1.0 - acc[-1]
    # accuracies relative to chance and losses relative to chance loss (ln C): the corpus has 10 classes,
    # a user's data may have 2 or 1000, and an untrained model must look untrained whatever C is
    scale = 1.0 - chance
    nats = math.log(max(classes, 2))
    features = {
        "fraction_done": k / full_epochs,
        "log_remaining_ratio": math.log(full_epochs / k),
        "epochs_done": float(k),
        "gap": gaps[-1],
        "train_progress": (acc[-1] - chance) / scale,
        "val_progress": (val_acc[-1] - chance) / scale,
        "val_below_best": (max(val_acc) - val_acc[-1]) / scale,
        "loss": loss[-1] / nats,
        "val_loss": val_loss[-1] / nats,
        "loss_gap": (val_loss[-1] - loss[-1]) / nats,
        "val_loss_above_min": (val_loss[-1] - min(val_loss)) / nats,
        "acc_slope": acc_slope,
        "val_acc_slope": _slope(val_acc[window]),
        "gap_slope": gap_slope,
        "loss_slope": _slope(loss[window]) / nats,
        "val_loss_slope": _slope(val_loss[window]) / nats,
        "gap_curvature": _curvature(gaps),
        "acc_curvature": _curvature(acc),
        "gap_linear": gap_slope * remaining,
        "acc_linear_headroom": min(max(acc_slope, 0.0) * remaining, headroom),
    }
    features.update(_eval_features(history, k, val_acc, window, nats))
    return features


def _first(history: dict[str, Sequence[float]], key: str, k: int) -> list[float]:
    values = [float(v) for v in history.get(key, [])[:k]]
    if len(values) < k:
        raise ValueError(f"the history's '{key}' has fewer than {k} epochs")
    return values


def _eval_features(history: dict[str, Sequence[float]], k: int, val_acc: list[float], window: slice,
                   nats: float) -> dict[str, float]:  # fmt: skip
    """Features of the inference-mode training curve, NaN where the history lacks it."""
    if len(history.get("train_eval_accuracy", [])) < k or len(history.get("train_eval_loss", [])) < k:
        return {"eval_gap": _nan(), "eval_gap_slope": _nan(), "eval_train_acc": _nan(), "eval_loss_gap": _nan()}
    acc = [float(v) for v in history["train_eval_accuracy"][:k]]
    loss = [float(v) for v in history["train_eval_loss"][:k]]
    gaps = [a - b for a, b in zip(acc, val_acc)]
    return {
        "eval_gap": gaps[-1],
        "eval_gap_slope": _slope(gaps[window]),
        "eval_train_acc": acc[-1],
        "eval_loss_gap": (float(history["val_loss"][k - 1]) - loss[-1]) / nats,
    }


def measured_gaps(history: dict[str, Sequence[float]]) -> list[float]:
    """Train - validation accuracy per epoch; inference-mode train accuracy where confirm measured it."""
    train = history.get("train_eval_accuracy") or history.get("accuracy", [])
    return [float(a) - float(b) for a, b in zip(train, history.get("val_accuracy", []))]


def gap_now(features: dict[str, float]) -> float:
    """The gap the forecast starts from: inference-mode train accuracy when measured (as the final gap is)."""
    return features["gap"] if math.isnan(features["eval_gap"]) else features["eval_gap"]


def _clip(gap: float) -> float:
    return min(max(gap, -1.0), 1.0)


# ---- the fitted model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """The gap forecast at ``full_epochs`` from the first ``epochs_done`` epochs."""

    epochs_done: int
    full_epochs: int
    gap_now: float
    gap: float
    interval: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"epochs_done": self.epochs_done, "full_epochs": self.full_epochs, "gap_now": round(self.gap_now, 4),
                "gap": round(self.gap, 4), "interval": [round(v, 4) for v in self.interval]}  # fmt: skip


@dataclass(frozen=True)
class Forecaster:
    """The exported model: features, one ensemble per quantile, the conformal margin."""

    features: tuple[str, ...]
    ensembles: dict[str, dict[str, Any]]
    margin: float
    min_epochs: int
    meta: dict[str, Any]

    def predict_change(self, features: dict[str, float]) -> dict[str, float]:
        row = [features[name] for name in self.features]
        return {name: ensemble(e["baseline"], e["trees"], row) for name, e in self.ensembles.items()}

    def forecast(self, history: dict[str, Sequence[float]], epochs_done: int, full_epochs: int,
                 classes: int) -> Forecast:  # fmt: skip
        features = curve_features(history, epochs_done, full_epochs, classes)
        change = self.predict_change(features)
        now = gap_now(features)
        low, mid, high = sorted((change["q10"], change["q50"], change["q90"]))
        return Forecast(epochs_done, full_epochs, now, _clip(now + mid),
                        (_clip(now + low - self.margin), _clip(now + high + self.margin)))  # fmt: skip

    def needs(self, key: str) -> bool:
        """Whether a feature family (e.g. ``eval_``) is used, so confirm measures it only then."""
        return any(name.startswith(key) for name in self.features)


@lru_cache(maxsize=1)
def load_forecaster(path: Path = MODEL_PATH) -> Forecaster | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Forecaster(tuple(data["features"]), data["ensembles"], float(data["margin"]), int(data["min_epochs"]),
                      data.get("meta", {}))  # fmt: skip
