"""Risk model v3: two monotone parts fitted to the corpus, exported as the shipped ``risk_model.json``.

Model (``TwoPart``).  Per variant (with and without probes) three monotone ``HistGradientBoostingRegressor``
ensembles on shares of the way from chance (1/C) to 1: the training accuracy in inference mode (``fit``), the
held-out accuracy (``held_out``, fitted to the runs at least ``Setup.held_out_min_fit`` of the way on their
training set) and the training accuracy Keras logged in the last epoch (``logged_fit``, for the note on what
``model.fit`` prints).  Each feature's constraint per part is ``Feature.part_direction``.  The gap is
(fit - held out) x (1 - 1/C) clipped at 0; the 80 % band is split-conformal on ``log(gap + 0.02)``: the 10th and
90th percentiles of the residuals of runs from data sources held out of the fit (leave-one-source-out inside the
fit, each source weighing the same).  The trees are written to JSON as node arrays, checked against
scikit-learn's own predictions (and the composite gap against ``cnnlint.risk.TwoPart``), and evaluated by
``cnnlint.risk`` in pure Python.  ``study.evaluate_risk`` scores the same model held out.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")  # scikit-learn's tree fits thrash on a busy 2-core machine

import numpy as np  # noqa: E402

from cnnlint.model_files import RISK_MODEL_FILE  # noqa: E402
from cnnlint.risk import FEATURES, FEATURES_BY_NAME  # noqa: E402

from .export import export_ensemble  # noqa: E402
from .risk_corpus import ALL, Corpus  # noqa: E402

COVERAGE = 0.8
#: the band is a shift of log(max(gap, 0) + LINK_OFFSET) (cnnlint.risk.LogLink)
LINK_OFFSET = 0.02
HGB = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=6, min_samples_leaf=20, l2_regularization=1.0,
           early_stopping=False, random_state=0)  # fmt: skip


@dataclass(frozen=True)
class Setup:
    """What a fit is a function of besides the corpus: the shipped model is ``Setup()``; an experiment
    (``study.experiments``) changes one of these."""

    #: features of the variant used without data probes, and of the one used with them
    static: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.needs_probes)
    with_probes: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.static_only)
    #: the held-out part is fitted to runs whose training accuracy is at least this share of the way from chance
    #: to 1 (study/README.md compares the choices)
    held_out_min_fit: float = 0.8

    def without(self, names: tuple[str, ...]) -> Setup:
        return Setup(tuple(n for n in self.static if n not in names),
                     tuple(n for n in self.with_probes if n not in names), self.held_out_min_fit)  # fmt: skip


SHIPPED = Setup()


def part_features(names: tuple[str, ...], part: str) -> tuple[str, ...]:
    """The variant's features that one part reads (``Feature.in_fit``, ``Feature.in_held_out``)."""
    reads = "in_fit" if part in ("fit", "logged_fit") else "in_held_out"
    return tuple(n for n in names if getattr(FEATURES_BY_NAME[n], reads))


def _boosted(names: tuple[str, ...], part: str):
    from sklearn.ensemble import HistGradientBoostingRegressor

    direction = "fit" if part == "logged_fit" else part
    return HistGradientBoostingRegressor(**HGB, monotonic_cst=[FEATURES_BY_NAME[n].part_direction(direction)
                                                               for n in names])  # fmt: skip


