"""Experiment (not shipped as such): which inputs and model settings help the gap forecast held out?

Point forecasts (median boosted trees, one per held-out data source, the shipped BOOSTING settings) from 20 % of
the epochs, on the single-pass runs of the forecaster's corpus (``study.fit_forecast``'s runs, photo folders
included).  Rows: the shipped curve features alone and with each added group; parametric curve extrapolation
(Domhan et al. 2015: pow3, exponential, Janoschek, log-power and log-linear families fitted per run by least squares
over a grid of their shape parameters, combined with weights from their one-step-ahead error); the study's own spec
facts (n, label noise, parameters, regularizers: not known to a user, an upper bound of what static knowledge
adds); and a within-source random split (not held out) as a ceiling of what these features can learn.

    python -m study experiment forecast-variants     # about 10 minutes on 2 busy cores
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.stats import kendalltau
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from . import fit_forecast as ff

CURVES = ["fraction_done", "log_remaining_ratio", "epochs_done", "gap", "train_progress", "val_progress",
          "val_below_best", "loss", "val_loss", "loss_gap", "val_loss_above_min", "acc_slope", "val_acc_slope",
          "gap_slope", "loss_slope", "val_loss_slope", "gap_curvature", "acc_curvature", "gap_linear",
          "acc_linear_headroom"]  # fmt: skip
STEPS = ["log_steps_full", "log_steps_epoch"]
SOTL = ["sotl", "sotl_recent", "sovl"]
DOMHAN = ["x_train", "x_val", "x_gap", "x_spread"]
SPEC = ["log_n", "label_noise", "log_params", "dropout", "batchnorm", "augment"]


def _grid(low: float, high: float, n: int) -> list[float]:
    return [math.exp(math.log(low) + (math.log(high) - math.log(low)) * i / (n - 1)) for i in range(n)]


#: Each family is y = c + a * g(t) with t the share of the run; its shape parameters on a grid, c and a by least
#: squares.
FAMILIES = {
    "pow3": [lambda t, a=a: t ** (-a) for a in _grid(0.05, 4, 14)],
    "exp3": [lambda t, b=b: math.exp(-b * t) for b in _grid(0.5, 100, 14)],
    "janoschek": [lambda t, k=k, d=d: math.exp(-k * t**d) for k in _grid(0.5, 50, 8) for d in (0.5, 1.0, 2.0)],
    "logpower": [lambda t, s=s, p=p: 1 / (1 + (t / s) ** (-p)) for s in _grid(0.02, 2, 8) for p in (0.5, 1, 2, 4)],
    "loglinear": [math.log],
}


def _line(g: list[float], y: list[float]) -> tuple[float, float, float]:
    n = len(y)
    mg, my = sum(g) / n, sum(y) / n
    sgg = sum((v - mg) ** 2 for v in g)
    a = 0.0 if sgg < 1e-18 else sum((u - mg) * (v - my) for u, v in zip(g, y)) / sgg
    c = my - a * mg
    return c, a, sum((v - c - a * u) ** 2 for u, v in zip(g, y))


def _fit_family(ts: list[float], y: list[float], basis: list) -> tuple[float, Callable[[float], float]]:
    best = None
    for g in basis:
        c, a, sse = _line([g(t) for t in ts], y)
        if best is None or sse < best[0]:
            best = (sse, lambda t, c=c, a=a, g=g: c + a * g(t))
    return best


def extrapolate(y: list[float], full: int) -> tuple[float, float]:
    """The weighted family extrapolation of curve ``y`` to the last epoch, and the families' spread."""
    k = len(y)
    if k < 4:
        return y[-1], 0.0
    ts = [(i + 1) / full for i in range(k)]
    ends, weights = {}, {}
    for name, basis in FAMILIES.items():
        ends[name] = min(max(_fit_family(ts, y, basis)[1](1.0), 0.0), 1.0)
        ahead = _fit_family(ts[:-1], y[:-1], basis)[1](ts[-1])  # one step ahead: fitted without the last point
        weights[name] = 1 / (abs(ahead - y[-1]) + 0.005) ** 2
    total = sum(weights.values())
    return sum(weights[n] * ends[n] for n in ends) / total, max(ends.values()) - min(ends.values())


