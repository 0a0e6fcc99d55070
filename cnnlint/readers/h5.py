"""Legacy HDF5 full-model files (``.h5``/``.hdf5``) from tf.keras 2 and Keras 3.

Only the root attributes ``model_config``, ``training_config`` and
``keras_version`` are read here.  No dataset is opened and no link is followed;
the ``model_weights`` group is listed later, for dataset shapes only, when the
model has a layer cnnlint cannot count from its config (``readers/weights.py``).

Before h5py opens the file, ``readers/hdf5_walk.py`` walks its structure in pure
Python.  A structure it proves broken (a B-tree or heap free list that cycles,
...: HDF5 can loop forever or crash on those) is never handed to h5py: the root
attributes are read in pure Python too, the file is reported as not scanned
(S408) and its weights are not listed.  A file the walk fully reads takes its
audit from it; anything else is read and audited by h5py in a child process with
a time and memory cap (``readers/hdf5_isolate.py``), and a file HDF5 hangs or
crashes on is reported like a malformed one.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers.base import MAX_JSON_BYTES, RawModel, parse_json, require_model_dict
from cnnlint.readers.hdf5_audit import Audit, audit_file
from cnnlint.readers.hdf5_header import vlen_total_length
from cnnlint.readers.weights import WeightsFile

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ROOT_ATTRIBUTES = ("model_config", "training_config", "keras_version")


def sniff(head: bytes) -> bool:
    return head.startswith(HDF5_MAGIC)


def signature_offset(path: Path) -> int | None:
    """Where the HDF5 signature is: at 0 or after a userblock (512, 1024, 2048, ... bytes), as HDF5 searches."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            offset = 0
            while offset + len(HDF5_MAGIC) <= size:
                stream.seek(offset)
                if stream.read(len(HDF5_MAGIC)) == HDF5_MAGIC:
                    return offset
                offset = 512 if offset == 0 else offset * 2
    except OSError:
        return None
    return None


def read(path: Path) -> RawModel:
    where = str(path)
    attrs, audit = _root_attributes(path, where)
    if "model_config" not in attrs:
        raise ModelError(
            "HDF5 file has no 'model_config': it holds weights only, not a model",
            where=where,
            hint="save the whole model (model.save('model.h5')), not save_weights()",
        )
    config = require_model_dict(
        parse_json(attrs["model_config"], what="model_config", where=where),
        what="model_config",
        where=where,
    )
    training = None
    if "training_config" in attrs:
        training = parse_json(attrs["training_config"], what="training_config", where=where)
    version = attrs.get("keras_version")
    return RawModel(
        source=where,
        format="h5",
        config=config,
        compile_config=training if isinstance(training, dict) else None,
        compile_style="keras2",
        keras_version=version if isinstance(version, str) else None,
        external_links=audit.links,
        incomplete=(_incomplete(audit),) if audit.incomplete else (),
        weights=None if audit.malformed else WeightsFile(where, "legacy", isolated=audit.isolated),
    )


def _incomplete(audit: Audit) -> str:
    return audit.incomplete if audit.malformed else f"HDF5 objects: {audit.incomplete}"


def _precheck(path: Path) -> Audit | None:
    """The pure-Python walk's audit (a malformed one included), or ``None`` when h5py must decide."""
    from cnnlint.readers.hdf5_walk import fast_audit

    try:
        with open(path, "rb") as stream:
            return fast_audit(stream)
    except OSError:
        return None


def _root_attributes(path: Path, where: str) -> tuple[dict[str, Any], Audit]:
    precheck = _precheck(path)
    if precheck is not None and precheck.malformed:
        return _attributes_without_h5py(path, where, precheck), precheck
    if precheck is not None:  # the walk vouched for the file: its attributes are read in pure Python too
        try:
            return _attributes_without_h5py(path, where, precheck, strict=True), precheck
        except _NotPlain:  # attributes it does not parse: h5py reads them, in a child process like everything else
            pass
    from cnnlint.readers.hdf5_isolate import Isolated, run

    try:  # the walk could not vouch for the file (or its attributes): h5py reads it in a child process
        found = run("root", {"path": str(path), "where": where, "audit": precheck is None}, where)
        if precheck is not None:
            found = {**found, "links": list(precheck.links), "incomplete": precheck.incomplete}
        if "error" in found:
            raise ModelError(str(found["error"]), where=where, hint=str(found.get("hint") or ""))
        attrs = {str(name): str(value) for name, value in found["attrs"].items()}
        return attrs, Audit(tuple(str(line) for line in found["links"]), str(found["incomplete"]), isolated=True)
    except Isolated as exc:  # HDF5 hung or crashed on it: reported like a malformed file
        audit, partial = Audit(incomplete=str(exc), malformed=True), exc.partial
    except (KeyError, TypeError, AttributeError) as exc:
        audit, partial = Audit(incomplete=f"{where}: unexpected answer from the HDF5 child process ({exc})"[:300],
                               malformed=True), None  # fmt: skip
    if isinstance(partial, dict) and isinstance(partial.get("attrs"), dict):  # read before HDF5 hung on the rest
        if "error" in partial:
            raise ModelError(str(partial["error"]), where=where, hint=str(partial.get("hint") or ""))
        return {str(name): str(value) for name, value in partial["attrs"].items()}, audit
    try:
        return _attributes_without_h5py(path, where, audit), audit
    except ModelError as exc:  # a root the pure-Python reader does not parse, and no answer from h5py
        raise ModelError(f"cannot read HDF5 file: {audit.incomplete}", where=where,
                         hint="the file is corrupt or crafted; do not load it with Keras") from exc


