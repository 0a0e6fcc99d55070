"""Probes for a data path or in-memory arrays, cached by the data's content hash.

The cache lives in ``$CNNLINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnlint``, else ``~/.cache/cnnlint``; one
small JSON file per (content hash, probe settings).  An entry is only ever numbers: it is validated field by
field (types and ranges) and ignored, then rewritten, when anything is off.  A cache that cannot be written
(read-only home) is skipped silently: the probes are still computed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError
from cnnlint.probes import NOTE_PATTERNS, DataProbes, probe_arrays, probe_rows

#: bump when the probes' definitions change, so old cache entries stop matching
PROBES_VERSION = 2
_FRACTIONS = (
    "majority_share", "class_balance", "duplicate_fraction", "conflicting_duplicate_fraction",
    "exact_duplicate_fraction",
)  # fmt: skip
_OPTIONAL_FRACTIONS = ("knn_accuracy", "linear_accuracy", "patch_accuracy")
_COUNTS = ("samples", "classes", "probed", "scanned", "features", "label_span")


def probe_data(data: Any, *, max_samples: int = 2000, seed: int = 0) -> DataProbes:
    """Probes for a ``.npz`` path, an image folder or an ``(x, y)`` pair; cached by content."""
    if isinstance(data, (str, Path)):
        return dataclasses.replace(_probe_path(Path(data), max_samples, seed), source=str(data))
    if isinstance(data, tuple) and len(data) == 2:
        return dataclasses.replace(_probe_pair(data[0], data[1], max_samples, seed), source="arrays")
    raise ConfigError(f"data must be a path or an (x, y) pair, not a {type(data).__name__}")


def _probe_path(path: Path, max_samples: int, seed: int) -> DataProbes:
    from cnnlint.datasets import content_hash, open_training_data

    key = cache_key(content_hash(path), max_samples, seed)
    if (cached := load_cached(key)) is not None:
        return cached
    opened = open_training_data(path)
    try:
        probes = probe_rows(opened.read, opened.shape, opened.dtype, opened.labels, max_samples=max_samples, seed=seed)
    except ConfigError as exc:
        raise ConfigError(exc.message, where=exc.where or str(path), hint=exc.hint) from None
    probes = dataclasses.replace(probes, resized=opened.resized)
    store(key, probes)
    return probes


def _probe_pair(x: Any, y: Any, max_samples: int, seed: int) -> DataProbes:
    from cnnlint.datasets import arrays_hash

    key = cache_key(arrays_hash(x, y), max_samples, seed)
    if (cached := load_cached(key)) is not None:
        return cached
    probes = probe_arrays(x, y, max_samples=max_samples, seed=seed)
    store(key, probes)
    return probes


def cache_dir() -> Path:
    if explicit := os.environ.get("CNNLINT_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnnlint"


def cache_key(content: str, max_samples: int, seed: int) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:  # the installed version, without importing scikit-learn (a second and 80 MiB)
        separability = f"sklearn-{version('scikit-learn')}"
    except PackageNotFoundError:
        separability = "no-sklearn"
    text = f"probes-v{PROBES_VERSION}\0{content}\0{max_samples}\0{seed}\0{separability}"
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / "probes" / f"{key}.json"


def load_cached(key: str) -> DataProbes | None:
    try:
        data = json.loads(_entry(key).read_text(encoding="utf-8"))
        return from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store(key: str, probes: DataProbes) -> None:
    path = _entry(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".probes-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(to_dict(probes), file)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


def to_dict(probes: DataProbes) -> dict[str, Any]:
    data = dataclasses.asdict(probes)
    data.pop("source")  # where it came from is the caller's to say, never the cache's
    data["input_shape"] = list(probes.input_shape)
    data["notes"] = list(probes.notes)
    return data


def from_dict(data: Any) -> DataProbes:
    """A DataProbes from a cache entry, or ValueError when any field is missing, extra or out of range."""
    names = {f.name for f in dataclasses.fields(DataProbes)} - {"source"}
    if not isinstance(data, dict) or set(data) != names:
        raise ValueError("not a probes entry")
    for name in _COUNTS:
        _check(isinstance(data[name], int) and not isinstance(data[name], bool) and data[name] >= 0, name)
    for name in (*_FRACTIONS, *_OPTIONAL_FRACTIONS):
        value = data[name]
        if value is None and name in _OPTIONAL_FRACTIONS:
            continue
        _check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
               and 0.0 <= value <= 1.0, name)  # fmt: skip
    shape = data["input_shape"]
    _check(isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape),
           "input_shape")  # fmt: skip
    _check(isinstance(data["notes"], list) and all(_known_note(n) for n in data["notes"]), "notes")
    _check(isinstance(data["resized"], bool), "resized")
    _check(data["samples"] >= 2 and data["probed"] <= data["samples"] and data["classes"] >= 1, "samples")
    return DataProbes(**{**data, "input_shape": tuple(shape), "notes": tuple(data["notes"])})


def _known_note(note: Any) -> bool:
    """Only the probes' own sentences (with numbers in them): a cache entry never supplies text."""
    return isinstance(note, str) and any(re.fullmatch(pattern, note) for pattern in NOTE_PATTERNS)


def _check(ok: bool, name: str) -> None:
    if not ok:
        raise ValueError(f"bad cached value for {name}")
