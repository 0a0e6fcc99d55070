"""tf.keras SavedModel folders: the architecture inside ``keras_metadata.pb``.

``keras_metadata.pb`` is a ``SavedMetadata`` protobuf: repeated ``nodes``
(field 1), each with ``node_path`` (3), ``identifier`` (4) and a JSON
``metadata`` string (5).  The model node (node 0, which tf.keras loads as the
model; normally the one at path ``root``) holds ``model_config`` and
``training_config``.  tf.keras rebuilds every layer from its *own* node's
metadata, so every node's metadata is parsed and handed to the safety scan
(``RawModel.extra_configs``).  All metadata together is capped at
``MAX_JSON_BYTES``.  The wire format is decoded by hand, so neither TensorFlow
nor protobuf is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers.base import MAX_JSON_BYTES, RawModel, parse_json, read_capped, require_model_dict

#: the .pb holds nothing but the nodes' metadata JSON (and short paths), so the JSON cap bounds it too
MAX_METADATA_BYTES = MAX_JSON_BYTES + 1024 * 1024


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
    nodes = _node_metadata(data, where)
    if not nodes:
        raise ModelError("keras_metadata.pb has no model entry", where=where)
    if sum(len(text) for _, text in nodes) > MAX_JSON_BYTES:
        raise ModelError(f"keras_metadata.pb holds more than {MAX_JSON_BYTES // (1024 * 1024)} MiB of metadata",
                         where=where, hint="refusing to parse it; this is not a normal Keras model")  # fmt: skip
    parsed = [_parse_node(text, path, where) for path, text in nodes]
    meta = parsed[0]  # node 0 is what tf.keras loads as the model
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
        # node 0's other keys (its own class_name and config) are scanned too; its model_config is the graph
        extra_configs=({k: v for k, v in meta.items() if k not in ("model_config", "training_config")}, *parsed[1:]),
    )


def _parse_node(text: bytes, path: bytes, where: str) -> Any:
    what = f"keras_metadata.pb metadata of node '{path.decode('utf-8', 'replace')[:80]}'"
    try:
        return _decode_tuples(parse_json(text, what=what, where=where))
    except RecursionError:
        raise ModelError(f"{what} is nested too deeply", where=where) from None


def _decode_tuples(value: Any) -> Any:
    """tf.keras's SavedModel JSON writes tuples as ``{"class_name": "__tuple__", "items": [...]}``."""
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
            return [_decode_tuples(v) for v in value["items"]]
        return {k: _decode_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_tuples(v) for v in value]
    return value


def _node_metadata(data: bytes, where: str) -> list[tuple[bytes, bytes]]:
    """(node path, metadata JSON) of every node that has metadata, in file order."""
    found = []
    try:
        for number, value in _fields(data):
            if number != 1 or not isinstance(value, bytes):
                continue
            node = {n: v for n, v in _fields(value)}
            path, meta = node.get(3, b""), node.get(5)
            if isinstance(meta, bytes) and meta.strip():
                found.append((path if isinstance(path, bytes) else b"?", meta))
    except (IndexError, ValueError):
        raise ModelError(
            "keras_metadata.pb is corrupt (bad protobuf encoding)",
            where=where,
            hint="re-save the model",
        ) from None
    return found


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
