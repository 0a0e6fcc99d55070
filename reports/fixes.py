"""Suggested Keras code for a fixed version of a model, built from its findings' edits.

Each finding carries its fix as data (``cnnlint.edits``); this module applies
those edits to the model's layers without knowing which rule made them.  Only
plain chains (one input, one output, every layer feeding the next) are
rewritten as code; for branching graphs the report lists the fixes instead.
The code is a starting point to review, not a drop-in replacement: settings
cnnlint does not model (initializers, names, constraints) are left at their
defaults.  Its parameter count comes from running the same layers through
cnnlint's own graph builder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from cnnlint.edits import Edit
from cnnlint.errors import CnnlintError
from cnnlint.findings import Finding
from cnnlint.graph import Layer, ModelGraph, Regularizer, build_graph
from cnnlint.layers import layer_kind
from cnnlint.layers.base import MaybeShape
from cnnlint.readers import raw_from_dict

CHAINABLE = {
    "Conv1D", "Conv2D", "Conv3D", "Dense", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "Flatten", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "BatchNormalization", "LayerNormalization", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Activation", "ReLU", "Rescaling",
    "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast", "RandomCrop",
    "GaussianNoise", "GaussianDropout",
}  # fmt: skip

REQUIRED = object()
#: Arguments a kept layer's code copies from its config (beyond what the graph models), with Keras's default:
#: a value equal to the default is left out.
COPIED_ARGS: dict[str, dict[str, Any]] = {
    "Rescaling": {"scale": REQUIRED, "offset": 0.0},
    "RandomFlip": {"mode": "horizontal_and_vertical"},
    "RandomRotation": {"factor": REQUIRED, "fill_mode": "reflect"},
    "RandomTranslation": {"height_factor": REQUIRED, "width_factor": REQUIRED, "fill_mode": "reflect"},
    "RandomZoom": {"height_factor": REQUIRED, "width_factor": None, "fill_mode": "reflect"},
    "RandomContrast": {"factor": REQUIRED},
    "RandomCrop": {"height": REQUIRED, "width": REQUIRED},
    "BatchNormalization": {"center": True, "scale": True},
    "LayerNormalization": {"center": True, "scale": True},
}
#: Where an inserted layer goes among the others inserted after the same layer: normalization right after it, then
#: an activation moved after that normalization (conv -> BN -> activation), then the rest.
AFTER_ORDER = {"norm": 0, "activation": 1}


@dataclass(frozen=True)
class Suggestion:
    """The model with the findings' fixes applied, as Keras code, and its parameter count."""

    code: str
    params: int | None  # of the suggested model, counted like any model; None when a layer cannot be counted


@dataclass
class Line:
    """One layer of the suggested model: its class and arguments, and the notes written beside it."""

    class_name: str
    args: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    source: str | None = None  # the path of the model's layer this line keeps


def suggest(graph: ModelGraph, findings: list[Finding]) -> Suggestion | None:
    """Keras code for the fixed model, or None when the graph is not a plain chain."""
    chain = _chain(graph)
    shape = graph.input_shapes[0] if graph.inputs else None
    if chain is None or shape is None:
        return None
    edits: dict[str, list[tuple[str, Edit]]] = {}
    for finding in findings:
        for edit in finding.edits:
            edits.setdefault(edit.layer, []).append((finding.code, edit))
    input_path = graph.nodes[graph.inputs[0][0]].layer.path
    lines = _inserted(edits.get(input_path, []), after=True)
    for layer in chain:
        lines += _lines_for(layer, edits.get(layer.path, []))
    for code, edit in (pair for pairs in edits.values() for pair in pairs):
        if edit.move_after is not None:
            _move(lines, edit, code)
    return Suggestion(_code(shape, lines), _count(shape, lines))


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


def _lines_for(layer: Layer, edits: list[tuple[str, Edit]]) -> list[Line]:
    lines = _inserted(edits, after=False)
    replaced = next(((code, edit) for code, edit in edits if edit.replace), None)
    if replaced is not None:
        lines += _replacement(layer, *replaced, edits)
    else:
        kept = Line(layer.class_name, _kept_args(layer), source=layer.path)
        _change(kept, edits)
        lines.append(kept)
    return lines + _inserted(edits, after=True)


def _replacement(layer: Layer, code: str, edit: Edit, edits: list[tuple[str, Edit]]) -> list[Line]:
    """The layers that take ``layer``'s place.  When the last is of the same kind (a convolution replaced by a
    stack of them), the other edits' argument changes go to it: it is the one whose output they concern."""
    lines = [Line(new.class_name, dict(new.args), [_note(code, edit)] if i == 0 else [])
             for i, new in enumerate(edit.replace)]  # fmt: skip
    if lines and layer_kind(lines[-1].class_name, None) == layer.kind:
        _change(lines[-1], [(other_code, other) for other_code, other in edits if other is not edit])
    return lines


def _change(line: Line, edits: list[tuple[str, Edit]]) -> None:
    """Apply the edits' argument changes (new values, then dropped arguments) to a layer's line."""
    for code, edit in edits:
        if edit.args or edit.drop:
            line.args.update(edit.args)
            for key in edit.drop:
                line.args.pop(key, None)
            line.notes.append(_note(code, edit))


