"""Reading the study's run files (``runs-*.jsonl``): one JSON record a line, appended as each run finishes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def records(folder: Path, pattern: str = "runs-*.jsonl") -> Iterator[dict]:
    """Every record under ``folder`` matching ``pattern``, file by file in name order; a line cut by an
    interrupted run is skipped (generate.py retrains that run)."""
    for path in sorted(folder.glob(pattern)):
        for line in path.read_text().splitlines():
            try:
                yield json.loads(line)
            except ValueError:
                continue


def trained(folder: Path, pattern: str = "runs-*.jsonl") -> Iterator[dict]:
    """The records of runs that trained (not those recorded as skipped)."""
    return (record for record in records(folder, pattern) if "gap" in record)
