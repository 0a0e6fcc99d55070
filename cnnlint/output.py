"""Writing reports without harming what the output path names.

* ``-`` is standard output.
* A character device or a FIFO (``/dev/stdout``, ``/dev/null``, a named pipe) is written through: replacing
  it would turn a device node into a regular file.
* A regular file, or a path where nothing exists yet, is written atomically (a temporary file beside it,
  then ``os.replace``), so a failure never leaves a partial file in place of a report.  A symlink is
  resolved first: its target is replaced, the link stays.
* A path through a symlink that a pull request could have planted is refused: a link inside a folder being
  linted, or a link inside the working directory that leads out of it (``report.html`` -> ``~/.bashrc``).
  Links elsewhere (``/dev/stdout``, a system's ``/tmp``) are followed; naming the target itself always works.
* Anything else (a folder, a block device, a socket) and any input file (the model being linted, a file
  inside a linted model folder, the config, baseline or training data) is refused with one line, before
  linting starts.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError, printable
from cnnlint.walk import files_under

#: The kernel's views of open descriptors and processes: never replaced, only written.
_PSEUDO_PREFIXES = ("/proc/", "/dev/fd/", "/dev/stdout", "/dev/stderr", "/dev/stdin")
FileId = tuple[int, int]


def input_ids(paths: Iterable[str | Path]) -> set[FileId]:
    """(st_dev, st_ino) of every regular file among ``paths`` and inside the folders among them."""
    ids: set[FileId] = set()
    for path in paths:
        for file in _files_of(Path(path)):
            try:
                info = os.stat(file)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                ids.add((info.st_dev, info.st_ino))
    return ids


def _files_of(path: Path) -> Iterable[Path]:
    return files_under(path) if path.is_dir() else [path]


def check_target(path: str, inputs: set[FileId], linted: Iterable[str | Path] = (),
                 read_folders: Iterable[str | Path] = (), *, what: str = "the report",
                 option: str = "--output") -> None:  # fmt: skip
    """Refuse, with one line, an output path that names an input file (or lies in ``read_folders``, whose every
    file is read: a training-data folder), goes through a symlink a pull request could have planted (see the
    module's docstring; ``linted``: the folders being linted), or names something that cannot hold a report.
    ``what`` and ``option`` name what would be written there and the option that chose the path."""
    if path == "-":
        return
    shown = printable(path)
    _check_links(path, [os.path.realpath(folder) for folder in linted])
    if any(_within(os.path.realpath(path), os.path.realpath(folder)) for folder in read_folders):
        raise ConfigError(f"refusing to write {what} to '{shown}': it is inside a folder being read",
                          hint=f"choose another {option} path")  # fmt: skip
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot write '{shown}': {exc.strerror or exc}") from None
    if (info.st_dev, info.st_ino) in inputs:
        raise ConfigError(f"refusing to write {what} to '{shown}': it is one of the files being read",
                          hint=f"choose another {option} path")  # fmt: skip
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ConfigError(f"cannot write '{shown}': it is a folder", hint="name a file")
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise ConfigError(f"cannot write '{shown}': not a regular file, character device or FIFO")


def check_distinct(first: tuple[str, str], second: tuple[str, str]) -> None:
    """Refuse two outputs, each ``(option, path)``, that name one file: the second written would replace the first
    (a file that does not exist yet is compared by its resolved path)."""
    (first_option, first_path), (second_option, second_path) = first, second
    if "-" in (first_path, second_path) or not _one_file(first_path, second_path):
        return
    raise ConfigError(f"{first_option} and {second_option} both name '{printable(second_path)}': the second written "
                      "would replace the first", hint="give them different paths")  # fmt: skip


def _one_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(first) == os.path.realpath(second)


def _check_links(path: str, linted: list[str]) -> None:
    """Every symlink on the way to ``path``: refused inside a linted folder, or inside the working directory when
    it leads out of it."""
    if _is_pseudo_name(path):
        return
    here = os.path.realpath(os.getcwd())
    current = os.path.abspath(path)
    parts = Path(current).parts
    at = parts[0]
    for part in parts[1:]:
        hop = os.path.join(at, part)
        if os.path.islink(hop):
            home, target = os.path.realpath(at), os.path.realpath(hop)
            where = f"'{printable(path)}' goes through the symlink '{printable(hop)}'"
            if any(_within(home, folder) for folder in linted):
                raise ConfigError(f"refusing to write the report: {where}, inside a folder being linted",
                                  hint="name the file the report should go to, not a link")  # fmt: skip
            if _within(home, here) and not _within(target, here):
                raise ConfigError(f"refusing to write the report: {where}, which leads out of the working directory "
                                  f"to '{printable(target)}'", hint="name the file the report should go to, not a link")  # fmt: skip
            at = target
        else:
            at = hop


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _is_pseudo_name(path: str) -> bool:
    """``/dev/stdout`` and friends, named as such: the user asks for that stream by name."""
    return os.path.abspath(path).startswith(_PSEUDO_PREFIXES)


def write_report(path: str, text: str, inputs: set[FileId] | frozenset = frozenset(),
                 linted: Iterable[str | Path] = ()) -> None:  # fmt: skip
    """Write ``text`` (UTF-8) to ``path`` following the rules in this module's docstring."""
    check_target(path, set(inputs), linted)
    data = text.encode("utf-8", errors="backslashreplace")  # never fail on a lone surrogate
    if path == "-":
        _write_stream(sys.stdout, data)
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _write_atomic(Path(os.path.realpath(path)) if os.path.islink(path) else Path(path), data, path)
        return
    except OSError as exc:
        raise ConfigError(f"cannot write '{printable(path)}': {exc.strerror or exc}") from None
    for stream in (sys.stdout, sys.stderr):
        if _same_file(info, stream):  # /dev/stdout: like a shell, write to the open descriptor at its offset
            _write_stream(stream, data)
            return
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode) or _is_pseudo(path):
        _write_through(path, data)
    else:
        _write_atomic(Path(os.path.realpath(path)), data, path, mode=stat.S_IMODE(info.st_mode))


