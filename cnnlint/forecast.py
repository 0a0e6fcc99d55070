"""Forecast the final accuracy gap of a full training run from the curves of a short one.

The model lives in ``cnnlint/data/forecast_model.json``: gradient-boosted
regression trees fitted by ``python -m study fit-forecast`` (scikit-learn) to the
study corpus's per-epoch curves, exported as plain node lists.  This module
computes the same features the fit used and walks the trees in pure Python,
so forecasting needs neither scikit-learn nor NumPy.

The trees predict the *change* of the gap from now to the last epoch, so the
forecast is the gap observed now plus that change.  Three quantile models give
the median and the 10th and 90th percentiles (the 80 % interval), widened by
a conformal margin measured on held-out data sources.

Two variants are fitted: ``eval`` for histories that hold the training accuracy measured in inference mode after
each epoch (``train_eval_accuracy``, as ``cnnlint confirm`` and ``GapForecast(train_sample=...)`` measure it), and
``logs`` for histories with only what Keras logs (the training accuracy averaged over the epoch, dropout and
augmentation on).  Each variant carries a table of *regimes* (how far into the run, whether validation accuracy is
still rising) with its held-out error there against the naive forecast (the gap observed now); where it did not
beat the naive forecast, :meth:`Forecaster.forecast` returns the observed gap with the naive forecast's measured
band instead, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cnnlint.model_files import FORECAST_MODEL_FILE
from cnnlint.trees import ensemble

MODEL_PATH = Path(__file__).parent / "data" / "forecast_model.json"

#: Epochs the slopes are taken over (the last few of the short run).
WINDOW = 3
#: The fewest epochs a forecast is made from: two points give a slope.
MIN_EPOCHS = 2
#: Validation accuracy counts as still rising when its slope would add this much over the whole run.
RISING = 0.5


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


def has_eval(history: dict[str, Sequence[float]], k: int) -> bool:
    """Whether the first ``k`` epochs hold inference-mode training accuracy and loss."""
    return len(history.get("train_eval_accuracy") or []) >= k and len(history.get("train_eval_loss") or []) >= k


def curve_features(history: dict[str, Sequence[float]], epochs_done: int, full_epochs: int, classes: int,
                   steps_per_epoch: int | None = None) -> dict[str, float]:  # fmt: skip
    """The forecaster's inputs from the first ``epochs_done`` epochs of ``history`` (Keras's History keys).

    The training curve is ``train_eval_accuracy``/``train_eval_loss`` (inference mode, as the final gap is
    measured) when present, else Keras's logged ``accuracy``/``loss``.  Slopes are per *whole run* (per-epoch slope
    times ``full_epochs``), so a run's shape reads the same whatever its length.  ``steps_per_epoch`` (optimizer
    steps per epoch) gives the run's length in steps; unknown, those features are NaN.
    """
    k = epochs_done
    if k < 1 or full_epochs < k:
        raise ValueError(f"cannot forecast epoch {full_epochs} from {k} epochs")
    logged_acc, val_acc, logged_loss, val_loss = (_first(history, key, k) for key in ("accuracy", "val_accuracy",
                                                                                      "loss", "val_loss"))  # fmt: skip
    measured = has_eval(history, k)
    acc = _first(history, "train_eval_accuracy", k) if measured else logged_acc
    loss = _first(history, "train_eval_loss", k) if measured else logged_loss
    # accuracies relative to chance and losses relative to chance loss (ln C): the corpus has 2 to 10 classes,
    # a user's data may have 1000, and an untrained model must look untrained whatever C is
    chance = 1.0 / max(classes, 2)
    scale, nats = 1.0 - chance, math.log(max(classes, 2))
    gaps = [a - b for a, b in zip(acc, val_acc)]
    window = slice(-min(WINDOW, k), None)
    remaining = full_epochs - k
    gap_slope, acc_slope = _slope(gaps[window]), _slope(acc[window])
    recent = max(1, k // 2)
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
        "acc_slope": acc_slope * full_epochs,
        "val_acc_slope": _slope(val_acc[window]) * full_epochs,
        "gap_slope": gap_slope * full_epochs,
        "loss_slope": _slope(loss[window]) * full_epochs / nats,
        "val_loss_slope": _slope(val_loss[window]) * full_epochs / nats,
        "gap_curvature": _curvature(gaps) * full_epochs,
        "acc_curvature": _curvature(acc) * full_epochs,
        "gap_linear": gap_slope * remaining,
        "acc_linear_headroom": min(max(acc_slope, 0.0) * remaining, 1.0 - acc[-1]),
        # Ru et al. 2021: the sum of training losses so far (here its mean per epoch, and over the recent half)
        "sotl": sum(logged_loss) / k / nats,
        "sotl_recent": sum(logged_loss[-recent:]) / recent / nats,
        "sovl": sum(val_loss) / k / nats,
        "log_steps_full": math.log(steps_per_epoch * full_epochs) if steps_per_epoch else _nan(),
        "log_steps_epoch": math.log(steps_per_epoch) if steps_per_epoch else _nan(),
    }
    return features


def _first(history: dict[str, Sequence[float]], key: str, k: int) -> list[float]:
    values = [float(v) for v in (history.get(key) or [])[:k]]
    if len(values) < k:
        raise ValueError(f"the history's '{key}' has fewer than {k} epochs")
    return values


def measured_gaps(history: dict[str, Sequence[float]]) -> list[float]:
    """Train - validation accuracy per epoch; inference-mode train accuracy where confirm measured it."""
    train = history.get("train_eval_accuracy") or history.get("accuracy", [])
    return [float(a) - float(b) for a, b in zip(train, history.get("val_accuracy", []))]


def gap_now(features: dict[str, float]) -> float:
    """The gap the forecast starts from (inference-mode train accuracy when measured, as the final gap is)."""
    return features["gap"]


def rising(features: dict[str, float]) -> bool:
    """Validation accuracy still rising: at its recent slope it would gain RISING over a whole run."""
    return features["val_acc_slope"] >= RISING


def _clip(gap: float) -> float:
    return min(max(gap, -1.0), 1.0)


# ---- the fitted model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """The gap forecast at ``full_epochs`` from the first ``epochs_done`` epochs.

    ``observed`` is True where the forecaster did not beat the naive forecast in this regime on held-out data:
    then ``gap`` is the gap observed now and ``interval`` the naive forecast's 80 % band measured there, and
    ``note`` says why.
    """

    epochs_done: int
    full_epochs: int
    gap_now: float
    gap: float
    interval: tuple[float, float]
    variant: str = "eval"
    observed: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"epochs_done": self.epochs_done, "full_epochs": self.full_epochs, "gap_now": round(self.gap_now, 4),
                "gap": round(self.gap, 4), "interval": [round(v, 4) for v in self.interval], "variant": self.variant,
                "observed": self.observed, "note": self.note}  # fmt: skip


@dataclass(frozen=True)
class Regime:
    """One cell of a variant's regime table: where in a run, and how the forecaster did there, held out."""

    fraction: tuple[float, float]
    rising: bool
    runs: int
    beats_naive: bool
    naive_band: tuple[float, float]  # 10th and 90th percentiles of (final gap - gap now), held out
    mae: float = float("nan")
    mae_naive: float = float("nan")

    def holds(self, fraction: float, is_rising: bool) -> bool:
        low, high = self.fraction
        return low <= fraction < high and is_rising == self.rising


