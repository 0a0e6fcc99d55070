"""The study's steps, in order, each reading what the one before wrote.

    sources -> generate -> probes -> fit-risk -> fit-forecast -> evaluate -> publish

``sources`` and ``generate`` make data (hours; they need TensorFlow, and the photo repositories fetched); the
others rebuild what ships from the committed runs (minutes, scikit-learn only).  Each fitted step records a digest
of its inputs and outputs in ``study/results/stamps.json``; ``python -m study`` compares them with the tree and
says, per step, whether it is up to date or what it would redo.  ``--check`` reruns a step in memory and compares
its outputs byte for byte with the committed files, without writing: how a reviewer confirms that the shipped
``risk_model.json`` and ``forecast_model.json`` are what the committed runs give.  Code changes are not in the
digests; ``--check`` is what catches them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .paths import (
    DATA_CACHE,
    DATA_PROBES,
    FORECAST_EVALUATION,
    FORECAST_MODEL,
    NOISE_CEILING,
    PATCH_PROBES,
    PHOTO_CACHE,
    REPLICATES,
    REPO,
    RISK_EVALUATION,
    RISK_MODEL,
    STAMPS,
    TRAINING_LENGTH,
)

Outputs = dict[Path, str]


def digest(paths: list[Path]) -> str:
    """A digest of the files' names (relative to the repository) and bytes; a missing file counts as absent."""
    h = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file():
            name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            h.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def run_files(folders: tuple[Path, ...]) -> list[Path]:
    return [path for folder in folders for path in sorted(folder.glob("runs-*.jsonl"))]


def _risk_folders() -> tuple[Path, ...]:
    from .risk_corpus import CORPORA

    return tuple(folder for _, folder in CORPORA)


def _forecast_folders() -> tuple[Path, ...]:
    from .fit_forecast import FOLDERS

    return FOLDERS


# ---- the fitted steps: each returns its outputs as {path: text}, written only when not checking ----


def fit_risk_outputs() -> Outputs:
    from cnnlint.model_files import RISK_MODEL_FILE

    from . import risk_corpus
    from .fit_risk import fit_model

    text = RISK_MODEL_FILE.dumps(fit_model(risk_corpus.load(compute_missing_probes=False)))
    return {RISK_MODEL: text, **generated_tree_modules(text)}


def generated_tree_modules(text: str) -> Outputs:
    """The risk model's trees as the Python modules the lint path imports (``cnnlint.tree_code``)."""
    from cnnlint import tree_code

    variants, source = json.loads(text)["variants"], tree_code.fingerprint(text)
    return {REPO / (module.replace(".", "/") + ".py"): tree_code.module_source(name, variants[name], source)
            for name, module in tree_code.SHIPPED.items()}  # fmt: skip


def fit_forecast_outputs() -> Outputs:
    from cnnlint.model_files import FORECAST_MODEL_FILE

    from .fit_forecast import fit_and_evaluate

    model, evaluation, report = fit_and_evaluate()
    return {FORECAST_MODEL: FORECAST_MODEL_FILE.dumps(model),
            FORECAST_EVALUATION.with_suffix(".json"): json.dumps(evaluation, indent=2) + "\n",
            FORECAST_EVALUATION.with_suffix(".md"): report}  # fmt: skip


def evaluate_outputs() -> Outputs:
    from . import noise_ceiling, risk_corpus
    from .evaluate_risk import evaluate, report

    evaluation = evaluate(risk_corpus.load(compute_missing_probes=False))
    ceiling, ceiling_table, length_table = noise_ceiling.evaluate()
    return {RISK_EVALUATION.with_suffix(".json"): json.dumps(evaluation, indent=2) + "\n",
            RISK_EVALUATION.with_suffix(".md"): report(evaluation),
            NOISE_CEILING.with_suffix(".json"): json.dumps(ceiling, indent=2) + "\n",
            NOISE_CEILING.with_suffix(".md"): ceiling_table, TRAINING_LENGTH: length_table}  # fmt: skip


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    #: the files whose bytes the step's outputs are a function of (with the code)
    inputs: Callable[[], list[Path]] | None = None
    outputs: Callable[[], Outputs] | None = None
    #: for the data steps: what is left to do, in words ("" when nothing)
    pending: Callable[[], str] | None = None

    def input_digest(self) -> str:
        return digest(self.inputs()) if self.inputs else ""

    def status(self, stamps: dict) -> str:
        if self.pending:
            left = self.pending()
            return f"would do: {left}" if left else "up to date"
        stamp = stamps.get(self.name)
        if stamp is None:
            return "would redo: never run in this tree (no stamp)"
        if stamp["inputs"] != self.input_digest():
            return "would redo: its inputs changed since it ran"
        changed = [str(Path(p)) for p, d in stamp["outputs"].items() if digest([REPO / p]) != d]
        if changed:
            return "would redo: outputs changed since it wrote them: " + ", ".join(changed)
        return "up to date"

    def run(self, check: bool = False) -> list[str]:
        """Run the step; with ``check`` write nothing and return the outputs that differ from the tree."""
        assert self.outputs is not None
        outputs = self.outputs()
        differ = [str(p.relative_to(REPO)) for p, text in outputs.items()
                  if not p.is_file() or p.read_text(encoding="utf-8") != text]  # fmt: skip
        if check:
            return differ
        for path, text in outputs.items():
            write_whole(path, text)
        record_stamp(self, list(outputs))
        return differ


