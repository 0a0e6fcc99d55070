"""Overfitting risk: a fitted, monotone model from the graph, the training-set size, the training length and (when
the data is given) data probes to a predicted train - held-out accuracy gap with an 80 % interval.

The model lives in ``cnnlint/data/risk_model.json``, written by ``study/fit.py`` from measured training runs
(``study/corpus*``, ``study/min-steps``).  Two variants are stored:

* without data (``static``): a sum of one step function per feature (gradient-boosted trees restricted to one
  feature each, with monotone constraints), so each feature's push on the estimate is exact; its 10 % and 90 %
  quantiles are additive models of the same kind, widened by a margin fitted on held-out data sources;
* with the data probes (``cnnlint.probes``): a monotone gradient-boosted tree ensemble whose trees may combine
  features (``Trees``, walked by ``cnnlint.trees``), with a split-conformal band (``Shifted``: the point moved by
  held-out residual quantiles); a factor is the estimate minus its average over the study's values of that feature.

In both,

* more training data never raises the estimate, and removing dropout, a weight penalty, augmentation or
  normalization never lowers it: the monotone constraints are part of the fit, and ``study/fit.py`` and
  ``tests/test_risk.py`` check the exported model;
* far outside the study's range the model stays at its last value: it saturates instead of extrapolating;
* beyond the study's range on the side where risk rises (more parameters or depth than any studied run, fewer
  samples), the held value is optimistic, so such a model is never rated "low";
* the model is on a log scale (``LogLink``): effects multiply, which is how a gap behaves;
* how long the run trains (``log_steps``) is a feature of the study's runs; unknown at lint time, it is set to the
  variant's ``assumed`` value (the study's longest run), so the estimate is for a full run and says so;
* so is the share of wrong labels (``label_noise``, the variant without probes only): lint assumes correct labels
  and says what 20 % wrong labels would make of the estimate; with the data, the probes measure it instead.

Nothing here is hand-set: the only constants are the level cut-offs on the predicted gap, which define what "low"
and "high" mean.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint.analysis import Facts
from cnnlint.findings import Dataset, Finding, class_count, codes_explaining
from cnnlint.levels import RISK_LEVELS
from cnnlint.trees import ensemble, thresholds

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes

#: Predicted accuracy gap (train - held-out) below which risk is low, and at or above which it is high.
LOW_GAP = 0.05
HIGH_GAP = 0.15
#: The share of wrong labels the label-noise note quotes (the study's runs had 0, 20 or 40 %).
NOISY_LABELS = 0.2


@dataclass(frozen=True)
class Feature:
    """One input of the risk model: how to compute it, how it reads to a person, which way it may push."""

    name: str
    label: str
    compute: Callable[[Facts, Dataset, DataProbes | None], float | None]
    plain: Callable[[float], Any] = lambda v: v
    #: +1: the estimate never falls as the value grows; -1: never rises; 0: free.
    direction: int = 0
    binary: bool = False
    needs_probes: bool = False
    #: only in the variant without probes: with the data, the probes measure what this feature stands for
    static_only: bool = False
    #: a covariate of the study that lint does not know: the model file stores the value to assume, the study's
    #: "largest" or "smallest" (a full run; correctly labelled data)
    assumed: str | None = None


def _probe_error(value: float | None) -> float | None:
    return None if value is None else 1.0 - value


FEATURES: tuple[Feature, ...] = (
    Feature("log_samples", "training samples", lambda f, d, p: math.log10(d.samples) if d.samples else None,
            lambda v: 10**v, direction=-1),
    Feature("log_classes", "classes", lambda f, d, p: math.log10(class_count(d, f)), lambda v: 10**v, direction=+1),
    Feature("log_params", "trainable parameters", lambda f, d, p: math.log10(max(f.trainable_params, 1)),
            lambda v: 10**v, direction=+1),
    Feature("depth", "depth (weighted layers)", lambda f, d, p: float(f.depth), direction=+1),
    Feature("log_head_params", "parameters in the dense head", lambda f, d, p: math.log10(max(f.head_params, 1)),
            lambda v: 10**v, direction=+1),
    Feature("dropout", "dropout", lambda f, d, p: float(bool(f.dropout_layers or f.noise_layers)),
            direction=-1, binary=True),
    Feature("weight_penalty", "weight penalty", lambda f, d, p: float(f.has_weight_penalty),
            direction=-1, binary=True),
    Feature("augmentation", "augmentation", lambda f, d, p: float(bool(f.augment_layers or d.augmented)),
            direction=-1, binary=True),
    Feature("normalization", "normalization", lambda f, d, p: float(bool(f.norm_layers)),
            direction=-1, binary=True),
    # The study's runs differ in how long they trained (20-40 epochs, at least 600 steps from protocol v3 on), and
    # short runs under-measure the gap.  The fit adjusts for it; lint assumes a full run (the variant's "assumed").
    Feature("log_steps", "optimizer steps of training", lambda f, d, p: math.log10(d.planned_steps)
            if d.planned_steps else None, lambda v: 10**v, direction=+1, assumed="largest"),  # fmt: skip
    # 40 % of the study's runs trained on labels of which 20 or 40 % were flipped, which widens the gap.  Without
    # data the estimate is for correctly labelled data; with data the probes see the noise (kNN error rises).
    Feature("label_noise", "share of wrong labels", lambda f, d, p: d.label_noise, lambda v: f"{v:.0%}",
            direction=+1, static_only=True, assumed="smallest"),
    Feature("knn_error", "1-nearest-neighbour error on the data",
            lambda f, d, p: _probe_error(p.knn_accuracy) if p else None, lambda v: f"{v:.0%}",
            direction=+1, needs_probes=True),
    Feature("linear_error", "linear-probe error on the data",
            lambda f, d, p: _probe_error(p.linear_accuracy) if p else None, lambda v: f"{v:.0%}",
            direction=+1, needs_probes=True),
)
FEATURES_BY_NAME = {feature.name: feature for feature in FEATURES}


def features(facts: Facts, dataset: Dataset, probes: DataProbes | None = None) -> dict[str, float | None]:
    """Every feature's value; ``None`` where it cannot be computed (no probes, no input shape)."""
    values = {feature.name: feature.compute(facts, dataset, probes) for feature in FEATURES}
    return {name: None if value is None or math.isnan(value) else value for name, value in values.items()}