def add_extra(run: dict, k: int, features: dict) -> dict:
    curves, spec = run["curves"], run["spec"]
    train, spread_t = extrapolate(curves["train_eval_accuracy"][:k], ff.full_epochs(run))
    val, spread_v = extrapolate(curves["val_accuracy"][:k], ff.full_epochs(run))
    return {**features, "x_train": train, "x_val": val, "x_gap": train - val, "x_spread": spread_t + spread_v,
            "log_n": math.log(spec["n"]), "label_noise": spec.get("label_noise", 0.0),
            "log_params": math.log(run.get("params", 1)), "dropout": spec.get("dropout") or 0.0,
            "batchnorm": float(bool(spec.get("batchnorm"))), "augment": float(bool(spec.get("augment")))}  # fmt: skip


def table(runs: list[dict]) -> tuple[list[dict], np.ndarray, np.ndarray, np.ndarray]:
    rows, run_of, weight = [], [], []
    for i, run in enumerate(runs):
        ks = ff.short_ks(run)
        for k in ks:
            rows.append(add_extra(run, k, ff.features_of(run, k, "eval")))
            run_of.append(i)
            weight.append(1 / len(ks))
    return rows, np.array(run_of), np.array([r["fraction_done"] for r in rows]), np.array(weight)


def score(runs, rows, run_of, weight, names, train_multi=True, random_split=False) -> tuple[float, float, float]:
    x = ff.matrix(rows, names)
    now = np.array([r["gap"] for r in rows])
    final = np.array([runs[i]["gap"] for i in run_of])
    source = np.array([runs[i]["source"] for i in run_of])
    multi = np.array([runs[i]["multi"] for i in run_of])
    k20 = np.array([ff.short_run(r, 0.2) for r in runs])
    ks = np.array([int(r["epochs_done"]) for r in rows])
    test = np.where(~multi & (ks == k20[run_of]))[0]
    groups = [(source != s, test[source[test] == s]) for s in sorted(set(source))]
    if random_split:
        folds = GroupKFold(5).split(test, groups=run_of[test])
        groups = [(~np.isin(run_of, run_of[test[te]]), test[te]) for _, te in folds]
    pred = np.full(len(rows), np.nan)
    for train, held in groups:
        train = train & (train_multi | ~multi)
        model = HistGradientBoostingRegressor(loss="absolute_error", **ff.BOOSTING)
        model.fit(x[train], (final - now)[train], sample_weight=weight[train])
        pred[held] = now[held] + model.predict(x[held])
    p, n, f = pred[test], now[test], final[test]
    ratio = np.mean(np.abs(p - f)) / np.mean(np.abs(n - f))
    return kendalltau(p, f).statistic, kendalltau(n, f).statistic, ratio


def decomposition(runs: list[dict]) -> str:
    """How much of the final gap the first 20 % already fixes: the final gap ranked by (final training accuracy,
    which no forecast knows, minus validation accuracy at 20 %), and by the gap observed at 20 %."""
    single = [r for r in runs if not r["multi"]]
    k = [ff.short_run(r, 0.2) for r in single]
    final = [r["gap"] for r in single]
    oracle = [r["train_acc"] - r["curves"]["val_accuracy"][j - 1] for r, j in zip(single, k)]
    now = [r["curves"]["train_eval_accuracy"][j - 1] - r["curves"]["val_accuracy"][j - 1] for r, j in zip(single, k)]
    return (f"{len(single)} single-pass runs at 20 %: final training accuracy known, validation accuracy as then: "
            f"tau {kendalltau(oracle, final).statistic:.3f}; gap then: tau {kendalltau(now, final).statistic:.3f}")


def run() -> str:
    """The experiment's record: the decomposition line, then one table row per set of inputs."""
    runs, _, _ = ff.load_runs()
    lines = [decomposition(runs), "", "| inputs | Kendall τ at 20 % | τ naive | MAE / naive MAE |", "| --- | --- | --- | --- |"]
    rows, run_of, _, weight = table(runs)
    shipped = CURVES + STEPS
    configs = [("curve features", CURVES, {}),
               ("curves, single-pass runs only in training", CURVES, {"train_multi": False}),
               ("curves + steps (the shipped inputs)", shipped, {}),
               ("shipped + sums of losses (Ru et al.)", shipped + SOTL, {}),
               ("shipped + parametric extrapolation (Domhan et al.)", shipped + DOMHAN, {}),
               ("shipped + the study's spec facts (not known to a user)", shipped + SPEC, {}),
               ("shipped, within-source random split (not held out)", shipped, {"random_split": True})]  # fmt: skip
    for name, names, options in configs:
        tau, tau_naive, ratio = score(runs, rows, run_of, weight, names, **options)
        lines.append(f"| {name} | {tau:.3f} | {tau_naive:.3f} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"
