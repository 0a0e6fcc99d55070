"""Risk model v3, evaluated held out: nothing is fitted on the split it is scored on.

Leave-one-source-out and leave-one-family-out, with and without probes, against baselines fitted on the same
training split: n alone and params / n alone (isotonic regressions), probes alone (a monotone ensemble on the probe
errors), one ensemble on the gap (risk v2's form with v3's features), the v1 ridge model
(``study/baselines/risk_model_v1.json``) and the v2 model shipped before v3
(``study/baselines/risk_model_v2_1005.json``; both have seen part of the non-photo test runs: an advantage).
"""

from __future__ import annotations

import json
import math
import sys
import warnings

import numpy as np

from cnnlint.risk import FEATURES_BY_NAME

from .fit_risk import (
    HGB,
    SHIPPED,
    Setup,
    Tables,
    TwoPart,
    _boosted,
    assumed_value,
    columns,
    fit_variant,
    known_rows,
    to_gap,
    to_link,
)
from .paths import BASELINES
from .risk_corpus import ALL, Corpus

V1_MODEL = BASELINES / "risk_model_v1.json"
#: the v2 model shipped before risk v3 (fitted on the 1,005 runs of commit 7c65522, none of them photos)
V2_MODEL = BASELINES / "risk_model_v2_1005.json"
GAP_THRESHOLD = 0.10
#: runs at least this long count as full runs in the "as lint predicts" row of the evaluation
FULL_RUN_STEPS = 600
PROBE_ONLY = ("log_classes", "knn_error", "linear_error", "patch_error")
PHOTO_SOURCES = ("cifar10", "imagenette")


def v1_predict(rows: np.ndarray) -> np.ndarray:
    model = json.loads(V1_MODEL.read_text())
    z = (rows - np.array(model["mean"])) / np.array(model["scale"])
    return np.clip(model["intercept"] + z @ np.array(model["coef"]), 0, 1)


def baselines(x: np.ndarray, y: np.ndarray, extras: dict, setup: Setup, train: np.ndarray, test: np.ndarray) -> dict:
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
    out["one ensemble on the gap (v3 features, with probes)"] = direct_gap(x, y, setup.with_probes, train, test)
    out["v1 model (shipped before)"] = v1_predict(extras["v1_features"][test])
    out["v2 1,005-run model (shipped before)"] = v2_predict(x[test], extras["params"][test])
    return out


def direct_gap(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], train: np.ndarray, test: np.ndarray
               ) -> np.ndarray:  # fmt: skip
    """The alternative to two parts: one monotone ensemble on log(gap / (1 - 1/C) + offset), risk v2's form, with
    the same features as the variant with probes (the family comparison in study/README.md)."""
    cols = columns(names)
    top = 1 - 10 ** -x[:, ALL.index("log_classes")]
    model = _boosted(names, "fit")  # the fit part's constraints are the gap's own directions
    model.set_params(monotonic_cst=[FEATURES_BY_NAME[n].direction for n in names])
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


def predict_like_cnnlint(probed: TwoPart, static: TwoPart, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """With probes where they are known, else the static variant: what ``cnnlint.risk.assess`` does."""
    known = known_rows(x, probed.names)
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
    return metrics(*static.predict(assumed[:, columns(static.names)]), y[test])


def evaluate_split(name: str, corpus: Corpus, setup: Setup, train: np.ndarray, test: np.ndarray) -> dict:
    print(f"evaluating: {name}", file=sys.stderr, flush=True)
    x, y, extras, groups = corpus.x, corpus.y, corpus.extras, corpus.sources
    result = {"split": name}
    part = {k: v[train] for k, v in corpus.targets.items()}
    static = fit_variant(setup.static, x[train], part, groups[train], setup.held_out_min_fit)
    probed = fit_variant(setup.with_probes, x[train], part, groups[train], setup.held_out_min_fit)
    result["v3 with probes"] = metrics(*predict_like_cnnlint(probed, static, x[test]), y[test])
    result["v3 as lint predicts (full run assumed; runs of >= 600 steps)"] = as_lint_predicts(probed, static, x, y,
                                                                                              train, test)  # fmt: skip
    result["v3 without probes"] = metrics(*static.predict(x[test][:, columns(setup.static)]), y[test])
    result["v3 without probes, correct labels assumed"] = clean_labels_assumed(static, x, y, train, test)
    for label, pred in baselines(x, y, extras, setup, train, test).items():
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


def evaluate(corpus: Corpus, setup: Setup = SHIPPED) -> dict:
    x, y, targets, sources, families = corpus.x, corpus.y, corpus.targets, corpus.sources, corpus.families
    splits = [evaluate_split(f"held-out source: {s}", corpus, setup, sources != s, sources == s)
              for s in sorted(set(sources))]  # fmt: skip
    splits += [evaluate_split(f"held-out family: {f}", corpus, setup, families != f, families == f)
               for f in sorted(set(families))]  # fmt: skip
    counts = {s: int((sources == s).sum()) for s in sorted(set(sources))}
    return {"version": corpus.version, "runs": len(corpus.runs), "runs_per_source": counts, "splits": splits,
            "probes_per_source": probe_table(x, y, targets, sources)}  # fmt: skip


def report(evaluation: dict) -> str:
    """``evaluation.md``: the table, the targets, and the probes by source."""
    return markdown_table(evaluation) + "\n## Probes by source\n\n" + probe_markdown(evaluation["probes_per_source"])
