"""Keras v3 ``.keras`` archives (Keras 3 and tf.keras 2.12+) and their folder form.

Only ``config.json`` and ``metadata.json`` are read here; assets are never
opened, and ``model.weights.h5`` only later, for its dataset shapes, when the
model has a layer cnnlint cannot count from its config (``readers/weights.py``).
The zip's central directory is checked before ``zipfile`` loads it, so a
hostile archive cannot make us allocate much.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers.base import (
    MAX_JSON_BYTES,
    RawModel,
    parse_json,
    read_capped,
    require_model_dict,
)
from cnnlint.readers.hdf5_audit import Audit
from cnnlint.readers.weights import WeightsFile

WEIGHTS_MEMBER = "model.weights.h5"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_ZIP_ENTRIES = 10_000
MAX_CENTRAL_DIRECTORY = 4 * 1024 * 1024
_EOCD = b"PK\x05\x06"
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
)


def sniff(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def read(path: Path) -> RawModel:
    where = str(path)
    check_central_directory(path, where)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ModelError(
                    "zip archive has no config.json, so it is not a .keras model",
                    where=where,
                    hint="save the model with model.save('model.keras')",
                )
            config = _read_member_json(archive, "config.json", where)
            weights = WeightsFile(where, "keras3", WEIGHTS_MEMBER) if WEIGHTS_MEMBER in names else None
            metadata = (
                _read_member_json(archive, "metadata.json", where)
                if "metadata.json" in names
                else {}
            )
    except ModelError:
        raise
    except ZIP_ERRORS as exc:
        raise ModelError(
            f"truncated or corrupt .keras archive ({type(exc).__name__}: {exc})",
            where=where,
            hint="re-save or re-download the model",
        ) from None
    audit = audit_weights(where, WEIGHTS_MEMBER) if weights is not None else Audit()
    return _raw_model(config, metadata, where, "keras", weights, audit)


def read_folder(path: Path) -> RawModel:
    """An unzipped ``.keras`` archive: a folder holding ``config.json``."""
    where = str(path)
    config = _read_file_json(path / "config.json", where)
    metadata_path = path / "metadata.json"
    metadata = _read_file_json(metadata_path, where) if metadata_path.is_file() else {}
    weights_path = path / WEIGHTS_MEMBER
    weights = WeightsFile(str(weights_path), "keras3") if weights_path.is_file() else None
    audit = audit_weights(str(weights_path), None) if weights is not None else Audit()
    return _raw_model(config, metadata, where, "keras-folder", weights, audit)


def _raw_model(
    config: Any, metadata: Any, where: str, fmt: str, weights: WeightsFile | None, audit: Audit
) -> RawModel:
    config = require_model_dict(config, what="config.json", where=where)
    metadata = metadata if isinstance(metadata, dict) else {}
    compile_config = config.get("compile_config")
    version = metadata.get("keras_version")
    return RawModel(
        source=where,
        format=fmt,
        config=config,
        compile_config=compile_config if isinstance(compile_config, dict) else None,
        compile_style="keras3",
        keras_version=version if isinstance(version, str) else None,
        weights=_weights_after(weights, audit),
        external_links=audit.links,
        incomplete=(audit.incomplete,) if audit.incomplete else (),
    )


def audit_weights(path: str, member: str | None) -> Audit:
    """Audit a weights file: ``path`` itself, or the stored zip ``member`` inside it (read in place).

    The pure-Python walk first; a file it cannot vouch for is audited by h5py in a child process
    (``readers/hdf5_isolate.py``), and one HDF5 hangs or crashes on is reported like a malformed one.
    """
    from cnnlint.readers.hdf5_walk import fast_audit
    from cnnlint.readers.weights import open_weights

    shown = member or path
    try:
        with open_weights(WeightsFile(path, "keras3", member)) as stream:
            audit = fast_audit(stream, prefix=shown + ":")  # h5py-written files: no h5py/numpy import (~120 ms)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile) as exc:
        return Audit(incomplete=f"{shown} could not be read as HDF5 ({type(exc).__name__}: {exc})"[:300])
    if audit is not None:  # a malformed file too: HDF5 could loop or crash on it, h5py never opens it
        return audit
    from cnnlint.readers.hdf5_isolate import Isolated, run  # subprocess and threads: only for this case

    try:  # anything the fast path does not fully understand: HDF5 itself decides, in a child process
        found = run("audit", {"path": path, "member": member, "shown": shown}, shown)
        return Audit(tuple(str(line) for line in found["links"]), str(found["incomplete"]), isolated=True)
    except Isolated as exc:
        return Audit(incomplete=str(exc), malformed=True)
    except (KeyError, TypeError) as exc:
        return Audit(incomplete=f"{shown}: unexpected answer from the HDF5 child process ({exc})"[:300],
                     malformed=True)  # fmt: skip


def _weights_after(weights: WeightsFile | None, audit: Audit) -> WeightsFile | None:
    """h5py must not list a malformed weights file, and lists one the walk could not vouch for in a child process."""
    if weights is None or audit.malformed:
        return None
    return replace(weights, isolated=True) if audit.isolated else weights


def _read_member_json(archive: zipfile.ZipFile, name: str, where: str) -> Any:
    info = archive.getinfo(name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # zipfile caps the output of inflate only: one bzip2 or lzma chunk can expand to gigabytes
        raise ModelError(
            f"{name} is compressed with method {info.compress_type} (Keras writes stored or deflated members)",
            where=where,
            hint="refusing to decompress it; re-save the model with Keras",
        )
    if info.file_size > MAX_JSON_BYTES:
        raise ModelError(
            f"{name} claims {info.file_size} bytes, over the "
            f"{MAX_JSON_BYTES // (1024 * 1024)} MiB limit",
            where=where,
        )
    with archive.open(info) as stream:
        data = read_capped(stream, MAX_JSON_BYTES, what=name, where=where)
    return parse_json(data, what=name, where=where)


def _read_file_json(path: Path, where: str) -> Any:
    try:
        with open(path, "rb") as stream:
            data = read_capped(stream, MAX_JSON_BYTES, what=path.name, where=where)
    except OSError as exc:
        raise ModelError(
            f"cannot read {path.name}: {exc.strerror or exc}", where=where
        ) from None
    return parse_json(data, what=path.name, where=where)


_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_RECORD = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL_DIRECTORY = b"PK\x01\x02"


@dataclass(frozen=True)
class Directory:
    """Where zipfile finds an archive's central directory, read exactly as ``zipfile`` reads it."""

    entries: int
    size: int
    start: int  # where the directory starts in the file (prepended data, such as an HDF5 file, counted)


