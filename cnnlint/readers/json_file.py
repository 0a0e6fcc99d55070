"""Architecture JSON written by ``model.to_json()`` (Keras 2 and Keras 3)."""

from __future__ import annotations

from pathlib import Path

from cnnlint.errors import ModelError
from cnnlint.readers.base import MAX_JSON_BYTES, RawModel, parse_json, read_capped, require_model_dict


def sniff(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def looks_like_model(head: bytes) -> bool:
    """Tells a model's JSON from the other JSON files in a folder (configs, metrics, label maps)."""
    return b'"class_name"' in head and b'"config"' in head


def read(path: Path) -> RawModel:
    where = str(path)
    try:
        with open(path, "rb") as stream:
            data = read_capped(stream, MAX_JSON_BYTES, what="model JSON", where=where)
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror or exc}", where=where) from None
    obj = parse_json(data, what="model JSON", where=where)
    config = require_model_dict(obj, what="model JSON", where=where)
    compile_config = config.get("compile_config")
    version = config.get("keras_version")
    return RawModel(
        source=where,
        format="json",
        config=config,
        compile_config=compile_config if isinstance(compile_config, dict) else None,
        compile_style="keras3",
        keras_version=version if isinstance(version, str) else None,
    )
