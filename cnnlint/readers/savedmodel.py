"""tf.keras SavedModel folders: the architecture inside ``keras_metadata.pb``.

``keras_metadata.pb`` is a ``SavedMetadata`` protobuf: repeated ``nodes``
(field 1), each with ``node_path`` (3), ``identifier`` (4) and a JSON
``metadata`` string (5).  The node at path ``root`` holds ``model_config`` and
``training_config``.  The wire format is decoded by hand, so neither
TensorFlow nor protobuf is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers.base import RawModel, parse_json, read_capped, require_model_dict

MAX_METADATA_BYTES = 64 * 1024 * 1024


#: The files that make a folder a SavedModel (pre-commit passes them one by one; discovery lints their folder).
SAVEDMODEL_FILES = ("keras_metadata.pb", "saved_model.pb")


def is_savedmodel_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in SAVEDMODEL_FILES)


def read(path: Path) -> RawModel:
    where = str(path)
    meta_path = path / "keras_metadata.pb"
    if not meta_path.is_file():
        raise ModelError(
            "SavedModel has no keras_metadata.pb, so it carries no Keras architecture "
            "(Keras 3 model.export() and tf.saved_model.save() write none)",
            where=where,
            hint="lint the .keras file the model was exported from",
        )
    try:
        with open(meta_path, "rb") as stream:
            data = read_capped(stream, MAX_METADATA_BYTES, what="keras_metadata.pb", where=where)
    except OSError as exc:
        raise ModelError(f"cannot read keras_metadata.pb: {exc.strerror or exc}", where=where) from None
    root = _root_metadata(data, where)
    meta = parse_json(root, what="keras_metadata.pb root metadata", where=where)
    try:
        meta = _decode_tuples(meta)
    except RecursionError:
        raise ModelError("keras_metadata.pb is nested too deeply", where=where) from None
    if not isinstance(meta, dict):
        raise ModelError("keras_metadata.pb root metadata is not an object", where=where)
    model_config = meta.get("model_config")
    if model_config is None and "class_name" in meta:
        model_config = {"class_name": meta["class_name"], "config": meta.get("config")}
    config = require_model_dict(model_config, what="keras_metadata.pb model_config", where=where)
    training = meta.get("training_config")
    version = meta.get("keras_version")
    return RawModel(
        source=where,
        format="savedmodel",
        config=config,
        compile_config=training if isinstance(training, dict) else None,
        compile_style="keras2",
        keras_version=version if isinstance(version, str) else None,
    )


def _decode_tuples(value: Any) -> Any:
    """tf.keras's SavedModel JSON writes tuples as ``{"class_name": "__tuple__", "items": [...]}``."""
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
            return [_decode_tuples(v) for v in value["items"]]
        return {k: _decode_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_tuples(v) for v in value]
    return value


def _root_metadata(data: bytes, where: str) -> bytes:
    try:
        for number, value in _fields(data):
            if number != 1 or not isinstance(value, bytes):
                continue
            node = {n: v for n, v in _fields(value)}
            if node.get(3) == b"root" and isinstance(node.get(5), bytes):
                return node[5]
    except (IndexError, ValueError):
        raise ModelError(
            "keras_metadata.pb is corrupt (bad protobuf encoding)",
            where=where,
            hint="re-save the model",
        ) from None
    raise ModelError("keras_metadata.pb has no root model entry", where=where)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, at
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value) for one protobuf message."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = _varint(data, at)
            yield number, value
        elif wire_type == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise ValueError("field runs past the end")
            yield number, data[at : at + length]
            at += length
        elif wire_type == 1:
            at += 8
        elif wire_type == 5:
            at += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