def find_directory(path: Path, where: str) -> Directory:
    """The central directory zipfile (and so Keras) would read; ``ModelError`` when it finds none.

    The end record is located by zipfile's own ``_EndRecData`` (the record in the last 22 bytes if it is one,
    else the last signature in the final 64 KiB; a zip64 record only where its locator and record both are), so
    that bytes which spell a signature inside the record or a comment are read the way Keras reads them.
    """
    try:
        with open(path, "rb") as stream:
            record = _end_record(stream)
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror or exc}", where=where) from None
    except zipfile.BadZipFile as exc:
        raise ModelError(f"corrupt .keras archive ({exc})", where=where, hint="re-save or re-download the model") from None
    if record is None:
        raise ModelError("truncated or corrupt .keras archive (no end-of-archive record)", where=where,
                         hint="re-save or re-download the model")  # fmt: skip
    entries, size, offset, location, zip64 = record
    prepended = location - size - offset - (_ZIP64_RECORD.size + _ZIP64_LOCATOR.size if zip64 else 0)
    return Directory(entries, size, offset + prepended)


def _end_record(stream: Any) -> tuple[int, int, int, int, bool] | None:
    """(entries, directory size, directory offset, end record position, zip64) as zipfile reads them."""
    reader = getattr(zipfile, "_EndRecData", None)
    if reader is None:  # a Python without it: the same search, in this module
        return _own_end_record(stream)
    found = reader(stream)
    if not found:
        return None
    return (found[zipfile._ECD_ENTRIES_TOTAL], found[zipfile._ECD_SIZE], found[zipfile._ECD_OFFSET],
            found[zipfile._ECD_LOCATION], found[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64)  # fmt: skip


def _own_end_record(stream: Any) -> tuple[int, int, int, int, bool] | None:
    size = stream.seek(0, 2)
    start = max(0, size - (1 << 16) - 22)
    stream.seek(start)
    tail = stream.read()
    at = len(tail) - 22 if tail[-22:-18] == _EOCD and tail[-2:] == b"\0\0" else tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    entries, cd_size, cd_offset = struct.unpack_from("<10xHII", tail, at)
    zip64 = False
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= _ZIP64_RECORD.size and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        record = _ZIP64_RECORD.unpack_from(tail, locator_at - _ZIP64_RECORD.size)
        if record[0] == b"PK\x06\x06":
            entries, cd_size, cd_offset, zip64 = record[7], record[8], record[9], True
    return entries, cd_size, cd_offset, start + at, zip64


def check_central_directory(path: Path, where: str) -> Directory:
    """Refuse archives whose directory is absurdly large before zipfile reads it."""
    directory = find_directory(path, where)
    if directory.entries > MAX_ZIP_ENTRIES or directory.size > MAX_CENTRAL_DIRECTORY:
        raise ModelError(
            f"archive lists {directory.entries} entries ({directory.size} bytes of directory); "
            "a .keras model has a handful",
            where=where,
            hint="refusing to open it",
        )
    return directory


def has_directory(path: Path, directory: Directory) -> bool:
    """Whether a central directory starts where the end record says: zipfile would read this archive."""
    try:
        with open(path, "rb") as stream:
            stream.seek(directory.start)
            return directory.start >= 0 and stream.read(4) == _CENTRAL_DIRECTORY
    except (OSError, ValueError, OverflowError):
        return False
