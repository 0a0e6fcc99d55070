"""Turn command-line paths (files, folders, globs) into the model sources to lint."""

from __future__ import annotations

import glob
import os
import stat
from pathlib import Path

from cnnlint.errors import ConfigError
from cnnlint.readers import MODEL_SUFFIXES, is_model_file, is_model_folder
from cnnlint.readers.savedmodel import SAVEDMODEL_FILES

_GLOB_CHARS = set("*?[")
MAX_FILES = 100_000


#: the kinds of path that name no model, as the summary line counts them
NOT_FOUND, NO_MATCH, NO_MODELS = "not found", "no match", "no models"


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # broken link or unreadable: let the reader report why


def discover(paths: list[str], notes: list[str] | None = None) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Model sources in a stable order, and (path, message, kind) for paths that name no model.

    A bad path does not stop the others from being linted; the caller reports it.  Files skipped in a folder
    walk (FIFOs, devices, sockets: never opened, since reading a FIFO blocks) are added to ``notes``.
    """
    found: list[str] = []
    problems: list[tuple[str, str, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink() and _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                problems.append((raw, f"{raw}: no file matches this pattern", NO_MATCH))
                continue
            more, more_problems = discover(matches)
            found += more
            problems += more_problems
            continue
        if path.is_dir() and not is_model_folder(path):
            models = _walk(path, notes if notes is not None else [])
            if not models:
                problems.append((raw, f"{raw}: no model files in this folder (looked for "
                                      f"{', '.join(MODEL_SUFFIXES)} and SavedModels)", NO_MODELS))  # fmt: skip
            found += models
            continue
        if not path.exists() and not path.is_symlink():
            problems.append((raw, f"{raw}: no such file or folder", NOT_FOUND))
            continue
        if path.name in SAVEDMODEL_FILES and path.is_file():
            found.append(str(path.parent))  # pre-commit passes the files of a SavedModel folder
            continue
        found.append(raw)
    seen: set[str] = set()
    return [p for p in found if not (p in seen or seen.add(p))], problems  # type: ignore[func-returns-value]


def _walk(root: Path, notes: list[str]) -> list[str]:
    models: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs.sort()
        keep = []
        for name in dirs:
            sub = here / name
            if name.startswith(".") or name in ("__pycache__", "node_modules"):
                continue
            if is_model_folder(sub):
                models.append(str(sub))
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            path = here / name
            if path.suffix.lower() in MODEL_SUFFIXES and not _is_regular(path):
                notes.append(f"{path}: skipped, not a regular file (a FIFO, device or socket)")
                continue
            if is_model_file(path):
                models.append(str(path))
        if len(models) > MAX_FILES:
            raise ConfigError(f"more than {MAX_FILES} model files under '{root}'")
    return models
