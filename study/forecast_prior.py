"""Experiment (not shipped): does the static risk estimate help forecast the final gap?

For every run made on confirm's protocol, the forecaster's held-out forecast from 10 % and 20 % of the epochs
(``study.fit_forecast``, each data source held out in turn) is compared with the held-out risk estimate
(``study.fit_risk``, with probes, for the run's own length) and with their plain sum: the Kendall tau of each with
the final measured gap.

    python -m study experiment forecast-with-prior     # about 5 minutes on 2 cores
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau

from . import fit_forecast, risk_corpus
from .evaluate_risk import predict_like_cnnlint
from .fit_risk import SHIPPED, fit_variant


def held_out_risk() -> dict[tuple[int, float], float]:
    """Each run's risk estimate from models fitted without its data source, keyed by (id, measured gap)."""
    corpus = risk_corpus.load(compute_missing_probes=False)
    x, sources, estimates = corpus.x, corpus.sources, {}
    for source in sorted(set(sources)):
        train, test = sources != source, sources == source
        part = {k: v[train] for k, v in corpus.targets.items()}
        probed, static = (fit_variant(names, x[train], part, sources[train], SHIPPED.held_out_min_fit)
                          for names in (SHIPPED.with_probes, SHIPPED.static))  # fmt: skip
        predicted = predict_like_cnnlint(probed, static, x[test])[0]
        for run, value in zip((r for r, held in zip(corpus.runs, test) if held), predicted):
            estimates[(run["id"], run["gap"])] = float(value)
    return estimates


def held_out_forecasts(fractions: tuple[float, ...]) -> dict[float, list[tuple[float, float, tuple[int, float]]]]:
    """(forecast, gap now, key) for every confirm-protocol run, from forecasters fitted without its source."""
    runs, _, _ = fit_forecast.load_runs()
    out: dict[float, list] = {f: [] for f in fractions}
    for source in sorted({r["source"] for r in runs}):
        models, _, names = fit_forecast.fit([r for r in runs if r["source"] != source], "eval")
        held = [r for r in runs if r["source"] == source and not r["multi"]]
        for fraction in fractions:
            rows = [fit_forecast.features_of(r, fit_forecast.short_run(r, fraction), "eval") for r in held]
            now = np.array([fit_forecast.gap_now(row) for row in rows])
            forecast = now + models["q50"].predict(fit_forecast.matrix(rows, names))
            out[fraction] += [(f, n, (r["id"], r["gap"])) for f, n, r in zip(forecast, now, held)]
    return out


def run() -> str:
    """The experiment's record: one line per short-run length."""
    risk, lines = held_out_risk(), []
    for fraction, rows in held_out_forecasts((0.1, 0.2)).items():
        kept = [(f, n, risk[key], key[1]) for f, n, key in rows if key in risk]
        forecast, now, estimate, final = np.array(kept).T
        taus = {name: kendalltau(values, final).statistic for name, values in
                (("forecast", forecast), ("risk estimate", estimate), ("gap now", now),
                 ("forecast + risk estimate", forecast + estimate))}  # fmt: skip
        lines.append(f"* {fraction:.0%} of the epochs, {len(kept)} runs: "
                     + ", ".join(f"{name} tau {tau:.3f}" for name, tau in taus.items()))  # fmt: skip
    return "\n".join(lines) + "\n"
