"""``--format github``: GitHub Actions workflow commands (``::warning file=...,title=...::message``).

Escaping follows the runner's rules: in the message, ``%``, CR and LF; in
property values, also ``:`` and ``,``.
"""

from __future__ import annotations

from cnnlint.reports.base import RenderOptions, part_of, sorted_findings
from cnnlint.reports.data_probes import probes_line

from cnnlint.errors import printable
from cnnlint.pipeline import ModelReport

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(escaped)  # any other control character (ANSI escapes) from a model file


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, path: str, title: str, message: str) -> str:
    return f"::{level} file={escape_property(path)},title={escape_property(title)}::{escape_data(message)}"


def model_part(report: ModelReport, options: RenderOptions) -> list[str]:
    """The model's workflow commands."""
    if report.error:
        title = "cnnlint: data problem" if report.error_kind.startswith("data") else "cnnlint: unreadable model"
        return [command("error", report.path, title, report.error)]
    lines = [command(LEVELS[f.severity], report.path, f"{f.code} {f.name} ({f.layer})", f"{f.message}\nFix: {f.fix}")
             for f in sorted_findings(report.findings)]  # fmt: skip
    if report.probes is not None:
        lines.append(command("notice", report.path, "cnnlint data probes", probes_line(report.probes)))
    lines += [command("notice", report.path, "cnnlint note", note) for note in report.notes]
    if report.risk is not None:
        risk = report.risk
        level = "warning" if risk.level == "high" else "notice"
        lines.append(command(level, report.path, f"cnnlint risk: {risk.level}",
                             f"predicted train-val accuracy gap {risk.gap:.2f} "
                             f"(approximate {risk.coverage:.0%} interval {risk.interval[0]:.2f} to "
                             f"{risk.interval[1]:.2f}; {risk.measure})" + "".join(f"\nNote: {note}" for note in risk.notes)))  # fmt: skip
    return lines


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    lines = [line for report in reports for line in part_of(report, "github", model_part, options)]
    return "\n".join(lines) + ("\n" if lines else "")