def write_whole(path: Path, text: str) -> None:
    """``text`` as ``path``, never half written: a ``.partial`` file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def load_stamps() -> dict:
    return json.loads(STAMPS.read_text()) if STAMPS.is_file() else {}


def restamp_outputs(step: str, outputs: list[Path]) -> None:
    """Record new digests of some of a step's outputs, written again from the same inputs (its stamp's input
    digest stays): ``tools/risk_trees.py`` after a change of the tree-code generator."""
    stamps = load_stamps()
    recorded = stamps.setdefault(step, {"inputs": "", "outputs": {}})["outputs"]
    recorded.update({str(p.relative_to(REPO)): digest([p]) for p in outputs})
    stamps[step]["outputs"] = dict(sorted(recorded.items()))
    STAMPS.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")


def record_stamp(step: Step, outputs: list[Path]) -> None:
    stamps = load_stamps()
    stamps[step.name] = {"inputs": step.input_digest(),
                         "outputs": {str(p.relative_to(REPO)): digest([p]) for p in sorted(outputs)}}  # fmt: skip
    STAMPS.parent.mkdir(parents=True, exist_ok=True)
    STAMPS.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")


def _sources_pending() -> str:
    from .photos import REPOSITORIES, cache_file

    missing = [f"{name} {size} px" for name, spec in REPOSITORIES.items() for size in spec[4]
               if not cache_file(name, size).exists()]  # fmt: skip
    missing += [f"{name} pool" for name in ("mnist1d", "textures") if not (DATA_CACHE / f"{name}.npz").exists()]
    return f"decode {', '.join(missing)} (into {PHOTO_CACHE} and {DATA_CACHE})" if missing else ""


def _generate_pending() -> str:
    from .campaigns import CAMPAIGNS

    left = {c.name: len(c.pending()) for c in CAMPAIGNS.values() if not c.closed}
    left = {name: n for name, n in left.items() if n}
    return ", ".join(f"{name} {n} ids" for name, n in left.items()) + " not yet recorded" if left else ""


def _probes_pending() -> str:
    from .risk_corpus import load_runs, missing_probes

    count = missing_probes(load_runs())
    return f"probe {count} training subsets" if count else ""


STEPS: tuple[Step, ...] = (
    Step("sources", "decode the photo repositories and the package-made pools into caches outside the checkout",
         pending=_sources_pending),
    Step("generate", "train the campaigns' runs (python -m study generate CAMPAIGN; see study.campaigns)",
         pending=_generate_pending),
    Step("probes", "probe each run's training subset (1-NN, linear, patch) into study/probe-cache/",
         pending=_probes_pending),
    Step("fit-risk", "fit risk model v3 -> cnnlint/data/risk_model.json and its trees as code, "
         "cnnlint/risk_trees_*.py",
         inputs=lambda: run_files(_risk_folders()) + [DATA_PROBES, PATCH_PROBES], outputs=fit_risk_outputs),
    Step("fit-forecast", "fit the gap forecaster and its held-out regimes -> cnnlint/data/forecast_model.json, "
         "study/results/forecast_evaluation.*", inputs=lambda: run_files(_forecast_folders()),
         outputs=fit_forecast_outputs),
    Step("evaluate", "held-out evaluation of the risk model, noise ceiling, training length -> study/results/",
         inputs=lambda: run_files((*_risk_folders(), REPLICATES)) + [DATA_PROBES, PATCH_PROBES],
         outputs=evaluate_outputs),
    Step("publish", "copy the results' tables into docs/risk-model.md, docs/confirm.md and study/README.md",
         pending=lambda: _publish_pending()),
)  # fmt: skip
STEPS_BY_NAME = {step.name: step for step in STEPS}
#: ``python -m study rebuild``: what ships, from the committed runs
REBUILD = ("probes", "fit-risk", "fit-forecast", "evaluate", "publish")


def _publish_pending() -> str:
    from .publish import stale_pages

    stale = stale_pages()
    return "rewrite " + ", ".join(stale) if stale else ""

