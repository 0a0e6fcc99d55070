"""Overfitting risk: a fitted, monotone model from the graph, the training-set size, the training length and (when
the data is given) data probes to a predicted train - held-out accuracy gap with an 80 % interval.

The model lives in ``cnnlint/data/risk_model.json``, written by ``python -m study fit-risk`` from measured training runs
(``study/runs/``; risk v3 adds CIFAR-10 and Imagenette photos and from-scratch
``keras.applications`` networks).  Each of its two variants (without data, and with the data probes) has two parts
that are each easier to extrapolate than the gap itself (``TwoPart``):

* **fit**: how far above chance the model fits its own training set (inference-mode training accuracy, as a share
  of the way from chance to 1), from capacity per sample, depth, the head, regularization, training length, the
  classes and the kind of input;
* **held out**: how far above chance the held-out accuracy gets, from n, the classes, the kind of input
  (resolution, channels) and, with data, the probes (``cnnlint.probes``: 1-NN, a linear probe, and the patch probe
  that sees photos as a CNN's first layer does).

The gap is their difference times ``1 - 1/C``, clipped to ``[0, 1 - 1/C]``: once a network memorizes its training
set, its gap is what the data leaves it on held-out examples, whatever its size.  Each part is a monotone
gradient-boosted tree ensemble (``Trees``, walked by ``cnnlint.trees``), and the 80 % band is split-conformal
(``Shifted``: the gap's log moved by held-out-source residual quantiles).  A third tree ensemble predicts the
training accuracy Keras *logs* (averaged over the epoch with dropout and augmentation active), so the output can say
what ``model.fit`` will print where that differs from the true gap.

Guarantees:

* more training data never raises the estimate (fit never rises, held out never falls with n), and removing
  dropout, a weight penalty, augmentation or normalization never lowers it: the monotone constraints are part of
  the fit, and ``study/fit_risk.py`` and ``tests/test_risk.py`` check the exported model;
* no estimate or interval edge exceeds ``1 - 1/C``, the largest gap C classes allow;
* far outside the study's range each part stays at its last value: it saturates instead of extrapolating, and on
  the side where risk rises (more parameters per sample or depth than any studied run, fewer samples) such a model
  is never rated "low", and the output says when that floor set the level;
* how long the run trains (``log_steps``) is a feature of the study's runs; unknown at lint time, it is set to the
  variant's ``assumed`` value (the study's longest run), so the estimate is for a full run and says so;
* so is the share of wrong labels (``label_noise``, the variant without probes only): lint assumes correct labels
  and says what 20 % wrong labels would make of the estimate; with the data, the probes measure it instead.

Nothing here is hand-set: the only constants are the level cut-offs on the predicted gap, which define what "low"
and "high" mean.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint import tree_code
from cnnlint.analysis import Facts
from cnnlint.findings import Dataset, Finding, class_count, codes_explaining
from cnnlint.levels import RISK_LEVELS
from cnnlint.model_files import RISK_MODEL_FILE
from cnnlint.tree_code import MAX_DEPTH, Compiled
from cnnlint.trees import thresholds

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes

#: Predicted accuracy gap (train - held-out) below which risk is low, and at or above which it is high.
LOW_GAP = 0.05
HIGH_GAP = 0.15
#: The share of wrong labels the label-noise note quotes (the study's runs had 0, 20 or 40 %).
NOISY_LABELS = 0.2
#: a note says what Keras's log will show when it differs from the estimate by more than this
KERAS_GAP_NOTE = 0.05


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
    #: may be unknown (NaN) and still use the variant: the kind of input of a model without a spatial input, the
    #: patch probe on data it cannot read
    optional: bool = False
    #: which parts of the model read it (``TwoPart``): the training-set fit, the held-out accuracy
    in_fit: bool = True
    in_held_out: bool = True
    #: the held-out part's constraint: -direction (what raises the gap never raises held-out accuracy) unless set
    held_out_direction: int | None = None

    def part_direction(self, part: str) -> int:
        """The monotone constraint of this feature in one part: the fit moves with the gap, held out against it."""
        if part == "held_out":
            return -self.direction if self.held_out_direction is None else self.held_out_direction
        return self.direction


def _probe_error(value: float | None) -> float | None:
    return None if value is None else 1.0 - value


def _input_channels(facts: Facts) -> float | None:
    shape = facts.input_shape
    if not shape or len(shape) < 3 or shape[-1] is None:
        return None
    return float(shape[-1]) if facts.input_spatial and len(shape) - 2 == len(facts.input_spatial) else 1.0


def _log_input_size(facts: Facts) -> float | None:
    spatial = facts.input_spatial
    return math.log10(math.prod(spatial)) if spatial and all(spatial) else None


def _log_params_per_sample(facts: Facts, dataset: Dataset) -> float | None:
    return math.log10(max(facts.trainable_params, 1) / dataset.samples) if dataset.samples else None


FEATURES: tuple[Feature, ...] = (
    Feature("log_samples", "training samples", lambda f, d, p: math.log10(d.samples) if d.samples else None,
            lambda v: 10**v, direction=-1),
    Feature("log_classes", "classes", lambda f, d, p: math.log10(class_count(d, f)), lambda v: 10**v),
    # capacity per sample: how easily the network memorizes n examples (the fit part's main input)
    Feature("log_params_per_sample", "trainable parameters per training sample",
            lambda f, d, p: _log_params_per_sample(f, d), lambda v: 10**v, direction=+1),
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
    # The kind of input: without data, what held-out accuracy to expect is a prior over resolution and channels
    # (the study's photos are 32-96 px RGB or greyscale; its synthetic sources 16-32 px, or 40-step sequences).
    Feature("input_channels", "input channels", lambda f, d, p: _input_channels(f), optional=True),
    Feature("log_input_size", "input size (pixels or steps)", lambda f, d, p: _log_input_size(f), lambda v: 10**v,
            optional=True),
    # The study's runs differ in how long they trained (20-40 epochs, at least 600 steps from protocol v3 on), and
    # short runs under-measure the gap: paired reruns of the same spec for longer raised it (study/README.md,
    # "Training length").  Longer training fits the training set better (fit: +) and, among the runs that fit it,
    # never raised held-out accuracy (-).  The study's batch is 64 (128 from n = 5,000), so batch size enters only
    # through the steps.  Lint assumes a full run (the variant's "assumed").
    Feature("log_steps", "optimizer steps of training", lambda f, d, p: math.log10(d.planned_steps)
            if d.planned_steps else None, lambda v: 10**v, direction=+1, assumed="largest"),  # fmt: skip
    # 40 % of the study's v2 runs trained on labels of which 20 or 40 % were flipped, which widens the gap (held-out
    # labels are flipped at the same rate).  Without data the estimate is for correctly labelled data; with data
    # the probes see the noise (kNN error rises).
    Feature("label_noise", "share of wrong labels", lambda f, d, p: d.label_noise, lambda v: f"{v:.0%}",
            direction=+1, static_only=True, assumed="smallest", in_fit=False),
    Feature("knn_error", "1-nearest-neighbour error on the data",
            lambda f, d, p: _probe_error(p.knn_accuracy) if p else None, lambda v: f"{v:.0%}",
            direction=+1, needs_probes=True, in_fit=False),
    Feature("linear_error", "linear-probe error on the data",
            lambda f, d, p: _probe_error(p.linear_accuracy) if p else None, lambda v: f"{v:.0%}",
            direction=+1, needs_probes=True, in_fit=False),
    Feature("patch_error", "patch-feature probe error on the data",
            lambda f, d, p: _probe_error(p.patch_accuracy) if p else None, lambda v: f"{v:.0%}",
            direction=+1, needs_probes=True, in_fit=False, optional=True),
)
FEATURES_BY_NAME = {feature.name: feature for feature in FEATURES}


def features(facts: Facts, dataset: Dataset, probes: DataProbes | None = None) -> dict[str, float | None]:
    """Every feature's value; ``None`` where it cannot be computed (no probes, no input shape)."""
    values = {feature.name: feature.compute(facts, dataset, probes) for feature in FEATURES}
    return {name: None if value is None or math.isnan(value) else value for name, value in values.items()}


