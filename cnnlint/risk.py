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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint.analysis import Facts
from cnnlint.findings import Dataset, Finding, class_count, codes_explaining
from cnnlint.levels import RISK_LEVELS
from cnnlint.model_files import RISK_MODEL_FILE
from cnnlint.trees import Node, nested, thresholds, walk_nested, walk_recording

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
    (``cnnlint.trees``)."""

    names: tuple[str, ...]
    baseline: float
    trees: tuple[dict[str, list], ...]
    #: the same trees as nested tuples, walked by ``cnnlint.trees.walk_nested``
    nodes: tuple[Node, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.nodes:
            object.__setattr__(self, "nodes", tuple(nested(tree) for tree in self.trees))

    def predict(self, x: dict[str, float]) -> float:
        return self.baseline + sum(self.per_tree(x))

    def per_tree(self, x: dict[str, float]) -> list[float]:
        """Each tree's leaf value for ``x`` (their sum plus the baseline is ``predict``).

        A tree whose path at the last row ``_paths_at`` recorded asks about none of the inputs that differ here
        takes the same path again: its leaf is reused (the search over n varies n around the estimate's row)."""
        row = [x[n] for n in self.names]
        memo = self.__dict__.get("_paths_memo")
        if memo is None:
            return [walk_nested(node, row) for node in self.nodes]
        changed = {j for j, (a, b) in enumerate(zip(row, memo[0])) if not _same(a, b)}
        return [leaf if changed.isdisjoint(asked) else walk_nested(node, row)
                for node, (leaf, asked) in zip(self.nodes, memo[1])]  # fmt: skip

    def varying(self, x: dict[str, float], name: str, values: list[float],
                base: list[float] | None = None) -> list[float]:  # fmt: skip
        """``predict`` with ``name`` set to each of ``values``: only the trees whose path at ``x`` asks about it are
        walked again, from the first node that asks (``base``: ``per_tree(x)``, when the caller varies several
        features around the same point)."""
        base = self.per_tree(x) if base is None else base
        total = self.baseline + sum(base)
        if name not in self.names:
            return [total] * len(values)
        row = [x[n] for n in self.names]
        column = self.names.index(name)
        moving = self._trees_using()[column]
        fixed = total - sum(base[i] for i in moving)
        paths = self._paths_at(row)
        count, at = len(values), row[column]
        columns = []  # per moving tree, its leaf for each value
        for i, (points, sides, same, firsts, _) in zip(moving, self._same_paths(column, tuple(values))):
            leaf, first_asking = paths[i]
            start = first_asking.get(column)
            if start is None:  # the path never asks: every value ends in the same leaf
                columns.append((leaf,) * count)
                continue
            # a value on the same side of each of the tree's splits on it as x's own takes x's path, to its leaf
            own = -1 if at != at else bisect_left(points, at)
            if len(firsts) == 1:  # every value takes the same side of each split on it
                if sides[0] != own:
                    row[column] = values[0]
                    leaf = walk_nested(start, row)
                columns.append((leaf,) * count)
                continue
            reached = {}
            for first in firsts:
                if sides[first] == own:
                    reached[first] = leaf
                else:
                    row[column] = values[first]
                    reached[first] = walk_nested(start, row)
            columns.append([reached[first] for first in same])
        totals = [sum(leaves) for leaves in zip(*columns)] if columns else [0] * count
        return [fixed + total for total in totals]

    def varying_by_change(self, x: dict[str, float], name: str, values: list[float], base: list[float]) -> list[float]:
        """``varying``, to within rounding: ``predict(x)`` plus, for each value, the change of each tree that the
        value sends to another leaf (only the trees whose path at ``x`` asks about ``name``, and only for values on
        another side of their splits on it than ``x``'s own).  The sums differ from ``varying``'s in order, so a
        result may differ from it in the last bits: for the factors, which are rounded, never compared for equality
        (``tests/test_speed_equivalence.py`` bounds the difference)."""
        total = self.baseline + sum(base)
        changes = [0.0] * len(values)
        if name in self.names:
            row = [x[n] for n in self.names]
            column = self.names.index(name)
            at, paths = row[column], self._paths_at(row)
            for i, (points, sides, _, firsts, members) in zip(self._trees_using()[column],
                                                             self._same_paths(column, tuple(values))):  # fmt: skip
                leaf, first_asking = paths[i]
                start = first_asking.get(column)
                if start is None:  # the path never asks: every value ends in x's leaf
                    continue
                own = -1 if at != at else bisect_left(points, at)
                for first, same in zip(firsts, members):
                    if sides[first] == own:  # x's side of each split on it: x's path, x's leaf
                        continue
                    row[column] = values[first]
                    change = walk_nested(start, row) - leaf
                    if change:
                        for k in same:
                            changes[k] += change
        return [total + change for change in changes]

    def _paths_at(self, row: list[float]) -> list[tuple[float, dict[int, Node]]]:
        """``walk_recording`` of every tree at ``row``, kept for the last row (each input is varied around it)."""
        key = tuple(row)
        memo = self.__dict__.get("_paths_memo")
        if memo is None or memo[0] != key:
            memo = (key, [walk_recording(node, row) for node in self.nodes])
            object.__setattr__(self, "_paths_memo", memo)
        return memo[1]

    def per_tree_near(self, x: dict[str, float], near: dict[str, float], base: list[float]) -> list[float]:
        """``per_tree(x)``, from ``base = per_tree(near)``: only the trees that split on an input that differs are
        walked again (the same list, so the same sum)."""
        changed = [j for j, n in enumerate(self.names) if not _same(x[n], near[n])]
        uses = self._trees_using()
        row, out = [x[n] for n in self.names], list(base)
        for i in {i for j in changed for i in uses[j]}:
            out[i] = walk_nested(self.nodes[i], row)
        return out

    def _trees_using(self) -> dict[int, tuple[int, ...]]:
        """Per input, the trees that split on it (in the order the sums over them keep)."""
        cached = self.__dict__.get("_uses")
        if cached is None:
            cached = {j: tuple({i for i in per_tree}) for j, per_tree in self._split_points().items()}
            object.__setattr__(self, "_uses", cached)
        return cached

    def _split_points(self) -> dict[int, dict[int, list[float]]]:
        """Per input, per tree that splits on it (ascending), its split points on it (ascending): one pass over the
        nodes, as a single lint pays for it (issue 26)."""
        cached = self.__dict__.get("_splits")
        if cached is None:
            cached = {j: {} for j in range(len(self.names))}
            for i, tree in enumerate(self.trees):
                for feature, threshold, left in zip(tree["feature"], tree["threshold"], tree["left"]):
                    if left >= 0:
                        cached[feature].setdefault(i, []).append(threshold)
            for per_tree in cached.values():
                for points in per_tree.values():
                    points.sort()
            object.__setattr__(self, "_splits", cached)
        return cached

    def _same_paths(self, column: int, values: tuple[float, ...]) -> list[tuple[list[float], list[int],
                    tuple[int, ...], tuple[int, ...], tuple[tuple[int, ...], ...]]]:  # fmt: skip
        """Per tree that splits on ``column``: its split points on it (ascending), each value's side of them (how
        many lie below it; -1 for NaN), for each value the first of ``values`` on the same side (so taking the same
        path through the tree), those firsts, once each, and for each first the values on its side.  The
        contributions vary each input over the same reference values for every model, and the saturation over the
        same split points, so this is worked out once."""
        cache = self.__dict__.setdefault("_paths", {})
        key = (column, values)
        if key not in cache:
            splits = [self._split_points()[column][i] for i in self._trees_using()[column]]
            paths = []
            for points in splits:
                sides = [-1 if math.isnan(v) else bisect_left(points, v) for v in values]
                same = tuple(sides.index(side) for side in sides)
                firsts = tuple(sorted(set(same)))
                members = tuple(tuple(k for k, first in enumerate(same) if first == f) for f in firsts)
                paths.append((points, sides, same, firsts, members))
            if len(cache) > 256:  # only the reference values repeat; never let arbitrary callers grow it
                return paths
            cache[key] = paths
        return cache[key]

    def thresholds(self, name: str) -> list[float]:
        if name not in self.names:
            return []
        cache = self.__dict__.setdefault("_thresholds", {})
        if name not in cache:
            cache[name] = thresholds(self.trees, self.names.index(name))
        return list(cache[name])


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


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

    def shares_near(self, x: dict[str, float], near: dict[str, float],
                    base: tuple[list[float], list[float]]) -> tuple[float, float]:  # fmt: skip
        """``shares(x)``, walking only the trees an input that differs from ``near`` (``base = per_tree(near)``)
        reaches."""
        return self.shares_of((self.fit.per_tree_near(x, near, base[0]), self.held_out.per_tree_near(x, near, base[1])))

    def gaps(self, x: dict[str, float], name: str, values: list[float],
             base: tuple[list[float], list[float]] | None = None, exact: bool = True) -> list[float]:  # fmt: skip
        """``gap`` with ``name`` set to each of ``values``, walking only the trees that split on it (``base``:
        ``per_tree(x)``); ``exact=False``: to within rounding, from the trees each value moves
        (``Trees.varying_by_change``), for values that are rounded and not compared for equality."""
        fit_base, held_base = self.per_tree(x) if base is None else base
        if exact:
            fits, helds = self.fit.varying(x, name, values, fit_base), self.held_out.varying(x, name, values, held_base)
        else:
            fits = self.fit.varying_by_change(x, name, values, fit_base)
            helds = self.held_out.varying_by_change(x, name, values, held_base)
        return [max_gap({**x, name: v}) * max(_share(f) - _share(h), 0.0) for v, f, h in zip(values, fits, helds)]

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
    with_probes: Variant
    static: Variant
    version: str
    coverage: float


def _trees(data: dict[str, Any]) -> Trees:
    names = tuple(data["features"])
    return Trees(names, float(data["baseline"]), _checked_trees(data["trees"], len(names)))


def _variant(data: dict[str, Any]) -> Variant:
    if data.get("kind") != "two_part":
        raise ValueError("not a risk v3 variant")
    link = LogLink(float(data["link"]["offset"]))
    point = TwoPart(_trees(data["fit"]), _trees(data["held_out"]), link)
    return Variant(
        names=tuple(data["features"]),
        point=point,
        low=Shifted(point, float(data["offsets"][0])),
        high=Shifted(point, float(data["offsets"][1])),
        logged_fit=_trees(data["logged_fit"]),
        link=link,
        ranges={k: (float(v[0]), float(v[1])) for k, v in data["ranges"].items()},
        medians={k: float(v) for k, v in data["medians"].items()},
        assumed={k: float(v) for k, v in data.get("assumed", {}).items()},
        reference={k: tuple((float(a), float(b)) for a, b in v) for k, v in data.get("reference", {}).items()},
    )


@lru_cache(maxsize=1)
def load_model() -> RiskModel | None:
    try:
        data: dict[str, Any] = RISK_MODEL_FILE.read(Path(__file__).parent / "data" / "risk_model.json")
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
        notes.append(f"Keras's log will show a gap of about {keras_gap:.2f}: it averages training accuracy over each "
                     "epoch with dropout and augmentation active; this estimate is the gap in inference mode")
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
                  base: tuple[list[float], list[float]] | None = None, exact: bool = True) -> dict[str, float]:  # fmt: skip
    """Each feature's push on the predicted gap: the estimate minus its average over the study's values of that
    feature (``Variant.reference``), the others kept; none for the names in ``skip`` (``base``:
    ``variant.point.per_tree(x)``; ``exact=False``: from the trees each value moves, within ``PUSH_MARGIN``)."""
    point = variant.point
    base = point.per_tree(x) if base is None else base
    gap = point.gap(x, point.shares_of(base))
    pushes = {}
    for name in (n for n in variant.names if n not in skip):
        pairs = variant.reference.get(name, ())
        total = sum(weight for _, weight in pairs)
        if total > 0 and not math.isnan(x[name]):
            gaps = point.gaps(x, name, [value for value, _ in pairs], base, exact=exact)
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
    point = variant.point
    base = point.per_tree(x) if base is None else base
    # one pass over every step of the estimate (a tree is walked once per distinct path, not once per value): the
    # estimate never falls as a rising feature grows, so the first step at the full value is where it saturates
    full, first, *past = point.gaps(x, name, [top, below[0], *(math.nextafter(t, math.inf) for t in below)], base)
    if first == full:
        return None
    return next((t for t, gap in zip(below, past) if gap == full), None)


