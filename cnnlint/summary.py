"""The ``cnnlint inspect`` view: a ``model.summary()``-style table plus the model facts."""

from __future__ import annotations

from typing import Any

from cnnlint.analysis import Facts
from cnnlint.graph import Layer, ModelGraph
from cnnlint.layers.base import fmt_shape


def layer_regularization(layer: Layer) -> str:
    parts = [f"{key}:{reg.describe()}" for key, reg in layer.regularizers.items()]
    if layer.kind in ("dropout", "noise") and layer.rate is not None:
        parts.append(f"rate {layer.rate:g}")
    parts += [f"{key}:{name}" for key, name in layer.constraints.items()]
    return ", ".join(parts)


def layer_row(graph: ModelGraph, facts: Facts, layer: Layer) -> dict[str, Any]:
    first = graph.nodes[layer.nodes[0]] if layer.nodes else None
    shapes = first.outputs if first else []
    field = facts.receptive_fields.get(first.id) if first else None
    return {
        "path": layer.path,
        "class_name": layer.class_name,
        "kind": layer.kind,
        "output_shape": [list(s) if s is not None else None for s in shapes],
        "trainable_params": layer.trainable_params,
        "non_trainable_params": layer.non_trainable_params,
        "counted": layer.counted,
        "problem": layer.problem,
        "units": layer.units,
        "kernel_size": list(layer.kernel_size) if layer.kernel_size else None,
        "strides": list(layer.strides) if layer.strides else None,
        "dilation": list(layer.dilation) if layer.dilation else None,
        "receptive_field": list(field.size) if field and field.size else None,
        "effective_stride": [round(j, 4) for j in field.stride] if field and field.stride else None,
        "regularization": layer_regularization(layer) or None,
        "calls": len(layer.nodes),
    }


def graph_summary(graph: ModelGraph, facts: Facts) -> dict[str, Any]:
    """The graph and its facts as plain JSON-able data (shared by inspect and the JSON report)."""
    compile_info = graph.compile
    return {
        "name": graph.name,
        "class_name": graph.class_name,
        "format": graph.format,
        "keras_version": graph.keras_version,
        "inputs": [list(s) if s else None for s in graph.input_shapes],
        "outputs": [list(s) if s else None for s in graph.output_shapes],
        "trainable_params": facts.trainable_params,
        "non_trainable_params": facts.non_trainable_params,
        "params_exact": facts.params_exact,
        "uncounted_layers": [layer.path for layer in graph.uncounted_layers],
        "depth": facts.depth,
        "depth_path": list(facts.depth_path),
        "width": facts.width,
        "widest_layer": facts.widest_layer,
        "largest_kernel": facts.largest_kernel,
        "largest_kernel_layer": facts.largest_kernel_layer,
        "head_layers": list(facts.head_layers),
        "head_params": facts.head_params,
        "head_share": facts.head_share,
        "receptive_field": list(facts.receptive_field) if facts.receptive_field else None,
        "rf_covers_input_at": facts.rf_covers_input_at,
        "classes": facts.classes,
        "regularization": {
            "dropout": list(facts.dropout_layers),
            "normalization": list(facts.norm_layers),
            "augmentation": list(facts.augment_layers),
            "noise": list(facts.noise_layers),
            "weight_penalty": list(facts.regularized_layers),
            "weight_decay": facts.weight_decay,
            "label_smoothing": facts.label_smoothing,
        },
        "compile": None
        if compile_info is None
        else {
            "optimizer": compile_info.optimizer,
            "learning_rate": compile_info.learning_rate,
            "weight_decay": compile_info.weight_decay,
            "losses": [{"name": loss.name, "label_smoothing": loss.label_smoothing} for loss in compile_info.losses],
        },
        "notes": list(graph.notes),
        "layers": [layer_row(graph, facts, layer) for layer in graph.layers],
    }


def render_summary(graph: ModelGraph, facts: Facts) -> str:
    """A text table a Keras user recognizes from ``model.summary()``, with a receptive-field column."""
    header = ("Layer (type)", "Output Shape", "Param #", "RF", "Regularization")
    rows = []
    for layer in graph.layers:
        row = layer_row(graph, facts, layer)
        shapes = [fmt_shape(tuple(s) if s is not None else None) for s in row["output_shape"]] or ["(?)"]
        params = f"{layer.params:,}" if layer.counted else "?"
        rf = "x".join(str(r) for r in row["receptive_field"]) if row["receptive_field"] else ""
        rows.append((f"{layer.path} ({layer.class_name})", ", ".join(shapes), params, rf, row["regularization"] or ""))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def line(cells) -> str:
        return "  ".join(str(c).ljust(w) if i != 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [f'Model: "{graph.name}" ({graph.class_name}, {graph.format})', rule, line(header), rule]
    out += [line(r) for r in rows]
    out.append(rule)
    approx = "" if facts.params_exact else "  (lower bound: some layers could not be counted)"
    total = facts.trainable_params + facts.non_trainable_params
    out.append(f"Total params: {total:,}{approx}")
    out.append(f"Trainable params: {facts.trainable_params:,}")
    out.append(f"Non-trainable params: {facts.non_trainable_params:,}")
    out.append(rule)
    out += _facts_lines(facts)
    out += [f"note: {n}" for n in graph.notes]
    out += [f"note: {layer.path}: {layer.problem}" for layer in graph.uncounted_layers]
    return "\n".join(out)


def _facts_lines(facts: Facts) -> list[str]:
    head = "n/a (no convolution)" if facts.head_share is None else f"{facts.head_share:.1%} of parameters"
    rf = "x".join(map(str, facts.receptive_field)) if facts.receptive_field else "n/a"
    inp = "x".join(map(str, facts.input_spatial)) if facts.input_spatial else "n/a"
    regs = [
        f"dropout {len(facts.dropout_layers)}",
        f"normalization {len(facts.norm_layers)}",
        f"augmentation {len(facts.augment_layers)}",
        f"weight penalty {len(facts.regularized_layers)} layers",
        f"weight decay {facts.weight_decay:g}" if facts.weight_decay else "weight decay none",
    ]
    return [
        f"Depth (weight layers on the longest path): {facts.depth}",
        f"Width (most filters/units): {facts.width or 'n/a'}" + (f" at {facts.widest_layer}" if facts.widest_layer else ""),
        f"Largest kernel: {facts.largest_kernel or 'n/a'}" + (f" at {facts.largest_kernel_layer}" if facts.largest_kernel_layer else ""),
        f"Head (after the last convolution): {head}",
        f"Receptive field at the last convolution: {rf} (input {inp})",
        "Regularization: " + ", ".join(regs),
    ]
