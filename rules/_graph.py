"""Small graph queries several rules share."""

from __future__ import annotations

from cnnlint.graph import Layer, ModelGraph, Node

CONV_CLASSES = ("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D")


def has_skip_connections(graph: ModelGraph) -> bool:
    """An Add of two tensors (the Add layer, or Keras 3's add op, which has the same class name)."""
    return any(layer.class_name in ("Add", "CustomScaleLayer")
               for layer in graph.layers if layer.nodes and len(graph.nodes[layer.nodes[0]].inputs) > 1)  # fmt: skip


def consumers(graph: ModelGraph, node: Node) -> list[Node]:
    return [n for n in graph.nodes if any(src == node.id for src, _ in n.inputs)]


def first_node(graph: ModelGraph, layer: Layer) -> Node | None:
    return graph.nodes[layer.nodes[0]] if layer.nodes else None


def in_out_channels(layer: Layer) -> tuple[int, int] | None:
    """(input channels per group, filters) from a convolution's kernel shape."""
    kernel = next((w for w in layer.weights if w.name == "kernel"), None)
    if kernel is None or len(kernel.shape) < 3:
        return None
    return kernel.shape[-2], kernel.shape[-1]


def output_layer_paths(graph: ModelGraph) -> set[str]:
    return {graph.nodes[node_id].layer.path for node_id, _ in graph.outputs}


def first_layer_of_kind(graph: ModelGraph, kind: str) -> Layer | None:
    return next((layer for layer in graph.layers if layer.kind == kind), None)
