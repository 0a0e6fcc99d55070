"""Fit the risk model to the measured corpus and evaluate it honestly on held-out splits.

    python study/fit.py            # writes cnnlint/data/risk_model.json and study/evaluation.{json,md}

Features come from the same reader, graph and analysis code the linter runs
(each corpus record stores its model's config JSON), so the fitted model sees
exactly what ``cnnlint`` sees.  The model is a ridge regression of the
measured accuracy gap on standardized features; its ridge strength is chosen
by cross-validation *inside* each training split.  Intervals are the 10th and
90th percentiles of out-of-fold residuals (nominal 80 %).

Evaluation (never fitting on the test split):
* held out by dataset: fit on digits, test on MNIST-1D, and the reverse;
* held out by architecture family: fit on two of plain / vgg / residual, test on the third.
Against baselines fitted on the same training split: parameter count alone,
params / n, training-set size alone, and the number of rule findings.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from cnnlint.rules import select_rules  # noqa: E402

from cnnlint.analysis import analyze  # noqa: E402
from cnnlint.findings import Dataset  # noqa: E402
from cnnlint.pipeline import LintSettings, lint_source, model_graph  # noqa: E402
from cnnlint.readers import raw_from_dict  # noqa: E402
from cnnlint.risk import features  # noqa: E402

OUT_MODEL = HERE.parent / "cnnlint" / "data" / "risk_model.json"
ALPHAS = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
GAP_THRESHOLD = 0.10


def load_corpus() -> tuple[list[dict], str]:
    records, digest = [], hashlib.sha256()
    for path in sorted((HERE / "corpus").glob("runs-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "skipped" in record or "gap" not in record:
                continue
            records.append(record)
    records.sort(key=lambda r: r["id"])
    for r in records:
        digest.update(f"{r['id']}:{r['gap']}".encode())
    return records, digest.hexdigest()[:12]


def featurize(records: list[dict]) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    rows, extras = [], {"params": [], "n": [], "findings": []}
    settings = LintSettings(tuple(select_rules()))
    for r in records:
        raw = raw_from_dict(r["config"], source=f"corpus#{r['id']}")
        dataset = Dataset(samples=r["spec"]["n"], classes=10)
        facts = analyze(model_graph(raw))
        rows.append(features(facts, dataset))
        report = lint_source(raw, dataset, settings)
        extras["params"].append(facts.trainable_params)
        extras["n"].append(r["spec"]["n"])
        extras["findings"].append(sum(1 for f in report.findings if f.severity != "info"))
    names = list(rows[0])
    return names, np.array([[row[n] for n in names] for row in rows]), {k: np.array(v, float) for k, v in extras.items()}


# ---- the model ----------------------------------------------------------------------------


class Ridge:
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def fit(self, x: np.ndarray, y: np.ndarray) -> Ridge:
        self.mean = x.mean(0)
        self.scale = x.std(0)
        self.scale[self.scale < 1e-9] = 1.0
        z = (x - self.mean) / self.scale
        self.intercept = y.mean()
        a = z.T @ z + self.alpha * np.eye(z.shape[1])
        self.coef = np.linalg.solve(a, z.T @ (y - self.intercept))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + ((x - self.mean) / self.scale) @ self.coef


def folds(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    order = np.random.RandomState(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def out_of_fold(x: np.ndarray, y: np.ndarray, alpha: float, k: int = 5) -> np.ndarray:
    pred = np.empty_like(y)
    for test in folds(len(y), k):
        train = np.setdiff1d(np.arange(len(y)), test)
        pred[test] = Ridge(alpha).fit(x[train], y[train]).predict(x[test])
    return pred


def choose_alpha(x: np.ndarray, y: np.ndarray) -> float:
    return min(ALPHAS, key=lambda a: float(np.mean(np.abs(out_of_fold(x, y, a) - y))))


def fit_with_interval(x: np.ndarray, y: np.ndarray) -> tuple[Ridge, float, float]:
    alpha = choose_alpha(x, y)
    residuals = y - out_of_fold(x, y, alpha)
    low, high = np.percentile(residuals, [10, 90])
    return Ridge(alpha).fit(x, y), float(low), float(high)


# ---- metrics ------------------------------------------------------------------------------


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    concordant = (da * db).sum() / 2
    ties_a = (da != 0).sum() / 2
    ties_b = (db != 0).sum() / 2
    return float(concordant / math.sqrt(ties_a * ties_b)) if ties_a and ties_b else float("nan")


def ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    for value in np.unique(v):  # average ranks of ties
        mask = v == value
        r[mask] = r[mask].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    pos, neg = label.sum(), (~label).sum()
    if not pos or not neg:
        return float("nan")
    r = ranks(score)
    return float((r[label].sum() - pos * (pos - 1) / 2) / (pos * neg))


def metrics(pred: np.ndarray, y: np.ndarray, low: float | None = None, high: float | None = None) -> dict:
    out = {
        "n": int(len(y)),
        "kendall_tau": round(kendall_tau(pred, y), 3),
        "spearman_rho": round(spearman(pred, y), 3),
        "auroc_gap_gt_0.10": round(auroc(pred, y > GAP_THRESHOLD), 3),
        "mae": round(float(np.mean(np.abs(pred - y))), 4),
    }
    if low is not None and high is not None:
        out["interval_coverage"] = round(float(np.mean((y >= pred + low) & (y <= pred + high))), 3)
    return out


def baseline_predictions(extras: dict[str, np.ndarray], train: np.ndarray, test: np.ndarray, y: np.ndarray) -> dict:
    """Each naive predictor as a one-feature linear fit on the training split."""
    signals = {
        "parameter count": np.log10(extras["params"]),
        "params / n": np.log10(extras["params"] / extras["n"]),
        "training-set size": np.log10(extras["n"]),
        "number of rule findings": extras["findings"],
    }
    out = {}
    for name, s in signals.items():
        model = Ridge(1e-6).fit(s[train, None], y[train])
        out[name] = model.predict(s[test, None])
    return out


def evaluate_split(name: str, x, y, extras, train, test) -> dict:
    model, low, high = fit_with_interval(x[train], y[train])
    pred = model.predict(x[test])
    result = {"split": name, "risk model": metrics(pred, y[test], low, high)}
    for base, bpred in baseline_predictions(extras, train, test, y).items():
        result[base] = metrics(bpred, y[test])
    return result


def cross_validated(x, y, extras, k: int = 5) -> dict:
    """Random 5-fold cross-validation (both datasets, all families): the in-distribution reference point."""
    pred = np.empty_like(y)
    base = {name: np.empty_like(y) for name in ("parameter count", "params / n", "training-set size",
                                                "number of rule findings")}  # fmt: skip
    covered = np.zeros(len(y), bool)
    for test in folds(len(y), k, seed=1):
        train = np.setdiff1d(np.arange(len(y)), test)
        model, low, high = fit_with_interval(x[train], y[train])
        pred[test] = model.predict(x[test])
        covered[test] = (y[test] >= pred[test] + low) & (y[test] <= pred[test] + high)
        for name, bpred in baseline_predictions(extras, train, test, y).items():
            base[name][test] = bpred
    result = {"split": "random 5-fold cross-validation", "risk model": metrics(pred, y)}
    result["risk model"]["interval_coverage"] = round(float(covered.mean()), 3)
    for name, bpred in base.items():
        result[name] = metrics(bpred, y)
    return result


def main() -> int:
    records, version = load_corpus()
    if len(records) < 50:
        print(f"only {len(records)} models in the corpus; run study/generate.py first", file=sys.stderr)
        return 2
    names, x, extras = featurize(records)
    y = np.array([r["gap"] for r in records])
    datasets = np.array([r["spec"]["dataset"] for r in records])
    families = np.array([r["spec"]["family"] for r in records])
    splits = []
    for held in ("digits", "mnist1d"):
        splits.append(evaluate_split(f"held-out dataset: {held}", x, y, extras,
                                     np.where(datasets != held)[0], np.where(datasets == held)[0]))  # fmt: skip
    for held in ("plain", "vgg", "residual"):
        splits.append(evaluate_split(f"held-out family: {held}", x, y, extras,
                                     np.where(families != held)[0], np.where(families == held)[0]))  # fmt: skip
    splits.append(cross_validated(x, y, extras))

    model, low, high = fit_with_interval(x, y)
    OUT_MODEL.parent.mkdir(exist_ok=True)
    OUT_MODEL.write_text(json.dumps({
        "version": f"corpus-{version}-n{len(records)}",
        "target": "train accuracy - held-out accuracy",
        "features": names,
        "mean": model.mean.round(6).tolist(),
        "scale": model.scale.round(6).tolist(),
        "coef": model.coef.round(6).tolist(),
        "intercept": round(float(model.intercept), 6),
        "alpha": model.alpha,
        "residual_quantiles": [round(low, 4), round(high, 4)],
        "interval_coverage_target": 0.8,
        "feature_min": x.min(0).round(6).tolist(),
        "feature_max": x.max(0).round(6).tolist(),
        "corpus_models": len(records),
    }, indent=2) + "\n")  # fmt: skip
    evaluation = {"version": version, "models": len(records), "splits": splits,
                  "coefficients": dict(zip(names, model.coef.round(4).tolist()))}  # fmt: skip
    (HERE / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    (HERE / "evaluation.md").write_text(markdown_table(evaluation))
    print(markdown_table(evaluation))
    return 0


def markdown_table(evaluation: dict) -> str:
    lines = [f"Corpus: {evaluation['models']} trained models (version {evaluation['version']}).", "",
             "| Split | Predictor | Kendall τ | Spearman ρ | AUROC (gap > 0.10) | MAE | 80 % interval coverage |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for split in evaluation["splits"]:
        for predictor, m in split.items():
            if predictor == "split":
                continue
            cov = m.get("interval_coverage")
            lines.append(f"| {split['split']} (n={m['n']}) | {predictor} | {m['kendall_tau']} | {m['spearman_rho']} | "
                         f"{m['auroc_gap_gt_0.10']} | {m['mae']} | {'' if cov is None else cov} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