def _plain(number: Any) -> str:
    if isinstance(number, str):
        return number
    return f"{number:,.0f}" if abs(number) >= 10 else f"{number:.2g}"


@dataclass(frozen=True)
class Factor:
    """One feature's push on the predicted gap, against the average run of the study corpus."""

    feature: str
    value: float
    contribution: float
    rules: tuple[str, ...]
    reference: float | None = None

    def describe(self) -> str:
        rules = f", {'/'.join(self.rules)}" if self.rules else ""
        effect = f" ({self.contribution:+.2f}{rules})"
        spec = FEATURES_BY_NAME.get(self.feature)
        if spec is None:
            return f"{self.feature} {self.value}{effect}"
        if spec.binary:
            return f"{'' if self.value else 'no '}{spec.label}{effect}"
        shown, median = _plain(spec.plain(self.value)), None if self.reference is None else _plain(spec.plain(self.reference))
        typical = "" if median in (None, shown) else f" vs. study median {median}"
        return f"{spec.label} {shown}{typical}{effect}"


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
    uses_probes: bool = False


@dataclass(frozen=True)
class StepFunction:
    """A feature's shape function: ``values[i]`` for ``breaks[i-1] < x <= breaks[i]`` (a tree's ``x <= t``)."""

    breaks: tuple[float, ...]
    values: tuple[float, ...]

    def __call__(self, x: float) -> float:
        return self.values[bisect_left(self.breaks, x)]


@dataclass(frozen=True)
class Additive:
    """``intercept + sum of shape functions`` on the link scale; a feature's term is measured from its study
    average, so a term is the push of that feature away from a typical run."""

    intercept: float
    shapes: dict[str, StepFunction]
    averages: dict[str, float]

    def terms(self, x: dict[str, float]) -> dict[str, float]:
        return {name: shape(x[name]) - self.averages[name] for name, shape in self.shapes.items()}

    def predict(self, x: dict[str, float]) -> float:
        return self.intercept + sum(self.terms(x).values())

    def edge(self, x: dict[str, float], point: float) -> float:
        """As a quantile model of the band: its own prediction (``point`` is the point model's, unused)."""
        return self.predict(x)

    def thresholds(self, name: str) -> list[float]:
        return list(self.shapes[name].breaks)


