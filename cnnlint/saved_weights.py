"""Count the layers cnnlint has no spec for (custom layers) from the shapes in the model's weights file.

The graph builder counts every built-in layer from its config.  A custom
layer's config says nothing about its weights, so the builder leaves it
uncounted and the model's total becomes a lower bound.  The weights file still
records each layer's weight shapes, so this module finds the custom layer's
group in it and adds up the shapes (values are never read; see
``readers/weights.py``).

Finding the group:

* Keras 3 and tf.keras ``.keras`` files (saving_lib): a container's layers are
  saved, in ``model.layers`` order, under ``layers/<snake_case class name>``
  with ``_1``, ``_2`` ... for repeats; a Sequential's InputLayer and Keras 3
  ops are not in ``model.layers``.
* Legacy ``.h5``: ``model_weights/<layer name>``, and a nested model's layers
  under ``model_weights/<model>/[<model>/]<layer name>``; deeper nesting is
  not attempted.

A container's mapping is used only when it checks out: the groups Keras saved
are exactly the names derived from the config (``.keras``), and every built-in
layer with weights in it has the same count in the file as cnnlint computed
from its config.  Otherwise its custom layers stay uncounted.

A live model (``cnnlint.check(model)``) needs no file: its layers' weights are
taken as they are, trainable split included.

What the file cannot tell: which of a custom layer's weights are trainable.
They are counted as trainable (when the layer is), and the graph notes it.
A built-in layer's moving statistics are recognised by name in a legacy ``.h5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlint.graph.keras_nodes import MAX_NESTING, is_model, name_of
from cnnlint.layers import is_op
from cnnlint.layers.base import Weight
from cnnlint.names import TF_FUNCTION_LAYERS
from cnnlint.readers.weights import Group, read_groups

if TYPE_CHECKING:
    from cnnlint.graph.model import Layer, ModelGraph
    from cnnlint.readers import RawModel
    from cnnlint.readers.base import LiveWeights


@dataclass
class Container:
    """One Sequential or Functional model: its group in the file and its layers' groups."""

    group: str  # group path of its layer list in the file, ending in "/"
    layers: dict[str, str] = field(default_factory=dict)  # graph path -> group path ("layers/scale_1/")
    expected_children: set[str] = field(default_factory=set)


#: Weights that Keras's built-in layers keep out of training, by their name in a legacy ``.h5``.
NON_TRAINABLE_NAMES = {"moving_mean", "moving_variance", "mean", "variance", "count"}


def count_custom_layers(graph: ModelGraph, raw: RawModel) -> None:
    """Give uncounted layers the parameter count their group in the weights file holds.

    Custom layers in every layout; in a legacy ``.h5`` also the built-in layers after them, whose input
    shape nothing in the file records (``.keras`` files record it in each layer's ``build_config``).
    """
    if raw.live_weights is not None:
        _count_from_live_model(graph, raw.live_weights)
        return
    if raw.weights is None:
        return
    legacy = raw.weights.layout == "legacy"
    targets = [layer for layer in graph.layers if not layer.counted and (layer.kind == "unknown" or legacy)]
    if not targets:
        return
    if legacy:
        containers = _legacy_containers(raw.config)
    else:
        containers = _keras3_containers(raw.config, _snake_case_for(raw.keras_version))
    by_path = {layer.path: layer for layer in graph.layers}
    listed = [c.group for c in containers]
    counted = [group for c in containers for path, group in c.layers.items() if path in by_path]
    groups = read_groups(raw.weights, listed, counted)
    if not groups:
        return
    for container in containers:
        if container.group not in groups or not _checks_out(container, by_path, groups):
            continue
        for layer in targets:
            path = container.layers.get(layer.path)
            if path is not None and path in groups and not layer.counted:
                _count(layer, groups[path])
    _note(graph, [layer for layer in targets if layer.counted])


def _count_from_live_model(graph: ModelGraph, live: LiveWeights) -> None:
    """``cnnlint.check(model)``: the live model knows every layer's weights, trainable split included."""
    weights = {path: [Weight(*weight) for weight in held] for path, held in live.items()}
    targets = [layer for layer in graph.layers if not layer.counted and layer.path in weights]
    checks = [layer for layer in graph.layers if layer.counted and layer.path in weights]
    if not targets or any(layer.params != sum(w.size for w in weights[layer.path]) for layer in checks):
        return
    for layer in targets:
        _give_weights(layer, weights[layer.path])
    graph.notes.append(f"parameters of {_some(targets)} were read from the live model's weights")


