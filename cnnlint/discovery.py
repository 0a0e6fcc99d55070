"""Turn command-line paths (files, folders, globs) into the model sources to lint.

Every model under a path is linted: model files, and model folders (SavedModels, unzipped ``.keras`` folders),
including those inside a folder that is itself a model (a SavedModel folder holding ``evil.keras``, a repository
whose root is a SavedModel).  A model folder's own parts (``config.json``, ``metadata.json``,
``model.weights.h5``) are read with it, not again on their own.  Folders are walked by ``cnnlint/walk.py``; every
path it skips is named in the notes.  A ``**`` glob is expanded by the same walk, so links back into the tree
cannot make it loop.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from pathlib import Path

from cnnlint.errors import ConfigError
from cnnlint.readers import MODEL_SUFFIXES, is_model_file, is_model_folder, json_file, model_folder_parts
from cnnlint.readers.savedmodel import SAVEDMODEL_FILES
from cnnlint.walk import walk

_GLOB_CHARS = set("*?[")
MAX_FILES = 100_000


#: the kinds of path that name no model, as the summary line counts them
NOT_FOUND, NO_MATCH, NO_MODELS = "not found", "no match", "no models"
EMPTY_PATH = "'': empty path argument (an unset variable?); pass a model file, folder or glob"


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # broken link or unreadable: let the reader report why


def discover(paths: list[str], notes: list[str] | None = None,
             skip_non_models: bool = False) -> tuple[list[str], list[tuple[str, str, str]]]:  # fmt: skip
    """Model sources in a stable order, and (path, message, kind) for paths that name no model.

    A bad path (an empty one too) does not stop the others from being linted; the caller reports it.  Files
    skipped in a folder walk (FIFOs, devices, sockets: never opened, since reading a FIFO blocks; JSON that names
    ``class_name`` and ``config`` but whose top level is no model's) and folders the walk skips are added to
    ``notes``.  With ``skip_non_models`` (the pre-commit hook's), a named file is judged as a folder walk judges
    it: a ``.json`` that is no model's is skipped, with a note.
    """
    notes = notes if notes is not None else []
    found: list[str] = []
    problems: list[tuple[str, str, str]] = []
    for raw in paths:
        if not raw:  # Path('') is '.': an unset "$MODEL" would lint the whole working directory
            problems.append((raw, EMPTY_PATH, NOT_FOUND))
            continue
        path = Path(raw)
        if not path.exists() and not path.is_symlink() and _GLOB_CHARS & set(raw):
            matches = _glob(raw, notes)
            if not matches:
                problems.append((raw, f"{raw}: no file matches this pattern", NO_MATCH))
                continue
            more, more_problems = discover(matches, notes, skip_non_models)
            found += more
            problems += more_problems
            continue
        if path.is_dir():
            models = _walk(path, raw, notes)
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
        if skip_non_models and path.is_file() and not is_model_file(path):
            notes.append(f"{raw}: skipped, not a model file")
            continue
        found.append(raw)
    seen: set[str] = set()
    return [p for p in found if not (p in seen or seen.add(p))], problems  # type: ignore[func-returns-value]


def _walk(root: Path, shown: str, notes: list[str]) -> list[str]:
    """Every model under ``root``: each model folder (``root`` too, named ``shown``), then every model file that
    is not part of the folder it sits in."""
    models: list[str] = []
    for folder in walk(root, notes):
        own: frozenset[str] = frozenset()
        if is_model_folder(folder.path):
            models.append(shown if folder.path == root else str(folder.path))
            own = model_folder_parts(folder.path)
        for path in folder.files:
            if path.name in own:
                continue
            if path.suffix.lower() in MODEL_SUFFIXES and not _is_regular(path):
                notes.append(f"{path}: skipped, not a regular file (a FIFO, device or socket)")
                continue
            verdict = json_file.judge(path) if path.suffix.lower() == ".json" else None  # read once, for the note too
            if verdict == json_file.MODEL or (verdict is None and is_model_file(path)):
                models.append(str(path))
            elif verdict == json_file.NOT_A_MODEL:  # looked like a model: say why not
                notes.append(f"{path}: skipped, not a model file")
        if len(models) > MAX_FILES:
            raise ConfigError(f"more than {MAX_FILES} model files under '{root}'")
    return models


def _glob(pattern: str, notes: list[str]) -> list[str]:
    """The paths a pattern matches.  ``**`` (any number of folders) is matched against the folder walk, with
    ``*`` and ``**`` matching names that start with a dot too; other patterns are ``glob.glob``'s."""
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    parts = pattern.split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    root = os.sep.join(parts[:fixed]) or ("." if not pattern.startswith(os.sep) else os.sep)
    if not os.path.isdir(root):
        return []
    matcher = re.compile(_translate(parts[fixed:]))
    prefix = "" if not parts[:fixed] else root.rstrip(os.sep) + os.sep
    matches: list[str] = []
    for folder in walk(Path(root), notes):
        for path in (*folder.folders, *folder.files):
            relative = os.path.relpath(path, root)
            if matcher.fullmatch(relative):
                matches.append(prefix + relative)
    return sorted(matches)


def _translate(parts: list[str]) -> str:
    """A regular expression for pattern segments: ``**`` any number of folders, ``*`` and ``?`` within a name."""
    sep = re.escape(os.sep)
    out = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out += ".*" if last else f"(?:[^{sep}]+{sep})*"
            continue
        out += _translate_name(part, sep) + ("" if last else sep)
    return out


def _translate_name(part: str, sep: str) -> str:
    out, i = "", 0
    while i < len(part):
        char = part[i]
        i += 1
        if char == "*":
            out += f"[^{sep}]*"
        elif char == "?":
            out += f"[^{sep}]"
        elif char == "[" and (end := part.find("]", i + 1 if part[i : i + 1] in ("!", "]") else i)) >= 0:
            body = part[i:end].replace("\\", "\\\\")
            out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
            i = end + 1
        else:
            out += re.escape(char)
    return out
