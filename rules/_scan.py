"""Walk an untrusted raw config for the safety rules, naming the layer each piece sits in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cnnlint.errors import printable
from cnnlint.names import Resolved, resolve

#: Containers visited per file.  The readers refuse JSON with more than ``MAX_JSON_CONTAINERS`` (250k), so a file
#: never gets here; only an in-memory config (``cnnlint.check(dict)``) can, and then the scan says it stopped.
MAX_ITEMS = 4_000_000


@dataclass(frozen=True)
class Scan:
    """Every dict the file's configs hold, with the path of the layer holding it; ``complete`` if all were seen."""

    objects: tuple[tuple[str, dict], ...]
    complete: bool

    @cached_property
    def resolved(self) -> tuple[tuple[str, dict, tuple[Resolved, ...]], ...]:
        """The objects that resolve to something (``cnnlint.names.resolve``), with what they resolve to: worked out
        once for the safety rules that each ask."""
        return tuple((layer, obj, found) for layer, obj in self.objects if (found := resolve(obj)))


_LAST: list[tuple[Any, Scan]] = []  # the last scan: the safety rules each ask for the same file in turn


def scan(source: Any) -> Scan:
    """Scan a ``RawModel`` (every config Keras would deserialize from the file, in every view) or one config."""
    if _LAST and _LAST[0][0] is source:
        return _LAST[0][1]
    found: list[tuple[str, dict]] = []
    budget = [MAX_ITEMS]
    complete = all(_walk(config, prefix, is_layer, found, budget) for prefix, config, is_layer in _configs(source))
    result = Scan(tuple(found), complete)
    _LAST[:] = [(source, result)]
    return result


def objects(source: Any) -> Iterator[tuple[str, dict]]:
    """Every dict in ``source`` with the path of the layer that holds it ("" for the model itself)."""
    return iter(scan(source).objects)


def resolved_objects(source: Any) -> Iterator[tuple[str, dict, tuple[Resolved, ...]]]:
    """``objects(source)`` that resolve to something, with everything each can resolve to."""
    return iter(scan(source).resolved)


def _configs(source: Any) -> Iterator[tuple[str, Any, bool]]:
    """(layer prefix, config, whether the config is itself a layer entry) for everything Keras deserializes."""
    from cnnlint.readers.base import RawModel

    if not isinstance(source, RawModel):
        yield "", source, False
        return
    for view in (source, *source.views):
        prefix = "" if view is source else f"{view.format} view"
        compiled = view.compile_config
        if compiled is not None and view.config.get("compile_config") is compiled:  # scanned once, under its name
            yield prefix, {key: value for key, value in view.config.items() if key != "compile_config"}, False
        else:
            yield prefix, view.config, False
        if compiled is not None:  # loss, metrics, optimizer: deserialized by compile_from_config
            yield _join(prefix, "compile_config"), compiled, False
        for extra in view.extra_configs:  # a SavedModel layer's own node metadata
            yield prefix, extra, True


def _walk(config: Any, prefix: str, is_layer: bool, found: list[tuple[str, dict]], budget: list[int]) -> bool:
    """Iterative and depth-unlimited, so nesting hides nothing; False when the item budget ran out."""
    stack: list[tuple[Any, str, bool]] = [(config, prefix, is_layer)]
    push, pop, record = stack.append, stack.pop, found.append
    left = budget[0]
    while stack:
        value, layer, is_layer_entry = pop()
        left -= 1
        if left < 0:
            budget[0] = left
            return False
        if isinstance(value, dict):
            if is_layer_entry:
                layer = _join(layer, _entry_name(value))
            record((layer, value))
            for key, item in value.items():
                if isinstance(item, list) and key == "layers":
                    for entry in item:
                        push((entry, layer, True))
                elif isinstance(item, (dict, list)):
                    push((item, layer, False))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)):
                    push((item, layer, False))
    budget[0] = left
    return True


def _entry_name(entry: dict) -> str:
    name = entry.get("name")
    if not isinstance(name, str) and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    return printable(name[:200]) if isinstance(name, str) else "?"


MAX_PATH = 1_000


def _join(prefix: str, name: str) -> str:
    """``prefix/name``, keeping the last ``MAX_PATH`` characters: a path per nesting level must not grow the scan's
    memory with the square of the depth."""
    joined = f"{prefix}/{name}" if prefix else name
    return joined if len(joined) <= MAX_PATH else "…" + joined[-(MAX_PATH - 1) :]


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

