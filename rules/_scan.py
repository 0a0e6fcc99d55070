"""Walk an untrusted raw config for the safety rules, naming the layer each piece sits in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.errors import printable
from cnnlint.layers import is_keras_module

MAX_DEPTH = 200
MAX_ITEMS = 2_000_000


def objects(config: Any) -> Iterator[tuple[str, dict]]:
    """Every dict in the config with the path of the layer that holds it ("" for the model itself).

    Iterative, with depth and size caps, so a hostile config cannot exhaust the stack.
    """
    stack: list[tuple[Any, str, int, bool]] = [(config, "", 0, False)]
    seen = 0
    while stack and seen < MAX_ITEMS:
        value, layer, depth, is_layer_entry = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            if is_layer_entry:
                layer = _join(layer, _entry_name(value))
            yield layer, value
            for key, item in value.items():
                if isinstance(item, list) and key == "layers":
                    stack.extend((v, layer, depth + 2, True) for v in item)
                elif isinstance(item, (dict, list)):
                    stack.append((item, layer, depth + 1, False))
        elif isinstance(value, list):
            stack.extend((v, layer, depth + 1, False) for v in value if isinstance(v, (dict, list)))


def _entry_name(entry: dict) -> str:
    name = entry.get("name")
    if not isinstance(name, str) and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    return printable(name[:200]) if isinstance(name, str) else "?"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def strings(config: Any) -> Iterator[tuple[str, str, str]]:
    """(layer, key, string value) for every string in the config."""
    for layer, obj in objects(config):
        for key, value in obj.items():
            if isinstance(value, str):
                yield layer, key, value
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        yield layer, key, item


#: TensorFlow modules tf.keras itself serializes into configs (initializers of the EfficientNetV2 head).
TRUSTED_TF_MODULES = ("tensorflow.python.ops.init_ops",)


def foreign_module(obj: dict) -> str | None:
    """The module an object is imported from, when that is outside Keras."""
    module = obj.get("module")
    if (isinstance(module, str) and "class_name" in obj and not is_keras_module(module)
            and not module.startswith(TRUSTED_TF_MODULES)):  # fmt: skip
        return module
    return None