@dataclass(frozen=True)
class Trees:
    """A gradient-boosted ensemble over all the variant's features at once (interactions allowed), monotone in
    each feature's declared direction; exported from scikit-learn (``cnnlint.trees``)."""

    names: tuple[str, ...]
    baseline: float
    trees: tuple[dict[str, list], ...]

    def predict(self, x: dict[str, float]) -> float:
        return ensemble(self.baseline, self.trees, [x[name] for name in self.names])

    def thresholds(self, name: str) -> list[float]:
        return thresholds(self.trees, self.names.index(name))


@dataclass(frozen=True)
class Shifted:
    """``base`` moved by a constant on the link scale: a conformal band around a point model keeps its monotony."""

    base: Trees
    offset: float

    def predict(self, x: dict[str, float]) -> float:
        return self.base.predict(x) + self.offset

    def edge(self, x: dict[str, float], point: float) -> float:
        """As an edge of the band around its base, whose prediction ``point`` is: no second walk of the trees."""
        return point + self.offset


@dataclass(frozen=True)
class LogLink:
    """The models are fitted to ``log(max(gap, 0) + offset)``: effects multiply, so more data shrinks a large
    gap a lot and a small one a little, and every estimate stays in a sensible range."""

    offset: float

    def to_gap(self, z: float) -> float:
        return math.exp(z) - self.offset


@dataclass(frozen=True)
class Variant:
    names: tuple[str, ...]
    point: Additive | Trees
    low: Additive | Shifted
    high: Additive | Shifted
    margin_low: float
    margin_high: float
    link: LogLink
    ranges: dict[str, tuple[float, float]]
    medians: dict[str, float]
    #: values of the ``assumed`` features when the caller does not know them
    assumed: dict[str, float] = field(default_factory=dict)
    #: per feature, (value, weight) pairs that stand for the study's runs: a factor of a tree model is the estimate
    #: minus its average with that one feature set to these values
    reference: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskModel:
    with_probes: Variant
    static: Variant
    version: str
    coverage: float


def _additive(data: dict[str, Any]) -> Additive:
    shapes = {name: StepFunction(tuple(s["breaks"]), tuple(s["values"])) for name, s in data["shapes"].items()}
    return Additive(float(data["intercept"]), shapes, {k: float(v) for k, v in data["averages"].items()})


def _variant(data: dict[str, Any]) -> Variant:
    names = tuple(data["features"])
    if data.get("kind") == "trees":
        trees = _checked_trees(data["point"]["trees"], len(names))
        point: Additive | Trees = Trees(names, float(data["point"]["baseline"]), trees)
        low: Additive | Shifted = Shifted(point, float(data["offsets"][0]))
        high: Additive | Shifted = Shifted(point, float(data["offsets"][1]))
    else:
        point, low, high = _additive(data["point"]), _additive(data["low"]), _additive(data["high"])
    return Variant(
        names=names,
        point=point,
        low=low,
        high=high,
        margin_low=float(data["margin"][0]),
        margin_high=float(data["margin"][1]),
        link=LogLink(float(data["link"]["offset"])),
        ranges={k: (float(v[0]), float(v[1])) for k, v in data["ranges"].items()},
        medians={k: float(v) for k, v in data["medians"].items()},
        assumed={k: float(v) for k, v in data.get("assumed", {}).items()},
        reference={k: tuple((float(a), float(b)) for a, b in v) for k, v in data.get("reference", {}).items()},
    )


@lru_cache(maxsize=1)
def load_model() -> RiskModel | None:
    try:
        data: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "risk_model.json").read_text("utf-8"))
        return RiskModel(with_probes=_variant(data["variants"]["with_probes"]),
                         static=_variant(data["variants"]["static"]),
                         version=str(data["version"]), coverage=float(data["interval_coverage_target"]))  # fmt: skip
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None


def _checked_trees(trees: list[dict[str, list]], features: int) -> tuple[dict[str, list], ...]:
    """The exported trees, refused (ValueError) unless every walk ends: arrays of one length, known features,
    children after their parent (so no cycle) or -1 for a leaf."""
    keys = ("feature", "threshold", "missing_left", "left", "right", "value")
    for tree in trees:
        size = len(tree["left"])
        if size == 0 or any(len(tree[key]) != size for key in keys):
            raise ValueError("malformed tree")
        for node, (left, right, feature) in enumerate(zip(tree["left"], tree["right"], tree["feature"])):
            leaf = left == -1
            if not leaf and not (node < left < size and node < right < size and 0 <= feature < features):
                raise ValueError("malformed tree")
    return tuple(trees)


