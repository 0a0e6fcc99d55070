"""Training data from disk, for ``--data`` (probes) and ``confirm``, without importing Keras.

Formats: a ``.npz`` holding ``x_train``/``y_train`` (optionally ``x_val``/``y_val``) or ``x``/``y``, or an image
folder with one subfolder per class (read with Pillow, the ``probes`` extra).

For the probes, ``x`` is never loaded whole: the rows of an uncompressed ``.npz`` member are read at their
offsets (the zip member's data offset plus the ``.npy`` header), only those the probes need; a compressed member
is streamed in chunks.  Labels are small and loaded whole.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from cnnlint.errors import ConfigError
from cnnlint.probes import RowReader, array_reader, chunk_rows

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what keras.utils.image_dataset_from_directory reads
_MODES = {"L": 1, "RGB": 3, "RGBA": 4}
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class TrainingData:
    """The training examples, readable row by row, and their labels."""

    where: str
    shape: tuple[int, ...]  # (n, *per-example shape)
    dtype: np.dtype
    labels: np.ndarray
    read: RowReader
    resized: bool = False  # image folders: every image was resized to the first one's size


# ---- .npz ----------------------------------------------------------------------------------

NOT_NPZ = "not a NumPy .npz archive"
DATA_HINT = ("--data takes the training data: an .npz written by np.savez(path, x_train=..., y_train=...), "
             "or a folder with one subfolder of images per class")  # fmt: skip


def load_npz(path: Path) -> tuple[Any, Any, Any, Any]:
    """The whole arrays (confirm trains on them): x, y and, when present, x_val, y_val (beside x_train/y_train or
    x/y; without them confirm holds out ``--val-split`` of the rows)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            x_key, y_key = _xy_keys(keys, path)
            x, y = data[x_key], data[y_key]
            if len({"x_val", "y_val"} & keys) == 1:
                raise ConfigError(f"'{path}' holds {sorted(keys)}: x_val and y_val go together (or leave both out)")
            xv, yv = (data["x_val"], data["y_val"]) if {"x_val", "y_val"} <= keys else (None, None)
    except ConfigError:
        raise
    except zipfile.BadZipFile:
        raise ConfigError(NOT_NPZ, where=str(path), hint=DATA_HINT) from None
    except (OSError, ValueError, EOFError) as exc:
        raise ConfigError(f"cannot read data: {exc}", where=str(path)) from None
    return x, y, xv, yv


def _xy_keys(keys: set[str], path: Path) -> tuple[str, str]:
    if {"x_train", "y_train"} <= keys:
        return "x_train", "y_train"
    if {"x", "y"} <= keys:
        return "x", "y"
    held = f"holds the arrays {sorted(keys)}" if keys else "holds no .npy arrays"
    raise ConfigError(f"{held}; expected x_train/y_train (and optionally x_val/y_val) or x/y", where=str(path),
                      hint=DATA_HINT)  # fmt: skip


def open_npz(path: Path) -> TrainingData:
    """x lazily (rows read at their offsets, or streamed), y whole."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist() if name.endswith(".npy")}
            x_key, y_key = _xy_keys(set(members), path)
            labels = _member_array(archive, archive.getinfo(members[y_key]))
            info = archive.getinfo(members[x_key])
            with archive.open(info) as stream:
                shape, fortran, dtype = _npy_header(stream)
    except ConfigError as exc:
        exc.where = exc.where or str(path)
        raise
    except zipfile.BadZipFile:
        raise ConfigError(NOT_NPZ, where=str(path), hint=DATA_HINT) from None
    except (OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ConfigError(f"cannot read data: {exc}", where=str(path)) from None
    if len(shape) < 2:
        raise ConfigError(f"x has shape {shape}; expected one example per row", where=str(path))
    if info.compress_type == zipfile.ZIP_STORED and not fortran:
        read = _positioned_reader(path, _member_offset(path, info, shape, dtype), shape, dtype)
    elif not fortran:
        read = _streamed_reader(path, info.filename, shape, dtype)
    else:  # column-major rows are not contiguous: read the array whole
        read = array_reader(_whole_member(path, info.filename))
    return TrainingData(str(path), shape, dtype, labels, read)


def _npy_header(stream: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    if dtype.hasobject:
        raise ConfigError("the data holds Python objects (dtype object); expected numeric arrays",
                          hint="convert them with np.asarray(x, dtype=\"float32\") before np.savez")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _member_offset(path: Path, info: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Where the rows of a stored (uncompressed) member start in the file: after its zip and .npy headers."""
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise ConfigError(f"'{info.filename}' has a damaged zip header", where=str(path))
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        _npy_header(file)
        offset = file.tell()
    if offset + math.prod(shape) * dtype.itemsize > path.stat().st_size:
        raise ConfigError(f"'{info.filename}' is shorter than its header says (truncated file?)", where=str(path))
    return offset