def _two_digits(number: float) -> float:
    """``number`` rounded to two significant digits (2,382 -> 2,400): a value read off the trees' thresholds."""
    return round(number, 1 - math.floor(math.log10(abs(number)))) if number else 0.0


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


#: what the estimate predicts, said in every output format
GAP_MEASURE = "training accuracy in inference mode - held-out accuracy"


@dataclass(frozen=True)
class Risk:
    """The overfitting-risk estimate for one model and training set: the level, the predicted gap with its interval,
    the factors behind it and the notes that qualify it."""

    level: str
    gap: float
    interval: tuple[float, float]
    factors: tuple[Factor, ...]
    model_version: str
    extrapolated: bool
    coverage: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    uses_probes: bool = False
    #: the two parts of the estimate: training accuracy (inference mode) and held-out accuracy
    train_accuracy: float | None = None
    held_out_accuracy: float | None = None
    #: the gap Keras's log will show (last epoch's logged training accuracy - validation accuracy)
    keras_gap: float | None = None
    #: the level was raised from "low" only because the model lies beyond the study on the side that raises risk
    floored: bool = False
    measure: str = GAP_MEASURE


@dataclass(frozen=True)
class Trees:
    """A monotone gradient-boosted ensemble over its features (interactions allowed); exported from scikit-learn
    and evaluated as generated functions (``cnnlint.tree_code``)."""

    names: tuple[str, ...]
    baseline: float
    trees: tuple[dict[str, list], ...]
    #: the ensemble's generated functions, if a shipped module has them (``tree_code.shipped``); else they are
    #: compiled on first use
    shipped: Callable[[], Compiled | None] | None = field(default=None, compare=False, repr=False)

    def predict(self, x: dict[str, float]) -> float:
        return self.baseline + sum(self.per_tree(x))

    def per_tree(self, x: dict[str, float]) -> list[float]:
        """Each tree's leaf value for ``x`` (their sum plus the baseline is ``predict``)."""
        return list(self._code().full(*[x[n] for n in self.names]))

    def varying(self, x: dict[str, float], name: str, values: list[float],
                base: list[float] | None = None) -> list[float]:  # fmt: skip
        """``predict`` with ``name`` set to each of ``values``: only the trees that split on it are evaluated again,
        once for all the values on the same side of every split on it (``base``: ``per_tree(x)``, when the caller
        varies several features around the same point)."""
        predict = self.along(x, name, base)
        same = self._same_side(self.names.index(name), tuple(values)) if name in self.names else (0,) * len(values)
        sums = {first: predict(values[first]) for first in dict.fromkeys(same)}
        return [sums[first] for first in same]

    def along(self, x: dict[str, float], name: str, base: list[float] | None = None) -> Callable[[float], float]:
        """``predict`` as a function of ``name`` alone, the other inputs as in ``x``: each call evaluates only the
        trees that split on it (``base``: ``per_tree(x)``).  The trees that do not are summed once, so a value
        within the same leaves as ``x``'s may differ from ``predict(x)`` in the last bits, never from another call."""
        base = self.per_tree(x) if base is None else base
        total = self.baseline + sum(base)
        column = self.names.index(name) if name in self.names else -1
        if column < 0 or not self.uses()[column]:
            return lambda value: total
        fixed = total - sum(self._picks(column)(base))
        leaves = self._code().partials.get(column) or self._subset(column)
        row = [x[n] for n in self.names]

        def predict(value: float) -> float:
            row[column] = value
            return fixed + sum(leaves(*row))

        return predict

    def uses(self) -> dict[int, tuple[int, ...]]:
        """Per input, the trees that split on it, ascending (the order of the sums over them)."""
        cached = self.__dict__.get("_uses")
        if cached is None:
            cached = tree_code.uses(self.trees, len(self.names))
            object.__setattr__(self, "_uses", cached)
        return cached

    def thresholds(self, name: str) -> list[float]:
        if name not in self.names:
            return []
        return list(self._points(self.names.index(name)))

    def _picks(self, column: int) -> Callable[[list[float]], list[float]]:
        """Takes the leaves of the trees that split on ``column`` out of a list of every tree's leaf, in order."""
        cache = self.__dict__.setdefault("_picked", {})
        if column not in cache:
            moving = self.uses()[column]
            cache[column] = itemgetter(*moving) if len(moving) > 1 else lambda leaves: [leaves[i] for i in moving]
        return cache[column]

    def _points(self, column: int) -> list[float]:
        """Every split point on ``column``, ascending: between two of them the ensemble is constant in it."""
        cache = self.__dict__.setdefault("_thresholds", {})
        if column not in cache:
            cache[column] = thresholds(self.trees, column)
        return cache[column]

    def _same_side(self, column: int, values: tuple[float, ...]) -> tuple[int, ...]:
        """For each of ``values``, the first of them that lies on the same side of every split on ``column`` (so
        reaches the same leaves).  The factors vary each input over the same reference values for every model, so
        this is worked out once for them."""
        cache = self.__dict__.setdefault("_sides", {})
        key = (column, values)
        found = cache.get(key)
        if found is None:
            points = self._points(column)
            sides = [-1 if v != v else bisect_left(points, v) for v in values]
            found = tuple(sides.index(side) for side in sides)
            if len(cache) < 256:  # only the reference values repeat; never let arbitrary callers grow it
                cache[key] = found
        return found

    def _code(self) -> Compiled:
        code = self.__dict__.get("_compiled")
        if code is None:
            code = self.shipped() if self.shipped else None
            if code is None or code.uses != self.uses():
                code = tree_code.compile_ensemble(self.trees, len(self.names))
            object.__setattr__(self, "_compiled", code)
        return code

    def _subset(self, column: int) -> Callable[..., list[float]]:
        full, picks = self._code().full, self._picks(column)
        return lambda *row: picks(full(*row))


