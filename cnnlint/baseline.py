"""Baselines for gradual adoption: record today's findings, fail only on new ones.

A finding is keyed on (file, rule, layer): retraining or re-saving a model
changes its weights and metrics but not these, so the baseline survives it.
A security finding (S4xx) is keyed on its content too (``Finding.content``: the
name it resolves to, the kind and sha256 of stored code, the HDF5 link targets,
...), so an entry accepts what was reviewed and nothing else: a Lambda whose
function is replaced, or a file that gains a link, is a new finding.  Version 1
baselines carry no content; they still accept the other findings, and no
security finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError
from cnnlint.findings import Finding, FindingKey, finding_key, key_of
from cnnlint.output import write_atomic
from cnnlint.pipeline import ModelReport

VERSION = 2


def keys(report: ModelReport) -> set[FindingKey]:
    return {finding_key(report.path, f) for f in report.findings}


def write_baseline(path: str, reports: list[ModelReport], linted: Iterable[str] = ()) -> int:
    entries = sorted({k for r in reports for k in keys(r)})
    data = {"version": VERSION, "findings": [_entry(*key) for key in entries]}
    write_atomic(path, json.dumps(data, indent=2) + "\n", linted)
    return len(entries)


def _entry(file: str, code: str, layer: str, content: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": file, "code": code, "layer": layer}
    if content:
        entry["content"] = json.loads(content)
    return entry


REWRITE = "write it again with --write-baseline"


def load_baseline(path: str) -> set[FindingKey]:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        return {_key(entry) for entry in data["findings"]}
    except FileNotFoundError:
        raise ConfigError(f"baseline file not found: '{path}'", hint="create it with --write-baseline") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"baseline '{path}' is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                          hint=REWRITE) from None  # fmt: skip
    except UnicodeDecodeError:
        raise ConfigError(f"baseline '{path}' is not UTF-8 text", hint=REWRITE) from None
    except OSError as exc:
        raise ConfigError(f"cannot read baseline '{path}': {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"baseline '{path}' is JSON but not a cnnlint baseline (expected an object with a "
                          "'findings' list of {file, code, layer} entries)", hint=REWRITE) from None  # fmt: skip


def _key(entry: dict[str, Any]) -> FindingKey:
    content = entry.get("content")
    if content is not None and not isinstance(content, dict):
        raise TypeError("content is not an object")
    pinned = {str(k): str(v) for k, v in content.items()} if content else {}
    return key_of(entry["file"], str(entry["code"]), str(entry["layer"]), pinned)


def new_findings(report: ModelReport, baseline: set[FindingKey]) -> list[Finding]:
    return [f for f in report.findings if finding_key(report.path, f) not in baseline]
