"""Readers: one module per file format, each returning the same ``RawModel``.

``read_model(path)`` decides the format from the file's first bytes (not
its name, which a pull request can choose freely) and hands it to that
format's reader.  Adding a format means adding a module and one line to
``FILE_FORMATS``, which also tells folder discovery which file names to pick up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers import h5, json_file, keras_zip, savedmodel
from cnnlint.readers.base import SNIFF_BYTES, RawModel, is_lfs_pointer, lfs_error, require_model_dict

__all__ = ["RawModel", "read_model", "raw_from_dict", "is_model_file", "is_model_folder", "MODEL_SUFFIXES"]


@dataclass(frozen=True)
class FileFormat:
    sniff: Callable[[bytes], bool]  # does the file's head look like this format?
    read: Callable[[Path], RawModel]
    suffixes: tuple[str, ...]  # the names a folder walk picks up
    #: for a suffix other files share (.json): does a walked file's head look like a model? (None: every file)
    claims: Callable[[bytes], bool] | None = None


#: Tried in order on a file's first bytes.
FILE_FORMATS = (
    FileFormat(keras_zip.sniff, keras_zip.read, (".keras",)),
    FileFormat(h5.sniff, h5.read, (".h5", ".hdf5")),
    FileFormat(json_file.sniff, json_file.read, (".json",), claims=json_file.looks_like_model),
)

#: How much of a walked file ``FileFormat.claims`` sees (a model's class_name can follow a long module path).
CLAIM_BYTES = 4096
#: File name endings that folder discovery treats as model files.
MODEL_SUFFIXES = tuple(suffix for fmt in FILE_FORMATS for suffix in fmt.suffixes)


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
    for fmt in FILE_FORMATS:
        if fmt.sniff(head):
            return fmt.read(path)
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


def is_model_file(path: Path) -> bool:
    """Whether a folder walk lints this file: a model suffix, and for a shared one (.json) a model's head."""
    fmt = next((f for f in FILE_FORMATS if path.suffix.lower() in f.suffixes), None)
    if fmt is None or fmt.claims is None:
        return fmt is not None
    try:
        with open(path, "rb") as stream:
            head = stream.read(CLAIM_BYTES)
    except OSError:
        return True  # let the reader report why it cannot be read
    return fmt.claims(head)


def is_model_folder(path: Path) -> bool:
    """A folder a model is saved as: a SavedModel, or an unzipped .keras archive (config.json next to its
    metadata or weights).  A folder named on the command line is read with its config.json alone."""
    if savedmodel.is_savedmodel_dir(path):
        return True
    return (path / "config.json").is_file() and (
        (path / "metadata.json").is_file() or (path / "model.weights.h5").is_file()
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
