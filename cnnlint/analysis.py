"""Derived measures of a ``ModelGraph``: depth, width, head, receptive fields, regularization.

Everything here is computed from the graph alone; nothing depends on the
training set.  Rules and the risk model read these ``Facts`` instead of
re-walking the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnnlint.graph import Layer, ModelGraph, Node

#: Layer kinds that count towards depth (layers with a learned kernel).
DEPTH_KINDS = frozenset({"conv", "dense", "recurrent", "attention"})


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of one spatial node, in input pixels per spatial axis, and its effective stride."""

    size: tuple[int, ...]
    stride: tuple[float, ...]  # effective stride (the "jump") on the input, per spatial axis


@dataclass(frozen=True)
class Facts:
    """What the rules and the risk model read off a model graph: parameter counts, depth and its path, width,
    kernel sizes, the dense head, the input, the receptive field and the regularization present, with the layers that
    hold each."""

    trainable_params: int
    non_trainable_params: int
    params_exact: bool
    depth: int
    depth_path: tuple[str, ...]
    conv_depth: int
    width: int | None
    widest_layer: str | None
    largest_kernel: int | None
    largest_kernel_layer: str | None
    head_layers: tuple[str, ...]
    head_params: int
    head_share: float | None
    last_conv: str | None
    input_shape: tuple[int | None, ...] | None
    input_spatial: tuple[int, ...] | None
    is_image: bool
    classes: int | None
    receptive_field: tuple[int, ...] | None
    rf_covers_input_at: str | None
    convs_after_full_rf: int
    dropout_layers: tuple[str, ...]
    norm_layers: tuple[str, ...]
    augment_layers: tuple[str, ...]
    noise_layers: tuple[str, ...]
    regularized_layers: tuple[str, ...]
    weight_decay: float | None
    label_smoothing: float
    #: receptive field and effective stride after each node (by node id), where the node is still spatial
    receptive_fields: dict[int, ReceptiveField] = field(default_factory=dict)

    @property
    def has_weight_penalty(self) -> bool:
        return bool(self.regularized_layers) or bool(self.weight_decay)


def analyze(graph: ModelGraph) -> Facts:
    nodes = graph.nodes
    depth, depth_parent = _longest_weight_path(nodes)
    end = max((r[0] for r in graph.outputs), key=lambda i: depth[i], default=None)
    depth_path = _trace(end, depth_parent, nodes) if end is not None else ()
    convs = [layer for layer in graph.layers if layer.kind == "conv"]
    input_shape = graph.input_shapes[0] if graph.inputs else None
    spatial = _spatial(input_shape)
    head = _head_layers(graph)
    head_params = sum(layer.params for layer in head)
    total = graph.params
    fields = receptive_fields(graph)
    last_conv = _last_conv(graph, fields)
    rf_layer, after = _rf_coverage(graph, fields, spatial)
    compile_info = graph.compile
    widest = max((layer for layer in graph.layers if layer.kind in DEPTH_KINDS and layer.units),
                 key=lambda layer: layer.units or 0, default=None)  # fmt: skip
    largest = max((layer for layer in convs if layer.kernel_size), key=lambda layer: max(layer.kernel_size or (0,)),
                  default=None)  # fmt: skip
    return Facts(
        trainable_params=graph.trainable_params,
        non_trainable_params=graph.non_trainable_params,
        params_exact=graph.params_exact,
        depth=max(depth.values(), default=0) if end is None else depth[end],
        depth_path=depth_path,
        conv_depth=sum(1 for p in depth_path if graph.layer(p).kind == "conv"),
        width=widest.units if widest else None,
        widest_layer=widest.path if widest else None,
        largest_kernel=max(largest.kernel_size or (0,)) if largest else None,
        largest_kernel_layer=largest.path if largest else None,
        head_layers=tuple(layer.path for layer in head),
        head_params=head_params,
        head_share=(head_params / total) if convs and total else None,
        last_conv=last_conv.layer.path if last_conv else None,
        input_shape=input_shape,
        input_spatial=spatial,
        is_image=input_shape is not None and len(input_shape) == 4,
        classes=_classes(graph),
        receptive_field=fields[last_conv.id].size if last_conv and last_conv.id in fields else None,
        rf_covers_input_at=rf_layer,
        convs_after_full_rf=after,
        dropout_layers=_of_kind(graph, "dropout"),
        norm_layers=_of_kind(graph, "norm"),
        augment_layers=_of_kind(graph, "augment"),
        noise_layers=_of_kind(graph, "noise"),
        regularized_layers=tuple(
            layer.path for layer in graph.layers if "kernel" in layer.regularizers and layer.regularizers["kernel"].strength
            or any(k in layer.regularizers for k in ("depthwise", "pointwise", "recurrent", "embeddings"))
        ),
        weight_decay=compile_info.weight_decay if compile_info else None,
        label_smoothing=compile_info.label_smoothing if compile_info else 0.0,
        receptive_fields=fields,
    )


def _of_kind(graph: ModelGraph, kind: str) -> tuple[str, ...]:
    return tuple(layer.path for layer in graph.layers if layer.kind == kind)


def _longest_weight_path(nodes: list[Node]) -> tuple[dict[int, int], dict[int, int | None]]:
    """Weight layers on the longest path to each node (nodes are in topological order)."""
    depth: dict[int, int] = {}
    parent: dict[int, int | None] = {}
    for node in nodes:
        best_src = max((src for src, _ in node.inputs), key=lambda src: depth[src], default=None)
        best = depth[best_src] if best_src is not None else 0
        depth[node.id] = best + (1 if node.layer.kind in DEPTH_KINDS else 0)
        parent[node.id] = best_src
    return depth, parent