def h5py_root_attributes(path: Path, where: str, precheck: Audit | None = None, audit: bool = True,
                         emit: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], Audit]:  # fmt: skip
    """The root attributes and the audit through h5py, in this process (the child's, for a file the walk did
    not vouch for, where ``precheck`` is ``None``; ``emit`` hands the attributes on before the audit starts, so
    that a file HDF5 hangs on in the audit is still read).  Keras writes each attribute as one string: an array
    of them is refused before it is read (64 elements pointing at one 4 MiB heap object cost 256 MiB)."""
    import h5py  # imported here: only .h5 files need it

    found: dict[str, Any] = {}
    try:
        with h5py.File(path, "r") as handle, open(path, "rb") as raw:
            base = handle.id.get_create_plist().get_userblock()
            header = h5py.h5o.get_info(handle.id).addr
            for name in ROOT_ATTRIBUTES:
                if name not in handle.attrs:
                    continue
                attr_id = handle.attrs.get_id(name)
                _check_one_element(attr_id.shape, name, where)
                if attr_id.get_type().get_class() == 3 and attr_id.get_type().is_variable_str():
                    _check_vlen_size(vlen_total_length(raw, base, header, name), name, path, where)
                found[name] = _attribute_text(attr_id, name, where)
            if emit is not None:
                emit({"attrs": found})
            checked = precheck if precheck is not None else audit_file(handle) if audit else Audit()
    except ModelError:
        raise
    except Exception as exc:  # h5py raises many types for corrupt files
        raise ModelError(
            f"cannot read HDF5 file ({type(exc).__name__}: {exc})",
            where=where,
            hint="the file is truncated or corrupt; re-save the model",
        ) from None
    return found, checked


def _check_one_element(shape: tuple[int, ...] | None, name: str, where: str) -> None:
    elements = 1
    for size in shape or ():
        elements *= size
    if elements != 1:
        raise ModelError(f"attribute {name} holds {elements} values; Keras writes one string and cannot load this",
                         where=where, hint="refusing to read it; this is not a Keras model file")  # fmt: skip


class _NotPlain(Exception):
    """The root's attributes are not plain strings the pure-Python reader reads: h5py reads them."""


def _attributes_without_h5py(path: Path, where: str, audit: Audit, strict: bool = False) -> dict[str, Any]:
    """The root attributes read in pure Python: for a malformed file (h5py could loop forever or crash on it), and
    for one the walk vouched for (no h5py import, and memory bounded by what the attribute itself stores).  With
    ``strict``, anything the pure-Python reader does not parse raises ``_NotPlain`` instead of an error."""
    from cnnlint.readers.hdf5_walk import Malformed, NotOneString, TooLarge, Unsupported, root_strings

    try:
        with open(path, "rb") as stream:
            raw = root_strings(stream, ROOT_ATTRIBUTES, MAX_JSON_BYTES)
    except TooLarge as exc:
        raise ModelError(f"{exc}, over the {MAX_JSON_BYTES // (1024 * 1024)} MiB limit", where=where,
                         hint="refusing to read it; this is not a normal Keras architecture") from None  # fmt: skip
    except NotOneString as exc:
        raise ModelError(f"{exc}; Keras writes one string and cannot load this", where=where,
                         hint="refusing to read it; this is not a Keras model file") from None  # fmt: skip
    except (Unsupported, Malformed, struct.error, ValueError, IndexError, OSError, OverflowError) as exc:
        if strict and not isinstance(exc, Malformed):
            raise _NotPlain from None
        raise ModelError(f"cannot read HDF5 file: {audit.incomplete}", where=where,
                         hint="the file is corrupt or crafted; do not load it with Keras") from None  # fmt: skip
    found: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            found[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"attribute {name} is not UTF-8 text", where=where) from None
    return found


def _check_vlen_size(length: int | None, name: str, path: Path, where: str) -> None:
    """Refuse a variable-length string over the JSON cap before reading it (its storage size says 16 bytes)."""
    if length is None and os.path.getsize(path) > MAX_JSON_BYTES:
        raise ModelError(f"attribute {name}: its size cannot be checked before reading it", where=where,
                         hint="re-save the model with Keras")  # fmt: skip
    if length is not None and length > MAX_JSON_BYTES:
        raise ModelError(f"attribute {name} is {length:,} bytes, over the {MAX_JSON_BYTES // (1024 * 1024)} MiB limit",
                         where=where, hint="refusing to read it; this is not a normal Keras architecture")  # fmt: skip


def _attribute_text(attr_id: Any, name: str, where: str) -> str:
    """Read a string attribute after checking its size, so a huge one is refused."""
    import numpy as np

    size = attr_id.get_storage_size()
    if size > MAX_JSON_BYTES:
        raise ModelError(f"attribute {name} is {size} bytes, over the limit", where=where)
    kind = attr_id.get_type()
    if kind.get_class() != 3:  # H5T_STRING
        raise ModelError(f"attribute {name} is not a string", where=where)
    if kind.is_variable_str():
        import h5py

        out = np.empty(attr_id.shape or (), dtype=h5py.string_dtype())
    else:
        out = np.empty(attr_id.shape or (), dtype=f"S{kind.get_size()}")
    attr_id.read(out)
    value = out.item() if out.shape == () else out.ravel()[0]
    if len(value) > MAX_JSON_BYTES:
        raise ModelError(f"attribute {name} is {len(value)} bytes, over the "
                         f"{MAX_JSON_BYTES // (1024 * 1024)} MiB limit", where=where)  # fmt: skip
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"attribute {name} is not UTF-8 text", where=where) from None
    return str(value)
