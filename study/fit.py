"""Fit risk model v3 to the measured corpus and evaluate it on held-out data sources and architecture families.

    pip install -e ".[study]"
    python study/fit.py        # writes cnnlint/data/risk_model.json, study/evaluation.{json,md}, the probe caches
                               # and the table between docs/risk-model.md's risk-evaluation markers
    python study/fit.py --experiment NAME [--held-out-min-fit F]   # only study/experiments/risk-NAME.md

Inputs.  Every run of ``study/corpus`` (v1: digits and MNIST-1D, 10 classes, stopped at 99 % training accuracy),
``study/corpus-v2`` (five sources, 2-10 classes, label noise, 20-40 epochs), ``study/min-steps`` (v2 runs that took
fewer than 600 optimizer steps, retrained with the same seed for at least 600), ``study/corpus-v3`` (v2 specs, at
least 600 steps) and ``study/corpus-photos`` (v4: CIFAR-10 and Imagenette photos, small CNNs, the article's models
and keras.applications networks from scratch, at least 600 steps).  How long a run trained (its optimizer steps)
is a feature: short runs measure smaller gaps, and the paired reruns let the fit tell that apart from the effect of
n.  Static features come from cnnlint's own reader, graph and analysis code on the run's saved config
(``cnnlint.risk.features``), so the model sees exactly what ``cnnlint`` sees.  Data probes
(``cnnlint.probes.probe_arrays``, and ``patch_probe_arrays`` for the patch probe) are computed on the run's own
training subset, regenerated from its seeds, and cached in ``study/probes.jsonl`` and ``study/patch_probes.jsonl``.

Model (``TwoPart``).  Per variant (with and without probes) three monotone ``HistGradientBoostingRegressor``
ensembles on shares of the way from chance (1/C) to 1: the training accuracy in inference mode (``fit``), the
held-out accuracy (``held_out``, fitted to the runs at least ``HELD_OUT_MIN_FIT`` of the way on their training set)
and the training accuracy Keras logged in the last epoch (``logged_fit``, for the note on what ``model.fit``
prints).  Each feature's constraint per part is ``Feature.part_direction``.  The gap is (fit - held out) x (1 - 1/C)
clipped at 0; the 80 % band is split-conformal on ``log(gap + 0.02)``: the 10th and 90th percentiles of the
residuals of runs from data sources held out of the fit (leave-one-source-out inside the fit, each source weighing
the same).  The trees are written to JSON as node arrays, checked against scikit-learn's own predictions (and the
composite gap against ``cnnlint.risk.TwoPart``), and evaluated by ``cnnlint.risk`` in pure Python.

Evaluation (nothing is fitted on the split it is scored on): leave-one-source-out and leave-one-family-out, with
and without probes, against baselines fitted on the same training split: n alone and params / n alone (isotonic
regressions), probes alone (a monotone ensemble on the probe errors), one ensemble on the gap (risk v2's form with
v3's features), the v1 ridge model (``study/baselines/risk_model_v1.json``) and the v2 model shipped before v3
(``study/baselines/risk_model_v2_1005.json``; both have seen part of the non-photo test runs: an advantage).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # scikit-learn's tree fits thrash on a busy 2-core machine

import numpy as np  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import runs as run_files  # noqa: E402
from export import export_ensemble  # noqa: E402

from cnnlint.analysis import analyze  # noqa: E402
from cnnlint.findings import Dataset  # noqa: E402
from cnnlint.pipeline import model_graph  # noqa: E402
from cnnlint.readers import raw_from_dict  # noqa: E402
from cnnlint.risk import FEATURES, FEATURES_BY_NAME, features  # noqa: E402

OUT_MODEL = HERE.parent / "cnnlint" / "data" / "risk_model.json"
PROBES = HERE / "probes.jsonl"
#: the patch probe (risk v3), kept apart so that the older probes' cache stays as it was
PATCH_PROBES = HERE / "patch_probes.jsonl"
V1_MODEL = HERE / "baselines" / "risk_model_v1.json"
#: the v2 model shipped before risk v3 (fitted on the 1,005 runs of commit 7c65522, none of them photos)
V2_MODEL = HERE / "baselines" / "risk_model_v2_1005.json"
GAP_THRESHOLD = 0.10
#: runs at least this long count as full runs in the "as lint predicts" row of the evaluation
FULL_RUN_STEPS = 600
COVERAGE = 0.8
#: the band is a shift of log(max(gap, 0) + LINK_OFFSET) (cnnlint.risk.LogLink)
LINK_OFFSET = 0.02
STATIC = tuple(f.name for f in FEATURES if not f.needs_probes)
WITH_PROBES = tuple(f.name for f in FEATURES if not f.static_only)
#: the columns of the feature matrix
ALL = tuple(f.name for f in FEATURES)
PROBE_ONLY = ("log_classes", "knn_error", "linear_error", "patch_error")
PHOTO_SOURCES = ("cifar10", "imagenette")
#: the held-out part is fitted to runs whose training accuracy is at least this share of the way from chance to 1
#: (``--held-out-min-fit``; study/README.md compares the choices)
HELD_OUT_MIN_FIT = 0.8
HGB = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=6, min_samples_leaf=20, l2_regularization=1.0,
           early_stopping=False, random_state=0)  # fmt: skip


# ---- the corpus -----------------------------------------------------------------------------


#: (label, folder): v1, v2 (fixed 20-40 epochs), v2 runs retrained for >= 600 steps, v3 (>= 600 steps), v4
#: (photos: CIFAR-10 and Imagenette, >= 600 steps)
CORPORA = (("v1", "corpus"), ("v2", "corpus-v2"), ("v3r", "min-steps"), ("v3", "corpus-v3"), ("v4", "corpus-photos"))


def load_runs() -> list[dict]:
    runs = []
    for corpus, folder in CORPORA:
        for record in run_files.trained(HERE / folder):
            record["corpus"] = corpus
            runs.append(record)
    unique = {(r["corpus"], r["id"]): r for r in runs}
    return [unique[key] for key in sorted(unique)]


def run_key(run: dict) -> str:
    return f"{run['corpus']}:{run['id']}"


def data_key(run: dict) -> str:
    """Runs from v2 on draw their data from the spec's seeds alone, so a rerun shares its run's probes."""
    return f"v1:{run['id']}" if run["corpus"] == "v1" else f"{'v4' if run['corpus'] == 'v4' else 'v2'}:{run['id']}"


class Pools:
    """The data each run was trained on, regenerated from its seeds (for the probes)."""

    def __init__(self) -> None:
        self._pools: dict[str, tuple] = {}

    def training_subset(self, run: dict) -> tuple[np.ndarray, np.ndarray]:
        spec = run["spec"]
        if run["corpus"] == "v1":
            x_pool, y_pool = self._pool("v1-" + spec["dataset"])[:2]
            pick = np.random.RandomState(spec["seed"]).permutation(len(y_pool))[: spec["n"]]
            return x_pool[pick], y_pool[pick]
        x, y, *_ = generate.draw_data(spec, generate.load_pools(self._pools, spec))
        return x, y

    def _pool(self, name: str) -> tuple:
        if name not in self._pools:
            import generate_v1

            self._pools[name] = {"v1-digits": generate_v1.load_digits,
                                 "v1-mnist1d": generate_v1.load_mnist1d}[name]()  # fmt: skip
        return self._pools[name]


def load_probe_cache() -> dict[str, dict]:
    cache = {}
    if PROBES.exists():
        for line in PROBES.read_text().splitlines():
            entry = json.loads(line)
            cache[entry["key"]] = entry
    return cache


def probe_all(runs: list[dict]) -> dict[str, dict]:
    from cnnlint.probes import probe_arrays

    cache, pools = load_probe_cache(), Pools()
    missing = list({data_key(r): r for r in runs if data_key(r) not in cache}.values())
    for i, run in enumerate(missing):
        x, y = pools.training_subset(run)
        probes = probe_arrays(x, y)
        entry = {"key": data_key(run), "knn_accuracy": probes.knn_accuracy, "linear_accuracy": probes.linear_accuracy,
                 "duplicate_fraction": probes.duplicate_fraction, "probed": probes.probed}  # fmt: skip
        cache[entry["key"]] = entry
        with open(PROBES, "a") as stream:
            stream.write(json.dumps(entry) + "\n")
        if i % 50 == 0:
            print(f"probes: {i + 1}/{len(missing)}", file=sys.stderr, flush=True)
    return cache


def probe_patches(runs: list[dict]) -> dict[str, float | None]:
    """The patch probe of every run's training data (``PATCH_PROBES``, appended as computed: resumable)."""
    from cnnlint.probes import patch_probe_arrays

    cache: dict[str, float | None] = {}
    if PATCH_PROBES.exists():
        for line in PATCH_PROBES.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                cache[entry["key"]] = entry["patch_accuracy"]
    pools = Pools()
    missing = list({data_key(r): r for r in runs if data_key(r) not in cache}.values())
    for i, run in enumerate(missing):
        x, y = pools.training_subset(run)
        cache[data_key(run)] = patch_probe_arrays(x, y)
        with open(PATCH_PROBES, "a") as stream:
            stream.write(json.dumps({"key": data_key(run), "patch_accuracy": cache[data_key(run)]}) + "\n")
        if i % 50 == 0:
            print(f"patch probes: {i + 1}/{len(missing)}", file=sys.stderr, flush=True)
    return cache


