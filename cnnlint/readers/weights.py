"""Dataset *shapes* from a model's HDF5 weights, read only to count layers cnnlint has no spec for.

A custom layer's config says nothing about its weights, but the weights file
does: ``model.weights.h5`` inside a ``.keras`` archive, or the ``model_weights``
group of a legacy ``.h5``.  This module lists the shapes of the datasets in the
groups it is asked about and never reads a weight value.  Like every reader it
treats the file as hostile: it visits only those groups, follows hard links only
(no soft or external links), visits at most ``MAX_OBJECTS`` objects
``MAX_DEPTH`` groups deep, and opens a zip member only
when it is stored uncompressed (Keras stores it so), through a window on the
archive, so nothing is decompressed or copied.  Any failure means "no shapes":
the caller keeps the layer uncounted, as it would without this module.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_OBJECTS = 8_000
MAX_DEPTH = 32
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_PREAD = getattr(os, "pread", None)  # POSIX only; elsewhere reads go through the block


@dataclass(frozen=True)
class WeightsFile:
    """Where a model's weights are.

    ``layout`` is ``"keras3"`` (the saving_lib layout of ``model.weights.h5``:
    ``layers/<snake_case class>[_k]/vars/<i>``) or ``"legacy"`` (``model_weights/<layer name>/...``).
    ``member`` names the file inside a zip archive at ``path``.
    """

    path: str
    layout: str
    member: str | None = None
    #: the pure-Python walk could not vouch for the file: h5py reads it only in a child process
    isolated: bool = False


@dataclass(frozen=True)
class Group:
    """What one group of the weights file holds: its child names and every dataset below it."""

    children: tuple[str, ...]
    datasets: tuple[tuple[str, tuple[int, ...]], ...]  # path below the group, shape

    @property
    def size(self) -> int:
        return sum(math.prod(shape) for _, shape in self.datasets)


def read_groups(source: WeightsFile, listed: Iterable[str], counted: Iterable[str]) -> dict[str, Group] | None:
    """The groups asked for (``/``-separated paths from the layout's root); ``None`` when the file is unreadable.

    ``listed`` groups come back with their child names only; ``counted`` ones also with every dataset below
    them.  Only these groups are visited, so a file padded with junk elsewhere costs nothing.  A missing
    group is left out of the answer.  Uses h5py's low-level API: about 10x faster per object than its
    high-level one, which matters for the ``MAX_OBJECTS`` worst case.  A file the pure-Python walk could not
    vouch for (``source.isolated``) is read in a child process (``readers/hdf5_isolate.py``): no answer from it
    (a hang, a crash) is "unreadable".
    """
    listed, counted = list(listed), list(counted)
    if not source.isolated:
        return h5py_read_groups(source, listed, counted)
    from cnnlint.readers.hdf5_isolate import Isolated, run

    args = {"path": source.path, "layout": source.layout, "member": source.member, "listed": listed,
            "counted": counted}  # fmt: skip
    try:
        found = run("groups", args, source.member or source.path)
        if found is None:
            return None
        return {str(path): Group(tuple(str(name) for name in children),
                                 tuple((str(name), tuple(int(d) for d in shape)) for name, shape in datasets))
                for path, (children, datasets) in found.items()}  # fmt: skip
    except (Isolated, AttributeError, ValueError, TypeError):
        return None


def h5py_read_groups(source: WeightsFile, listed: list[str], counted: list[str]) -> dict[str, Group] | None:
    """``read_groups`` through h5py in this process (the child process's, for a file the walk did not vouch for)."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        return None
    walker = _Walker(h5py)
    try:
        with open_weights(source) as stream, h5py.File(stream, "r") as handle:
            root = handle.id if source.layout == "keras3" else walker.open_path(handle.id, "model_weights")
            if root is None:
                return None
            found: dict[str, Group] = {}
            for path, recurse in [(p, False) for p in listed] + [(p, True) for p in counted]:
                group = walker.open_path(root, path)
                if group is not None:
                    datasets: list[tuple[str, tuple[int, ...]]] = []
                    if recurse:
                        walker.datasets(group, "", 0, datasets)
                    found[path] = Group(tuple(name for name, _ in walker.children(group)), tuple(datasets))
            return found
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, _TooBig, zipfile.BadZipFile, struct.error):
        return None


class _TooBig(Exception):
    pass


class _Walker:
    """Hard links only, within the object budget, through h5py's low-level (``h5l``/``h5o``) calls."""

    def __init__(self, h5py: Any) -> None:
        self.h5l, self.h5o, self.h5d, self.h5g = h5py.h5l, h5py.h5o, h5py.h5d, h5py.h5g
        self.budget = MAX_OBJECTS

    def children(self, group: Any) -> list[tuple[str, bytes]]:
        found: list[tuple[str, bytes]] = []

        def visit(name: bytes, info: Any) -> int | None:
            self.budget -= 1
            if self.budget < 0:
                return 1  # stop iterating
            if info.type == self.h5l.TYPE_HARD:
                found.append((name.decode("utf-8", "replace"), name))
            return None

        group.links.iterate(visit, info=True)
        if self.budget < 0:
            raise _TooBig
        return found

    def open_path(self, group: Any, path: str) -> Any:
        for part in (p.encode() for p in path.split("/") if p):
            if not group.links.exists(part) or group.links.get_info(part).type != self.h5l.TYPE_HARD:
                return None
            if self.h5o.get_info(group, part).type != self.h5o.TYPE_GROUP:
                return None
            group = self.h5g.open(group, part)
        return group

    def datasets(self, group: Any, prefix: str, depth: int, out: list[tuple[str, tuple[int, ...]]]) -> None:
        if depth > MAX_DEPTH:
            raise _TooBig
        for name, raw_name in self.children(group):
            kind = self.h5o.get_info(group, raw_name).type
            if kind == self.h5o.TYPE_DATASET:
                shape = self.h5d.open(group, raw_name).shape
                out.append((f"{prefix}{name}", tuple(int(d) for d in shape) if shape is not None else ()))
            elif kind == self.h5o.TYPE_GROUP:
                self.datasets(self.h5g.open(group, raw_name), f"{prefix}{name}/", depth + 1, out)


def open_weights(source: WeightsFile) -> io.RawIOBase:
    if source.member is None:
        return open(source.path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller's `with`
    handle = open(source.path, "rb", buffering=0)  # noqa: SIM115
    try:
        with zipfile.ZipFile(handle) as archive:
            info = archive.getinfo(source.member)
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError("compressed or encrypted weights member")
        handle.seek(info.header_offset)
        magic, name_len, extra_len = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        if magic != _LOCAL_MAGIC:
            raise ValueError("bad local header")
        return _Window(handle, info.header_offset + _LOCAL_HEADER.size + name_len + extra_len, info.file_size)
    except BaseException:
        handle.close()
        raise


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes of ``raw`` from ``start``: a stored zip member in place.

    HDF5 reads its metadata in many small pieces; the view serves them from one cached 64 KiB block at a
    time, so walking a group costs a few file reads rather than one per object.
    """

    BLOCK = 64 * 1024

    def __init__(self, raw: io.RawIOBase, start: int, length: int) -> None:
        super().__init__()
        self._raw, self._start, self._length, self._pos = raw, start, length, 0
        self._block_at, self._block = -1, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        """Straight from the file with one ``os.pread``, no block: the pure-Python HDF5 walk reads small pieces
        scattered over a large file's metadata, and a 64 KiB block per piece cost ResNet50's audit a third of its
        time (h5py reads through ``readinto``, which keeps the block)."""
        # to the end: in pieces (``readall``), not in one buffer of the size the archive claims
        if _PREAD is None or size is None or size < 0:
            return super().read(-1 if size is None else size)
        count = min(size, self._length - self._pos)  # a seek may go past the end
        if count <= 0:
            return b""
        data = _PREAD(self._raw.fileno(), count, self._start + self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._length - self._pos))
        if count == 0:
            return 0
        block_at = self._pos - self._pos % self.BLOCK
        if count > self.BLOCK or self._pos + count > block_at + self.BLOCK:
            self._raw.seek(self._start + self._pos)  # large or straddling read: straight through
            got = self._raw.readinto(view[:count]) or 0
        else:
            if block_at != self._block_at:
                self._raw.seek(self._start + block_at)
                self._block = self._raw.read(min(self.BLOCK, self._length - block_at)) or b""
                self._block_at = block_at
            piece = self._block[self._pos - block_at : self._pos - block_at + count]
            got = len(piece)
            view[:got] = piece
        self._pos += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
