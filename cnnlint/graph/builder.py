"""Build a ``ModelGraph`` from a read model: the only code that walks an untrusted config dict.

It expands nested models into path-named layers (``backbone/conv1``) and runs
each call of each layer through its spec (``cnnlint.layers``) to infer shapes
and weights.  Malformed values become a ``ModelError`` that names the layer;
layers cnnlint cannot model are kept, marked, and carried through.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from cnnlint.errors import ModelError, printable
from cnnlint.graph.keras_nodes import (
    MAX_NESTING,
    first_node_offset,
    is_model,
    iter_refs,
    name_of,
    parse_call,
    parse_shape,
)
from cnnlint.graph.model import Layer, ModelGraph, Node, Ref
from cnnlint.graph.training_config import class_name_of, parse_compile, parse_regularizer
from cnnlint.layers import ShapeUnknown, build_spec, layer_kind
from cnnlint.layers.base import Built, Cfg, MaybeShape
from cnnlint.readers.base import RawModel

#: The largest keras.applications model (NASNetLarge) has about 1,000 layers; 10,000 keeps the worst file
#: within 2 s (each layer costs ~60 µs to build and check), and is refused before any is built.
MAX_LAYERS = 10_000


def build_graph(raw: RawModel) -> ModelGraph:
    """Validate ``raw`` and build its ``ModelGraph`` (custom layers stay uncounted: see ``saved_weights``)."""
    try:
        return _Builder(raw).build()
    except RecursionError:
        raise ModelError("model config is nested too deeply", where=raw.source) from None


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
            class_name=printable(str(top.get("class_name"))[:200]),
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
            raise ModelError(f"model has more than {MAX_LAYERS:,} layers (the largest Keras applications have about "
                             "1,000)", where=self.where, hint="refusing to analyse it")  # fmt: skip
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
        shape = next((s for s in (parse_shape(c) for c in candidates) if s is not None), None)
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
        input_refs = list(iter_refs(config.get("input_layers"), self.where))
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
            offset = first_node_offset(item, calls)
            pending += [(lname, k + offset, call) for k, call in enumerate(calls)]
        self._run_pending(pending, entries, produced, prefix, trainable, depth, model_path)
        outputs = []
        for lname, node_index, tensor_index in iter_refs(config.get("output_layers"), self.where):
            refs = produced.get((lname, node_index))
            if refs is None:
                raise ModelError(f"model output refers to missing layer '{prefix}{lname}'", where=self.where)
            outputs.append(self._pick(refs, tensor_index, prefix + lname))
        if not outputs:
            raise ModelError(f"model '{model_path or 'top'}' declares no outputs", where=self.where)
        return outputs

    def _run_pending(self, pending, entries, produced, prefix, trainable, depth, model_path) -> None:
        """Run every call once its inputs exist: Kahn's topological sort, in Keras's order.

        Keras walks the layer list again and again, running each call whose inputs exist; the order of calls
        decides which call builds a shared layer.  This keeps that order (a call that becomes ready later in
        the current pass runs in it, an earlier one in the next pass) without the passes: a chain listed in
        reverse costs n log n, not n squared.
        """
        calls = [(lname, k, *parse_call(call, f"{prefix}{lname}", self.where)) for lname, k, call in pending]
        missing: list[int] = []
        waiting: dict[tuple[str, int], list[int]] = {}
        this_pass: list[int] = []
        for index, (_lname, _k, refs, _hints) in enumerate(calls):
            needed = {(r[0], r[1]) for r in refs if (r[0], r[1]) not in produced}
            missing.append(len(needed))
            for key in needed:
                waiting.setdefault(key, []).append(index)
            if not needed:
                this_pass.append(index)
        next_pass: list[int] = []
        done = 0
        while this_pass or next_pass:
            if not this_pass:
                this_pass, next_pass = next_pass, []
                heapq.heapify(this_pass)
            index = heapq.heappop(this_pass)
            lname, k, refs, hints = calls[index]
            inputs = [self._pick(produced[(r[0], r[1])], r[2], prefix + r[0]) for r in refs]
            produced[(lname, k)] = self._call(entries[lname], prefix, inputs, hints, trainable, depth, model_path)
            done += 1
            for dependent in waiting.pop((lname, k), ()):
                missing[dependent] -= 1
                if missing[dependent] == 0 and dependent > index:
                    heapq.heappush(this_pass, dependent)
                elif missing[dependent] == 0:
                    next_pass.append(dependent)
        if done < len(calls):
            lname, k, refs, _hints = next(calls[i] for i in range(len(calls)) if missing[i] > 0)
            absent = next(r for r in refs if (r[0], r[1]) not in produced)
            why = "is not a layer of this model" if absent[0] not in entries else "is never computed (cyclic inputs)"
            raise ModelError(
                f"layer '{prefix}{lname}' call {k} takes input '{absent[0]}' node {absent[1]}, which {why}",
                where=self.where,
                hint="the file's inbound_nodes are broken; re-save the model",
            )

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
            class_name=printable(class_name[:200]),  # every string a graph holds is safe to print
            module=printable(module[:200]) if module is not None else None,
            kind=layer_kind(class_name, module),
            trainable=trainable and cfg.raw.get("trainable", True) is not False,
            model_path=model_path,
        )
        _describe(layer, cfg)
        if isinstance(cfg.raw.get("data_format"), str):
            layer.data_format = printable(cfg.raw["data_format"][:80])
        layer.options = {printable(key[:80]): printable(value) if isinstance(value, str) else value
                         for key, value in cfg.raw.items() if _plain(value)}  # fmt: skip
        self.layers[path] = layer
        return layer

    def _input_node(self, entry: dict, path: str, model_path: str) -> Ref:
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        shape = None
        for key in ("batch_shape", "batch_input_shape"):
            if config.get(key) is not None and parse_shape(config[key]) is None:
                raise ModelError(f"input '{path}': {key} must be a list of non-negative integers or nulls",
                                 where=self.where)  # fmt: skip
            shape = shape or parse_shape(config.get(key))
        if shape is None and isinstance(config.get("shape"), list):
            inner = parse_shape([None, *config["shape"]])
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
        self.nodes.append(node)
        layer.nodes.append(node.id)
        return (node.id, 0)

    def _built_with(self, entry: dict) -> MaybeShape:
        """The input shape a layer was first built with (Keras 3 and tf.keras 2.13+ record it).

        Used only where the graph cannot infer the shape, typically after a custom layer.
        """
        build_config = entry.get("build_config")
        return parse_shape(build_config.get("input_shape")) if isinstance(build_config, dict) else None

    def _shape_at(self, ref: Ref, hint: MaybeShape) -> MaybeShape:
        node = self.nodes[ref[0]]
        inferred = node.outputs[ref[1]] if ref[1] < len(node.outputs) else None
        if hint is not None and (inferred is None or (None in inferred and len(hint) == len(inferred))):
            return hint
        return inferred


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
        layer.activation = printable(activation[:80])
    elif isinstance(activation, dict) and isinstance(activation.get("class_name"), str):
        layer.activation = printable(activation["class_name"][:80])
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
            name = printable(key[: -len("_constraint")][:80])
            layer.constraints[name] = printable((class_name_of(value) or "?")[:80])


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= 200
    return isinstance(value, list) and len(value) <= 8 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )


def _expand_scalar_settings(layer: Layer) -> None:
    """``kernel_size=3`` on a 2D convolution means (3, 3): size it from the spec's geometry."""
    rank = len(layer.geometry.strides) if layer.geometry and layer.geometry.strides else 0
    for attr in ("kernel_size", "strides", "dilation"):
        value = getattr(layer, attr)
        if rank > 1 and value is not None and len(value) == 1:
            setattr(layer, attr, value * rank)
