"""The one folder walk, shared by discovery (which files to lint) and ``-o`` (which files are inputs).

A pull request controls the tree it is walked over, so the walk is built to be told nothing it cannot check:

* iterative, so a folder nested thousands deep is walked like any other (``os.walk`` recurses on Python < 3.12);
* each real folder once (by device and inode), so links to ``.`` or to each other cost one visit;
* symlinked folders are followed when they resolve inside the folder being walked, or inside the working
  directory that folder is in (a pull request's checkout: Keras loads through the links), and skipped with a
  note when they lead anywhere else (the rest of the machine is not the pull request's);
* every folder is walked, dot-folders included; only ``.git`` (git's own data: a repository cannot track files
  in it) is skipped, with a note.  Every skipped path is named in ``notes``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: folder names never walked, and why (the note says so)
SKIPPED = {".git": "git's own data, which a repository cannot track files in"}


@dataclass(frozen=True)
class Folder:
    """One folder of a walk, with the entries in it that the walk found."""

    path: Path
    folders: tuple[Path, ...]  # the sub-folders the walk goes on into, sorted by name
    files: tuple[Path, ...]  # everything else (files, links to files, FIFOs, broken links), sorted by name


def walk(root: Path, notes: list[str]) -> Iterator[Folder]:
    """Every folder under ``root`` (``root`` first), depth first in name order, as described above."""
    inside = _bounds(root)
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        listed = _list(folder, visited, notes)
        if listed is None:
            continue
        subfolders, files = [], []
        for entry in listed:
            path = folder / entry.name
            if not _is_folder(entry):
                files.append(path)
            elif entry.name in SKIPPED:
                notes.append(f"{path}: skipped, {SKIPPED[entry.name]}")
            elif entry.is_symlink() and not any(_within(os.path.realpath(path), bound) for bound in inside):
                notes.append(f"{path}: skipped, a link to a folder outside '{root}' and the working directory")
            else:
                subfolders.append(path)
        yield Folder(folder, tuple(subfolders), tuple(files))
        stack.extend(reversed(subfolders))


def files_under(root: Path, notes: list[str] | None = None) -> Iterator[Path]:
    """Every file the walk sees under ``root``."""
    for folder in walk(root, notes if notes is not None else []):
        yield from folder.files


def _list(folder: Path, visited: set[tuple[int, int]], notes: list[str]) -> list[os.DirEntry] | None:
    try:
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in visited:
            notes.append(f"{folder}: skipped, the same folder as one already walked (a link back into the tree)")
            return None
        visited.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as exc:
        notes.append(f"{folder}: skipped, cannot be read ({exc.strerror or exc})")
        return None


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # a link loop or an unreadable target: a file to the caller, which reports it
        return False


def _bounds(root: Path) -> tuple[str, ...]:
    """Where links may lead: the folder walked, and the working directory when that folder is inside it (and the
    working directory is not the file system's root)."""
    real, here = os.path.realpath(root), os.path.realpath(os.getcwd())
    return (real, here) if _within(real, here) and os.path.dirname(here) != here else (real,)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
