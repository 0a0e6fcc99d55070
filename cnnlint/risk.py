"""Overfitting risk: a fitted model from graph facts and the training-set size to a predicted gap.

The coefficients live in ``cnnlint/data/risk_model.json``.  They are fitted by
``study/fit.py`` to measured training runs (``study/corpus``) and carry the
corpus version and the held-out evaluation they came with.  Nothing here is
hand-set: the only constants are the level cut-offs on the predicted gap,
which are definitions (what "high" means), not fitted weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cnnlint.analysis import Facts
from cnnlint.findings import Dataset, Finding, class_count
from cnnlint.levels import RISK_LEVELS

#: Predicted accuracy gap (train - held-out) below which risk is low, and at or above which it is high.
LOW_GAP = 0.05
HIGH_GAP = 0.15

#: Which rule codes explain which model feature (for "top contributing factors").
FEATURE_RULES: dict[str, tuple[str, ...]] = {
    "log_params_per_sample": ("C106", "C103"),
    "log_samples_per_class": ("D301", "C106"),
    "head_share": ("C105",),
    "depth": ("C101", "C102"),
    "log_width": ("C103",),
    "largest_kernel": ("C104",),
    "dropout": ("R201", "R205"),
    "normalization": ("R202",),
    "weight_penalty": ("R203",),
    "augmentation": ("R204",),
}


def features(facts: Facts, dataset: Dataset) -> dict[str, float] | None:
    """The risk model's inputs.  ``None`` without a training-set size."""
    n = dataset.samples
    if not n:
        return None
    classes = class_count(dataset, facts)
    params = max(facts.trainable_params, 1)
    lpps = math.log10(params / n)
    return {
        "log_params_per_sample": lpps,
        "log_params_per_sample_sq": lpps * lpps,
        "log_samples_per_class": math.log10(max(n / classes, 1)),
        "head_share": facts.head_share or 0.0,
        "depth": float(facts.depth),
        "log_width": math.log2(facts.width or 1),
        "largest_kernel": float(facts.largest_kernel or 1),
        "dropout": 1.0 if (facts.dropout_layers or facts.noise_layers) else 0.0,
        "normalization": 1.0 if facts.norm_layers else 0.0,
        "weight_penalty": 1.0 if facts.has_weight_penalty else 0.0,
        "augmentation": 1.0 if (facts.augment_layers or dataset.augmented) else 0.0,
    }


#: How a feature reads to a person: its label and how to turn the model's value back into a plain number.
FEATURE_DISPLAY: dict[str, tuple[str, Any]] = {
    "log_params_per_sample": ("trainable parameters per training sample", lambda v: 10**v),
    "log_samples_per_class": ("training samples per class", lambda v: 10**v),
    "head_share": ("share of parameters in the dense head", lambda v: f"{v:.0%}"),
    "depth": ("depth (weighted layers)", lambda v: v),
    "log_width": ("widest layer", lambda v: 2**v),
    "largest_kernel": ("largest kernel", lambda v: v),
}
BINARY_FEATURES = ("dropout", "normalization", "weight_penalty", "augmentation")
#: A squared term is folded into its base feature, so a factor is one quantity a person can change.
FOLDED_FEATURES = {"log_params_per_sample_sq": "log_params_per_sample"}


def _plain(number: Any) -> str:
    if isinstance(number, str):
        return number
    return f"{number:,.0f}" if abs(number) >= 10 else f"{number:.2g}"


@dataclass(frozen=True)
class Factor:
    """One feature's push on the predicted gap, measured against the average model of the study corpus."""

    feature: str
    value: float
    contribution: float
    rules: tuple[str, ...]
    reference: float | None = None

    def describe(self) -> str:
        rules = f", {'/'.join(self.rules)}" if self.rules else ""
        effect = f" ({self.contribution:+.2f}{rules})"
        if self.feature in BINARY_FEATURES:
            name = self.feature.replace("_", " ")
            return f"{'' if self.value else 'no '}{name}{effect}"
        label, plain = FEATURE_DISPLAY.get(self.feature, (self.feature, lambda v: v))
        average = "" if self.reference is None else f" vs. study average {_plain(plain(self.reference))}"
        return f"{label} {_plain(plain(self.value))}{average}{effect}"


