"""Suggested Keras code for a fixed version of a model, built from its findings' fixes.

Only plain chains (one input, one output, every layer feeding the next) are
rewritten as code; for branching graphs the report lists the fixes instead.
The code is a starting point to review, not a drop-in replacement: settings
cnnlint does not model (initializers, names, constraints) are left at their
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnlint.findings import Finding
from cnnlint.graph import Layer, ModelGraph

CHAINABLE = {
    "Conv1D", "Conv2D", "Conv3D", "Dense", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "Flatten", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "BatchNormalization", "LayerNormalization", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Activation", "ReLU", "Rescaling",
    "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast", "RandomCrop",
    "GaussianNoise", "GaussianDropout",
}  # fmt: skip


@dataclass
class Line:
    layer: Layer | None
    code: str
    notes: list[str] = field(default_factory=list)


def _chain(graph: ModelGraph) -> list[Layer] | None:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return None
    order: list[Layer] = []
    for node in graph.nodes:
        if len(node.inputs) > 1 or len(node.layer.nodes) > 1:
            return None
        if node.layer.kind != "input":
            if node.layer.class_name not in CHAINABLE:
                return None
            order.append(node.layer)
    return order


def _args(layer: Layer, units: int | None = None, regularize: bool = False, use_bias: bool | None = None) -> str:
    name = layer.class_name
    parts: list[str] = []
    if name.startswith("Conv"):
        parts += [str(units or layer.units), _tuple(layer.kernel_size)]
        if layer.strides and max(layer.strides) > 1:
            parts.append(f"strides={_tuple(layer.strides)}")
        if layer.padding and layer.padding != "valid":
            parts.append(f'padding="{layer.padding}"')
    elif name == "Dense":
        parts.append(str(units or layer.units))
    elif "Pooling" in name and not name.startswith("Global"):
        parts.append(_tuple(layer.kernel_size))
        if layer.padding and layer.padding != "valid":
            parts.append(f'padding="{layer.padding}"')
    elif name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise"):
        parts.append(f"{layer.rate:g}" if layer.rate is not None else "0.5")
    elif name == "Activation":
        parts.append(f'"{layer.activation}"')
    elif name.startswith("Random"):
        return f"...  # as in the original '{layer.path}'"
    if layer.activation and layer.activation != "linear" and name != "Activation":
        parts.append(f'activation="{layer.activation}"')
    if use_bias is False:
        parts.append("use_bias=False")
    if regularize or "kernel" in layer.regularizers:
        reg = layer.regularizers.get("kernel")
        strength = reg.l2 if reg is not None and reg.l2 else 1e-4
        parts.append(f"kernel_regularizer=keras.regularizers.L2({strength:g})")
    return ", ".join(parts)


def _tuple(values: tuple[int, ...] | None) -> str:
    if not values:
        return "3"
    return str(values[0]) if len(set(values)) == 1 else f"({', '.join(map(str, values))})"


def suggest(graph: ModelGraph, findings: list[Finding]) -> str | None:
    """Keras code for the fixed model, or None when the graph is not a plain chain."""
    chain = _chain(graph)
    shape = graph.input_shapes[0] if graph.inputs else None
    if chain is None or shape is None:
        return None
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    wide = {p: f.evidence.get("target_width") for f in by_code.get("C103", []) for p in f.layers}
    large = {f.layer: f for f in by_code.get("C104", [])}
    flatten_to_pool = {f.layers[1] for f in by_code.get("C105", []) if len(f.layers) > 1}
    dropout_before = {f.layer for f in by_code.get("R201", []) if "before" in f.fix}
    dropout_after = {f.layer for f in by_code.get("R201", []) if "after" in f.fix}
    add_norm, regularize = "R202" in by_code, "R203" in by_code
    rank = len(shape) - 2
    lines = [Line(None, f"keras.Input(shape={tuple(shape[1:])!r})")]
    if "R204" in by_code:
        lines.append(Line(None, 'layers.RandomFlip("horizontal")', ["R204: augmentation in the model"]))
        lines.append(Line(None, "layers.RandomTranslation(0.1, 0.1)", ["R204"]))
        lines.append(Line(None, "layers.RandomZoom(0.1)", ["R204"]))
    for layer in chain:
        notes: list[str] = []
        if layer.path in dropout_before:
            lines.append(Line(None, "layers.Dropout(0.5)", ["R201: dropout before the largest head layer"]))
        name = layer.class_name
        if layer.path in flatten_to_pool:
            lines.append(Line(layer, f"layers.GlobalAveragePooling{rank}D()", [f"C105: was Flatten ('{layer.path}')"]))
            continue
        if layer.path in large:
            f = large[layer.path]
            count, filters = f.evidence["stacked_layers"], f.evidence["filters"]
            for i in range(count):
                args = f'{filters}, 3, padding="same", activation="{layer.activation or "relu"}"'
                lines.append(Line(layer, f"layers.{name}({args})", [f"C104: replaces the {f.evidence['kernel']} kernel"] if i == 0 else []))
            continue
        units = wide.get(layer.path)
        if units:
            notes.append(f"C103: was {layer.units}")
        if name == "Dropout" and "R205" in by_code and any(f.layer == layer.path for f in by_code["R205"]):
            lines.append(Line(layer, "layers.Dropout(0.5)", [f"R205: was rate {layer.rate:g}"]))
            continue
        is_weighted = name.startswith("Conv") or name == "Dense"
        conv = name.startswith("Conv")
        reg_here = regularize and is_weighted and layer is not chain[-1]
        if reg_here:
            notes.append("R203: L2 weight penalty")
        args = _args(layer, units, regularize=reg_here, use_bias=False if (add_norm and conv) else None)
        lines.append(Line(layer, f"layers.{name}({args})", notes))
        if add_norm and conv:
            lines.append(Line(None, "layers.BatchNormalization()", ["R202"]))
        if layer.path in dropout_after:
            lines.append(Line(None, f"layers.SpatialDropout{rank}D(0.1)", ["R201"]))
    _move_dropout_after_norm(lines, {f.layers[0] for f in by_code.get("R206", [])})
    body = "\n".join(f"    {line.code},{'  # ' + '; '.join(line.notes) if line.notes else ''}" for line in lines)
    return f"import keras\nfrom keras import layers\n\nmodel = keras.Sequential([\n{body}\n])\n"


def _move_dropout_after_norm(lines: list[Line], dropouts: set[str]) -> None:
    for i in range(len(lines) - 1):
        line = lines[i]
        if line.layer is not None and line.layer.path in dropouts and "BatchNormalization" in lines[i + 1].code:
            lines[i], lines[i + 1] = lines[i + 1], line
            line.notes.append("R206: moved after the normalization")
