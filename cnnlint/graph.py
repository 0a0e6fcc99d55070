"""The model graph: one format-independent, validated picture of a network.

``build_graph(raw)`` is the only code that walks an untrusted config dict.
It expands nested models into path-named layers (``backbone/conv1``), runs
each call of each layer through its spec (``cnnlint.layers``) to infer shapes
and weights, and records the receptive field at every node.  Malformed
values become a ``ModelError`` that names the layer; layers cnnlint cannot
model are kept, marked, and carried through.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cnnlint.errors import ModelError, printable
from cnnlint.layers import ShapeUnknown, build_spec, layer_kind
from cnnlint.layers.base import Built, Cfg, Geometry, MaybeShape, Weight
from cnnlint.readers.base import RawModel

MAX_LAYERS = 100_000
MAX_NESTING = 32
MODEL_CLASSES = ("Sequential", "Functional", "Model")

Ref = tuple[int, int]  # (node id, output index)


@dataclass(frozen=True)
class Regularizer:
    kind: str  # L1, L2, L1L2, Orthogonal, or a custom class name
    l1: float = 0.0
    l2: float = 0.0

    @property
    def strength(self) -> float:
        return self.l1 + self.l2

    def describe(self) -> str:
        if self.kind == "L1L2":
            return f"L1L2(l1={self.l1:g}, l2={self.l2:g})"
        if self.kind in ("L1", "L2"):
            return f"{self.kind}({self.l1 if self.kind == 'L1' else self.l2:g})"
        return self.kind


@dataclass
class Layer:
    """One Keras layer object: the owner of weights, called at one or more nodes."""

    path: str
    name: str
    class_name: str
    module: str | None
    kind: str
    trainable: bool
    model_path: str = ""
    weights: list[Weight] = field(default_factory=list)
    counted: bool = True
    problem: str | None = None
    geometry: Geometry | None = None
    units: int | None = None
    kernel_size: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None
    activation: str | None = None
    padding: str | None = None
    rate: float | None = None
    regularizers: dict[str, Regularizer] = field(default_factory=dict)
    constraints: dict[str, str] = field(default_factory=dict)
    nodes: list[int] = field(default_factory=list)

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable and self.trainable)

    @property
    def non_trainable_params(self) -> int:
        return sum(w.size for w in self.weights) - self.trainable_params

    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights)

    @property
    def known(self) -> bool:
        return self.kind not in ("unknown",)


@dataclass
class Node:
    """One call of a layer."""

    id: int
    layer: Layer
    inputs: list[Ref]
    input_shapes: list[MaybeShape]
    outputs: list[MaybeShape]
    rf: tuple[int, ...] | None = None
    jump: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Loss:
    name: str
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class CompileInfo:
    optimizer: str | None = None
    learning_rate: float | None = None
    weight_decay: float | None = None
    losses: tuple[Loss, ...] = ()

    @property
    def label_smoothing(self) -> float:
        return max((loss.label_smoothing for loss in self.losses), default=0.0)


@dataclass
class ModelGraph:
    name: str
    class_name: str
    source: str
    format: str
    keras_version: str | None
    layers: list[Layer]
    nodes: list[Node]
    inputs: list[Ref]
    outputs: list[Ref]
    compile: CompileInfo | None
    notes: list[str] = field(default_factory=list)

    def shape(self, ref: Ref) -> MaybeShape:
        outputs = self.nodes[ref[0]].outputs
        return outputs[ref[1]] if ref[1] < len(outputs) else None

    @property
    def input_shapes(self) -> list[MaybeShape]:
        return [self.shape(r) for r in self.inputs]

    @property
    def output_shapes(self) -> list[MaybeShape]:
        return [self.shape(r) for r in self.outputs]

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(layer.non_trainable_params for layer in self.layers)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def uncounted_layers(self) -> list[Layer]:
        return [layer for layer in self.layers if not layer.counted]

    @property
    def params_exact(self) -> bool:
        return not self.uncounted_layers

    def layer(self, path: str) -> Layer:
        for layer in self.layers:
            if layer.path == path:
                return layer
        raise KeyError(path)

    def successors(self) -> dict[int, list[int]]:
        succ: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for node in self.nodes:
            for src, _ in node.inputs:
                succ[src].append(node.id)
        return succ


def build_graph(raw: RawModel) -> ModelGraph:
    """Validate ``raw`` and build its ``ModelGraph``."""
    from cnnlint.saved_weights import count_custom_layers

    try:
        graph = _Builder(raw).build()
    except RecursionError:
        raise ModelError("model config is nested too deeply", where=raw.source) from None
    count_custom_layers(graph, raw)
    return graph


class _Builder:
    def __init__(self, raw: RawModel) -> None:
        self.raw = raw
        self.where = raw.source
        self.layers: dict[str, Layer] = {}
        self.nodes: list[Node] = []
        self.notes: list[str] = []

    # ---- top level ---------------------------------------------------------------------

    def build(self) -> ModelGraph:
        top = self.raw.config
        name = name_of(top, "model")
        inputs_holder: list[Ref] = []
        outputs = self._expand(top, "", None, True, 0, inputs_holder)
        if not self.nodes:
            raise ModelError("model has no layers", where=self.where)
        graph = ModelGraph(
            name=name,
            class_name=str(top.get("class_name")),
            source=self.raw.source,
            format=self.raw.format,
            keras_version=self.raw.keras_version,
            layers=list(self.layers.values()),
            nodes=self.nodes,
            inputs=inputs_holder,
            outputs=outputs,
            compile=parse_compile(self.raw.compile_config, self.raw.compile_style),
            notes=self.notes,
        )
        return graph

    # ---- models --------------------------------------------------------------------------

    def _expand(
        self, entry: dict, prefix: str, bound: list[Ref] | None, trainable: bool, depth: int, inputs_out: list[Ref]
    ) -> list[Ref]:
        if depth > MAX_NESTING:
            raise ModelError(f"models are nested more than {MAX_NESTING} levels deep", where=self.where)
        config = entry.get("config")
        if not isinstance(config, dict):
            raise ModelError(f"model '{prefix or 'top'}': config must be an object", where=self.where)
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ModelError(
                f"model '{name_of(entry, prefix or 'top')}' has no layer list "
                "(a subclassed model saves no architecture)",
                where=self.where,
                hint="cnnlint reads Sequential and Functional models",
            )
        if len(layers) + len(self.layers) > MAX_LAYERS:
            raise ModelError(f"model has more than {MAX_LAYERS} layers", where=self.where)
        trainable = trainable and config.get("trainable", True) is not False
        if entry.get("class_name") == "Sequential" or "input_layers" not in config:
            return self._expand_sequential(entry, layers, prefix, bound, trainable, depth, inputs_out)
        return self._expand_functional(config, layers, prefix, bound, trainable, depth, inputs_out)

    def _expand_sequential(
        self, entry: dict, layers: list, prefix: str, bound: list[Ref] | None, trainable: bool, depth: int,
        inputs_out: list[Ref],
    ) -> list[Ref]:  # fmt: skip
        current: Ref | None = bound[0] if bound else None
        model_path = prefix.rstrip("/")
        for index, item in enumerate(layers):
            item = self._entry(item, f"{model_path or 'model'} layer #{index}")
            lname = name_of(item, f"layer_{index}")
            if item["class_name"] == "InputLayer":
                if current is None:
                    current = self._input_node(item, prefix + lname, model_path)
                    inputs_out.append(current)
                continue
            if current is None:
                current = self._implicit_input(entry, item, prefix, model_path)
                inputs_out.append(current)
            outs = self._call(item, prefix, [current], [None], trainable, depth, model_path)
            if not outs:
                raise ModelError(f"layer '{prefix}{lname}' produced no output", where=self.where)
            current = outs[0]
        if current is None:
            raise ModelError(f"model '{model_path or 'top'}' has no layers", where=self.where)
        return [current]

    def _implicit_input(self, model_entry: dict, first: dict, prefix: str, model_path: str) -> Ref:
        """Sequential models without an InputLayer keep the shape on the first layer or the model."""
        first_cfg = first.get("config") if isinstance(first.get("config"), dict) else {}
        candidates = [
            first_cfg.get("batch_input_shape"),
            first_cfg.get("batch_shape"),
            (model_entry.get("config") or {}).get("build_input_shape"),
            (model_entry.get("build_config") or {}).get("input_shape")
            if isinstance(model_entry.get("build_config"), dict)
            else None,
        ]
        shape = next((s for s in (self._shape(c) for c in candidates) if s is not None), None)
        if shape is None:
            self.notes.append(
                f"model '{model_path or 'top'}' was saved without an input shape; shapes and "
                "parameters after its first layer could not be inferred"
            )
        return self._new_input(prefix + "input", model_path, shape)

    def _expand_functional(
        self, config: dict, layers: list, prefix: str, bound: list[Ref] | None, trainable: bool, depth: int,
        inputs_out: list[Ref],
    ) -> list[Ref]:  # fmt: skip
        model_path = prefix.rstrip("/")
        entries: dict[str, dict] = {}
        for index, item in enumerate(layers):
            item = self._entry(item, f"{model_path or 'model'} layer #{index}")
            lname = name_of(item, f"layer_{index}")
            if lname in entries:
                raise ModelError(f"two layers are named '{prefix}{lname}'", where=self.where)
            entries[lname] = item
        produced: dict[tuple[str, int], list[Ref]] = {}
        input_refs = list(_iter_refs(config.get("input_layers"), self.where))
        if bound is not None and len(bound) != len(input_refs):
            raise ModelError(
                f"model '{model_path}' takes {len(input_refs)} inputs but is called with {len(bound)}",
                where=self.where,
            )
        for i, (lname, node_index, _tensor) in enumerate(input_refs):
            if lname not in entries:
                raise ModelError(f"model input refers to unknown layer '{lname}'", where=self.where)
            if bound is not None:
                produced[(lname, node_index)] = [bound[i]]
            else:
                ref = self._input_node(entries[lname], prefix + lname, model_path)
                produced[(lname, node_index)] = [ref]
                inputs_out.append(ref)
        pending: list[tuple[str, int, Any]] = []
        for lname, item in entries.items():
            calls = item.get("inbound_nodes") or []
            if not isinstance(calls, list):
                raise ModelError(f"layer '{prefix}{lname}': inbound_nodes must be a list", where=self.where)
            if item["class_name"] == "InputLayer":
                if (lname, 0) not in produced:
                    ref = self._input_node(item, prefix + lname, model_path)
                    produced[(lname, 0)] = [ref]
                continue
            offset = _first_node_offset(item, calls)
            pending += [(lname, k + offset, call) for k, call in enumerate(calls)]
        self._run_pending(pending, entries, produced, prefix, trainable, depth, model_path)
        outputs = []
        for lname, node_index, tensor_index in _iter_refs(config.get("output_layers"), self.where):
            refs = produced.get((lname, node_index))
            if refs is None:
                raise ModelError(f"model output refers to missing layer '{prefix}{lname}'", where=self.where)
            outputs.append(self._pick(refs, tensor_index, prefix + lname))
        if not outputs:
            raise ModelError(f"model '{model_path or 'top'}' declares no outputs", where=self.where)
        return outputs

    def _run_pending(self, pending, entries, produced, prefix, trainable, depth, model_path) -> None:
        while pending:
            waiting = []
            for lname, k, call in pending:
                refs, hints = _parse_call(call, f"{prefix}{lname}", self.where)
                if all((r[0], r[1]) in produced for r in refs):
                    inputs = [self._pick(produced[(r[0], r[1])], r[2], prefix + r[0]) for r in refs]
                    produced[(lname, k)] = self._call(
                        entries[lname], prefix, inputs, hints, trainable, depth, model_path
                    )
                else:
                    waiting.append((lname, k, call))
            if len(waiting) == len(pending):
                lname, k, call = waiting[0]
                refs, _ = _parse_call(call, f"{prefix}{lname}", self.where)
                missing = next(r for r in refs if (r[0], r[1]) not in produced)
                why = "is not a layer of this model" if missing[0] not in entries else "is never computed (cyclic inputs)"
                raise ModelError(
                    f"layer '{prefix}{lname}' call {k} takes input '{missing[0]}' node {missing[1]}, which {why}",
                    where=self.where,
                    hint="the file's inbound_nodes are broken; re-save the model",
                )
            pending = waiting

    # ---- layers --------------------------------------------------------------------------

    def _entry(self, item: Any, what: str) -> dict:
        if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
            raise ModelError(f"{what} is not a serialized layer (no class_name)", where=self.where)
        if "config" in item and not isinstance(item["config"], dict):
            raise ModelError(f"{what}: config must be an object", where=self.where)
        return item

    def _pick(self, refs: list[Ref], tensor_index: int, what: str) -> Ref:
        if 0 <= tensor_index < len(refs):
            return refs[tensor_index]
        if len(refs) == 1 and self.nodes[refs[0][0]].layer.kind in ("unknown", "op"):
            return (refs[0][0], tensor_index)
        raise ModelError(f"'{what}' has no output #{tensor_index}", where=self.where)

    def _call(
        self, entry: dict, prefix: str, inputs: list[Ref], hints: list[MaybeShape], trainable: bool, depth: int,
        model_path: str,
    ) -> list[Ref]:  # fmt: skip
        lname = name_of(entry, entry["class_name"].lower())
        path = prefix + lname
        if is_model(entry):
            return self._expand(entry, path + "/", inputs, trainable, depth + 1, [])
        if len(inputs) == 1 and (not hints or hints[0] is None) and path not in self.layers:
            hints = [self._built_with(entry)]
        shapes = [self._shape_at(ref, hint) for ref, hint in zip(inputs, hints + [None] * len(inputs))]
        layer = self.layers.get(path)
        first_call = layer is None
        cfg = Cfg(entry.get("config", {}), path, self.where)
        if layer is None:
            layer = self._new_layer(entry, path, cfg, trainable, model_path)
        built = self._build(layer, cfg, shapes, first_call)
        node = Node(len(self.nodes), layer, list(inputs), shapes, list(built.outputs))
        self._receptive_field(node, cfg)
        self.nodes.append(node)
        layer.nodes.append(node.id)
        return [(node.id, i) for i in range(len(node.outputs))]

    def _build(self, layer: Layer, cfg: Cfg, shapes: list[MaybeShape], first_call: bool) -> Built:
        try:
            built, _kind = build_spec(layer.class_name, layer.module, cfg, shapes)
        except ShapeUnknown as exc:
            if first_call:
                layer.counted = False
                layer.problem = f"parameters not counted: {exc}"
            return Built([None])
        if first_call:
            layer.weights = built.weights
            layer.geometry = built.geometry
            _expand_scalar_settings(layer)
            if layer.kind == "unknown":
                layer.counted = False
                layer.problem = f"'{layer.class_name}' is not a built-in Keras layer; its parameters are not counted"
        return built

    def _new_layer(self, entry: dict, path: str, cfg: Cfg, trainable: bool, model_path: str) -> Layer:
        class_name = entry["class_name"]
        module = entry.get("module") if isinstance(entry.get("module"), str) else None
        layer = Layer(
            path=path,
            name=path.rsplit("/", 1)[-1],
            class_name=class_name,
            module=module,
            kind=layer_kind(class_name, module),
            trainable=trainable and cfg.raw.get("trainable", True) is not False,
            model_path=model_path,
        )
        _describe(layer, cfg)
        self.layers[path] = layer
        return layer

    def _input_node(self, entry: dict, path: str, model_path: str) -> Ref:
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        shape = None
        for key in ("batch_shape", "batch_input_shape"):
            if config.get(key) is not None and self._shape(config[key]) is None:
                raise ModelError(f"input '{path}': {key} must be a list of non-negative integers or nulls",
                                 where=self.where)  # fmt: skip
            shape = shape or self._shape(config.get(key))
        if shape is None and isinstance(config.get("shape"), list):
            inner = self._shape([None, *config["shape"]])
            shape = inner
        if shape is None:
            self.notes.append(f"input '{path}' has no shape")
        return self._new_input(path, model_path, shape)

    def _new_input(self, path: str, model_path: str, shape: MaybeShape) -> Ref:
        layer = self.layers.get(path)
        if layer is None:
            layer = Layer(path, path.rsplit("/", 1)[-1], "InputLayer", None, "input", False, model_path)
            self.layers[path] = layer
        node = Node(len(self.nodes), layer, [], [], [shape])
        if shape is not None and len(shape) >= 3:
            spatial = len(shape) - 2
            node.rf, node.jump = (1,) * spatial, (1.0,) * spatial
        self.nodes.append(node)
        layer.nodes.append(node.id)
        return (node.id, 0)

    def _shape(self, value: Any) -> MaybeShape:
        """A shape from the file, validated; ``None`` if absent or malformed."""
        if not isinstance(value, (list, tuple)) or not value or len(value) > 16:
            return None
        dims: list[int | None] = []
        for d in value:
            if d is None:
                dims.append(None)
            elif isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40:
                dims.append(d)
            else:
                return None
        return tuple(dims)

    def _built_with(self, entry: dict) -> MaybeShape:
        """The input shape a layer was first built with (Keras 3 and tf.keras 2.13+ record it).

        Used only where the graph cannot infer the shape, typically after a custom layer.
        """
        build_config = entry.get("build_config")
        return self._shape(build_config.get("input_shape")) if isinstance(build_config, dict) else None

    def _shape_at(self, ref: Ref, hint: MaybeShape) -> MaybeShape:
        node = self.nodes[ref[0]]
        inferred = node.outputs[ref[1]] if ref[1] < len(node.outputs) else None
        if hint is not None and (inferred is None or (None in inferred and len(hint) == len(inferred))):
            return hint
        return inferred

    # ---- receptive field -------------------------------------------------------------

    def _receptive_field(self, node: Node, cfg: Cfg) -> None:
        sources = [self.nodes[i] for i, _ in node.inputs if self.nodes[i].rf is not None]
        if not sources:
            return
        src = max(sources, key=lambda n: math.prod(n.rf or (1,)))
        rf, jump = list(src.rf or ()), list(src.jump or ())
        geometry = node.layer.geometry
        out = node.outputs[0] if node.outputs else None
        if geometry is None:
            if out is None or len(out) < 3:
                # not spatial any more (Dense on a vector, a custom layer): keep what was covered
                pass
        elif geometry.kind == "window" and len(geometry.kernel) == len(rf):
            rf = [r + (k - 1) * j for r, k, j in zip(rf, geometry.kernel, jump)]
            jump = [j * s for j, s in zip(jump, geometry.strides)]
        elif geometry.kind == "upsample" and len(geometry.strides) == len(jump):
            jump = [j / s for j, s in zip(jump, geometry.strides)]
        elif geometry.kind == "global":
            shape = node.input_shapes[0] if node.input_shapes else None
            fmt = cfg.raw.get("data_format") or "channels_last"
            if shape is not None and len(shape) == len(rf) + 2:
                spatial = shape[1:-1] if fmt == "channels_last" else shape[2:]
                rf = [r + ((n or 1) - 1) * j for r, n, j in zip(rf, spatial, jump)]
        node.rf = tuple(int(r) for r in rf)
        node.jump = tuple(jump)


# ---- helpers on raw config pieces ---------------------------------------------------------


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


def _first_node_offset(entry: dict, calls: list) -> int:
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


def _iter_refs(value: Any, where: str) -> Iterator[tuple[str, int, int]]:
    """Flatten ``input_layers``/``output_layers``: a ref or any nesting of refs."""
    if value is None:
        return
    if _is_ref(value):
        yield value[0], value[1], value[2]
        return
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(items, (list, tuple)) and not hasattr(items, "__iter__"):
        raise ModelError("input_layers/output_layers are malformed", where=where)
    for item in items:
        yield from _iter_refs(item, where)


def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:3])
    )


_KWARG_ORDER = {"query": 0, "value": 1, "key": 2}


def _parse_call(call: Any, path: str, where: str) -> tuple[list[tuple[str, int, int]], list[MaybeShape]]:
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
    elif _is_ref(call):  # tf.keras writes a single-tensor TFOpLambda call unwrapped
        return _parse_call([call], path, where)
    elif isinstance(call, list):
        for item in call:
            if _is_ref(item):
                refs.append((item[0], item[1], item[2]))
                hints.append(None)
                if len(item) == 4 and isinstance(item[3], dict):
                    for extra in _keras2_kwarg_refs(item[3]):
                        refs.append(extra)
                        hints.append(None)
            elif isinstance(item, list):
                sub_refs, sub_hints = _parse_call(item, path, where)
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
            if _is_ref(history):
                yield (history[0], history[1], history[2]), _hint_shape(value["config"].get("shape"))
            return
        for item in value.values():
            yield from _keras3_tensors(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _keras3_tensors(item, depth + 1)


def _keras2_kwarg_refs(kwargs: dict) -> Iterator[tuple[str, int, int]]:
    ordered = sorted(kwargs.items(), key=lambda kv: _KWARG_ORDER.get(kv[0], 9))
    for _key, value in ordered:
        if _is_ref(value) and len(value) == 3:
            yield value[0], value[1], value[2]


def _hint_shape(value: Any) -> MaybeShape:
    if not isinstance(value, list) or not value or len(value) > 16:
        return None
    if all(d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40) for d in value):
        return tuple(value)
    return None


def _describe(layer: Layer, cfg: Cfg) -> None:
    """Copy the typed facts rules care about from the config onto the layer."""
    raw = cfg.raw
    inner = raw.get("layer")
    if layer.class_name in ("TimeDistributed", "Bidirectional") and isinstance(inner, dict):
        inner_cfg = inner.get("config")
        if isinstance(inner_cfg, dict):
            raw = {**inner_cfg, **{k: v for k, v in raw.items() if k.endswith("_regularizer")}}
    units = raw.get("filters", raw.get("units"))
    if isinstance(units, int) and not isinstance(units, bool) and units > 0:
        layer.units = units
    for key, attr in (("kernel_size", "kernel_size"), ("pool_size", "kernel_size"), ("strides", "strides"),
                      ("dilation_rate", "dilation")):  # fmt: skip
        value = raw.get(key)
        if getattr(layer, attr) is not None or value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if values and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            setattr(layer, attr, tuple(values))
    if isinstance(raw.get("padding"), str) and raw["padding"] in ("valid", "same", "causal", "full"):
        layer.padding = raw["padding"]
    activation = raw.get("activation")
    if isinstance(activation, str):
        layer.activation = activation
    elif isinstance(activation, dict) and isinstance(activation.get("class_name"), str):
        layer.activation = activation["class_name"]
    for key in ("rate", "stddev"):
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            layer.rate = float(value)
            break
    for key, value in raw.items():
        if key.endswith("_regularizer") and value is not None:
            reg = parse_regularizer(value)
            if reg is not None:
                layer.regularizers[key[: -len("_regularizer")]] = reg
        elif key.endswith("_constraint") and value is not None:
            layer.constraints[key[: -len("_constraint")]] = _class_name(value) or "?"


def _expand_scalar_settings(layer: Layer) -> None:
    """``kernel_size=3`` on a 2D convolution means (3, 3): size it from the spec's geometry."""
    rank = len(layer.geometry.strides) if layer.geometry and layer.geometry.strides else 0
    for attr in ("kernel_size", "strides", "dilation"):
        value = getattr(layer, attr)
        if rank > 1 and value is not None and len(value) == 1:
            setattr(layer, attr, value * rank)


