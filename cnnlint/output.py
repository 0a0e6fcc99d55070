"""Writing reports without harming what the output path names.

* ``-`` is standard output.
* A character device or a FIFO (``/dev/stdout``, ``/dev/null``, a named pipe) is written through: replacing
  it would turn a device node into a regular file.
* A regular file, or a path where nothing exists yet, is written atomically (a temporary file beside it,
  then ``os.replace``), so a failure never leaves a partial file in place of a report.  A symlink is
  resolved first: its target is replaced, the link stays.
* Anything else (a folder, a block device, a socket) and any input file (the model being linted, a file
  inside a linted model folder, the config or baseline) is refused with one line, before linting starts.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cnnlint.errors import ConfigError, printable

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
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for folder, _dirs, files in os.walk(path, followlinks=False):
        found += (Path(folder) / name for name in files)
    return found


def check_target(path: str, inputs: set[FileId]) -> None:
    """Refuse, with one line, an output path that names an input file or something that cannot hold a report."""
    if path == "-":
        return
    shown = printable(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot write '{shown}': {exc.strerror or exc}") from None
    if (info.st_dev, info.st_ino) in inputs:
        raise ConfigError(f"refusing to write the report to '{shown}': it is one of the files being read",
                          hint="choose another --output path")  # fmt: skip
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ConfigError(f"cannot write '{shown}': it is a folder", hint="name a file")
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise ConfigError(f"cannot write '{shown}': not a regular file, character device or FIFO")


def write_report(path: str, text: str, inputs: set[FileId] | frozenset = frozenset()) -> None:
    """Write ``text`` (UTF-8) to ``path`` following the rules in this module's docstring."""
    check_target(path, set(inputs))
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


def write_atomic(path: str | Path, text: str) -> None:
    """Kept for callers that write a file cnnlint owns (a baseline); same rules as ``write_report``."""
    write_report(str(path), text)


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