def _note(graph: ModelGraph, counted: list[Layer]) -> None:
    custom = [layer for layer in counted if layer.kind == "unknown"]
    builtin = [layer for layer in counted if layer.kind != "unknown"]
    if custom:
        graph.notes.append(
            f"parameters of {_some(custom)} (custom) were read from the weights file's shapes; it does not "
            "record which are trainable, so all are counted as trainable"
        )
    if builtin:
        graph.notes.append(f"parameters of {_some(builtin)} were read from the weights file's shapes")


def _some(layers: list[Layer]) -> str:
    names = ", ".join(f"'{layer.path}'" for layer in layers[:5]) + (" ..." if len(layers) > 5 else "")
    return f"{len(layers)} layer{'s' if len(layers) != 1 else ''} ({names})"


def _count(layer: Layer, group: Group) -> None:
    weights = []
    for path, shape in group.datasets:
        name = path.rsplit("/", 1)[-1].split(":")[0]
        trainable = layer.kind == "unknown" or name not in NON_TRAINABLE_NAMES
        weights.append(Weight(name=path, shape=shape, trainable=trainable))
    _give_weights(layer, weights)


def _give_weights(layer: Layer, weights: list[Weight]) -> None:
    layer.weights = weights
    layer.counted = True
    layer.problem = None


def _checks_out(container: Container, by_path: dict[str, Layer], groups: dict[str, Group]) -> bool:
    if container.expected_children and set(groups[container.group].children) != container.expected_children:
        return False
    for path, group in container.layers.items():
        layer = by_path.get(path)
        if layer is None or layer.kind == "unknown" or not layer.counted or not layer.params:
            continue
        if group not in groups or groups[group].size != layer.params:
            return False
    return True


# ---- .keras (saving_lib) layout -------------------------------------------------------------


def _keras3_containers(config: dict, snake_case: Any) -> list[Container]:
    containers: list[Container] = []
    _walk_keras3(config, "", "layers/", snake_case, containers, 0)
    return containers


def _walk_keras3(entry: dict, path: str, group: str, snake_case: Any, out: list[Container], depth: int) -> None:
    config = entry.get("config")
    items = config.get("layers") if isinstance(config, dict) else None
    if depth > MAX_NESTING or not isinstance(items, list):
        return
    sequential = entry.get("class_name") == "Sequential" or "input_layers" not in config
    container = Container(group)
    out.append(container)
    used: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
            return
        class_name = item["class_name"].split(">")[-1]
        module = item.get("module") if isinstance(item.get("module"), str) else None
        if (sequential and class_name == "InputLayer") or (
            is_op(class_name, module) and class_name not in TF_FUNCTION_LAYERS
        ):
            continue
        saved = _unique(snake_case(class_name), used)
        container.expected_children.add(saved)
        item_path = path + name_of(item, f"layer_{index}")
        container.layers[item_path] = f"{group}{saved}/"
        if is_model(item):
            _walk_keras3(item, item_path + "/", f"{group}{saved}/layers/", snake_case, out, depth + 1)


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _snake_case_keras3(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _snake_case_tf_keras(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name if not name.startswith("_") else "private" + name


def _snake_case_for(keras_version: str | None) -> Any:
    """Keras 3 and tf.keras 2 turn class names into group names slightly differently."""
    if keras_version and keras_version.split(".")[0] == "2":
        return _snake_case_tf_keras
    return _snake_case_keras3


# ---- legacy .h5 layout ----------------------------------------------------------------------


def _legacy_containers(config: dict) -> list[Container]:
    """The top model and each nested one; a nested model's layers sit under ``<model>/<model>/`` (Keras 3)
    or ``<model>/`` (tf.keras), so both are offered and the one whose group exists wins."""
    top = Container("")
    nested: list[Container] = []
    inner = config.get("config", {}).get("layers") if isinstance(config.get("config"), dict) else None
    for index, item in enumerate(inner if isinstance(inner, list) else []):
        if not isinstance(item, dict):
            return []
        name = name_of(item, f"layer_{index}")
        top.layers[name] = f"{name}/"
        if is_model(item):
            for base in (f"{name}/{name}/", f"{name}/"):
                container = Container(base)
                for sub_index, sub in enumerate(item["config"]["layers"]):
                    if isinstance(sub, dict):
                        sub_name = name_of(sub, f"layer_{sub_index}")
                        container.layers[f"{name}/{sub_name}"] = f"{base}{sub_name}/"
                nested.append(container)
    return [top, *nested]
