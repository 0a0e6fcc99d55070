"""Reading the structure of a serialized Keras model: names, nested models, and the inbound nodes
of Keras 2 (node lists, tf.keras node offsets) and Keras 3 (``{"args", "kwargs"}`` with ``__keras_tensor__``).

Pure functions on untrusted dicts; shared by the graph builder and ``saved_weights``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.errors import ModelError, printable
from cnnlint.layers.base import MaybeShape

MAX_NESTING = 32
MODEL_CLASSES = ("Sequential", "Functional", "Model")


def name_of(entry: dict, default: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    if not isinstance(name, str) or not name:
        return default
    return printable(name[:200])


def is_model(entry: dict) -> bool:
    config = entry.get("config")
    return isinstance(config, dict) and isinstance(config.get("layers"), list) and (
        entry.get("class_name") in MODEL_CLASSES or "input_layers" in config
    )


def first_node_offset(entry: dict, calls: list) -> int:
    """tf.keras numbers a nested model's calls from 1 when its node 0 is internal.

    A Functional model, or a Sequential that starts with an InputLayer, owns a
    node linking its own Input to its output; tf.keras leaves that node out of
    the config but keeps counting it (``_should_skip_first_node``).  Keras 3
    numbers calls from 0.
    """
    if not calls or not isinstance(calls[0], list) or not is_model(entry):
        return 0
    if entry.get("class_name") != "Sequential":
        return 1
    layers = entry["config"]["layers"]
    return int(bool(layers) and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer")


def iter_refs(value: Any, where: str) -> Iterator[tuple[str, int, int]]:
    """Flatten ``input_layers``/``output_layers``: a ref or any nesting of refs."""
    if value is None:
        return
    if is_ref(value):
        yield value[0], value[1], value[2]
        return
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(items, (list, tuple)) and not hasattr(items, "__iter__"):
        raise ModelError("input_layers/output_layers are malformed", where=where)
    for item in items:
        yield from iter_refs(item, where)


def is_ref(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:3])
    )


_KWARG_ORDER = {"query": 0, "value": 1, "key": 2}


def parse_call(call: Any, path: str, where: str) -> tuple[list[tuple[str, int, int]], list[MaybeShape]]:
    """The tensor inputs of one call (Keras 3 ``{"args", "kwargs"}`` or Keras 2 node list)."""
    refs: list[tuple[str, int, int]] = []
    hints: list[MaybeShape] = []
    if isinstance(call, dict):
        kwargs = call.get("kwargs") if isinstance(call.get("kwargs"), dict) else {}
        ordered = sorted(kwargs.items(), key=lambda kv: _KWARG_ORDER.get(kv[0], 9))
        for value in [call.get("args"), *(v for _, v in ordered)]:
            for history, shape in _keras3_tensors(value):
                refs.append(history)
                hints.append(shape)
    elif is_ref(call):  # tf.keras writes a single-tensor TFOpLambda call unwrapped
        return parse_call([call], path, where)
    elif isinstance(call, list):
        for item in call:
            if is_ref(item):
                refs.append((item[0], item[1], item[2]))
                hints.append(None)
                if len(item) == 4 and isinstance(item[3], dict):
                    for extra in _keras2_kwarg_refs(item[3]):
                        refs.append(extra)
                        hints.append(None)
            elif isinstance(item, list):
                sub_refs, sub_hints = parse_call(item, path, where)
                refs += sub_refs
                hints += sub_hints
            else:
                raise ModelError(f"layer '{path}': malformed inbound node entry", where=where)
    else:
        raise ModelError(f"layer '{path}': inbound node must be a list or object", where=where)
    return refs, hints


def _keras3_tensors(value: Any, depth: int = 0) -> Iterator[tuple[tuple[str, int, int], MaybeShape]]:
    if depth > 20:
        return
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__" and isinstance(value.get("config"), dict):
            history = value["config"].get("keras_history")
            if is_ref(history):
                yield (history[0], history[1], history[2]), parse_shape(value["config"].get("shape"))
            return
        for item in value.values():
            yield from _keras3_tensors(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _keras3_tensors(item, depth + 1)


def _keras2_kwarg_refs(kwargs: dict) -> Iterator[tuple[str, int, int]]:
    ordered = sorted(kwargs.items(), key=lambda kv: _KWARG_ORDER.get(kv[0], 9))
    for _key, value in ordered:
        if is_ref(value) and len(value) == 3:
            yield value[0], value[1], value[2]


def parse_shape(value: Any) -> MaybeShape:
    """A shape from the file, validated; ``None`` if absent or malformed."""
    if not isinstance(value, (list, tuple)) or not value or len(value) > 16:
        return None
    if all(d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40) for d in value):
        return tuple(value)
    return None