def _factors(variant: Variant, x: dict[str, float], base: tuple[list[float], list[float]],
             findings: list[Finding] | None, assumed: list[str]) -> tuple[Factor, ...]:  # fmt: skip
    """The three largest pushes up; an assumed input is a premise of the estimate, not a property of the model.

    The pushes are summed from the trees each value moves (fast, within ``PUSH_MARGIN``); where one lies so close
    to a cut that the margin could change what is shown (its rounding, ``FACTOR_CUT``, its rank), all are summed
    exactly, so the factors are always those of the exact sums."""
    pushes = contributions(variant, x, assumed, base, exact=False)
    if not _decided(pushes):
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
#: how far a push summed from the changed trees may lie from the exact sum (tests/test_speed_equivalence.py finds
#: under 1e-12 on each tree part), with room to spare
PUSH_MARGIN = 1e-9


def _decided(pushes: dict[str, float]) -> bool:
    """Whether pushes that may each be ``PUSH_MARGIN`` off give the same factors as the exact ones: none that could
    be shown lies within the margin of the cut or of a rounding step, and no two of them within twice it."""
    candidates = sorted(p for p in pushes.values() if p > FACTOR_CUT - PUSH_MARGIN)
    if any(higher - lower < 2 * PUSH_MARGIN for lower, higher in zip(candidates, candidates[1:])):
        return False
    return all(abs(p - FACTOR_CUT) >= PUSH_MARGIN and round(p - PUSH_MARGIN, 4) == round(p + PUSH_MARGIN, 4)
               for p in candidates)  # fmt: skip


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
                     f"{10**steps:,.0f} optimizer steps, and shorter runs "
                     "measured smaller gaps")  # fmt: skip
    if "label_noise" in assumed:
        noisy_x = {**x, "label_noise": NOISY_LABELS}
        noisy = band(variant, noisy_x, variant.point.shares_near(noisy_x, x, base))[0]
        notes.append(f"for correctly labelled data: with {NOISY_LABELS:.0%} wrong labels the estimate would be "
                     f"{noisy:.2f}")
    if probes is None:
        notes.append("no data given: the estimate knows the model, n, the classes and the input's size and channels, "
                     "not how hard the data is; pass --data to measure it")  # fmt: skip
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