def max_gap(x: dict[str, float]) -> float:
    """The largest accuracy gap C classes allow: 1 - 1/C (training accuracy 1, held-out accuracy at chance)."""
    return 1.0 - 10 ** -x["log_classes"]


@dataclass(frozen=True)
class LogLink:
    """The band is a shift of ``log(gap + offset)``: effects multiply, so the band is wide where the gap is large
    and narrow near zero, and a constant shift keeps every edge monotone."""

    offset: float

    def to_link(self, gap: float) -> float:
        return math.log(max(gap, 0.0) + self.offset)

    def to_gap(self, z: float) -> float:
        return math.exp(z) - self.offset


def _share(value: float) -> float:
    return min(max(value, 0.0), 1.0)


@dataclass(frozen=True)
class TwoPart:
    """The gap as (how far above chance the model fits its training set) - (how far above chance held-out accuracy
    gets), times ``1 - 1/C``; ``predict`` returns it on the link scale, which the band shifts."""

    fit: Trees
    held_out: Trees
    link: LogLink

    def shares(self, x: dict[str, float]) -> tuple[float, float]:
        return _share(self.fit.predict(x)), _share(self.held_out.predict(x))

    def gap(self, x: dict[str, float], shares: tuple[float, float] | None = None) -> float:
        """The gap at ``x`` (``shares``: ``self.shares(x)``, when the caller has them)."""
        fit, held_out = self.shares(x) if shares is None else shares
        return max_gap(x) * max(fit - held_out, 0.0)

    def per_tree(self, x: dict[str, float]) -> tuple[list[float], list[float]]:
        return self.fit.per_tree(x), self.held_out.per_tree(x)

    def shares_of(self, base: tuple[list[float], list[float]]) -> tuple[float, float]:
        """``shares(x)`` from ``base = per_tree(x)``."""
        return _share(self.fit.baseline + sum(base[0])), _share(self.held_out.baseline + sum(base[1]))

    def gaps(self, x: dict[str, float], name: str, values: list[float],
             base: tuple[list[float], list[float]] | None = None) -> list[float]:  # fmt: skip
        """``gap`` with ``name`` set to each of ``values``, evaluating only the trees that split on it (``base``:
        ``per_tree(x)``)."""
        fit_base, held_base = self.per_tree(x) if base is None else base
        fits, helds = self.fit.varying(x, name, values, fit_base), self.held_out.varying(x, name, values, held_base)
        if name != "log_classes":
            top = max_gap(x)
            return [top * max(_share(f) - _share(h), 0.0) for f, h in zip(fits, helds)]
        return [max_gap({**x, name: v}) * max(_share(f) - _share(h), 0.0) for v, f, h in zip(values, fits, helds)]

    def gap_along(self, x: dict[str, float], name: str,
                  base: tuple[list[float], list[float]] | None = None) -> Callable[[float], float]:  # fmt: skip
        """``gaps`` for one value at a time: the gap as a function of ``name`` alone (``Trees.along``)."""
        fit_base, held_base = self.per_tree(x) if base is None else base
        fit, held_out = self.fit.along(x, name, fit_base), self.held_out.along(x, name, held_base)

        def gap(value: float) -> float:
            top = max_gap({**x, name: value}) if name == "log_classes" else max_gap(x)
            return top * max(_share(fit(value)) - _share(held_out(value)), 0.0)

        return gap

    def predict(self, x: dict[str, float]) -> float:
        return self.link.to_link(self.gap(x))

    def thresholds(self, name: str) -> list[float]:
        cache = self.__dict__.setdefault("_thresholds", {})
        if name not in cache:
            cache[name] = sorted({*self.fit.thresholds(name), *self.held_out.thresholds(name)})
        return list(cache[name])