@dataclass(frozen=True)
class Variant:
    """One exported model: features, one ensemble per quantile, the conformal margin, the regime table."""

    features: tuple[str, ...]
    ensembles: dict[str, dict[str, Any]]
    margin: float
    regimes: tuple[Regime, ...] = ()

    def predict_change(self, features: dict[str, float]) -> dict[str, float]:
        row = [features[name] for name in self.features]
        return {name: ensemble(e["baseline"], e["trees"], row) for name, e in self.ensembles.items()}

    def regime(self, features: dict[str, float]) -> Regime | None:
        fraction, up = features["fraction_done"], rising(features)
        return next((r for r in self.regimes if r.holds(fraction, up)), None)


@dataclass(frozen=True)
class Forecaster:
    """The fitted forecaster: one :class:`Variant` per kind of history."""

    variants: dict[str, Variant]
    min_epochs: int
    meta: dict[str, Any] = field(default_factory=dict)

    def variant_for(self, history: dict[str, Sequence[float]], k: int) -> str:
        return "eval" if has_eval(history, k) and "eval" in self.variants else "logs"

    def forecast(self, history: dict[str, Sequence[float]], epochs_done: int, full_epochs: int, classes: int,
                 steps_per_epoch: int | None = None, fallback: bool = True) -> Forecast:  # fmt: skip
        """The forecast, or with ``fallback`` where the forecaster lost to the naive forecast, the observed gap."""
        name = self.variant_for(history, epochs_done)
        variant = self.variants[name]
        features = curve_features(history, epochs_done, full_epochs, classes, steps_per_epoch)
        now = gap_now(features)
        regime = variant.regime(features) if fallback else None
        if fallback and (regime is None or not regime.beats_naive):
            low, high = regime.naive_band if regime else (-variant.margin, variant.margin)
            # the band as the observed gap moved held out, widened where it must to hold the gap shown
            band = (_clip(now + min(low, 0.0)), _clip(now + max(high, 0.0)))
            return Forecast(epochs_done, full_epochs, now, _clip(now), band, name, observed=True,
                            note=_fallback_note(features, regime))  # fmt: skip
        change = variant.predict_change(features)
        low, mid, high = sorted((change["q10"], change["q50"], change["q90"]))
        return Forecast(epochs_done, full_epochs, now, _clip(now + mid),
                        (_clip(now + low - variant.margin), _clip(now + high + variant.margin)), name)  # fmt: skip

    def needs(self, key: str) -> bool:
        """Whether a variant of this kind (``eval``) is fitted, so confirm measures its curve only then."""
        return key.rstrip("_") in self.variants


def _fallback_note(features: dict[str, float], regime: Regime | None) -> str:
    where = f"{features['fraction_done']:.0%} of the run done"
    if features["fraction_done"] >= 1:
        return "the whole run was trained"
    if regime is None:
        return f"no held-out evaluation covers this regime ({where}); showing the gap observed so far"
    state = "validation accuracy still rising" if regime.rising else "validation accuracy level or falling"
    return (f"held out, the forecaster did not beat the gap observed so far at {where} with {state} "
            f"(error {regime.mae:.3f} against {regime.mae_naive:.3f}); showing the observed gap")


def _variant(data: dict[str, Any]) -> Variant:
    regimes = tuple(Regime(tuple(r["fraction"]), bool(r["rising"]), int(r["runs"]), bool(r["beats_naive"]),
                           tuple(r["naive_band"]), float(r.get("mae", "nan")), float(r.get("mae_naive", "nan")))
                    for r in data.get("regimes", []))  # fmt: skip
    return Variant(tuple(data["features"]), data["ensembles"], float(data["margin"]), regimes)


@lru_cache(maxsize=1)
def load_forecaster(path: Path = MODEL_PATH) -> Forecaster | None:
    try:
        data = FORECAST_MODEL_FILE.read(path)
        variants = {name: _variant(v) for name, v in data["variants"].items()}
    except (OSError, ValueError, KeyError):
        return None
    return Forecaster(variants, int(data["min_epochs"]), data.get("meta", {}))
