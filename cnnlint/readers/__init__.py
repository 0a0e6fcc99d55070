"""Readers: one module per file format, each returning the same ``RawModel``.

``read_model(path)`` finds every format the file is valid as (a zip is found
from its end, as ``zipfile.is_zipfile`` and Keras do; an HDF5 signature at 0 or
after a userblock of 512, 1024, ... bytes, as HDF5 does), reads the file the way
Keras would for its name, and reads every other view too: a polyglot (an HDF5
file with a zip in its userblock or appended) is scanned as both, and flagged.
Adding a format means adding a module and one line to ``FILE_FORMATS``, which
also tells folder discovery which file names to pick up.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers import h5, json_file, keras_zip, savedmodel
from cnnlint.readers.base import SNIFF_BYTES, RawModel, is_lfs_pointer, lfs_error, require_model_dict
from cnnlint.readers.budget import per_file

__all__ = ["RawModel", "read_model", "raw_from_dict", "is_model_file", "is_model_folder", "MODEL_SUFFIXES"]


@dataclass(frozen=True)
class FileFormat:
    """One model file format the readers know: how to recognise it, how to read it, and the file names a folder walk
    picks up."""

    sniff: Callable[[bytes], bool]  # does the file's head look like this format?
    read: Callable[[Path], RawModel]
    suffixes: tuple[str, ...]  # the names a folder walk picks up
    #: for a suffix other files share (.json): does a walked file look like a model? (None: every file)
    claims: Callable[[Path], bool] | None = None
    name: str = ""  # RawModel.format of what it reads; names the views of a polyglot file


#: Tried in order on a file's first bytes.
FILE_FORMATS = (
    FileFormat(keras_zip.sniff, keras_zip.read, (".keras",), name="keras"),
    FileFormat(h5.sniff, h5.read, (".h5", ".hdf5"), name="h5"),
    FileFormat(json_file.sniff, json_file.read, (".json",), claims=json_file.looks_like_model, name="json"),
)

#: File name endings that folder discovery treats as model files.
MODEL_SUFFIXES = tuple(suffix for fmt in FILE_FORMATS for suffix in fmt.suffixes)


def read_model(path: str | Path) -> RawModel:
    """Read a model file or folder into an untrusted ``RawModel``, every view on one budget (``readers/budget.py``)."""
    with per_file():
        return _read_model(Path(path))


def _read_model(path: Path) -> RawModel:
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
    readers = {fmt.name: fmt.read for fmt in FILE_FORMATS}
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
    """Whether Keras would open the file as a zip: zipfile finds an end record, and the directory it points at
    lists members.  Four bytes of weight data that happen to spell an end-of-archive signature do not make a legacy
    .h5 a polyglot.  A directory over the reader's caps that zipfile would still read is a view: reading it is
    refused (S408), never skipped."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        directory = keras_zip.find_directory(path, str(path))
        if directory.entries > keras_zip.MAX_ZIP_ENTRIES or directory.size > keras_zip.MAX_CENTRAL_DIRECTORY:
            return directory.entries > 0 and keras_zip.has_directory(path, directory)
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (ModelError, *keras_zip.ZIP_ERRORS):
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


def is_model_file(path: Path) -> bool:
    """Whether a folder walk lints this file: a model suffix, and for a shared one (.json) a model's content."""
    fmt = next((f for f in FILE_FORMATS if path.suffix.lower() in f.suffixes), None)
    if fmt is None or fmt.claims is None:
        return fmt is not None
    return fmt.claims(path)


#: the files an unzipped .keras folder is made of, read with the folder (Keras 3 loads any folder with a config.json)
KERAS_FOLDER_PARTS = frozenset({"config.json", "metadata.json", keras_zip.WEIGHTS_MEMBER})


def folder_formats(path: Path) -> tuple[str, ...]:
    """The model formats a folder is: a SavedModel (what tf.keras loads), an unzipped .keras folder (what Keras 3
    loads: a config.json describing a model), or both."""
    found = []
    if savedmodel.is_savedmodel_dir(path):
        found.append("savedmodel")
    config = path / "config.json"
    if config.is_file() and json_file.looks_like_model(config):
        found.append("keras-folder")
    return tuple(found)


def is_model_folder(path: Path) -> bool:
    """A folder a model is saved as (``folder_formats``)."""
    return bool(folder_formats(path))


def model_folder_parts(path: Path) -> frozenset[str]:
    """The files of a model folder that are read with it, and so not linted again on their own."""
    return KERAS_FOLDER_PARTS if "keras-folder" in folder_formats(path) else frozenset()


_FOLDER_READERS: dict[str, Callable[[Path], RawModel]] = {"savedmodel": savedmodel.read,
                                                          "keras-folder": keras_zip.read_folder}  # fmt: skip


def _read_folder(path: Path) -> RawModel:
    """A model folder as every format it is; the first that reads is the model, the others ride along as views
    (S407), and one that does not read is a view not scanned (S408)."""
    formats = folder_formats(path) or (("keras-folder",) if (path / "config.json").is_file() else ())
    if not formats:
        raise ModelError(
            "folder is not a model (no saved_model.pb, keras_metadata.pb or config.json)",
            where=str(path),
            hint="pass a model file, or a folder to search with the lint command",
        )
    read: list[RawModel] = []
    problems: list[tuple[str, ModelError]] = []
    for name in formats:
        try:
            read.append(_FOLDER_READERS[name](path))
        except ModelError as exc:
            problems.append((name, exc))
    if not read:
        raise problems[0][1]
    if len(formats) == 1:
        return read[0]
    first, lost = read[0], tuple(f"{name} view: {exc.message}" for name, exc in problems)
    order = (*(raw.format for raw in read), *(name for name, _ in problems))  # the model's own format first
    return replace(first, formats=order, views=tuple(read[1:]), incomplete=first.incomplete + lost)
