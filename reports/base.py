"""What every output format receives, and the plain-data view they share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cnnlint import __version__
from cnnlint.findings import Finding, severity_rank
from cnnlint.pipeline import ModelReport
from cnnlint.risk import Risk

JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    verbose: bool = False
    quiet: bool = False


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
    data = asdict(risk)
    data["interval"] = list(risk.interval)
    data["factors"] = [asdict(f) | {"rules": list(f.rules), "text": f.describe()} for f in risk.factors]
    data["notes"] = list(risk.notes)
    data["approximate"] = True
    return data


def model_dict(report: ModelReport, *, include_layers: bool = True) -> dict[str, Any]:
    from cnnlint.risk import smallest_low_risk_samples
    from cnnlint.summary import graph_summary

    summary = None
    if report.graph is not None and report.facts is not None:
        summary = graph_summary(report.graph, report.facts)
        if not include_layers:
            summary.pop("layers")
    smallest = (
        smallest_low_risk_samples(report.facts, report.dataset) if report.facts is not None else None
    )
    return {
        "path": report.path,
        "error": report.error,
        "dataset": {
            "samples": report.dataset.samples,
            "classes": report.dataset.classes,
            "augmented": report.dataset.augmented,
        },
        "model": summary,
        "findings": [finding_dict(f) for f in sorted_findings(report.findings)],
        "risk": risk_dict(report.risk),
        "rules_needing_samples": report.needs_samples,
        "smallest_low_risk_samples": smallest,
        "confirm": report.confirm,
    }


_RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def by_risk(model: dict[str, Any]) -> tuple[int, float, str]:
    """Sort key for model dicts: highest level first, then the largest predicted gap, then the path."""
    risk = model["risk"] or {}
    return _RISK_ORDER.get(risk.get("level"), 3), -(risk.get("gap") or 0.0), model["path"]


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-severity_rank(f.severity), f.code, f.layer))


def document(reports: list[ModelReport], *, include_layers: bool = True) -> dict[str, Any]:
    return {
        "schema": "https://cnnlint.dev/schema/report-v1.json",
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "cnnlint", "version": __version__},
        "models": [model_dict(r, include_layers=include_layers) for r in reports],
        "summary": {
            "models": len(reports),
            "unreadable": sum(1 for r in reports if r.error),
            "findings": sum(len(r.findings) for r in reports),
        },
    }
