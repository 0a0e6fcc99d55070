"""What every reader returns, and the guarded primitives they share.

Model files come from pull requests, so every reader treats its input as
hostile: it reads only the architecture (never weight values), caps every read and
decompression, parses JSON without evaluating anything, and turns every
failure into a ``ModelError`` that names the file and says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from cnnlint.errors import ModelError
from cnnlint.readers.weights import WeightsFile

#: Largest architecture JSON accepted (decompressed).  The largest
#: ``keras.applications`` config is about 3 MiB; 16 MiB leaves room for real
#: models while keeping parse memory well under the 200 MiB budget.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Largest number of JSON objects and arrays accepted.  The largest ``keras.applications`` config (NASNetLarge)
#: has 20k, a 10,000-layer model (the builder's cap) about 200k; each costs ~120 bytes parsed and a few µs to
#: scan, so 16 MiB of ``[{},{},...]`` would take 800 MiB.  Counted on the bytes before parsing (brackets inside
#: strings count too, erring on the safe side).
MAX_JSON_CONTAINERS = 250_000
#: Bytes read from the start of a file to decide its format.
SNIFF_BYTES = 512

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


#: A live model's weights: layer path -> ((weight name, shape, trainable), ...)
LiveWeights = Mapping[str, tuple[tuple[str, tuple[int, ...], bool], ...]]


@dataclass(frozen=True)
class RawModel:
    """An untrusted model description, as a reader found it.

    ``config`` is the serialized model: ``{"class_name": ..., "config": ...}``.
    ``compile_config`` is Keras 3's ``compile_config`` or Keras 2's
    ``training_config``; ``compile_style`` says which.
    """

    source: str
    format: str
    config: dict[str, Any]
    compile_config: dict[str, Any] | None = None
    compile_style: str = "keras3"
    keras_version: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: HDF5 links and datasets that reach outside the file or alias inside it (external and soft links,
    #: external storage, virtual datasets), one line each, found without following them (readers/hdf5_audit.py)
    external_links: tuple[str, ...] = field(default_factory=tuple)
    #: more raw JSON the file carries that Keras deserializes (SavedModel node metadata): scanned, not modelled
    extra_configs: tuple[Any, ...] = field(default_factory=tuple)
    #: the file's other readable formats (a polyglot: e.g. HDF5 with a zip in its userblock); see read_model
    views: tuple[RawModel, ...] = field(default_factory=tuple)
    #: every format the file is valid as, the one Keras would pick for its name first
    formats: tuple[str, ...] = field(default_factory=tuple)
    #: parts of the file the safety scan could not read to the end, and why
    incomplete: tuple[str, ...] = field(default_factory=tuple)
    #: where the weights are, for counting layers the config cannot tell (read lazily, shapes only)
    weights: WeightsFile | None = None
    #: a live model's weights per layer path: (name, shape, trainable) each (``cnnlint.check(model)``)
    live_weights: LiveWeights | None = None


def read_capped(stream: IO[bytes], cap: int, *, what: str, where: str) -> bytes:
    """Read at most ``cap`` bytes, refusing anything larger."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ModelError(
            f"{what} is larger than {cap // (1024 * 1024)} MiB",
            where=where,
            hint="refusing to decompress it; this is not a normal Keras architecture",
        )
    return data


def parse_json(data: bytes | str, *, what: str, where: str) -> Any:
    """Parse JSON text; anything malformed becomes a one-line ``ModelError``."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ModelError(
                f"{what} is not UTF-8 text (byte {exc.start})",
                where=where,
                hint="the file is corrupt or not a Keras model",
            ) from None
    else:
        text = data
    if not text.strip():
        raise ModelError(f"{what} is empty", where=where, hint="re-save the model")
    containers = text.count("{") + text.count("[")
    if containers > MAX_JSON_CONTAINERS:
        raise ModelError(
            f"{what} holds {containers:,} JSON objects and arrays, over the limit of {MAX_JSON_CONTAINERS:,}",
            where=where,
            hint="refusing to parse it; the largest Keras applications have about 20,000",
        )
    try:
        return json.loads(text)
    except RecursionError:
        raise ModelError(
            f"{what} is nested too deeply to be a Keras config", where=where
        ) from None
    except ValueError as exc:
        raise ModelError(
            f"{what} is not valid JSON ({exc})", where=where, hint="re-save the model"
        ) from None


def require_model_dict(obj: Any, *, what: str, where: str) -> dict[str, Any]:
    """Check the outer shape ``{"class_name": str, "config": dict}``."""
    if not isinstance(obj, dict) or not isinstance(obj.get("class_name"), str):
        raise ModelError(
            f"{what} does not describe a Keras model (no 'class_name')",
            where=where,
            hint="expected the JSON written by model.save() or model.to_json()",
        )
    obj = with_keras20_sequential(obj)
    if not isinstance(obj.get("config"), dict):
        raise ModelError(f"{what} has no 'config' object", where=where)
    return obj


def with_keras20_sequential(model: dict[str, Any]) -> dict[str, Any]:
    """Keras 2.0 and 2.1 saved a Sequential's config as a bare list of layers; give it today's shape.

    ``{"class_name": "Sequential", "config": [layers]}`` becomes ``{..., "config": {"name": ..., "layers": [...]}}``.
    The input shape stays where those versions kept it, on the first layer's ``batch_input_shape``, which the graph
    reads for a Sequential without an InputLayer. Returns a new dict; the reader's dict is not changed.
    """
    if model.get("class_name") != "Sequential" or not isinstance(model.get("config"), list):
        return model
    name = model.get("name") if isinstance(model.get("name"), str) else "sequential"
    return {**model, "config": {"name": name, "layers": model["config"]}}


def is_lfs_pointer(head: bytes) -> bool:
    return head.startswith(LFS_POINTER_PREFIX)


def lfs_error(where: str) -> ModelError:
    return ModelError(
        "this is a Git LFS pointer, not the model",
        where=where,
        hint="run 'git lfs pull' (or check out with LFS) before linting",
    )