def level_of(gap: float) -> str:
    low, medium, high = RISK_LEVELS
    return low if gap < LOW_GAP else high if gap >= HIGH_GAP else medium


def _choose_variant(model: RiskModel, x: dict[str, float | None]) -> Variant | None:
    for variant in (model.with_probes, model.static):
        if all(x.get(name) is not None or name in variant.assumed for name in variant.names):
            return variant
    return None


def variant_inputs(variant: Variant, values: dict[str, float | None]) -> tuple[dict[str, float], list[str]]:
    """The variant's inputs, with an assumed value where the caller gave none, and the names so filled."""
    assumed = [name for name in variant.names if values.get(name) is None]
    x = {name: float(variant.assumed[name] if name in assumed else values[name]) for name in variant.names}  # type: ignore[arg-type]
    for name in variant.assumed:
        # past the assumed end a study covariate means the same as there (a run longer than the study's longest is
        # a full run; no noise is correct labels): the model is flat there, and it is not a property of the network
        # that would make "beyond the study" a warning sign.  The other end stays a real extrapolation.
        low, high = variant.ranges[name]
        x[name] = min(x[name], high) if FEATURES_BY_NAME[name].assumed == "largest" else max(x[name], low)
    return x, assumed


def assess(facts: Facts, dataset: Dataset, findings: list[Finding] | None = None,
           probes: DataProbes | None = None, explain: bool = True) -> Risk | None:  # fmt: skip
    """The risk estimate, or ``None`` without a training-set size or a usable model file; ``explain=False`` skips
    the factors and notes (for scans over n)."""
    model = load_model()
    if model is None or not dataset.samples:
        return None
    values = features(facts, dataset, probes)
    variant = _choose_variant(model, values)
    if variant is None:
        return None
    x, assumed = variant_inputs(variant, values)
    to_gap = variant.link.to_gap
    point = variant.point.predict(x)
    gap = _clip(to_gap(point))
    low = min(_clip(to_gap(variant.low.edge(x, point) - variant.margin_low)), gap)
    high = max(_clip(to_gap(variant.high.edge(x, point) + variant.margin_high)), gap)
    outside = [name for name in variant.names
               if not variant.ranges[name][0] <= x[name] <= variant.ranges[name][1]]  # fmt: skip
    optimistic = [name for name in outside if _beyond_on_the_risky_side(variant, name, x[name])]
    level = level_of(gap)
    if optimistic and level == RISK_LEVELS[0]:
        level = RISK_LEVELS[1]
    notes = _notes(variant, x, dataset, outside, probes, optimistic, assumed) if explain else []
    return Risk(
        level=level,
        gap=round(gap, 4),
        interval=(round(low, 4), round(high, 4)),
        factors=_factors(variant, x, findings, assumed) if explain else (),
        model_version=model.version,
        extrapolated=bool(outside),
        coverage=model.coverage,
        notes=tuple(notes),
        uses_probes=variant is model.with_probes,
    )


def _beyond_on_the_risky_side(variant: Variant, name: str, value: float) -> bool:
    """Past the study's range where risk rises (more parameters or depth than studied, fewer samples): there the
    held value is a lower bound of what the trend says, so a "low" rating would claim more than was measured."""
    low, high = variant.ranges[name]
    direction = FEATURES_BY_NAME[name].direction
    return (direction > 0 and value > high) or (direction < 0 and value < low)


def _clip(gap: float) -> float:
    return min(max(gap, 0.0), 1.0)


def contributions(variant: Variant, x: dict[str, float]) -> dict[str, float]:
    """Each feature's push on the predicted gap: the estimate minus the estimate with that one feature at the
    study's typical value.  Additive model: that feature's term set to 0 (its study average).  Tree model: the
    estimate averaged over the study's values of that feature (``Variant.reference``), the others kept."""
    point, to_gap = variant.point, variant.link.to_gap
    z = point.predict(x)
    gap = to_gap(z)
    if isinstance(point, Additive):
        return {name: gap - to_gap(z - term) for name, term in point.terms(x).items()}
    pushes = {}
    for name in variant.names:
        pairs = variant.reference.get(name, ())
        total = sum(weight for _, weight in pairs)
        if total > 0:
            typical = sum(weight * to_gap(point.predict({**x, name: value})) for value, weight in pairs) / total
            pushes[name] = gap - typical
    return pushes


