"""Experiment (not shipped): does the static risk estimate help forecast the final gap?

For every run made on confirm's protocol, the forecaster's held-out forecast from 10 % and 20 % of the epochs
(``study/fit_forecast.py``, each data source held out in turn) is compared with the held-out risk estimate
(``study/fit.py``, with probes, for the run's own length) and with their plain sum.  Writes nothing; prints the
Kendall tau of each with the final measured gap.

    python study/experiments/forecast_with_prior.py     # about 5 minutes on 2 cores
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

STUDY = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(STUDY), str(STUDY.parent)]

import fit  # noqa: E402
import fit_forecast  # noqa: E402
from scipy.stats import kendalltau  # noqa: E402


def held_out_risk() -> dict[tuple[int, float], float]:
    """Each run's risk estimate from models fitted without its data source, keyed by (id, measured gap)."""
    runs = fit.load_runs()
    x, _ = fit.featurize(runs, fit.probe_all(runs))
    y = np.array([r["gap"] for r in runs])
    sources = np.array([r["spec"]["dataset"] for r in runs])
    estimates = {}
    for source in sorted(set(sources)):
        train, test = sources != source, sources == source
        probed = fit.fit_variant(fit.WITH_PROBES, x[train], y[train], sources[train])
        static = fit.fit_variant(fit.STATIC, x[train], y[train], sources[train])
        predicted = fit.predict_like_cnnlint(probed, static, x[test])[0]
        for run, value in zip((r for r, held in zip(runs, test) if held), predicted):
            estimates[(run["id"], run["gap"])] = float(value)
    return estimates


def held_out_forecasts(fractions: tuple[float, ...]) -> dict[float, list[tuple[float, float, tuple[int, float]]]]:
    """(forecast, gap now, key) for every confirm-protocol run, from forecasters fitted without its source."""
    runs, _, _ = fit_forecast.load_runs(fit_forecast.extra_folders(None))
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


def main() -> None:
    risk = held_out_risk()
    for fraction, rows in held_out_forecasts((0.1, 0.2)).items():
        kept = [(f, n, risk[key], key[1]) for f, n, key in rows if key in risk]
        forecast, now, estimate, final = np.array(kept).T
        taus = {name: kendalltau(values, final).statistic for name, values in
                (("forecast", forecast), ("risk estimate", estimate), ("gap now", now),
                 ("forecast + risk estimate", forecast + estimate))}  # fmt: skip
        print(f"{fraction:.0%} of the epochs, {len(kept)} runs: "
              + ", ".join(f"{name} tau {tau:.3f}" for name, tau in taus.items()))  # fmt: skip


if __name__ == "__main__":
    main()
