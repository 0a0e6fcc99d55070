"""The run record: one JSON object a line in ``runs-<host>-<worker>.jsonl``, appended as each run finishes.

Every generator (``generate.py`` for protocols v2-v4, ``generate_v1.py`` for v1) writes through ``append`` and
every reader goes through ``records``/``trained``, so a record has one definition: ``REQUIRED`` for a trained run,
``SKIPPED`` for a run recorded as skipped (over a parameter cap, for instance) so that no worker retries it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

#: the keys every trained run's record has, whatever its protocol (later protocols add curves of their own)
REQUIRED = ("id", "spec", "config", "params", "epochs", "train_acc", "test_acc", "train_loss", "test_loss", "gap",
            "loss_gap", "curves", "seconds", "keras_version")  # fmt: skip
SKIPPED = ("id", "skipped")


class RecordError(ValueError):
    """A record that lacks what every reader relies on."""


def check(record: dict) -> dict:
    keys = SKIPPED if "skipped" in record else REQUIRED
    missing = [key for key in keys if key not in record]
    if missing:
        raise RecordError(f"run record {record.get('id')!r} lacks {', '.join(missing)}")
    if not isinstance(record["id"], int):
        raise RecordError(f"run record id {record['id']!r} is not an integer")
    return record


def encode(record: dict) -> str:
    return json.dumps(check(record), separators=(",", ":")) + "\n"


def run_file(folder: Path, host: str, worker: int | str = 0) -> Path:
    return folder / f"runs-{host}-{worker}.jsonl"


def append(path: Path, record: dict) -> None:
    """Append one finished run; the line is written in one call, so a kill leaves at most one cut line, which the
    readers skip and the generators retrain."""
    line = encode(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as stream:
        stream.write(line)


def records(folder: Path, pattern: str = "runs-*.jsonl") -> Iterator[dict]:
    """Every record under ``folder`` matching ``pattern``, file by file in name order; a line cut by an
    interrupted run is skipped (the generators retrain that run)."""
    for path in sorted(folder.glob(pattern)):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "id" in record:
                yield record


def trained(folder: Path, pattern: str = "runs-*.jsonl") -> Iterator[dict]:
    """The records of runs that trained (not those recorded as skipped)."""
    return (record for record in records(folder, pattern) if "gap" in record)


def recorded_ids(folders: Iterable[Path]) -> set[int]:
    """Ids recorded (trained or skipped) in any of ``folders``: what a resumed campaign leaves out."""
    return {record["id"] for folder in folders for record in records(folder)}