@dataclass(frozen=True)
class Risk:
    level: str
    gap: float
    interval: tuple[float, float]
    factors: tuple[Factor, ...]
    model_version: str
    extrapolated: bool
    coverage: float
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RiskModel:
    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    residual_low: float
    residual_high: float
    coverage: float
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    version: str

    def contributions(self, x: dict[str, float]) -> dict[str, float]:
        return {
            name: c * (x[name] - m) / s
            for name, m, s, c in zip(self.names, self.mean, self.scale, self.coef)
        }

    def predict(self, x: dict[str, float]) -> float:
        return self.intercept + sum(self.contributions(x).values())


def level_of(gap: float) -> str:
    low, medium, high = RISK_LEVELS
    return low if gap < LOW_GAP else high if gap >= HIGH_GAP else medium


@lru_cache(maxsize=1)
def load_model() -> RiskModel | None:
    try:
        text = (Path(__file__).parent / "data" / "risk_model.json").read_text(encoding="utf-8")
    except OSError:
        return None
    data: dict[str, Any] = json.loads(text)
    return RiskModel(
        names=tuple(data["features"]),
        mean=tuple(data["mean"]),
        scale=tuple(data["scale"]),
        coef=tuple(data["coef"]),
        intercept=float(data["intercept"]),
        residual_low=float(data["residual_quantiles"][0]),
        residual_high=float(data["residual_quantiles"][1]),
        coverage=float(data["interval_coverage_target"]),
        lower=tuple(data["feature_min"]),
        upper=tuple(data["feature_max"]),
        version=str(data["version"]),
    )


def assess(facts: Facts, dataset: Dataset, findings: list[Finding] | None = None) -> Risk | None:
    model = load_model()
    x = features(facts, dataset)
    if model is None or x is None or set(model.names) != set(x):
        return None  # no fitted model, no training-set size, or a model file from another feature set
    gap = model.predict(x)
    contributions = model.contributions(x)
    for folded, base in FOLDED_FEATURES.items():
        if folded in contributions and base in contributions:
            contributions[base] += contributions.pop(folded)
    top = sorted(contributions.items(), key=lambda kv: -kv[1])[:3]
    present = {f.code for f in findings or []}
    reference = dict(zip(model.names, model.mean))
    factors = tuple(
        Factor(name, round(x[name], 4), round(value, 4),
               tuple(code for code in FEATURE_RULES.get(name, ()) if code in present), reference.get(name))
        for name, value in top
        if value > 0
    )  # fmt: skip
    outside = [n for n, lo, hi in zip(model.names, model.lower, model.upper) if not lo <= x[n] <= hi]
    notes = []
    if outside:
        notes.append("outside the range the risk model was fitted on (" + ", ".join(outside) + "): an extrapolation")
    low, high = gap + model.residual_low, gap + model.residual_high
    gap = min(max(gap, 0.0), 1.0)  # the linear fit can dip below 0 for very safe models; a gap estimate cannot
    return Risk(
        level=level_of(gap),
        gap=round(gap, 4),
        interval=(round(max(low, -1.0), 4), round(min(high, 1.0), 4)),
        factors=factors,
        model_version=model.version,
        extrapolated=bool(outside),
        coverage=model.coverage,
        notes=tuple(notes),
    )


def smallest_low_risk_samples(facts: Facts, dataset: Dataset) -> int | None:
    """The smallest training set (on a 1-2-5 grid up to 10 M) at which the model rates low risk."""
    if load_model() is None:
        return None
    for exponent in range(1, 8):
        for mantissa in (1, 2, 5):
            n = mantissa * 10**exponent
            risk = assess(facts, Dataset(n, dataset.classes, dataset.augmented))
            if risk is not None and risk.level == "low":
                return n
    return None
