"""Chart geometry for the HTML report, computed here and drawn as inline SVG by the template."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlint.analysis import Facts
from cnnlint.forecast import measured_gaps
from cnnlint.graph import ModelGraph

MAX_BARS = 48


@dataclass(frozen=True)
class Bar:
    """One layer's bar in the parameter chart."""

    label: str
    value: int
    width: float  # 0..1 of the widest
    head: bool


#: most layer names written under the receptive-field chart (every k-th beyond that, and always the last)
MAX_RF_LABELS = 16


@dataclass(frozen=True)
class Point:
    """One layer's point on the receptive-field chart."""

    label: str
    x: float  # 0..1
    y: float  # 0..1 of the plot height
    rf: int
    labelled: bool = True  # its layer name is written on the x axis


@dataclass(frozen=True)
class Tick:
    """A labelled value on the receptive-field chart's y axis."""

    value: int
    y: float  # 0..1 of the plot height


@dataclass(frozen=True)
class RfChart:
    """The receptive-field chart: the receptive field after each spatial layer against the input's size."""

    points: list[Point]
    input_line: float  # 0..1 of the plot height
    input_size: int
    ticks: list[Tick]


@dataclass(frozen=True)
class Segment:
    """One layer's share of the parameters, as a segment of a stacked bar."""

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


def receptive_field_curve(graph: ModelGraph, facts: Facts) -> RfChart | None:
    """RF (largest side) after each conv/pool on the deepest path, scaled so the input size is visible."""
    if not facts.input_spatial:
        return None
    points = []
    for node in graph.nodes:
        field = facts.receptive_fields.get(node.id)
        if node.layer.kind in ("conv", "pool") and field and field.size:
            points.append((node.layer.path, max(field.size)))
    if not points:
        return None
    size = max(facts.input_spatial)
    top = max(max(rf for _, rf in points), size) * 1.05
    n = max(len(points) - 1, 1)
    every, last = -(-len(points) // MAX_RF_LABELS), len(points) - 1
    curve = [Point(label, i / n, rf / top, rf, i == last or (i % every == 0 and last - i >= every))
             for i, (label, rf) in enumerate(points)]  # fmt: skip
    return RfChart(curve, size / top, size, [Tick(v, v / top) for v in axis_values(top)])


def axis_values(top: float, most: int = 6) -> list[int]:
    """Round values from 0 up to ``top`` for an axis: steps of 1, 2 or 5 times a power of ten, at most ``most``."""
    step = 1
    while top / step > most - 1:
        for factor in (2, 5 / 2, 2):  # 1 -> 2 -> 5 -> 10 -> 20 ...
            step = round(step * factor)
            if top / step <= most - 1:
                break
    return list(range(0, int(top) + 1, step))


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


def forecast_chart(confirm: dict | None, width: float = 700, height: float = 180) -> dict | None:
    """SVG geometry for the gap per epoch, its forecast continuation to the full run with the 80 % band,
    and the static estimate's interval as a horizontal band.  Coordinates: x from 40, y from 10 (top)."""
    if not confirm or not confirm.get("history"):
        return None
    gaps = measured_gaps(confirm["history"])
    forecast = confirm.get("forecast")
    if not gaps:
        return None
    path = forecast["path"] if forecast else []
    last = path[-1]["epoch"] if path else len(gaps)
    static = confirm.get("predicted_interval")
    values = [0.0, *gaps, *(p[k] for p in path for k in ("low", "high")), *(static or [])]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 0.05
    low, high = low - pad, high + pad

    def xy(epoch: float, gap: float) -> str:
        return f"{40 + (epoch - 1) / max(last - 1, 1) * width:.1f},{10 + (high - gap) / (high - low) * height:.1f}"

    start = (len(gaps), forecast["gap_now"]) if forecast else None
    chart = {
        "measured": " ".join(xy(i + 1, g) for i, g in enumerate(gaps)),
        "forecast": " ".join(xy(*p) for p in [start, *((p["epoch"], p["gap"]) for p in path)]) if forecast else "",
        "band": " ".join([xy(*start), *(xy(p["epoch"], p["high"]) for p in path),
                          *(xy(p["epoch"], p["low"]) for p in reversed(path))]) if forecast else "",
        "zero_y": 10 + high / (high - low) * height,
        "epochs": last,
        "measured_epochs": len(gaps),
        "low": low,
        "high": high,
        "static": None,
    }  # fmt: skip
    if static:
        top, bottom = (10 + (high - v) / (high - low) * height for v in (static[1], static[0]))
        chart["static"] = {"y": top, "height": max(bottom - top, 1.0), "low": static[0], "high": static[1]}
    return chart
