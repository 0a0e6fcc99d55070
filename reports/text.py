"""``--format text``: one line per finding (``path::layer CODE message``), then a risk line per model."""

from __future__ import annotations

import os
import sys

from cnnlint.reports.base import RenderOptions, part_of, sorted_findings
from cnnlint.reports.data_probes import PROBE_GUIDE, probes_line
from cnnlint.rules.thresholds import how_to_give_samples

from cnnlint.discovery import NO_MATCH, NO_MODELS, NOT_FOUND
from cnnlint.errors import printable
from cnnlint.levels import SEVERITIES
from cnnlint.pipeline import DATA_MISMATCH, DATA_UNREADABLE, ModelReport
from cnnlint.risk import Risk

_COLORS = {"error": "31", "warning": "33", "info": "36", "high": "31;1", "medium": "33;1", "low": "32;1"}


def use_color(no_color: bool, output: str | None) -> bool:
    """Color only a terminal, and never when the user or ``NO_COLOR`` says no."""
    return not no_color and output is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _paint(text: str, key: str, options: RenderOptions) -> str:
    return f"\x1b[{_COLORS[key]}m{text}\x1b[0m" if options.color and key in _COLORS else text


def risk_line(report: ModelReport, options: RenderOptions) -> str:
    from cnnlint.risk import load_model

    risk: Risk | None = report.risk
    ds = report.dataset
    if risk is None:
        if load_model() is None:
            return f"{report.path}: risk: not available (this build has no fitted risk model)"
        smallest = report.smallest_low_risk_samples
        hint = f"; it would rate low risk from about {smallest:,} samples" if smallest else ""
        return f"{report.path}: risk: unknown without a training-set size ({how_to_give_samples()}){hint}"
    low, high = risk.interval
    level = _paint(risk.level.upper(), risk.level, options)
    run = f", a {ds.epochs}-epoch run" if ds.epochs else ""
    facts_used = f"n={ds.samples:,}, {ds.classes or '?'} classes{', augmented' if ds.augmented else ''}{run}"
    factors = ", ".join(f.describe() for f in risk.factors)
    line = (
        f"{report.path}: risk {level}: predicted train-val accuracy gap {risk.gap:.2f} "
        f"(approximate {risk.coverage:.0%} interval {low:.2f} to {high:.2f}; {risk.measure}; {facts_used})"
    )
    if risk.train_accuracy is not None and risk.held_out_accuracy is not None:
        line += f"; expected training accuracy {risk.train_accuracy:.2f}, held-out {risk.held_out_accuracy:.2f}"
    if factors:
        line += f"; raised most by {factors}"
    if risk.floored:
        line += f" [{risk.level} only because the model is beyond the study; the estimate alone would be low]"
    elif risk.extrapolated:
        line += " [extrapolated: outside the study's range]"
    return line


def model_part(report: ModelReport, options: RenderOptions) -> str:
    """The model's lines (none for a file that could not be read: stderr has said why)."""
    if report.error:
        return ""
    lines: list[str] = []
    for finding in sorted_findings(report.findings):
        sev = _paint(finding.severity, finding.severity, options)
        where = printable(f"{report.path}::{finding.layer}")
        lines.append(f"{where} {finding.code} {sev} {printable(finding.message)}")
        if not options.quiet:
            lines.append(f"    fix: {printable(finding.fix)}")
    if report.needs_samples and options.verbose:
        lines.append(f"{report.path}: {', '.join(report.needs_samples)} need --samples and were not run")
    if report.graph is not None and not report.graph.params_exact:
        lines.append(
            f"{report.path}: parameter counts are a lower bound: "
            + ", ".join(layer.path for layer in report.graph.uncounted_layers[:5])
            + " could not be counted"
        )
    if report.probes is not None:
        lines.append(f"{report.path}: data: {probes_line(report.probes)}")
    lines += [f"{report.path}: note: {note}" for note in report.notes]
    lines.append(risk_line(report, options))
    if report.risk is not None and not options.quiet:
        lines += [f"    note: {printable(note)}" for note in report.risk.notes]
    return "\n".join(lines)


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    lines = [part for report in reports if (part := part_of(report, "text", model_part, options))]
    if any(report.probes is not None and not report.error for report in reports) and not options.quiet:
        lines.append(f"probes: {PROBE_GUIDE}")
    lines.append(summary_line(reports))
    return "\n".join(lines) + "\n"


def summary_line(reports: list[ModelReport]) -> str:
    findings = [f for r in reports for f in r.findings]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in reversed(SEVERITIES)}
    failed = [r for r in reports if r.error]
    models = len(reports) - len(failed)
    parts = [f"{len(findings)} finding{'s' * (len(findings) != 1)}"]
    detail = ", ".join(f"{n} {s}{'s' * (n != 1)}" for s, n in counts.items() if n)
    if detail:
        parts[0] += f" ({detail})"
    parts.append(f"in {models} model{'s' * (models != 1)}")
    text = " ".join(parts)
    for kind, (singular, plural) in PROBLEM_WORDS.items():
        count = sum(1 for r in failed if r.error_kind == kind)
        if count:
            text += f"; {count} {singular if count == 1 else plural}"
    return text + "."


#: how the summary line counts each kind of failed path (``ModelReport.error_kind``)
PROBLEM_WORDS = {
    NOT_FOUND: ("path not found", "paths not found"),
    NO_MATCH: ("pattern matching no file", "patterns matching no file"),
    NO_MODELS: ("folder without model files", "folders without model files"),
    "unreadable": ("file unreadable", "files unreadable"),  # ModelReport.error_kind's default
    DATA_UNREADABLE: ("model whose data could not be read", "models whose data could not be read"),
    DATA_MISMATCH: ("model whose data does not fit it", "models whose data does not fit them"),
}