def write_atomic(path: str | Path, text: str, linted: Iterable[str | Path] = ()) -> None:
    """Kept for callers that write a file cnnlint owns (a baseline); same rules as ``write_report``."""
    write_report(str(path), text, linted=linted)


def _same_file(info: os.stat_result, stream: Any) -> bool:
    try:
        other = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


def _write_stream(stream: Any, data: bytes) -> None:
    stream.flush()
    stream.buffer.write(data)
    stream.buffer.flush()


def _is_pseudo(path: str) -> bool:
    """``/dev/stdout`` redirected to a file, ``/proc/self/fd/1``, ``/proc/version``: write, never replace.

    Every hop of a symlink chain is checked, so a link to ``/dev/stdout`` counts too.
    """
    hop = os.path.abspath(path)
    for _ in range(40):
        if hop.startswith(_PSEUDO_PREFIXES):
            return True
        if not os.path.islink(hop):
            break
        hop = os.path.join(os.path.dirname(hop), os.readlink(hop))
        hop = os.path.abspath(hop)
    return os.path.realpath(path).startswith(_PSEUDO_PREFIXES)


def _write_through(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as stream:
            stream.write(data)
    except OSError as exc:
        raise ConfigError(f"cannot write '{printable(path)}': {exc.strerror or exc}") from None


def _write_atomic(target: Path, data: bytes, shown: str, mode: int | None = None) -> None:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write '{printable(shown)}': folder '{printable(str(folder))}' does not exist")
    import tempfile  # here: with random, about 1.5 ms of a one-process start that writes to stdout

    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # mkstemp creates 0600; a new report is an ordinary file
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write '{printable(shown)}': {exc.strerror or exc}") from None
        raise
