"""What every output format receives, and the plain-data view they share."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from cnnlint.reports.data_probes import probes_dict

from cnnlint import __version__
from cnnlint.errors import printable
from cnnlint.levels import RISK_LEVELS, risk_rank, severity_rank

if TYPE_CHECKING:  # the format registry (reports/__init__) stays light enough for the CLI's option types
    from cnnlint.findings import Finding
    from cnnlint.pipeline import ModelReport
    from cnnlint.risk import Risk

JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RenderOptions:
    """How a format renders: in color, with the full detail (``-v``), or with findings and risk lines only (``-q``)."""

    color: bool = False
    verbose: bool = False
    quiet: bool = False


def clean_data(value: Any) -> Any:
    """``value`` with every string (keys too) passed through ``printable``; other values unchanged (a container in
    which every string is printable already is returned as it is, not copied)."""
    if isinstance(value, (dict, list, tuple)) and _all_printable(value):
        return value
    return _cleaned(value)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cleaned(v) for v in value)
    return value


def _all_printable(value: Any) -> bool:
    """Whether ``printable`` leaves every string in ``value`` as it is, told from one pass of the C JSON encoder
    (issue 26: a graph summary holds hundreds of strings): with ``ensure_ascii`` it writes every character
    ``printable`` may change with a backslash (control and non-ASCII characters) except DEL, so text with neither
    holds only plain printable ASCII.  A quote or backslash in a string, or a value JSON cannot hold, says no."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return "\\" not in text and "\x7f" not in text


def finite(value: Any) -> Any:
    """``value`` with every NaN and infinity (a config may hold them: JSON written by Python allows them) as
    ``None``: RFC 8259 JSON has no such numbers, and strict consumers (GitHub's SARIF upload, ``jq``) reject a
    document that holds one."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def json_text(value: Any, **options: Any) -> str:
    """The one JSON writer of the reports: strict JSON (non-finite numbers as null, ``allow_nan=False``)."""
    if set(options) <= {"indent", "sort_keys"} and isinstance(options.get("indent"), int) and not options.get("sort_keys"):
        try:
            return _indented(value, options["indent"])
        except (_Unusual, RecursionError):  # anything beyond plain report data: the standard writer decides
            pass
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:  # a NaN or infinity somewhere: the copy without them (rare, so not made every time)
        return json.dumps(finite(value), allow_nan=False, **options)


def part_of(report: ModelReport, fmt: str, make: Any, options: RenderOptions) -> Any:
    """The report's part of the ``fmt`` output: rendered by the worker that linted it (``reports.with_part``), or
    by ``make(report, options)`` here."""
    part = report.part_for(fmt)
    return make(report, options) if part is None else part


def slot(name: str) -> str:
    """A placeholder for ``json_with_lists``: a string no report value can be (it starts with NUL)."""
    return "\0" + name


def json_with_lists(value: Any, lists: dict[str, list[str]]) -> str:
    """``json_text(value, indent=2)`` with each ``slot(name)`` standing for a list whose items are given already
    written (each ``json_text(item, indent=2)``): byte for byte the document with those lists in place, as an item
    written alone differs from the same item inside the document only by the indentation after each newline
    (a JSON string holds no raw newline)."""
    text = json_text(value, indent=2)
    spots = []  # every slot is found in the document without the items, so no item's text is searched
    for name, items in lists.items():
        marker = json.encoder.encode_basestring_ascii(slot(name))
        at = text.index(marker)
        line = text[text.rindex("\n", 0, at) + 1 : at]
        indent = line[: len(line) - len(line.lstrip(" "))]
        inner = "\n" + indent + "  "
        written = ("[" + inner + ("," + inner).join(item.replace("\n", inner) for item in items) + "\n" + indent + "]"
                   if items else "[]")  # fmt: skip
        spots.append((at, at + len(marker), written))
    pieces, done = [], 0
    for start, end, written in sorted(spots):
        pieces += [text[done:start], written]
        done = end
    return "".join([*pieces, text[done:]])


class _Unusual(Exception):
    """A value ``_indented`` leaves to ``json.dumps``: a non-finite number, a cycle's depth, another type."""


_SCALARS = {True: "true", False: "false", None: "null"}


def _indented(value: Any, indent: int) -> str:
    """``json.dumps(value, indent=indent)`` for plain data (str, int, float, bool, None, lists, tuples and dicts with
    string keys), byte for byte: the standard library writes indented JSON in pure Python, one generator step per
    token, and a report of 2,000 models takes it seconds (issue 26). ``_Unusual`` for anything else."""
    out: list[str] = []
    _write(value, out, "\n", " " * indent, 0)
    return "".join(out)


