"""Chart geometry for the HTML report, computed here and drawn as inline SVG by the template."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlint.analysis import Facts
from cnnlint.graph import ModelGraph

MAX_BARS = 48


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # 0..1 of the widest
    head: bool


@dataclass(frozen=True)
class Point:
    label: str
    x: float  # 0..1
    y: float  # 0..1 of the plot height
    rf: int


@dataclass(frozen=True)
class Segment:
    label: str
    params: int
    share: float
    start: float


def parameter_bars(graph: ModelGraph, facts: Facts) -> tuple[list[Bar], int]:
    """Bars for the weighted layers in graph order; beyond MAX_BARS, the smallest are left out."""
    weighted = [layer for layer in graph.layers if layer.params > 0]
    if len(weighted) > MAX_BARS:
        keep = {layer.path for layer in sorted(weighted, key=lambda layer: -layer.params)[:MAX_BARS]}
        hidden = len(weighted) - MAX_BARS
        weighted = [layer for layer in weighted if layer.path in keep]
    else:
        hidden = 0
    top = max((layer.params for layer in weighted), default=1) or 1
    head = set(facts.head_layers)
    return [Bar(layer.path, layer.params, layer.params / top, layer.path in head) for layer in weighted], hidden


def receptive_field_curve(graph: ModelGraph, facts: Facts) -> tuple[list[Point], float | None]:
    """RF (largest side) after each conv/pool on the deepest path, scaled so the input size is visible."""
    if not facts.input_spatial:
        return [], None
    points = []
    for node in graph.nodes:
        field = facts.receptive_fields.get(node.id)
        if node.layer.kind in ("conv", "pool") and field and field.size:
            points.append((node.layer.path, max(field.size)))
    if not points:
        return [], None
    size = max(facts.input_spatial)
    top = max(max(rf for _, rf in points), size) * 1.05
    n = max(len(points) - 1, 1)
    return [Point(label, i / n, rf / top, rf) for i, (label, rf) in enumerate(points)], size / top


def capacity_split(graph: ModelGraph, facts: Facts) -> list[Segment]:
    total = graph.params or 1
    head = set(facts.head_layers)
    groups = {"convolutions": 0, "head (after the last convolution)": 0, "other layers": 0}
    for layer in graph.layers:
        if layer.kind == "conv":
            groups["convolutions"] += layer.params
        elif layer.path in head:
            groups["head (after the last convolution)"] += layer.params
        else:
            groups["other layers"] += layer.params
    segments, start = [], 0.0
    for label, params in groups.items():
        share = params / total
        segments.append(Segment(label, params, share, start))
        start += share
    return segments