def saturation(variant: Variant, x: dict[str, float], name: str) -> float | None:
    """The smallest value of a rising feature from which the estimate for ``x`` no longer grows with it (up to the
    study's largest); None if it never moves."""
    top = variant.ranges[name][1]
    full = variant.point.predict({**x, name: top})
    points = variant.point.thresholds(name)
    below = [t for t in points if t < top]
    if not below or variant.point.predict({**x, name: below[0]}) == full:
        return None
    return next((t for t in below if variant.point.predict({**x, name: math.nextafter(t, math.inf)}) == full), None)


def _factors(variant: Variant, x: dict[str, float], findings: list[Finding] | None,
             assumed: list[str]) -> tuple[Factor, ...]:  # fmt: skip
    """The three largest pushes up; an assumed input is a premise of the estimate, not a property of the model."""
    pushes = sorted(((n, p) for n, p in contributions(variant, x).items() if n not in assumed), key=lambda kv: -kv[1])
    return tuple(
        Factor(name, round(x[name], 4), round(push, 4),
               codes_explaining(name, findings or []), variant.medians.get(name))
        for name, push in pushes[:3]
        if push > 0.005
    )  # fmt: skip


def _notes(variant: Variant, x: dict[str, float], dataset: Dataset, outside: list[str], probes: DataProbes | None,
           optimistic: list[str], assumed: list[str]) -> list[str]:  # fmt: skip
    notes = []
    if "log_steps" in variant.names and "log_steps" not in assumed:
        notes.append(f"for the planned run of {dataset.planned_steps:,} optimizer steps"
                     + (f" ({dataset.epochs} epochs of batch {dataset.batch_size})" if dataset.epochs and
                        not dataset.training_steps else ""))  # fmt: skip
    steps = saturation(variant, x, "log_steps") if "log_steps" in assumed else None
    if steps is not None:
        notes.append(f"for a full training run: the study's gaps stopped widening after about "
                     f"{10**steps:,.0f} optimizer steps, and shorter runs "
                     "measured smaller gaps")  # fmt: skip
    if "label_noise" in assumed:
        noisy = _clip(variant.link.to_gap(variant.point.predict({**x, "label_noise": NOISY_LABELS})))
        notes.append(f"for correctly labelled data: with {NOISY_LABELS:.0%} wrong labels the estimate would be "
                     f"{noisy:.2f}")
    if probes is None:
        notes.append("no data given: the estimate knows only the model, n and the classes, so its interval is wide; "
                     "pass --data to measure how hard the data is")  # fmt: skip
    elif not any(FEATURES_BY_NAME[name].needs_probes for name in variant.names):
        notes.append("the data probes were incomplete (" + "; ".join(probes.notes) + "): estimated without them")
    if outside:
        labels = ", ".join(FEATURES_BY_NAME[name].label for name in outside)
        notes.append(f"outside the study's range ({labels}): the estimate is held at the nearest studied value")
    if optimistic:
        labels = ", ".join(FEATURES_BY_NAME[name].label for name in optimistic)
        notes.append(f"beyond the study on the side that raises risk ({labels}): the held value may be too low, so "
                     "the model is not rated low")  # fmt: skip
    return notes


def smallest_low_risk_samples(facts: Facts, dataset: Dataset, probes: DataProbes | None = None) -> int | None:
    """The smallest training set (on a 1-2-5 grid up to 10 M) at which the model rates low risk, for a full run
    (or the given ``training_steps``).

    At a fixed training length the estimate never rises with n, so the first grid point that rates low is the
    answer.
    """
    if load_model() is None:
        return None
    low = RISK_LEVELS[0]
    for exponent in range(1, 8):
        for mantissa in (1, 2, 5):
            n = mantissa * 10**exponent
            # steps are held (given ones, else a full run): with a fixed number of epochs they would grow with n
            scaled = Dataset(n, dataset.classes, dataset.augmented, training_steps=dataset.training_steps,
                             label_noise=dataset.label_noise)
            risk = assess(facts, scaled, probes=probes, explain=False)
            if risk is not None and risk.level == low:
                return n
    return None