@dataclass(frozen=True)
class Shifted:
    """``base`` moved by a constant on the link scale: a conformal band around a point model keeps its monotony."""

    base: TwoPart
    offset: float

    def predict(self, x: dict[str, float]) -> float:
        return self.base.predict(x) + self.offset

    def edge(self, x: dict[str, float], point: float) -> float:
        """As an edge of the band around its base, whose prediction ``point`` is: no second walk of the trees."""
        return point + self.offset


@dataclass(frozen=True)
class Variant:
    """One fitted risk model over its features: the point estimate, the two edges of its band, the logged-fit model,
    and the study's ranges and medians of each feature."""

    names: tuple[str, ...]
    point: TwoPart
    low: Shifted
    high: Shifted
    #: the training accuracy Keras logs (dropout and augmentation active), as a share above chance
    logged_fit: Trees
    link: LogLink
    ranges: dict[str, tuple[float, float]]
    medians: dict[str, float]
    #: values of the ``assumed`` features when the caller does not know them
    assumed: dict[str, float] = field(default_factory=dict)
    #: per feature, (value, weight) pairs that stand for the study's runs: a factor is the estimate minus its average
    #: with that one feature set to these values
    reference: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskModel:
    """The shipped risk model: a variant for when the data probes are known and one for the model and ``n`` alone."""

    with_probes: Variant
    static: Variant
    version: str
    coverage: float


