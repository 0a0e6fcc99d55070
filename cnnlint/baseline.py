"""Baselines for gradual adoption: record today's findings, fail only on new ones.

A finding is keyed on (file, rule, layer): retraining or re-saving a model
changes its weights and metrics but not these, so the baseline survives it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError
from cnnlint.findings import Finding, FindingKey, finding_key
from cnnlint.output import write_atomic
from cnnlint.pipeline import ModelReport


def keys(report: ModelReport) -> set[FindingKey]:
    return {finding_key(report.path, f) for f in report.findings}


def write_baseline(path: str, reports: list[ModelReport]) -> int:
    entries = sorted({k for r in reports for k in keys(r)})
    data = {
        "version": 1,
        "findings": [{"file": f, "code": c, "layer": layer} for f, c, layer in entries],
    }
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return len(entries)


def load_baseline(path: str) -> set[FindingKey]:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        return {(Path(e["file"]).as_posix(), e["code"], e["layer"]) for e in data["findings"]}
    except FileNotFoundError:
        raise ConfigError(f"baseline file not found: '{path}'", hint="create it with --write-baseline") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"baseline '{path}' is not a cnnlint baseline ({type(exc).__name__})") from None


def new_findings(report: ModelReport, baseline: set[FindingKey]) -> list[Finding]:
    return [f for f in report.findings if finding_key(report.path, f) not in baseline]