def _class_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        return value["class_name"]
    return None


_REGULARIZER_DEFAULTS = {"l1": ("L1", 0.01, 0.0), "l2": ("L2", 0.0, 0.01), "l1_l2": ("L1L2", 0.0, 0.0)}


def parse_regularizer(value: Any) -> Regularizer | None:
    if isinstance(value, str):
        kind, l1, l2 = _REGULARIZER_DEFAULTS.get(value.lower(), (value[:60], 0.0, 0.0))
        return Regularizer(kind, l1, l2)
    if not isinstance(value, dict):
        return None
    name = _class_name(value) or "?"
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    canonical = {"l1": "L1", "l2": "L2", "l1l2": "L1L2", "l1_l2": "L1L2", "orthogonalregularizer": "Orthogonal"}
    kind = canonical.get(name.lower(), name[:60])
    l1 = config.get("l1", 0.0)
    l2 = config.get("l2", 0.0)
    l1 = float(l1) if isinstance(l1, (int, float)) and not isinstance(l1, bool) else 0.0
    l2 = float(l2) if isinstance(l2, (int, float)) and not isinstance(l2, bool) else 0.0
    if kind == "Orthogonal":
        factor = config.get("factor", 0.01)
        l2 = float(factor) if isinstance(factor, (int, float)) and not isinstance(factor, bool) else 0.0
    return Regularizer(kind, l1, l2)


