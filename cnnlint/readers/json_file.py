"""Architecture JSON written by ``model.to_json()`` (Keras 2 and Keras 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlint.errors import ModelError
from cnnlint.readers.base import MAX_JSON_BYTES, RawModel, parse_json, read_capped, require_model_dict


def sniff(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


MARKERS = (b'"class_name"', b'"config"')
CHUNK = 1 << 20


def names_model_keys(path: Path) -> bool:
    """Whether both keys a model's JSON starts with appear somewhere in its first ``MAX_JSON_BYTES`` (the most
    cnnlint reads), wherever they are, read in chunks.  An unreadable file counts as naming them."""
    missing = set(MARKERS)
    carry = b""
    try:
        with open(path, "rb") as stream:
            for _ in range(MAX_JSON_BYTES // CHUNK + 1):
                chunk = stream.read(CHUNK)
                if not chunk:
                    return False
                window = carry + chunk
                missing = {marker for marker in missing if marker not in window}
                if not missing:
                    return True
                carry = window[-16:]
    except OSError:
        return True
    return False


#: what a folder walk makes of a .json file: a model, JSON naming a model's keys that is no model, or other JSON
MODEL, NOT_A_MODEL, OTHER = "model", "not a model", "other"


def judge(path: Path) -> str:
    """Tells a model's JSON from the other JSON files in a folder (configs, metrics, label maps, a keras-tuner
    trial.json, an optimizer's config): ``MODEL`` when its top level is what ``read`` accepts as a model,
    ``NOT_A_MODEL`` when it names both keys but is not, ``OTHER`` when it does not name them.  Only a file naming
    both keys is parsed, with the reader's own caps.  A file that cannot be judged (unreadable, over the size or
    container caps, nested too deeply, malformed) but names both keys counts as a model, so that the reader
    reports why it cannot be read: a model padded past a cap is refused, never skipped."""
    if not names_model_keys(path):
        return OTHER
    where = str(path)
    try:
        with open(path, "rb") as stream:
            data = read_capped(stream, MAX_JSON_BYTES, what="model JSON", where=where)
        obj = parse_json(data, what="model JSON", where=where)
    except (OSError, ModelError):
        return MODEL
    return MODEL if _is_model_dict(obj, where) else NOT_A_MODEL


def looks_like_model(path: Path) -> bool:
    """Whether a folder walk lints this .json (see ``judge``)."""
    return judge(path) == MODEL


def _is_model_dict(obj: Any, where: str) -> bool:
    try:
        require_model_dict(obj, what="model JSON", where=where)
    except ModelError:
        return False
    return True


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
