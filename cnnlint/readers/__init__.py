"""Readers: one module per file format, each returning the same ``RawModel``.

``read_model(path)`` finds every format the file is valid as (a zip is found
from its end, as ``zipfile.is_zipfile`` and Keras do; an HDF5 signature at 0 or
after a userblock of 512, 1024, ... bytes, as HDF5 does), reads the file the way
Keras would for its name, and reads every other view too: a polyglot (an HDF5
file with a zip in its userblock or appended) is scanned as both, and flagged.
Adding a format means adding a module and one line to ``FILE_READERS``.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers import h5, json_file, keras_zip, savedmodel
from cnnlint.readers.base import SNIFF_BYTES, RawModel, is_lfs_pointer, lfs_error, require_model_dict

__all__ = ["RawModel", "read_model", "raw_from_dict", "MODEL_SUFFIXES"]

#: (format name, sniff(head) -> bool, read(path) -> RawModel), tried in order.
FILE_READERS: list[tuple[str, Callable[[bytes], bool], Callable[[Path], RawModel]]] = [
    ("keras", keras_zip.sniff, keras_zip.read),
    ("h5", h5.sniff, h5.read),
    ("json", json_file.sniff, json_file.read),
]

#: File name endings that folder discovery treats as model files.
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json")


def read_model(path: str | Path) -> RawModel:
    """Read a model file or folder into an untrusted ``RawModel``."""
    path = Path(path)
    where = str(path)
    try:
        if path.is_dir():
            return _read_folder(path)
        if not stat.S_ISREG(os.stat(path).st_mode):  # opening a FIFO for reading would block forever
            raise ModelError("not a regular file (a FIFO, device or socket)", where=where,
                             hint="pass the model file itself")  # fmt: skip
        with open(path, "rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise ModelError("no such file or folder", where=where) from None
    except PermissionError:
        raise ModelError("permission denied", where=where, hint="check the file's permissions") from None
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror or exc}", where=where) from None
    if not head:
        raise ModelError("file is empty", where=where, hint="re-save or re-download the model")
    if is_lfs_pointer(head):
        raise lfs_error(where)
    formats = _formats(path, head)
    if not formats:
        raise ModelError(
            "not a Keras model file (expected a .keras zip, an HDF5 file or model JSON)",
            where=where,
        )
    readers = {name: reader for name, _sniff, reader in FILE_READERS}
    raw = readers[formats[0]](path)
    if len(formats) == 1:
        return raw
    views, problems = [], []
    for other in formats[1:]:
        try:
            views.append(readers[other](path))
        except ModelError as exc:
            problems.append(f"{other} view: {exc.message}")
    return replace(raw, formats=formats, views=tuple(views), incomplete=raw.incomplete + tuple(problems))


def _formats(path: Path, head: bytes) -> tuple[str, ...]:
    """Every container format the file is valid as, the one Keras's ``load_model`` picks for the name first.

    Keras 3 and tf.keras take a ``.keras`` name as a zip when ``zipfile.is_zipfile`` says so (it looks at the
    end of the file), an ``.h5``/``.hdf5`` name as HDF5; older tf.keras tries ``h5py.is_hdf5`` first.
    """
    found = []
    if h5.sniff(head) or h5.signature_offset(path) is not None:
        found.append("h5")
    if keras_zip.sniff(head) or _is_zip(path):
        found.append("keras")
    if not found and json_file.sniff(head):
        found.append("json")
    if path.name.lower().endswith(".keras"):
        found.sort(key=lambda name: name != "keras")
    return tuple(found)


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def raw_from_dict(config: Any, *, source: str = "<config>", compile_config: Any = None) -> RawModel:
    """Wrap an in-memory model config (``model.get_config()`` style) as a RawModel."""
    config = require_model_dict(config, what="model config", where=source)
    if compile_config is None:
        compile_config = config.get("compile_config")
    return RawModel(
        source=source,
        format="dict",
        config=config,
        compile_config=compile_config if isinstance(compile_config, dict) else None,
    )


def _read_folder(path: Path) -> RawModel:
    if savedmodel.is_savedmodel_dir(path):
        return savedmodel.read(path)
    if (path / "config.json").is_file():
        return keras_zip.read_folder(path)
    raise ModelError(
        "folder is not a model (no saved_model.pb, keras_metadata.pb or config.json)",
        where=str(path),
        hint="pass a model file, or a folder to search with the lint command",
    )
