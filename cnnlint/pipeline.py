"""The one-way pipeline: source -> raw model -> graph -> facts -> findings + risk -> ModelReport.

The CLI, the Python API and ``confirm`` all call ``lint_source``; there is no
second path.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint.analysis import Facts, analyze
from cnnlint.errors import CnnlintError
from cnnlint.findings import Dataset, Finding, Rule, RuleContext
from cnnlint.graph import ModelGraph, build_graph
from cnnlint.readers import RawModel, read_model
from cnnlint.readers.budget import per_file
from cnnlint.risk import Risk, assess, smallest_low_risk_samples
from cnnlint.saved_weights import count_custom_layers

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes


#: ``ModelReport.error_kind`` when the model was read but its training data was the problem (``--data``)
DATA_UNREADABLE = "data-unreadable"
DATA_MISMATCH = "data-mismatch"
DATA_KINDS = (DATA_UNREADABLE, DATA_MISMATCH)


@dataclass
class ModelReport:
    """Everything a lint found about one model path: its graph and facts, findings, risk estimate and notes, or the
    one-line error that stopped it."""

    path: str
    dataset: Dataset
    graph: ModelGraph | None = None
    facts: Facts | None = None
    findings: list[Finding] = field(default_factory=list)
    risk: Risk | None = None
    #: the smallest training set (1-2-5 grid) at which the model would rate low risk; for the reports
    smallest_low_risk_samples: int | None = None
    needs_samples: list[str] = field(default_factory=list)
    error: str | None = None
    #: what kind of problem ``error`` is: "unreadable", or a path naming no model (see ``discovery.discover``)
    error_kind: str = "unreadable"
    confirm: dict[str, Any] | None = None
    #: remarks on the inputs (every format shows them), e.g. a class count the output layer disagrees with
    notes: list[str] = field(default_factory=list)
    #: (format, this model's part of that format's output), rendered where the model was linted
    #: (``reports.with_part``); the graph and facts are then left out
    part: tuple[str, Any] | None = None

    def part_for(self, fmt: str) -> Any | None:
        """This model's part of the ``fmt`` output, if it was rendered where the model was linted."""
        return self.part[1] if self.part is not None and self.part[0] == fmt else None

    @property
    def probes(self) -> DataProbes | None:
        return self.dataset.probes

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class LintSettings:
    """The rules a lint runs, with their options and the per-layer ignores."""

    rules: tuple[Rule, ...]
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (rule code or prefix, layer path glob) pairs from the config's per-layer ignores
    layer_ignores: tuple[tuple[str, str], ...] = ()


def lint_source(source: str | Path | RawModel, dataset: Dataset, settings: LintSettings) -> ModelReport:
    """Lint one model file, folder or already-read config; errors become part of the report."""
    path = source.source if isinstance(source, RawModel) else str(source)
    if dataset.probes is not None and dataset.samples is None:
        dataset = replace(dataset, samples=dataset.probes.samples)  # the data says how many there are
    report = ModelReport(path=path, dataset=dataset)
    try:
        with per_file():  # reading it, its views and its weights share one budget (readers/budget.py)
            raw = source if isinstance(source, RawModel) else read_model(source)
            graph = model_graph(raw)
        facts = analyze(graph)
    except CnnlintError as exc:
        report.error = exc.one_line()
        return report
    if dataset.probes is not None:
        from cnnlint.probes import data_fit_problem

        if problem := data_fit_problem(dataset.probes, graph):
            report.error, report.error_kind = f"{path}: {problem}", DATA_MISMATCH
            return report
    report.graph, report.facts = graph, facts
    if dataset.classes is None and facts.classes is not None:
        report.dataset = dataset = replace(dataset, classes=facts.classes)
    elif (note := classes_note(dataset.classes, facts.classes, graph)) is not None:
        report.notes.append(note)
    ctx = RuleContext(graph, facts, dataset, raw)
    from cnnlint.rules import run_rules

    findings = run_rules(ctx, list(settings.rules), settings.rule_options)
    report.findings = [f for f in findings if not _ignored(f, settings.layer_ignores)]
    report.needs_samples = [] if dataset.samples else [r.code for r in settings.rules if r.needs_samples]
    report.risk = assess(facts, dataset, report.findings, probes=dataset.probes)
    report.smallest_low_risk_samples = smallest_low_risk_samples(facts, dataset, dataset.probes)
    return report


def classes_note(given: int | None, from_output: int | None, graph: ModelGraph) -> str | None:
    """What to say when the class count given and the model's output layer disagree (None when they agree)."""
    if given is None or from_output is None or given == from_output:
        return None
    from cnnlint.wording import in_api_call

    layer = graph.nodes[graph.outputs[0][0]].layer.path
    units = (graph.shape(graph.outputs[0]) or (from_output,))[-1]
    read_as = f" ({from_output} classes)" if units != from_output else ""
    given_as = f"classes={given}" if in_api_call() else "--classes or classes in the config"
    return (f"{given} classes given ({given_as}), but the output layer '{layer}' has {units} "
            f"unit{'s' * (units != 1)}{read_as}: the rules and the risk estimate use the {given} given; check which "
            "is right")


def model_graph(raw: RawModel) -> ModelGraph:
    """The graph of a read model, with the layers the builder cannot count taken from its weights."""
    graph = build_graph(raw)
    count_custom_layers(graph, raw)
    return graph


def _ignored(finding: Finding, ignores: tuple[tuple[str, str], ...]) -> bool:
    from fnmatch import fnmatchcase

    return any(
        finding.code.startswith(code.upper()) and any(fnmatchcase(layer, pattern) for layer in finding.layers)
        for code, pattern in ignores
    )