class TwoPart:
    """The gap as (fit share - held-out share) x (1 - 1/C), each part a monotone boosted ensemble on its own
    features (``cnnlint.risk.TwoPart``), and a split-conformal band on the gap's log: the 10th and 90th percentiles
    of the residuals of runs from data sources held out of the fit, each source weighing the same.  ``logged_fit``
    predicts the training accuracy Keras logs (for the note that says what ``model.fit`` will print)."""

    parts = ("fit", "held_out", "logged_fit")

    def __init__(self, names: tuple[str, ...], held_out_min_fit: float) -> None:
        self.names = names
        self.held_out_min_fit = held_out_min_fit
        self.offsets = (0.0, 0.0)

    def _columns(self, part: str) -> list[int]:
        return [self.names.index(n) for n in part_features(self.names, part)]

    def fit(self, x: np.ndarray, targets: dict[str, np.ndarray], groups: np.ndarray | None = None) -> TwoPart:
        self.models = self._fit_parts(x, targets)
        if groups is not None and len(set(groups)) > 1:
            self.offsets = self._conformal_offsets(x, targets, groups)
        return self

    def _fit_parts(self, x: np.ndarray, targets: dict[str, np.ndarray]) -> dict:
        """One ensemble per part; the held-out part learns from the runs that fit their training set (at least
        ``held_out_min_fit`` of the way from chance to 1): what held-out accuracy this data allows a network that can
        memorize it, not the average over networks too small to."""
        models = {}
        for part in self.parts:
            rows = targets["fit"] >= self.held_out_min_fit if part == "held_out" else np.ones(len(x), dtype=bool)
            model = _boosted(part_features(self.names, part), part)
            models[part] = model.fit(x[rows][:, self._columns(part)], targets[part][rows])
        return models

    def _conformal_offsets(self, x: np.ndarray, targets: dict[str, np.ndarray], groups: np.ndarray
                           ) -> tuple[float, float]:  # fmt: skip
        residuals, weights = [], []
        gap = true_gap(targets, x, self.names)
        for held in sorted(set(groups)):
            train, test = groups != held, groups == held
            models = self._fit_parts(x[train], {k: v[train] for k, v in targets.items()})
            point = self._gap(models, x[test])
            residuals.append(to_link(gap[test]) - to_link(point))
            weights.append(np.full(test.sum(), 1 / test.sum()))
        tail = (1 - COVERAGE) / 2
        return tuple(float(np.quantile(np.concatenate(residuals), q, weights=np.concatenate(weights),
                                       method="inverted_cdf")) for q in (tail, 1 - tail))  # type: ignore[return-value]

    def _gap(self, models: dict, x: np.ndarray) -> np.ndarray:
        fit, held = (np.clip(models[part].predict(x[:, self._columns(part)]), 0, 1) for part in ("fit", "held_out"))
        return top_gap(x, self.names) * np.maximum(fit - held, 0)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gap = self._gap(self.models, x)
        top = top_gap(x, self.names)
        low = np.minimum(np.clip(to_gap(to_link(gap) + self.offsets[0]), 0, None), gap)
        high = np.minimum(np.maximum(to_gap(to_link(gap) + self.offsets[1]), gap), top)
        return gap, low, high

    def predict_keras_gap(self, x: np.ndarray) -> np.ndarray:
        logged, held = (np.clip(self.models[p].predict(x[:, self._columns(p)]), 0, 1) for p in ("logged_fit", "held_out"))
        return top_gap(x, self.names) * (logged - held)

    def export(self) -> dict:
        return {part: {"features": list(part_features(self.names, part)),
                       "baseline": float(np.ravel(self.models[part]._baseline_prediction)[0]),
                       "trees": export_ensemble(self.models[part])} for part in self.parts}  # fmt: skip


def top_gap(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """1 - 1/C per row, from the log_classes column."""
    return 1 - 10 ** -x[:, names.index("log_classes")]


def true_gap(targets: dict[str, np.ndarray], x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return top_gap(x, names) * (targets["fit"] - targets["held_out"])


def check_trees(two_part: TwoPart, exported: dict, x: np.ndarray) -> None:
    """The exported trees walk to scikit-learn's own predictions, and cnnlint.risk's TwoPart to fit.py's gap."""
    from cnnlint.risk import LogLink
    from cnnlint.risk import TwoPart as Shipped
    from cnnlint.trees import ensemble

    for part in two_part.parts:
        cols = two_part._columns(part)
        ours = np.array([ensemble(exported[part]["baseline"], exported[part]["trees"], row) for row in x[:, cols]])
        worst = float(np.max(np.abs(ours - two_part.models[part].predict(x[:, cols]))))
        if worst > 1e-4:
            raise SystemExit(f"exported trees ({part}) differ from the fitted model by {worst:.2g}")
    from cnnlint.risk import _trees

    shipped = Shipped(_trees(exported["fit"]), _trees(exported["held_out"]), LogLink(LINK_OFFSET))
    gaps = np.array([shipped.gap(dict(zip(two_part.names, row))) for row in x])
    worst = float(np.max(np.abs(gaps - two_part.predict(x)[0])))
    if worst > 1e-4:
        raise SystemExit(f"cnnlint.risk.TwoPart differs from the fitted gap by {worst:.2g}")


def reference_values(name: str, column: np.ndarray) -> list[list[float]]:
    """(value, weight) pairs standing for the study's runs: both values of a binary feature with their shares,
    else five quantiles of equal weight."""
    column = column[~np.isnan(column)]
    if FEATURES_BY_NAME[name].binary:
        share = float(np.mean(column > 0.5))
        return [[0.0, round(1 - share, 4)], [1.0, round(share, 4)]]
    return [[round(float(v), 6), 0.2] for v in np.quantile(column, [0.1, 0.3, 0.5, 0.7, 0.9])]


def to_link(gap: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(gap, 0.0) + LINK_OFFSET)


def to_gap(z: np.ndarray) -> np.ndarray:
    return np.clip(np.exp(z) - LINK_OFFSET, 0, 1)


class Tables:
    """An exported additive model of risk v2, evaluated with numpy (for the v2 baseline only)."""

    def __init__(self, exported: dict, names: tuple[str, ...]) -> None:
        self.exported, self.names = exported, names

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), self.exported["intercept"], dtype=float)
        for j, name in enumerate(self.names):
            shape = self.exported["shapes"][name]
            values = np.asarray(shape["values"])
            out += values[np.searchsorted(shape["breaks"], x[:, j], side="left")] - self.exported["averages"][name]
        return out


