"""``--format sarif``: SARIF 2.1.0 for code scanning (validated against the official schema in tests).

Results point at the model file; the layer is the logical location.
``partialFingerprints`` hash file + rule + layer (+ a security finding's
content), so an alert keeps its identity when the model is retrained and
re-saved, and a changed payload is a new alert.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from cnnlint.reports.base import RenderOptions, json_text, json_with_lists, part_of, risk_dict, slot, sorted_findings
from cnnlint.reports.data_probes import probes_dict

from cnnlint import __version__
from cnnlint.findings import Finding, finding_key
from cnnlint.pipeline import ModelReport

LEVELS = {"error": "error", "warning": "warning", "info": "note"}
INFO_URI = "https://github.com/cnnlint/cnnlint"


def _uri(path: str) -> str:
    return Path(path).as_posix().lstrip("/") if not Path(path).is_absolute() else Path(path).as_uri()


def fingerprint(path: str, finding: Finding) -> str:
    """The finding's identity (``findings.finding_key``); without content, the same as before content existed."""
    key = finding_key(path, finding)
    return hashlib.sha256("\0".join(key if key[3] else key[:3]).encode()).hexdigest()


def _rules() -> list[dict[str, Any]]:
    from cnnlint.rules import RULES

    out = []
    for rule in RULES.values():
        first = rule.doc.strip().split("\n\n", 2)
        out.append({
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": first[1].replace("## What it does\n", "") if len(first) > 1 else rule.summary},
            "help": {"text": rule.doc.strip(), "markdown": rule.doc.strip()},
            "helpUri": f"{INFO_URI}#rules",
            "defaultConfiguration": {"level": LEVELS[rule.severity]},
            "properties": {"category": rule.category, "needs_samples": rule.needs_samples},
        })  # fmt: skip
    return out


@lru_cache(maxsize=1)
def _rule_index() -> dict[str, int]:
    """Each rule's position in ``_rules()`` (the registry's order), without writing their descriptions."""
    from cnnlint.rules import RULES

    return {code: i for i, code in enumerate(RULES)}


def model_part(report: ModelReport, options: RenderOptions) -> tuple[list[str], list[str], list[str]]:
    """The model's tool notifications, results and entry of the run's ``models`` property, each item written."""
    if report.error:
        notification = {
            "level": "error",
            "message": {"text": report.error},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(report.path)}}}],
        }  # fmt: skip
        return [json_text(notification, indent=2)], [], []
    index = _rule_index()
    results = []
    for finding in sorted_findings(report.findings):
        results.append({
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": LEVELS[finding.severity],
            "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": _uri(report.path), "uriBaseId": "%SRCROOT%"}},
                "logicalLocations": [{"name": finding.layer, "fullyQualifiedName": f"{report.path}::{finding.layer}",
                                      "kind": "member"}],
            }],
            "partialFingerprints": {"cnnlintFinding/v1": fingerprint(report.path, finding)},
            "properties": {"layers": list(finding.layers), "evidence": finding.evidence, "fix": finding.fix},
        })  # fmt: skip
    model = {"path": report.path, "risk": risk_dict(report.risk), "probes": probes_dict(report.probes)}
    return [], [json_text(result, indent=2) for result in results], [json_text(model, indent=2)]


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    parts = [part_of(report, "sarif", model_part, options) for report in reports]
    notifications, results, models = ([item for part in parts for item in part[i]] for i in range(3))
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cnnlint", "version": __version__, "informationUri": INFO_URI,
                                "rules": _rules()}},
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": slot("notifications")}],
            "results": slot("results"),
            "properties": {"models": slot("models")},
        }],
    }  # fmt: skip
    lists = {"notifications": notifications, "results": results, "models": models}
    return json_with_lists(log, lists) + "\n"
