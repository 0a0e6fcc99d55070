"""Dataset *shapes* from a model's HDF5 weights, read only to count layers cnnlint has no spec for.

A custom layer's config says nothing about its weights, but the weights file
does: ``model.weights.h5`` inside a ``.keras`` archive, or the ``model_weights``
group of a legacy ``.h5``.  This module lists the shapes of the datasets in it
and never reads a weight value.  Like every reader it treats the file as
hostile: it follows hard links only (no soft or external links), visits at most
``MAX_OBJECTS`` objects ``MAX_DEPTH`` groups deep, and opens a zip member only
when it is stored uncompressed (Keras stores it so), through a window on the
archive, so nothing is decompressed or copied.  Any failure means "no shapes":
the caller keeps the layer uncounted, as it would without this module.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

MAX_OBJECTS = 20_000
MAX_DEPTH = 32
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_MAGIC = b"PK\x03\x04"


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


def read_shapes(source: WeightsFile) -> dict[str, tuple[int, ...]] | None:
    """Dataset path (``/``-separated, from the layout's root) -> shape; ``None`` when unreadable."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        return None
    try:
        with _open(source) as stream, h5py.File(stream, "r") as handle:
            root = handle if source.layout == "keras3" else handle.get("model_weights", getlink=False)
            if root is None or not isinstance(root, h5py.Group):
                return None
            shapes: dict[str, tuple[int, ...]] = {}
            _walk(h5py, root, "", 0, shapes)
            return shapes
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, _TooBig, zipfile.BadZipFile, struct.error):
        return None


class _TooBig(Exception):
    pass


def _walk(h5py: Any, group: Any, prefix: str, depth: int, shapes: dict[str, tuple[int, ...]]) -> None:
    if depth > MAX_DEPTH:
        raise _TooBig
    for name in group:
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            continue
        if len(shapes) >= MAX_OBJECTS:
            raise _TooBig
        item = group.get(name)
        path = f"{prefix}{name}"
        if isinstance(item, h5py.Dataset):
            shape = item.shape
            shapes[path] = tuple(int(d) for d in shape) if shape is not None else ()
        elif isinstance(item, h5py.Group):
            shapes.setdefault(path + "/", ())  # an empty group still tells which layers were saved
            _walk(h5py, item, path + "/", depth + 1, shapes)


def _open(source: WeightsFile) -> io.RawIOBase:
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
    """A read-only, seekable view of ``length`` bytes of ``raw`` from ``start``: a stored zip member in place."""

    def __init__(self, raw: io.RawIOBase, start: int, length: int) -> None:
        super().__init__()
        self._raw, self._start, self._length, self._pos = raw, start, length, 0

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

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._length - self._pos))
        if count == 0:
            return 0
        self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(view[:count]) or 0
        self._pos += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