def _trace(end: int, parent: dict[int, int | None], nodes: list[Node]) -> tuple[str, ...]:
    path: list[str] = []
    current: int | None = end
    while current is not None:
        layer = nodes[current].layer
        if layer.kind in DEPTH_KINDS:
            path.append(layer.path)
        current = parent[current]
    return tuple(reversed(path))


def _spatial(shape) -> tuple[int, ...] | None:
    if shape is None or len(shape) < 3:
        return None
    dims = shape[1:-1]
    if any(d is None for d in dims):
        return None
    return tuple(dims)  # type: ignore[arg-type]


def _conv_below(graph: ModelGraph) -> dict[int, bool]:
    """For each node: is there a convolution at or after it?"""
    succ = graph.successors()
    below: dict[int, bool] = {}
    for node in reversed(graph.nodes):
        below[node.id] = node.layer.kind == "conv" or any(below[s] for s in succ[node.id])
    return below


def _head_layers(graph: ModelGraph) -> list[Layer]:
    """Weighted layers after the last convolution, once the feature map is collapsed.

    A layer is in the head when no node of it has a convolution downstream and
    it works on vectors (a BatchNormalization right after the last conv still
    belongs to the conv stage).
    """
    below = _conv_below(graph)
    if not any(layer.kind == "conv" for layer in graph.layers):
        return []
    return [
        layer
        for layer in graph.layers
        if layer.weights
        and layer.kind != "conv"
        and layer.nodes
        and not any(below[n] for n in layer.nodes)
        and _is_vector(graph.nodes[layer.nodes[0]])
    ]


def _is_vector(node: Node) -> bool:
    shape = node.outputs[0] if node.outputs else None
    return shape is None or len(shape) <= 2 or node.layer.kind == "dense"


def _last_conv(graph: ModelGraph, fields: dict[int, ReceptiveField]) -> Node | None:
    convs = [n for n in graph.nodes if n.layer.kind == "conv"]

    def area(node: Node) -> int:
        return math.prod(fields[node.id].size) if node.id in fields else 0

    return max(convs, key=lambda n: (area(n), n.id), default=None) if convs else None


def _rf_coverage(
    graph: ModelGraph, fields: dict[int, ReceptiveField], spatial: tuple[int, ...] | None
) -> tuple[str | None, int]:
    """The first conv whose receptive field spans the input, and how many convs follow it on the deepest path."""
    if spatial is None:
        return None, 0
    conv_nodes = [n for n in graph.nodes if n.layer.kind == "conv" and n.id in fields]
    covering = [
        n for n in conv_nodes
        if len(fields[n.id].size) == len(spatial) and all(r >= s for r, s in zip(fields[n.id].size, spatial))
    ]  # fmt: skip
    if not covering:
        return None, 0
    first = covering[0]
    depth, _ = _longest_weight_path(graph.nodes)
    after = max((depth[n.id] for n in conv_nodes), default=0) - depth[first.id]
    return first.layer.path, after


def _classes(graph: ModelGraph) -> int | None:
    if not graph.outputs:
        return None
    shape = graph.shape(graph.outputs[0])
    if shape is None or len(shape) != 2 or shape[-1] is None:
        return None
    return output_classes(shape[-1])


def output_classes(units: int) -> int:
    """The classes an output layer of ``units`` units separates: a single (sigmoid) unit separates two."""
    return 2 if units == 1 else units


# ---- receptive fields ----------------------------------------------------------------------


def receptive_fields(graph: ModelGraph) -> dict[int, ReceptiveField]:
    """The receptive field after each node, on the input it descends from (nodes are in topological order)."""
    fields: dict[int, ReceptiveField] = {}
    for node in graph.nodes:
        found = _input_field(node) if node.layer.kind == "input" else _field_after(node, fields)
        if found is not None:
            fields[node.id] = found
    return fields


def _input_field(node: Node) -> ReceptiveField | None:
    shape = node.outputs[0] if node.outputs else None
    if shape is None or len(shape) < 3:
        return None
    spatial = len(shape) - 2
    return ReceptiveField((1,) * spatial, (1.0,) * spatial)


def _field_after(node: Node, fields: dict[int, ReceptiveField]) -> ReceptiveField | None:
    """Follow the largest incoming field through the layer's geometry (a window grows it, a stride spreads it)."""
    sources = [fields[i] for i, _ in node.inputs if i in fields]
    if not sources:
        return None
    src = max(sources, key=lambda f: math.prod(f.size))
    rf, jump = list(src.size), list(src.stride)
    geometry = node.layer.geometry
    if geometry is None:
        pass  # not spatial any more (Dense on a vector, a custom layer): keep what was covered
    elif geometry.kind == "window" and len(geometry.kernel) == len(rf):
        rf = [r + (k - 1) * j for r, k, j in zip(rf, geometry.kernel, jump)]
        jump = [j * s for j, s in zip(jump, geometry.strides)]
    elif geometry.kind == "upsample" and len(geometry.strides) == len(jump):
        jump = [j / s for j, s in zip(jump, geometry.strides)]
    elif geometry.kind == "global":
        shape = node.input_shapes[0] if node.input_shapes else None
        if shape is not None and len(shape) == len(rf) + 2:
            channels_last = (node.layer.data_format or "channels_last") == "channels_last"
            spatial = shape[1:-1] if channels_last else shape[2:]
            rf = [r + ((n or 1) - 1) * j for r, n, j in zip(rf, spatial, jump)]
    return ReceptiveField(tuple(int(r) for r in rf), tuple(jump))