class _Probes:
    """The probe values ``cnnlint.risk.features`` reads, from the caches."""

    def __init__(self, entry: dict, patch_accuracy: float | None) -> None:
        self.knn_accuracy = entry["knn_accuracy"]
        self.linear_accuracy = entry["linear_accuracy"]
        self.patch_accuracy = patch_accuracy


def featurize(runs: list[dict], probes: dict[str, dict], patches: dict[str, float | None]
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # fmt: skip
    rows, extras = [], {"params": [], "n": [], "v1_features": []}
    for run in runs:
        facts = analyze(model_graph(raw_from_dict(run["config"], source=f"corpus#{run_key(run)}")))
        dataset = Dataset(samples=run["spec"]["n"], classes=run["spec"].get("classes", 10),
                          training_steps=generate.optimizer_steps(run),
                          label_noise=run["spec"].get("label_noise", 0.0))  # fmt: skip
        given = _Probes(probes[data_key(run)], patches.get(data_key(run)))
        values = features(facts, dataset, given)  # type: ignore[arg-type]
        rows.append([np.nan if values[name] is None else values[name] for name in ALL])
        extras["params"].append(facts.trainable_params)
        extras["n"].append(run["spec"]["n"])
        extras["v1_features"].append(v1_features(facts, dataset))
    x = np.array(rows, dtype=float)
    return x, {k: np.array(v, dtype=float) for k, v in extras.items()}


def shares(runs: list[dict]) -> dict[str, np.ndarray]:
    """Per run, as shares of the way from chance (1/C) to 1: the training accuracy (inference mode), the held-out
    accuracy, and the training accuracy Keras logged in the last epoch (training mode)."""
    chance = np.array([1 / r["spec"].get("classes", 10) for r in runs])
    train = np.array([r["train_acc"] for r in runs])
    test = np.array([r["test_acc"] for r in runs])
    logged = np.array([r["curves"]["accuracy"][-1] for r in runs])
    return {name: (acc - chance) / (1 - chance) for name, acc in (("fit", train), ("held_out", test),
                                                                  ("logged_fit", logged))}  # fmt: skip


# ---- the model ------------------------------------------------------------------------------


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

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
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
        HELD_OUT_MIN_FIT of the way from chance to 1): what held-out accuracy this data allows a network that can
        memorize it, not the average over networks too small to."""
        models = {}
        for part in self.parts:
            rows = targets["fit"] >= HELD_OUT_MIN_FIT if part == "held_out" else np.ones(len(x), dtype=bool)
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


# ---- baselines ------------------------------------------------------------------------------


def v1_features(facts, dataset: Dataset) -> list[float]:
    """The v1 model's inputs, as cnnlint 0.1 computed them (for the baseline only)."""
    n, classes = dataset.samples, dataset.classes or 10
    lpps = math.log10(max(facts.trainable_params, 1) / n)
    return [lpps, lpps * lpps, math.log10(max(n / classes, 1)), facts.head_share or 0.0, float(facts.depth),
            math.log2(facts.width or 1), float(facts.largest_kernel or 1),
            float(bool(facts.dropout_layers or facts.noise_layers)), float(bool(facts.norm_layers)),
            float(facts.has_weight_penalty), float(bool(facts.augment_layers))]  # fmt: skip