def _write(value: Any, out: list[str], newline: str, step: str, depth: int) -> None:
    if isinstance(value, str):
        out.append(json.encoder.encode_basestring_ascii(value))
    elif value is None or value is True or value is False:
        out.append(_SCALARS[value])
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Unusual
        out.append(float.__repr__(value))
    elif isinstance(value, (list, tuple)):
        _write_list(value, out, newline, step, depth)
    elif isinstance(value, dict):
        _write_dict(value, out, newline, step, depth)
    else:
        raise _Unusual


def _write_list(value: list | tuple, out: list[str], newline: str, step: str, depth: int) -> None:
    if not value:
        out.append("[]")
        return
    if depth > 200:
        raise _Unusual
    inner = newline + step
    out.append("[" + inner)
    for i, item in enumerate(value):
        if i:
            out.append("," + inner)
        _write(item, out, inner, step, depth + 1)
    out.append(newline + "]")


def _write_dict(value: dict, out: list[str], newline: str, step: str, depth: int) -> None:
    if not value:
        out.append("{}")
        return
    if depth > 200:
        raise _Unusual
    inner = newline + step
    out.append("{" + inner)
    for i, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise _Unusual
        out.append(("," + inner if i else "") + json.encoder.encode_basestring_ascii(key) + ": ")
        _write(item, out, inner, step, depth + 1)
    out.append(newline + "}")


def safe_report(report: ModelReport) -> ModelReport:
    """The report with every string that came from a file or a path neutralised: the boundary all formats share.

    Paths (from the command line or a folder walk), error lines, findings (messages quote layer names, modules
    and targets from the file) and confirm results.  Layer names in the graph are made printable where the
    graph is built; the graph summary goes through ``clean_data`` in ``model_dict``.
    """
    findings = [
        replace(f, message=printable(f.message), layers=tuple(printable(p) for p in f.layers),
                evidence=clean_data(f.evidence), fix=printable(f.fix))
        for f in report.findings
    ]  # fmt: skip
    return replace(
        report,
        path=printable(report.path),
        error=printable(report.error) if report.error is not None else None,
        findings=findings,
        confirm=clean_data(report.confirm),
        notes=[printable(note) for note in report.notes],
    )


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "category": finding.category,
        "message": finding.message,
        "layer": finding.layer,
        "layers": list(finding.layers),
        "evidence": finding.evidence,
        "fix": finding.fix,
    }


def risk_dict(risk: Risk | None) -> dict[str, Any] | None:
    if risk is None:
        return None
    data = _fields_of(risk)  # what dataclasses.asdict gives for these plain fields, without its deep copies
    data["interval"] = list(risk.interval)
    data["factors"] = [_fields_of(f) | {"rules": list(f.rules), "text": f.describe()} for f in risk.factors]
    data["notes"] = list(risk.notes)
    data["approximate"] = True
    return data


def _fields_of(value: Any) -> dict[str, Any]:
    return {field.name: getattr(value, field.name) for field in fields(value)}


def model_dict(report: ModelReport, *, include_layers: bool = True) -> dict[str, Any]:
    from cnnlint.summary import graph_summary

    summary = None
    if report.graph is not None and report.facts is not None:
        summary = clean_data(graph_summary(report.graph, report.facts))
        if not include_layers:
            summary.pop("layers")
    return {
        "path": report.path,
        "error": report.error,
        "error_kind": report.error_kind if report.error else None,
        "dataset": {
            "samples": report.dataset.samples,
            "classes": report.dataset.classes,
            "augmented": report.dataset.augmented,
        },
        "model": summary,
        "findings": [finding_dict(f) for f in sorted_findings(report.findings)],
        "risk": risk_dict(report.risk),
        "rules_needing_samples": report.needs_samples,
        "smallest_low_risk_samples": report.smallest_low_risk_samples,
        "confirm": report.confirm,
        "probes": probes_dict(report.probes),
        "notes": list(report.notes),
    }


def riskiest_first(model: dict[str, Any]) -> tuple[int, float, str]:
    """Sort key for ``model_dict`` views: high risk first, the largest predicted gap first within a level, models
    without an estimate last, then by path."""
    risk = model["risk"] or {}
    level = risk.get("level")
    return (-risk_rank(level) if level in RISK_LEVELS else 1, -(risk.get("gap") or 0.0), model["path"])


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-severity_rank(f.severity), f.code, f.layer))


def document(reports: list[ModelReport], *, include_layers: bool = True, models: Any = None) -> dict[str, Any]:
    """The JSON report (``models``: what stands for the model list instead of the list, a ``slot``)."""
    return {
        "schema": "https://cnnlint.dev/schema/report-v1.json",
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "cnnlint", "version": __version__},
        "models": [model_dict(r, include_layers=include_layers) for r in reports] if models is None else models,
        "summary": {
            "models": len(reports),
            "unreadable": sum(1 for r in reports if r.error),
            "findings": sum(len(r.findings) for r in reports),
        },
    }