def _trees(data: dict[str, Any], shipped: Callable[[], Compiled | None] | None = None) -> Trees:
    names = tuple(data["features"])
    return Trees(names, float(data["baseline"]), _checked_trees(data["trees"], len(names)), shipped)


def _variant(data: dict[str, Any], name: str = "", source: tuple[int, int] | None = None) -> Variant:
    """A variant of the model file; ``name`` and ``source`` (the file's fingerprint) find its generated functions
    (``tree_code.shipped``), without them they are compiled on first use."""
    if data.get("kind") != "two_part":
        raise ValueError("not a risk v3 variant")

    def part(key: str) -> Trees:
        return _trees(data[key], partial(tree_code.shipped, name, key, source) if source else None)

    link = LogLink(float(data["link"]["offset"]))
    point = TwoPart(part("fit"), part("held_out"), link)
    return Variant(
        names=tuple(data["features"]),
        point=point,
        low=Shifted(point, float(data["offsets"][0])),
        high=Shifted(point, float(data["offsets"][1])),
        logged_fit=part("logged_fit"),
        link=link,
        ranges={k: (float(v[0]), float(v[1])) for k, v in data["ranges"].items()},
        medians={k: float(v) for k, v in data["medians"].items()},
        assumed={k: float(v) for k, v in data.get("assumed", {}).items()},
        reference={k: tuple((float(a), float(b)) for a, b in v) for k, v in data.get("reference", {}).items()},
    )


@lru_cache(maxsize=1)
def load_model() -> RiskModel | None:
    try:
        text = (Path(__file__).parent / "data" / "risk_model.json").read_text(encoding="utf-8")
        data: dict[str, Any] = RISK_MODEL_FILE.loads(text)
        source, variants = tree_code.fingerprint(text), data["variants"]
        return RiskModel(with_probes=_variant(variants["with_probes"], "with_probes", source),
                         static=_variant(variants["static"], "static", source),
                         version=str(data["version"]), coverage=float(data["interval_coverage_target"]))  # fmt: skip
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None


def _checked_trees(trees: list[dict[str, list]], features: int) -> tuple[dict[str, list], ...]:
    """The exported trees, refused (ValueError) unless each is a tree that ``cnnlint.tree_code`` can write as an
    expression of its size: arrays of one length, known features, finite-size numbers for thresholds and leaves, every
    node but the root the child of exactly one node that comes before it (so no cycle, and no subtree written twice),
    at most ``MAX_DEPTH`` levels."""
    keys = ("feature", "threshold", "missing_left", "left", "right", "value")
    for tree in trees:
        size = len(tree["left"])
        if size == 0 or any(len(tree[key]) != size for key in keys):
            raise ValueError("malformed tree")
        for numbers in (tree["threshold"], tree["value"]):
            if not all(type(number) is float for number in numbers):
                for number in numbers:
                    _check_number(number)
        depth, parents = [0] * size, [0] * size
        for node, (left, right, feature) in enumerate(zip(tree["left"], tree["right"], tree["feature"])):
            if left == -1:
                continue
            whole = type(left) is int and type(right) is int and type(feature) is int
            if not (whole and node < left < size and node < right < size and left != right and 0 <= feature < features):
                raise ValueError("malformed tree")
            if depth[node] >= MAX_DEPTH:
                raise ValueError("a tree deeper than cnnlint evaluates")
            depth[left] = depth[right] = depth[node] + 1
            parents[left] += 1
            parents[right] += 1
        if parents[0] or any(count != 1 for count in parents[1:]):
            raise ValueError("malformed tree: a node with no parent or with more than one")
    return tuple(trees)


