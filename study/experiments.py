"""Experiments as code: each is a named configuration that ``python -m study experiment NAME`` runs and records.

A risk experiment changes one thing of ``study.fit_risk.Setup`` (a feature left out, which runs teach the held-out
part) and runs the same held-out evaluation as the shipped model; a forecast experiment runs a module of this
package that compares inputs or families of the forecaster.  Each writes ``study/results/experiments/NAME.md``:
the command, the configuration, the corpus version, and the result.  None changes a shipped file.

Experiments of earlier sessions whose configuration the code can no longer express (feature sets of risk v2 such as
the dense head's *share* of parameters) were dropped with their records; their conclusions are kept in
study/README.md, "Decisions".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from .paths import EXPERIMENTS, REPO


@dataclass(frozen=True)
class Experiment:
    name: str
    question: str
    #: ``risk``: the held-out evaluation under ``setup``; ``forecast``: ``study.<module>.run()``
    kind: str
    held_out_min_fit: float | None = None
    without: tuple[str, ...] = ()
    module: str = ""

    @property
    def record(self) -> Path:
        return EXPERIMENTS / f"{self.name}.md"

    def configuration(self) -> str:
        if self.kind == "forecast":
            return f"`study/{self.module}.py`, `run()`"
        changes = [f"the held-out part fitted to runs at least {self.held_out_min_fit} of the way from chance to 1"
                   if self.held_out_min_fit is not None else "", ", ".join(f"`{n}` left out" for n in self.without)]
        return "the shipped setup (`study.fit_risk.SHIPPED`), changed: " + "; ".join(c for c in changes if c)


EXPERIMENTS_BY_NAME: dict[str, Experiment] = {e.name: e for e in (
    Experiment("risk-held-out-all-runs", "Should the held-out part learn from every run, not only those that fit "
               "their training set?", "risk", held_out_min_fit=-1.0),
    Experiment("risk-without-patch-probe", "What does the patch probe add, per held-out source?", "risk",
               without=("patch_error",)),
    Experiment("forecast-variants", "Which inputs and curve families help the gap forecast held out (sums of "
               "losses, Domhan et al.'s parametric families, spec facts)?", "forecast", module="forecast_variants"),
    Experiment("forecast-with-prior", "Does the static risk estimate add rank information to the forecast?",
               "forecast", module="forecast_prior"),
)}  # fmt: skip


def run(experiment: Experiment) -> Path:
    if experiment.kind == "risk":
        body, version = _risk(experiment)
    else:
        body, version = importlib.import_module(f"study.{experiment.module}").run(), _forecast_version()
    header = (f"# Experiment: {experiment.name}\n\n{experiment.question}\n\n"
              f"* Command: `python -m study experiment {experiment.name}`\n"
              f"* Configuration: {experiment.configuration()}\n* Corpus version: {version}\n\n")  # fmt: skip
    experiment.record.parent.mkdir(parents=True, exist_ok=True)
    experiment.record.write_text(header + body, encoding="utf-8")
    return experiment.record


def _risk(experiment: Experiment) -> tuple[str, str]:
    from dataclasses import replace

    from . import risk_corpus
    from .evaluate_risk import evaluate, report
    from .fit_risk import SHIPPED

    setup = SHIPPED.without(experiment.without)
    if experiment.held_out_min_fit is not None:
        setup = replace(setup, held_out_min_fit=experiment.held_out_min_fit)
    corpus = risk_corpus.load(compute_missing_probes=False)
    return report(evaluate(corpus, setup)), corpus.version


def _forecast_version() -> str:
    from .fit_forecast import load_runs

    return load_runs()[1]


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))