# ---- compile / training config -------------------------------------------------------------


def parse_compile(config: dict | None, style: str) -> CompileInfo | None:
    if not isinstance(config, dict) or not config:
        return None
    optimizer = config.get("optimizer") if style == "keras3" else config.get("optimizer_config")
    if optimizer is None:
        optimizer = config.get("optimizer_config", config.get("optimizer"))
    opt_name, lr, decay = None, None, None
    if isinstance(optimizer, str):
        opt_name = optimizer
    elif isinstance(optimizer, dict):
        opt_name = _class_name(optimizer)
        opt_cfg = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
        lr = _number(opt_cfg.get("learning_rate", opt_cfg.get("lr")))
        decay = _number(opt_cfg.get("weight_decay"))
    if opt_name and opt_name.startswith("Custom>"):
        opt_name = opt_name[len("Custom>") :]
    return CompileInfo(
        optimizer=opt_name[:60] if opt_name else None,
        learning_rate=lr,
        weight_decay=decay,
        losses=tuple(_losses(config.get("loss"))),
    )


def _losses(value: Any, depth: int = 0) -> Iterator[Loss]:
    if depth > 4 or value is None:
        return
    if isinstance(value, str):
        yield Loss(value[:80])
    elif isinstance(value, dict) and "class_name" in value:
        cfg = value.get("config") if isinstance(value.get("config"), dict) else {}
        yield Loss(str(value.get("class_name"))[:80], _number(cfg.get("label_smoothing")) or 0.0)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _losses(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _losses(item, depth + 1)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None

