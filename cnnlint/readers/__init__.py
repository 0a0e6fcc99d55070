"""Readers: one module per file format, each returning the same ``RawModel``.

``read_model(path)`` decides the format from the file's first bytes (not
its name, which a pull request can choose freely) and hands it to that
format's reader.  Adding a format means adding a module and one line to
``FILE_READERS``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    for _name, sniff, reader in FILE_READERS:
        if sniff(head):
            return reader(path)
    raise ModelError(
        "not a Keras model file (expected a .keras zip, an HDF5 file or model JSON)",
        where=where,
    )


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