def _check_number(value: Any) -> None:
    """A JSON number the generated source can write: a float, or an int within a float's range."""
    if type(value) not in (int, float):
        raise ValueError("malformed tree: a threshold or leaf value that is not a number")
    try:
        float(value)
    except OverflowError:
        raise ValueError("malformed tree: a number beyond a float's range") from None


def level_of(gap: float) -> str:
    low, medium, high = RISK_LEVELS
    return low if gap < LOW_GAP else high if gap >= HIGH_GAP else medium


def _choose_variant(model: RiskModel, x: dict[str, float | None]) -> Variant | None:
    for variant in (model.with_probes, model.static):
        if all(x.get(name) is not None or name in variant.assumed or FEATURES_BY_NAME[name].optional
               for name in variant.names):  # fmt: skip
            return variant
    return None


def variant_inputs(variant: Variant, values: dict[str, float | None]) -> tuple[dict[str, float], list[str]]:
    """The variant's inputs, with an assumed value where the caller gave none (NaN for an optional feature), and the
    names of the assumed ones."""
    assumed = [name for name in variant.names if values.get(name) is None and name in variant.assumed]
    x = {name: float(variant.assumed[name]) if name in assumed else _known(values.get(name)) for name in variant.names}
    for name in variant.assumed:
        # past the assumed end a study covariate means the same as there (a run longer than the study's longest is
        # a full run; no noise is correct labels): the model is flat there, and it is not a property of the network
        # that would make "beyond the study" a warning sign.  The other end stays a real extrapolation.
        low, high = variant.ranges[name]
        x[name] = min(x[name], high) if FEATURES_BY_NAME[name].assumed == "largest" else max(x[name], low)
    return x, assumed