def v1_predict(rows: np.ndarray) -> np.ndarray:
    model = json.loads(V1_MODEL.read_text())
    z = (rows - np.array(model["mean"])) / np.array(model["scale"])
    return np.clip(model["intercept"] + z @ np.array(model["coef"]), 0, 1)


def baselines(x: np.ndarray, y: np.ndarray, extras: dict, train: np.ndarray, test: np.ndarray) -> dict:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.isotonic import IsotonicRegression

    log_n = np.log10(extras["n"])
    ratio = np.log10(extras["params"] / extras["n"])
    out = {
        "n alone": IsotonicRegression(increasing=False, out_of_bounds="clip").fit(log_n[train], y[train])
        .predict(log_n[test]),
        "params / n alone": IsotonicRegression(out_of_bounds="clip").fit(ratio[train], y[train]).predict(ratio[test]),
    }
    cols = columns(PROBE_ONLY)
    probes_only = HistGradientBoostingRegressor(**HGB, monotonic_cst=[FEATURES_BY_NAME[n].direction for n in PROBE_ONLY])
    out["probes alone"] = probes_only.fit(x[train][:, cols], y[train]).predict(x[test][:, cols])
    out["one ensemble on the gap (v3 features, with probes)"] = direct_gap(x, y, train, test)
    out["v1 model (shipped before)"] = v1_predict(extras["v1_features"][test])
    out["v2 1,005-run model (shipped before)"] = v2_predict(x[test], extras["params"][test])
    return out