def _positioned_reader(path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> RowReader:
    """Rows read straight from the file at their offsets: only the rows asked for, and never mapped.

    (Pages of a memory map would count toward the process's resident memory, all 150 MiB of a CIFAR-sized
    array once every row has been read; positioned reads keep one chunk in memory.)
    """
    row_shape = shape[1:]
    row_bytes = math.prod(row_shape) * dtype.itemsize

    def rows_at(fd: int, first: int, count: int) -> np.ndarray:
        block = os.pread(fd, count * row_bytes, offset + first * row_bytes)
        if len(block) != count * row_bytes:
            raise ConfigError("x ends early (truncated file?)", where=str(path))
        return np.frombuffer(block, dtype=dtype).reshape(count, *row_shape)

    def read(indices: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        fd = os.open(path, os.O_RDONLY)
        try:
            step = chunk_rows(row_bytes)
            for start in range(0, len(indices), step):
                chunk = indices[start : start + step]
                first, last = int(chunk[0]), int(chunk[-1])
                if last - first + 1 <= 2 * len(chunk):  # dense: one read, then pick
                    yield chunk, rows_at(fd, first, last - first + 1)[chunk - first]
                else:
                    yield chunk, np.concatenate([rows_at(fd, int(i), 1) for i in chunk])
        finally:
            os.close(fd)

    return read


def _streamed_reader(path: Path, member: str, shape: tuple[int, ...], dtype: np.dtype) -> RowReader:
    row_shape = shape[1:]
    row_bytes = math.prod(row_shape) * dtype.itemsize

    def read(indices: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            _npy_header(stream)
            step = chunk_rows(row_bytes)
            for start in range(0, shape[0], step):
                rows = min(step, shape[0] - start)
                wanted = indices[(indices >= start) & (indices < start + rows)]
                block = stream.read(rows * row_bytes)
                if len(block) != rows * row_bytes:
                    raise ConfigError(f"'{member}' ends early (truncated file?)", where=str(path))
                if len(wanted):
                    array = np.frombuffer(block, dtype=dtype).reshape(rows, *row_shape)
                    yield wanted, array[wanted - start]

    return read


def _whole_member(path: Path, member: str) -> np.ndarray:
    with zipfile.ZipFile(path) as archive:
        return _member_array(archive, archive.getinfo(member))


def _member_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """A whole member, refused before allocating when its header promises more bytes than the member holds."""
    with archive.open(info) as stream:
        shape, fortran, dtype = _npy_header(stream)
        size = math.prod(shape) * dtype.itemsize
        if size > info.file_size:
            raise ConfigError(f"'{info.filename}' claims shape {shape} but holds {info.file_size:,} bytes")
        block = stream.read(size)
    if len(block) != size:
        raise ConfigError(f"'{info.filename}' ends early (truncated file?)")
    return np.frombuffer(block, dtype=dtype).reshape(shape, order="F" if fortran else "C")


# ---- image folders -------------------------------------------------------------------------


def image_files(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image files, their class index and the class names (sorted subfolder names, as Keras orders them)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = sorted(p for p in (folder / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        files += found
        labels += [index] * len(found)
    if not files:
        raise ConfigError("no images found (expected one subfolder per class)", where=str(folder))
    return files, np.array(labels), classes


def open_image_folder(folder: Path, image_size: tuple[int, int] | None = None,
                      channels: int | None = None) -> TrainingData:  # fmt: skip
    """Every image resized to ``image_size`` (height, width) and converted to ``channels`` (1, 3 or 4: L, RGB or
    RGBA), uint8; by default to the first image's size and mode.  ``confirm`` asks for its model's input."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError("reading an image folder needs Pillow", where=str(folder),
                          hint="pip install 'cnnlint[probes]', or pass an .npz") from None  # fmt: skip
    if channels is not None and channels not in _MODES.values():
        raise ConfigError(f"the model takes {channels} channels; an image folder gives 1, 3 or 4")
    files, labels, _ = image_files(folder)
    first = _open_image(Image, files[0]) if image_size is None or channels is None else None
    if channels is None:
        mode = first.mode if first.mode in _MODES else "RGB"
    else:
        mode = next(m for m, c in _MODES.items() if c == channels)
    size = first.size if image_size is None else (image_size[1], image_size[0])
    shape = (len(files), size[1], size[0], _MODES[mode])

    def read(indices: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        step = chunk_rows(math.prod(shape[1:]))
        for start in range(0, len(indices), step):
            chunk = indices[start : start + step]
            rows = np.empty((len(chunk), *shape[1:]), dtype=np.uint8)
            for i, index in enumerate(chunk):
                image = _open_image(Image, files[index]).convert(mode)
                if image.size != size:
                    image = image.resize(size, Image.BILINEAR)
                rows[i] = np.asarray(image, dtype=np.uint8).reshape(shape[1:])
            yield chunk, rows

    return TrainingData(str(folder), shape, np.dtype(np.uint8), labels, read, resized=True)


def load_image_folder(folder: Path, image_size: tuple[int, int], channels: int) -> tuple[Any, Any]:
    """The whole folder as arrays at the model's input size (confirm trains on them): x (float32, 0 to 255), y."""
    data = open_image_folder(folder, image_size, channels)
    x = np.empty(data.shape, dtype=np.float32)
    for chunk, rows in data.read(np.arange(data.shape[0])):
        x[chunk] = rows
    return x, data.labels


def _open_image(image_module: Any, path: Path) -> Any:
    try:
        with image_module.open(path) as image:
            image.load()
            return image
    except (OSError, ValueError, image_module.DecompressionBombError) as exc:
        raise ConfigError(f"cannot read image: {exc}", where=str(path)) from None


# ---- entry points --------------------------------------------------------------------------


def open_training_data(path: str | Path) -> TrainingData:
    data = Path(path)
    if not data.exists():
        raise ConfigError(f"no such data file or folder: '{path}'")
    if data.is_dir():
        return open_image_folder(data)
    return open_npz(data)


def content_hash(path: str | Path) -> str:
    """sha256 of a file's bytes, or of a folder's image files (relative names and bytes, in order)."""
    data = Path(path)
    if not data.exists():
        raise ConfigError(f"no such data file or folder: '{path}'")
    digest = hashlib.sha256()
    files = image_files(data)[0] if data.is_dir() else [data]
    try:
        for file in files:
            if data.is_dir():
                digest.update(file.relative_to(data).as_posix().encode() + b"\0")
            with open(file, "rb") as stream:
                while block := stream.read(_HASH_BLOCK):
                    digest.update(block)
    except OSError as exc:
        raise ConfigError(f"cannot read data: {exc.strerror or exc}", where=str(path)) from None
    return digest.hexdigest()


def arrays_hash(x: Any, y: Any) -> str:
    digest = hashlib.sha256()
    for array in (np.asarray(x), np.asarray(y)):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data if array.dtype.kind != "O" else repr(array).encode())
    return digest.hexdigest()