def assumed_value(name: str, column: np.ndarray) -> float:
    """What lint assumes for a study covariate it is not told: a full training run (the longest the study trained,
    where every step table has saturated), correct labels (the smallest label noise)."""
    return float(np.nanmax(column) if FEATURES_BY_NAME[name].assumed == "largest" else np.nanmin(column))


def export_variant(model: TwoPart, x: np.ndarray) -> dict:
    exported = model.export()
    check_trees(model, exported, x)
    names = model.names
    return {
        "kind": "two_part",
        "features": list(names),
        **exported,
        "offsets": [round(v, 6) for v in model.offsets],
        "reference": {n: reference_values(n, x[:, j]) for j, n in enumerate(names)},
        "link": {"kind": "log", "offset": LINK_OFFSET},
        # rounded outwards: a value the study had (log10(2) classes) must stay inside its own range
        "ranges": {n: [math.floor(float(np.nanmin(x[:, j])) * 1e6) / 1e6, math.ceil(float(np.nanmax(x[:, j])) * 1e6) / 1e6]
                   for j, n in enumerate(names)},  # fmt: skip
        "medians": {n: round(float(np.nanmedian(x[:, j])), 6) for j, n in enumerate(names)},
        "assumed": {n: round(assumed_value(n, x[:, j]), 6) for j, n in enumerate(names) if FEATURES_BY_NAME[n].assumed},
    }


def columns(names: tuple[str, ...]) -> list[int]:
    return [ALL.index(n) for n in names]


def known_rows(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Runs where every required (non-optional) feature of the variant is known."""
    required = [n for n in names if not FEATURES_BY_NAME[n].optional]
    return ~np.isnan(x[:, columns(tuple(required))]).any(axis=1)


def fit_variant(names: tuple[str, ...], x: np.ndarray, targets: dict[str, np.ndarray], groups: np.ndarray,
                held_out_min_fit: float) -> TwoPart:  # fmt: skip
    """Fitted on the runs where every required feature of the variant is known (probes can be missing for tiny
    data)."""
    known = known_rows(x, names)
    return TwoPart(names, held_out_min_fit).fit(x[known][:, columns(names)], {k: v[known] for k, v in targets.items()}, groups[known])


def fit_model(corpus: Corpus, setup: Setup = SHIPPED) -> dict:
    """The shipped document: both variants fitted on the whole corpus, each checked against its export."""
    variants = {}
    for label, names in (("with_probes", setup.with_probes), ("static", setup.static)):
        known = known_rows(corpus.x, names)
        model = fit_variant(names, corpus.x, corpus.targets, corpus.sources, setup.held_out_min_fit)
        variants[label] = export_variant(model, corpus.x[known][:, columns(names)])
    return {
        "schema": RISK_MODEL_FILE.schema_tag,
        "version": f"v3-{corpus.version}-n{len(corpus.runs)}",
        "target": "training accuracy in inference mode - held-out accuracy",
        "family": "two parts, each monotone gradient-boosted trees (scikit-learn HistGradientBoostingRegressor): the "
                  "training-set fit and the held-out accuracy, as shares above chance; gap = (fit - held out) x "
                  "(1 - 1/C); split-conformal 10-90 % band on log(gap + 0.02) from held-out data sources",
        "interval_coverage_target": COVERAGE,
        "corpus_runs": len(corpus.runs),
        "variants": variants,
    }  # fmt: skip