def _known(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _model_inputs(facts: Facts, dataset: Dataset, probes: DataProbes | None
                  ) -> tuple[RiskModel, Variant, dict[str, float], list[str]] | None:  # fmt: skip
    """The model, the variant that applies and its inputs (with the names of those assumed), or ``None`` without a
    training-set size, a usable model file or a variant whose inputs are known."""
    model = load_model()
    if model is None or not dataset.samples:
        return None
    values = features(facts, dataset, probes)
    variant = _choose_variant(model, values)
    if variant is None:
        return None
    return (model, variant, *variant_inputs(variant, values))


def assess(facts: Facts, dataset: Dataset, findings: list[Finding] | None = None,
           probes: DataProbes | None = None, explain: bool = True) -> Risk | None:  # fmt: skip
    """The risk estimate, or ``None`` without a training-set size or a usable model file; ``explain=False`` skips
    the factors and notes (for scans over n)."""
    chosen = _model_inputs(facts, dataset, probes)
    if chosen is None:
        return None
    model, variant, x, assumed = chosen
    base = variant.point.per_tree(x)  # every tree's leaf at x: what the factors and notes vary around
    shares = variant.point.shares_of(base)
    gap, low, high = band(variant, x, shares)
    outside, optimistic = _beyond_the_study(variant, x)
    level, floored = _level(gap, optimistic)
    train, held_out, logged = accuracies(variant, x, shares)
    keras_gap = logged - held_out
    notes = _notes(variant, x, base, dataset, outside, probes, optimistic, assumed) if explain else []
    if explain and floored:
        notes.append(f"the level is {level}, not {RISK_LEVELS[0]}, only because of the line above: the estimate "
                     f"alone ({gap:.2f}) would rate it {RISK_LEVELS[0]}")  # fmt: skip
    if explain and abs(keras_gap - gap) > KERAS_GAP_NOTE:
        notes.append(_keras_log_note(keras_gap, facts, dataset))
    return Risk(
        level=level,
        gap=round(gap, 4),
        interval=(round(low, 4), round(high, 4)),
        factors=_factors(variant, x, base, findings, assumed) if explain else (),
        model_version=model.version,
        extrapolated=bool(outside),
        coverage=model.coverage,
        notes=tuple(notes),
        uses_probes=variant is model.with_probes,
        train_accuracy=round(train, 4),
        held_out_accuracy=round(held_out, 4),
        keras_gap=round(keras_gap, 4),
        floored=floored,
    )


def _keras_log_note(keras_gap: float, facts: Facts, dataset: Dataset) -> str:
    """Why the gap ``model.fit`` logs differs from the estimate, naming only what this model has in training mode;
    the logged gap is a separate fit to the study's logs, so it may lie on either side of the estimate."""
    active = [name for name, present in (("dropout", facts.dropout_layers or facts.noise_layers),
                                         ("augmentation", facts.augment_layers or dataset.augmented),
                                         ("batch statistics in normalization", facts.norm_layers)) if present]  # fmt: skip
    how = f", with {' and '.join(active)} active" if active else ""
    return (f"Keras's log will show a gap of about {keras_gap:.2f} (predicted from the study's logged accuracies): "
            f"it logs training accuracy in training mode, averaged over the last epoch{how}; this estimate is the gap "
            "in inference mode")


def _beyond_the_study(variant: Variant, x: dict[str, float]) -> tuple[list[str], list[str]]:
    """The inputs outside the study's range, and those of them on the side that raises risk."""
    outside = [name for name in variant.names
               if not math.isnan(x[name]) and not variant.ranges[name][0] <= x[name] <= variant.ranges[name][1]]  # fmt: skip
    return outside, [name for name in outside if _beyond_on_the_risky_side(variant, name, x[name])]


def _level(gap: float, optimistic: list[str]) -> tuple[str, bool]:
    """The level of ``gap``, and whether it was raised from low only because the model lies beyond the study."""
    level = level_of(gap)
    floored = bool(optimistic) and level == RISK_LEVELS[0]
    return (RISK_LEVELS[1] if floored else level), floored


def band(variant: Variant, x: dict[str, float],
         shares: tuple[float, float] | None = None) -> tuple[float, float, float]:  # fmt: skip
    """The point estimate and its interval, each within ``[0, 1 - 1/C]`` (``shares``: ``variant.point.shares(x)``)."""
    top = max_gap(x)
    gap = min(variant.point.gap(x, shares), top)
    point = variant.point.link.to_link(gap)
    to_gap = variant.link.to_gap
    low = min(max(to_gap(variant.low.edge(x, point)), 0.0), gap)
    high = min(max(to_gap(variant.high.edge(x, point)), gap), top)
    return gap, low, high


def accuracies(variant: Variant, x: dict[str, float],
               shares: tuple[float, float] | None = None) -> tuple[float, float, float]:  # fmt: skip
    """Predicted training accuracy (inference mode), held-out accuracy, and the training accuracy Keras logs."""
    chance = 10 ** -x["log_classes"]
    fit, held_out = variant.point.shares(x) if shares is None else shares
    logged = _share(variant.logged_fit.predict(x))
    train, held, keras_train = (chance + (1 - chance) * share for share in (fit, held_out, logged))
    return train, held, keras_train


def _beyond_on_the_risky_side(variant: Variant, name: str, value: float) -> bool:
    """Past the study's range where risk rises (more parameters or depth than studied, fewer samples): there the
    held value is a lower bound of what the trend says, so a "low" rating would claim more than was measured."""
    low, high = variant.ranges[name]
    direction = FEATURES_BY_NAME[name].direction
    return (direction > 0 and value > high) or (direction < 0 and value < low)


def contributions(variant: Variant, x: dict[str, float], skip: Collection[str] = (),
                  base: tuple[list[float], list[float]] | None = None) -> dict[str, float]:  # fmt: skip
    """Each feature's push on the predicted gap: the estimate minus its average over the study's values of that
    feature (``Variant.reference``), the others kept; none for the names in ``skip`` (``base``:
    ``variant.point.per_tree(x)``)."""
    point = variant.point
    base = point.per_tree(x) if base is None else base
    gap = point.gap(x, point.shares_of(base))
    pushes = {}
    for name in (n for n in variant.names if n not in skip):
        pairs = variant.reference.get(name, ())
        total = sum(weight for _, weight in pairs)
        if total > 0 and not math.isnan(x[name]):
            gaps = point.gaps(x, name, [value for value, _ in pairs], base)
            pushes[name] = gap - sum(weight * g for (_, weight), g in zip(pairs, gaps)) / total
    return pushes


def saturation(variant: Variant, x: dict[str, float], name: str,
               base: tuple[list[float], list[float]] | None = None) -> float | None:  # fmt: skip
    """The smallest value of a rising feature from which the estimate for ``x`` no longer grows with it (up to the
    study's largest); None if it never moves (``base``: ``variant.point.per_tree(x)``)."""
    top = variant.ranges[name][1]
    below = [t for t in variant.point.thresholds(name) if t < top]
    if not below:
        return None
    # the estimate never falls as a rising feature grows (each tree is monotone in it, and rounding keeps the
    # order of sums), so the steps at which it equals its value at the top are the last ones: bisect for the first
    gap = variant.point.gap_along(x, name, base)
    full = gap(top)
    if gap(below[0]) == full:
        return None
    first = bisect_left(range(len(below)), True, key=lambda k: gap(math.nextafter(below[k], math.inf)) == full)
    return below[first] if first < len(below) else None


def _factors(variant: Variant, x: dict[str, float], base: tuple[list[float], list[float]],
             findings: list[Finding] | None, assumed: list[str]) -> tuple[Factor, ...]:  # fmt: skip
    """The three largest pushes up; an assumed input is a premise of the estimate, not a property of the model."""
    pushes = contributions(variant, x, assumed, base)
    ranked = sorted(pushes.items(), key=lambda kv: -kv[1])
    return tuple(
        Factor(name, round(x[name], 6), round(push, 4),
               codes_explaining(name, findings or []), variant.medians.get(name))
        for name, push in ranked[:3]
        if push > FACTOR_CUT
    )  # fmt: skip


#: the smallest push a factor shows
FACTOR_CUT = 0.005


def _notes(variant: Variant, x: dict[str, float], base: tuple[list[float], list[float]], dataset: Dataset,
           outside: list[str], probes: DataProbes | None, optimistic: list[str],
           assumed: list[str]) -> list[str]:  # fmt: skip
    notes = []
    if "log_steps" in variant.names and "log_steps" not in assumed:
        notes.append(f"for the planned run of {dataset.planned_steps:,} optimizer steps"
                     + (f" ({dataset.epochs} epochs of batch {dataset.batch_size})" if dataset.epochs and
                        not dataset.training_steps else ""))  # fmt: skip
    steps = saturation(variant, x, "log_steps", base) if "log_steps" in assumed else None
    if steps is not None:
        notes.append(f"for a full training run: the study's gaps stopped widening after about "
                     f"{_two_digits(10**steps):,.0f} optimizer steps, and shorter runs "
                     "measured smaller gaps")  # fmt: skip
    if "label_noise" in assumed:
        noisy_x = {**x, "label_noise": NOISY_LABELS}
        noisy = band(variant, noisy_x, variant.point.shares(noisy_x))[0]
        notes.append(f"for correctly labelled data: with {NOISY_LABELS:.0%} wrong labels the estimate would be "
                     f"{noisy:.2f}")
    if probes is None:
        notes.append("no data given: the estimate knows the model, n, the classes and the input's size and channels, "
                     "not how hard the data is, so the expected accuracies are typical of the study's sources (digits to "
                     "photos), not measured on yours; pass --data to measure it")  # fmt: skip
    elif not any(FEATURES_BY_NAME[name].needs_probes for name in variant.names):
        notes.append("the data probes were incomplete (" + "; ".join(probes.notes) + "): estimated without them")
    if outside:
        labels = ", ".join(FEATURES_BY_NAME[name].label for name in outside)
        notes.append(f"outside the study's range ({labels}): the fitted model reads each such input as its nearest "
                     "studied value, but inputs that follow from it (parameters per training sample, say) can still "
                     "be inside the range and move: the estimate is an extrapolation")  # fmt: skip
    if optimistic:
        labels = ", ".join(FEATURES_BY_NAME[name].label for name in optimistic)
        notes.append(f"beyond the study on the side that raises risk ({labels}): the held value may be too low, so "
                     "the model is not rated low")  # fmt: skip
    return notes


#: the training-set sizes ``smallest_low_risk_samples`` tries: 10, 20, 50, ..., 50 M
SIZE_GRID = tuple(mantissa * 10**exponent for exponent in range(1, 8) for mantissa in (1, 2, 5))


def smallest_low_risk_samples(facts: Facts, dataset: Dataset, probes: DataProbes | None = None) -> int | None:
    """The smallest training set on ``SIZE_GRID`` at which the model rates low risk, for a full run (or the given
    ``training_steps``).

    At a fixed training length the estimate never rises with n and the "beyond the study" floor only lifts as n
    grows into the study's range, so "rates low" is monotone along the grid: one bisection finds the first size.
    """
    if load_model() is None:
        return None

    def rates_low(n: int) -> bool:
        # steps are held (given ones, else a full run): with a fixed number of epochs they would grow with n
        scaled = replace(dataset, samples=n, epochs=None, probes=None)
        return level_at(facts, scaled, probes) == RISK_LEVELS[0]

    first = bisect_left(SIZE_GRID, True, key=rates_low)
    return SIZE_GRID[first] if first < len(SIZE_GRID) else None


def level_at(facts: Facts, dataset: Dataset, probes: DataProbes | None = None) -> str | None:
    """The level ``assess`` gives, without the accuracies, factors and notes it also works out (the search over n
    needs only this)."""
    chosen = _model_inputs(facts, dataset, probes)
    if chosen is None:
        return None
    _, variant, x, _ = chosen
    return _level(band(variant, x)[0], _beyond_the_study(variant, x)[1])[0]