def direct_gap(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The alternative to two parts: one monotone ensemble on log(gap / (1 - 1/C) + offset), risk v2's form, with
    the same features as the variant with probes (the family comparison in study/README.md)."""
    cols = columns(WITH_PROBES)
    top = 1 - 10 ** -x[:, ALL.index("log_classes")]
    model = _boosted(WITH_PROBES, "fit")  # the fit part's constraints are the gap's own directions
    model.set_params(monotonic_cst=[FEATURES_BY_NAME[n].direction for n in WITH_PROBES])
    model.fit(x[train][:, cols], to_link(np.clip(y[train] / top[train], 0, 1)))
    return top[test] * to_gap(model.predict(x[test][:, cols]))


def v2_predict(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Risk v2's point estimate (its probe variant where the probes are known, else its static one), from v3's
    feature columns (v2 read the parameter count itself, not per sample)."""
    from cnnlint.trees import ensemble

    variants = json.loads(V2_MODEL.read_text())["variants"]
    columns_v2 = {name: x[:, ALL.index(name)] for name in ALL}
    columns_v2["log_params"] = np.log10(np.maximum(params, 1))
    out = np.empty(len(x))
    probed = variants["with_probes"]
    names = tuple(probed["features"])
    rows = np.column_stack([columns_v2[n] for n in names])
    known = ~np.isnan(rows).any(axis=1)
    offset = probed["link"]["offset"]
    z = np.array([ensemble(probed["point"]["baseline"], probed["point"]["trees"], row) for row in rows[known]])
    out[known] = np.clip(np.exp(z) - offset, 0, 1)
    static = variants["static"]
    names = tuple(static["features"])
    rows = np.column_stack([columns_v2[n] for n in names])
    out[~known] = np.clip(np.exp(Tables(static["point"], names).predict(rows[~known])) - offset, 0, 1)
    return out


# ---- evaluation -----------------------------------------------------------------------------


def columns(names: tuple[str, ...]) -> list[int]:
    return [ALL.index(n) for n in names]


def known_rows(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Runs where every required (non-optional) feature of the variant is known."""
    required = [n for n in names if not FEATURES_BY_NAME[n].optional]
    return ~np.isnan(x[:, columns(tuple(required))]).any(axis=1)


def fit_variant(names: tuple[str, ...], x: np.ndarray, targets: dict[str, np.ndarray], groups: np.ndarray) -> TwoPart:
    """Fitted on the runs where every required feature of the variant is known (probes can be missing for tiny
    data)."""
    known = known_rows(x, names)
    return TwoPart(names).fit(x[known][:, columns(names)], {k: v[known] for k, v in targets.items()}, groups[known])


def predict_like_cnnlint(probed: TwoPart, static: TwoPart, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """With probes where they are known, else the static variant: what ``cnnlint.risk.assess`` does."""
    known = known_rows(x, WITH_PROBES)
    out = [np.empty(len(x)) for _ in range(3)]
    for rows, model in ((known, probed), (~known, static)):
        if rows.any():
            for target, part in zip(out, model.predict(x[rows][:, columns(model.names)])):
                target[rows] = part
    return tuple(out)


def metrics(pred: np.ndarray, low: np.ndarray | None, high: np.ndarray | None, y: np.ndarray) -> dict:
    from scipy.stats import kendalltau
    from sklearn.metrics import mean_absolute_error, roc_auc_score

    positive = y > GAP_THRESHOLD
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = kendalltau(pred, y).statistic
    out = {
        "n": int(len(y)),
        "kendall_tau": None if np.isnan(tau) else round(float(tau), 3),
        "auroc_gap_gt_0.10": round(float(roc_auc_score(positive, pred)), 3) if 0 < positive.sum() < len(y) else None,
        "mae": round(float(mean_absolute_error(y, pred)), 4),
    }
    if low is not None and high is not None:
        out["interval_coverage"] = round(float(np.mean((y >= low) & (y <= high))), 3)
        out["interval_width"] = round(float(np.mean(high - low)), 3)
    return out


def as_lint_predicts(probed, static, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    """What a user sees: training length unknown, so set to the study's longest (the exported ``assumed``), scored
    on the held-out runs that trained at least FULL_RUN_STEPS steps."""
    col = ALL.index("log_steps")
    long = x[test][:, col] >= math.log10(FULL_RUN_STEPS)
    assumed = x[test][long].copy()
    assumed[:, col] = assumed_value("log_steps", x[train][:, col])
    return metrics(*predict_like_cnnlint(probed, static, assumed), y[test][long])


def clean_labels_assumed(static, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    """The variant without probes with the labels' noise unknown, as at lint time: assumed correct (the study's
    smallest noise) on every held-out run, noisy ones included; each run keeps its own training length."""
    col = ALL.index("label_noise")
    assumed = x[test].copy()
    assumed[:, col] = assumed_value("label_noise", x[train][:, col])
    return metrics(*static.predict(assumed[:, columns(STATIC)]), y[test])


def evaluate_split(name: str, x, y, targets, extras, groups, train, test) -> dict:
    print(f"evaluating: {name}", file=sys.stderr, flush=True)
    result = {"split": name}
    part = {k: v[train] for k, v in targets.items()}
    static = fit_variant(STATIC, x[train], part, groups[train])
    probed = fit_variant(WITH_PROBES, x[train], part, groups[train])
    result["v3 with probes"] = metrics(*predict_like_cnnlint(probed, static, x[test]), y[test])
    result["v3 as lint predicts (full run assumed; runs of >= 600 steps)"] = as_lint_predicts(probed, static, x, y,
                                                                                              train, test)  # fmt: skip
    result["v3 without probes"] = metrics(*static.predict(x[test][:, columns(STATIC)]), y[test])
    result["v3 without probes, correct labels assumed"] = clean_labels_assumed(static, x, y, train, test)
    for label, pred in baselines(x, y, extras, train, test).items():
        result[label] = metrics(pred, None, None, y[test])
    return result


def probe_table(x: np.ndarray, y: np.ndarray, targets: dict[str, np.ndarray], sources: np.ndarray) -> list[dict]:
    """Per source, how well each probe alone ranks the gap and the held-out accuracy (Kendall τ; a probe's error
    against the gap, its accuracy against held-out accuracy): which probe is good for which kind of data."""
    from scipy.stats import kendalltau

    rows = []
    for source in sorted(set(sources)):
        here = sources == source
        row = {"source": source, "runs": int(here.sum())}
        for probe in ("knn_error", "linear_error", "patch_error"):
            error = x[here, ALL.index(probe)]
            known = ~np.isnan(error)
            row[f"{probe}:mean_accuracy"] = round(float(1 - np.mean(error[known])), 3) if known.any() else None
            for label, target, sign in (("gap", y[here], 1), ("held_out", targets["held_out"][here], -1)):
                tau = kendalltau(sign * error[known], target[known]).statistic if known.sum() > 2 else float("nan")
                row[f"{probe}:{label}"] = None if np.isnan(tau) else round(float(tau), 3)
        rows.append(row)
    return rows


def probe_markdown(rows: list[dict]) -> str:
    probes = ("knn_error", "linear_error", "patch_error")
    lines = ["| Source | runs | mean accuracy: 1-NN | linear | patch | τ with the gap: 1-NN error | linear error | "
             "patch error | τ with held-out accuracy: 1-NN | linear | patch |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        cells = [row[f"{p}:{kind}"] for kind in ("mean_accuracy", "gap", "held_out") for p in probes]
        lines.append(f"| {row['source']} | {row['runs']} | " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    global HELD_OUT_MIN_FIT, STATIC, WITH_PROBES
    parser = argparse.ArgumentParser(description="Fit and evaluate the risk model (see the module docstring).")
    parser.add_argument("--experiment", metavar="NAME",
                        help="write only the evaluation, to study/experiments/risk-NAME.md: the shipped model and the "
                             "docs table stay as they are")  # fmt: skip
    parser.add_argument("--held-out-min-fit", type=float, default=HELD_OUT_MIN_FIT,
                        help="fit the held-out part to runs at least this far from chance to 1 on their training set")
    parser.add_argument("--without", metavar="FEATURE", action="append", default=[],
                        help="leave a feature out of both variants (with --experiment)")
    args = parser.parse_args(argv)
    if args.without and not args.experiment:
        parser.error("--without changes the model: use it with --experiment")
    STATIC = tuple(n for n in STATIC if n not in args.without)
    WITH_PROBES = tuple(n for n in WITH_PROBES if n not in args.without)
    HELD_OUT_MIN_FIT = args.held_out_min_fit
    runs = load_runs()
    if len(runs) < 100:
        print(f"only {len(runs)} runs in the corpus; run study/generate.py first", file=sys.stderr)
        return 2
    probes, patches = probe_all(runs), probe_patches(runs)
    x, extras = featurize(runs, probes, patches)
    targets = shares(runs)
    y = np.array([r["gap"] for r in runs])
    sources = np.array([r["spec"]["dataset"] for r in runs])
    families = np.array([r["spec"]["family"] for r in runs])
    splits = [evaluate_split(f"held-out source: {s}", x, y, targets, extras, sources, sources != s, sources == s)
              for s in sorted(set(sources))]  # fmt: skip
    splits += [evaluate_split(f"held-out family: {f}", x, y, targets, extras, sources, families != f, families == f)
               for f in sorted(set(families))]  # fmt: skip
    version = hashlib.sha256("".join(f"{run_key(r)}:{r['gap']}" for r in runs).encode()).hexdigest()[:12]
    counts = {s: int((sources == s).sum()) for s in sorted(set(sources))}
    evaluation = {"version": version, "runs": len(runs), "runs_per_source": counts, "splits": splits,
                  "probes_per_source": probe_table(x, y, targets, sources)}  # fmt: skip
    report = markdown_table(evaluation) + "\n## Probes by source\n\n" + probe_markdown(evaluation["probes_per_source"])
    if args.experiment:
        command = " ".join(["python study/fit.py", *(argv if argv is not None else sys.argv[1:])])
        (HERE / "experiments" / f"risk-{args.experiment}.md").write_text(f"`{command}`\n\n{report}")
        print(report)
        return 0
    variants = {}
    for label, names in (("with_probes", WITH_PROBES), ("static", STATIC)):
        known = known_rows(x, names)
        variants[label] = export_variant(fit_variant(names, x, targets, sources), x[known][:, columns(names)])
    OUT_MODEL.write_text(readable_json({
        "version": f"v3-{version}-n{len(runs)}",
        "target": "training accuracy in inference mode - held-out accuracy",
        "family": "two parts, each monotone gradient-boosted trees (scikit-learn HistGradientBoostingRegressor): the "
                  "training-set fit and the held-out accuracy, as shares above chance; gap = (fit - held out) x "
                  "(1 - 1/C); split-conformal 10-90 % band on log(gap + 0.02) from held-out data sources",
        "interval_coverage_target": COVERAGE,
        "corpus_runs": len(runs),
        "variants": variants,
    }))  # fmt: skip
    (HERE / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    (HERE / "evaluation.md").write_text(report)
    update_docs(markdown_table(evaluation))
    print(markdown_table(evaluation))
    return 0


def readable_json(model: dict) -> str:
    """Indented, except that each exported tree takes one line (they are data for a program, not for reading)."""
    trees: list[str] = []

    def placeholders(node):
        if isinstance(node, dict):
            if "left" in node and "value" in node:
                trees.append(json.dumps(node, separators=(",", ":")))
                return f"@tree{len(trees) - 1}@"
            return {k: placeholders(v) for k, v in node.items()}
        if isinstance(node, list):
            return [placeholders(v) for v in node]
        return node

    text = json.dumps(placeholders(model), indent=1)
    for i, tree in enumerate(trees):
        text = text.replace(f'"@tree{i}@"', tree, 1)
    return text + "\n"


def update_docs(table: str) -> None:
    """Replace the table between the risk-evaluation markers of the risk model's docs page."""
    readme = HERE.parent / "docs" / "risk-model.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- risk-evaluation -->\n", "<!-- risk-evaluation-end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        readme.write_text(head + start + table + end + rest.split(end, 1)[1], encoding="utf-8")


def markdown_table(evaluation: dict) -> str:
    per_source = ", ".join(f"{k} {v}" for k, v in evaluation["runs_per_source"].items())
    lines = [f"Corpus: {evaluation['runs']} trained runs ({per_source}; version {evaluation['version']}).", "",
             "| Held out | Predictor | Kendall τ | AUROC (gap > 0.10) | MAE | 80 % interval coverage | mean width |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for split in evaluation["splits"]:
        for predictor, m in split.items():
            if predictor == "split":
                continue
            lines.append(f"| {split['split'].split(': ')[1]} (n={m['n']}) | {predictor} | {m['kendall_tau']} | "
                         f"{m['auroc_gap_gt_0.10']} | {m['mae']} | {m.get('interval_coverage', '')} | "
                         f"{m.get('interval_width', '')} |")  # fmt: skip
    return "\n".join(lines) + "\n\n" + targets_summary(evaluation) + "\n"


def targets_summary(evaluation: dict) -> str:
    """Risk v3's targets on the held-out sources, each marked met or missed, from the same numbers as the table."""
    sources = [s for s in evaluation["splits"] if s["split"].startswith("held-out source")]
    photos = [s for s in sources if name(s) in PHOTO_SOURCES]
    others = [s for s in sources if name(s) not in PHOTO_SOURCES]

    def verdict(ok: list[bool]) -> str:
        return "**met**" if all(ok) else f"**missed** on {ok.count(False)} of {len(ok)} sources"

    def listed(splits: list[dict], row: str, fmt: str = "{:.2f}") -> str:
        return ", ".join(f"{name(s)} " + fmt.format(s[row]["kendall_tau"] or 0.0) for s in splits)

    tau = {name(s): s["v3 with probes"]["kendall_tau"] or 0.0 for s in sources}
    lines = [
        f"* With probes, τ ≥ 0.55 on every held-out photo source: {verdict([tau[name(s)] >= 0.55 for s in photos])} "
        f"({listed(photos, 'v3 with probes')}).",
        f"* With probes, τ ≥ 0.5 on every other held-out source: {verdict([tau[name(s)] >= 0.5 for s in others])} "
        f"({listed(others, 'v3 with probes')}).",
    ]
    static_rows = {"v3 without probes": "each run's label noise known",
                   "v3 without probes, correct labels assumed": "correct labels assumed, as lint runs it"}
    for row, reading in static_rows.items():
        pairs = [(s[row]["kendall_tau"] or 0.0, s["n alone"]["kendall_tau"] or 0.0) for s in photos]
        lines.append(f"* Without probes ({reading}), above n alone on every photo source: "
                     f"{verdict([ours > n for ours, n in pairs])} ("
                     + ", ".join(f"{name(s)} {ours:.2f} vs {n:.2f}" for s, (ours, n) in zip(photos, pairs))
                     + ").")  # fmt: skip
    for variant in ("v3 with probes", *static_rows):
        values = [s[variant]["interval_coverage"] for s in sources]
        lines.append(f"* 80 % interval coverage 70-90 % on held-out sources, {variant.removeprefix('v3 ')}: "
                     f"{verdict([0.7 <= c <= 0.9 for c in values])} ("
                     + ", ".join(f"{name(s)} {c:.0%}" for s, c in zip(sources, values)) + ").")  # fmt: skip
    photo_cover = [s["v3 without probes, correct labels assumed"]["interval_coverage"] for s in photos]
    lines.append(f"* Without data, the interval holds at least 70 % of held-out photo-source gaps: "
                 f"{verdict([c >= 0.7 for c in photo_cover])} ("
                 + ", ".join(f"{name(s)} {c:.0%}" for s, c in zip(photos, photo_cover)) + ").")  # fmt: skip
    return "\n".join(lines) + "\n"


def name(split: dict) -> str:
    return split["split"].split(": ")[1]


if __name__ == "__main__":
    sys.exit(main())