def _inserted(edits: list[tuple[str, Edit]], *, after: bool) -> list[Line]:
    added = [(new, code, edit) for code, edit in edits for new in (edit.after if after else edit.before)]
    if after:
        added.sort(key=lambda item: AFTER_ORDER.get(layer_kind(item[0].class_name, None), len(AFTER_ORDER)))
    return [Line(new.class_name, dict(new.args), [_note(code, edit)]) for new, code, edit in added]


def _note(code: str, edit: Edit) -> str:
    return f"{code}: {edit.note}" if edit.note else code


def _move(lines: list[Line], edit: Edit, code: str) -> None:
    moving = next((i for i, line in enumerate(lines) if line.source == edit.layer), None)
    target = next((i for i, line in enumerate(lines) if line.source == edit.move_after), None)
    if moving is None or target is None or target < moving:
        return
    line = lines.pop(moving)
    lines.insert(target, line)
    line.notes.append(_note(code, edit))


def _kept_args(layer: Layer) -> dict[str, Any]:
    """The arguments that rebuild ``layer`` as cnnlint read it (what it models, plus ``COPIED_ARGS``)."""
    name, args = layer.class_name, {}
    if layer.kind == "conv":
        args.update(filters=layer.units, kernel_size=_compact(layer.kernel_size) or 3)
    elif name == "Dense":
        args["units"] = layer.units
    if layer.kind in ("conv", "pool") and not name.startswith("Global"):
        if layer.kind == "pool":
            args["pool_size"] = _compact(layer.kernel_size) or 2
        if layer.strides and layer.strides != (layer.kernel_size if layer.kind == "pool" else (1,) * len(layer.strides)):
            args["strides"] = _compact(layer.strides)
        if layer.padding and layer.padding != "valid":
            args["padding"] = layer.padding
        if layer.kind == "conv" and layer.dilation and max(layer.dilation) > 1:
            args["dilation_rate"] = _compact(layer.dilation)
    if layer.kind in ("dropout", "noise") and layer.rate is not None:
        args["stddev" if name == "GaussianNoise" else "rate"] = layer.rate
    if layer.activation and (name == "Activation" or layer.activation != "linear"):
        args["activation"] = layer.activation
    if layer.kind in ("conv", "dense"):
        if layer.options.get("use_bias") is False:
            args["use_bias"] = False
        if "kernel" in layer.regularizers:
            args["kernel_regularizer"] = layer.regularizers["kernel"]
    for key, default in COPIED_ARGS.get(name, {}).items():
        if key in layer.options and layer.options[key] != default:
            args[key] = layer.options[key]
    return args


def _compact(values: tuple[int, ...] | None) -> int | tuple[int, ...] | None:
    if not values:
        return None
    return values[0] if len(set(values)) == 1 else tuple(values)


# ---- writing it out --------------------------------------------------------------------------


def _code(shape: MaybeShape, lines: list[Line]) -> str:
    rows = [f"    keras.Input(shape={_literal(tuple(shape[1:]))}),"]  # type: ignore[index]
    for line in lines:
        call = f"layers.{line.class_name}({', '.join(f'{k}={_literal(v)}' for k, v in line.args.items())})"
        rows.append(f"    {call},{'  # ' + '; '.join(line.notes) if line.notes else ''}")
    body = "\n".join(rows)
    return f"import keras\nfrom keras import layers\n\nmodel = keras.Sequential([\n{body}\n])\n"


def _literal(value: Any) -> str:
    """A Python literal for an argument; strings come from the file, so they are always quoted and escaped."""
    if isinstance(value, Regularizer):
        return f"keras.regularizers.L2({value.l2:g})" if value.kind == "L2" else _regularizer_call(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'  # repr gives nan or inf, which are not Python literals
    return repr(value)


def _regularizer_call(reg: Regularizer) -> str:
    if reg.kind == "L1":
        return f"keras.regularizers.L1({reg.l1:g})"
    if reg.kind == "L1L2":
        return f"keras.regularizers.L1L2(l1={reg.l1:g}, l2={reg.l2:g})"
    return f"keras.regularizers.L2({reg.l2:g})"  # a custom or orthogonal penalty: the closest built-in


def _count(shape: MaybeShape, lines: list[Line]) -> int | None:
    """Parameters of the suggested model, from the same specs that count every model cnnlint reads."""
    layers = [{"class_name": "InputLayer", "config": {"name": "input", "batch_shape": list(shape or ())}}]
    layers += [{"class_name": line.class_name, "config": {"name": f"layer_{i}", **_config(line.args)}}
               for i, line in enumerate(lines)]  # fmt: skip
    try:
        graph = build_graph(raw_from_dict({"class_name": "Sequential", "config": {"name": "suggested", "layers": layers}}))
    except CnnlintError:
        return None
    return graph.params if graph.params_exact else None


def _config(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, Regularizer):
            kind = value.kind if value.kind in ("L1", "L2", "L1L2") else "L2"
            value = {"class_name": kind, "config": {"l1": value.l1, "l2": value.l2}}
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
