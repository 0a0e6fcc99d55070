"""The model graph's data model: layers (weight owners), nodes (calls), compile settings.

Built by ``cnnlint.graph.builder`` from an untrusted config; everything after
the builder reads only these typed objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlint.layers.base import Geometry, MaybeShape, Weight

Ref = tuple[int, int]  # (node id, output index)


@dataclass(frozen=True)
class Regularizer:
    """A weight regularizer on a layer: its kind and, for L1, L2 and L1L2, its strengths."""

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
    data_format: str | None = None
    rate: float | None = None
    regularizers: dict[str, Regularizer] = field(default_factory=dict)
    constraints: dict[str, str] = field(default_factory=dict)
    #: the config's plain settings (numbers, strings, booleans, short lists of numbers), for code that rebuilds it
    options: dict[str, Any] = field(default_factory=dict)
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


@dataclass(frozen=True)
class Loss:
    """A compiled loss, by name, with the label smoothing it applies."""

    name: str
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class CompileInfo:
    """What the saved model's compile settings say: optimizer, learning rate, weight decay and losses."""

    optimizer: str | None = None
    learning_rate: float | None = None
    weight_decay: float | None = None
    losses: tuple[Loss, ...] = ()

    @property
    def label_smoothing(self) -> float:
        return max((loss.label_smoothing for loss in self.losses), default=0.0)


@dataclass
class ModelGraph:
    """The format-independent picture of a network: its layers (the weight owners), the nodes where they are called,
    the graph's inputs and outputs, and its compile settings."""

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
        """The layer at ``path``; indexed once (a scan per call made analysing a 99,000-layer model quadratic)."""
        index = self.__dict__.get("_by_path")
        if index is None or index[0] != len(self.layers):
            index = (len(self.layers), {layer.path: layer for layer in self.layers})
            self.__dict__["_by_path"] = index
        return index[1][path]

    def successors(self) -> dict[int, list[int]]:
        succ: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for node in self.nodes:
            for src, _ in node.inputs:
                succ[src].append(node.id)
        return succ
