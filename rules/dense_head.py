"""A Flatten -> Dense head holds most of the parameters.

## What it does
Measures the share of parameters in the head (the layers after the last
convolution, once the feature map is collapsed) and, when it passes
``max_share`` (50 %), prices replacing ``Flatten`` with global average pooling.

## Why is this bad?
``Flatten`` turns every position of the last feature map into its own input
feature, so the first Dense layer gets one weight per position, channel and
unit.  That layer is usually the largest in the network and the easiest place
to memorize where things were in the training images.  Global average pooling
(Lin et al. 2014, "Network in Network") keeps one feature per channel.

## Example
```python
layers.Flatten(),
layers.Dense(512, activation="relu"),
```

## Use instead
```python
layers.GlobalAveragePooling2D(),
layers.Dense(512, activation="relu"),
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import consumers, first_node

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext, fmt_int
from cnnlint.graph import Layer, ModelGraph


def _dense_after_flatten(graph: ModelGraph, flatten: Layer) -> Layer | None:
    node = first_node(graph, flatten)
    while node is not None:
        nexts = consumers(graph, node)
        if len(nexts) != 1:
            return None
        node = nexts[0]
        if node.layer.class_name == "Dense":
            return node.layer
        if node.layer.kind not in ("dropout", "noise", "norm", "activation"):
            return None
    return None


def _shares(dense_params: int, total: int, head_params: int) -> str:
    """The Dense layer's share of the model, and the head's only where it reads differently."""
    share, head = f"{dense_params / total:.0%}", f"{head_params / total:.0%}"
    if head != share:
        return f"{share} of the model; the whole head holds {head}"
    return f"{share} of the model ({'all' if head_params == dense_params else 'nearly all'} of the head)"


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts, graph = ctx.facts, ctx.graph
    if facts.head_share is None or facts.head_share < options["max_share"]:
        return
    total = facts.trainable_params + facts.non_trainable_params
    for flatten in (layer for layer in graph.layers if layer.class_name == "Flatten"):
        dense = _dense_after_flatten(graph, flatten)
        node = first_node(graph, flatten)
        if dense is None or node is None or not node.input_shapes or node.input_shapes[0] is None:
            continue
        shape = node.input_shapes[0]
        if len(shape) < 3 or shape[-1] is None or dense.units is None:
            continue
        channels = shape[-1]
        bias = dense.units if any(w.name == "bias" for w in dense.weights) else 0
        pooled = channels * dense.units + bias
        pool = {3: "GlobalAveragePooling1D", 4: "GlobalAveragePooling2D", 5: "GlobalAveragePooling3D"}.get(
            len(shape), "GlobalAveragePooling2D"
        )
        yield RULE.finding(
            f"Flatten -> Dense({dense.units}) holds {fmt_int(dense.params)} parameters, "
            + _shares(dense.params, total, facts.head_params),
            layers=[dense.path, flatten.path],
            evidence={"dense_params": dense.params, "share": round(dense.params / total, 4),
                      "head_share": round(facts.head_share, 4), "flattened_features": node.outputs[0][-1] if node.outputs[0] else None,  # type: ignore[index]
                      "pooled_params": pooled},  # fmt: skip
            fix=f"replace '{flatten.path}' with {pool}: '{dense.path}' then has {fmt_int(pooled)} parameters "
            f"({fmt_int(dense.params - pooled)} fewer, {(dense.params - pooled) / total:.0%} of the model)",
            edits=[Edit(flatten.path, f"was Flatten ('{flatten.path}')", replace=(NewLayer.of(pool),))],
        )
        return
    biggest = max((graph.layer(p) for p in facts.head_layers), key=lambda layer: layer.params, default=None)
    if biggest is not None:
        yield RULE.finding(
            f"the head after the last convolution holds {facts.head_share:.0%} of the parameters; "
            f"'{biggest.path}' alone has {fmt_int(biggest.params)}",
            layers=[biggest.path],
            evidence={"head_share": round(facts.head_share, 4), "head_params": facts.head_params,
                      "largest_head_layer_params": biggest.params},  # fmt: skip
            fix=f"shrink '{biggest.path}' (e.g. to {max(16, (biggest.units or 64) // 4)} units) or drop the hidden "
            "dense layers and classify straight from global pooling",
        )


RULE = Rule(
    code="C105",
    name="dense-head-dominance",
    severity="warning",
    category="head",
    summary="Flatten -> Dense head holds most of the parameters",
    doc=__doc__ or "",
    check=check,
    options={"max_share": 0.5},
    explains=("log_head_params", "log_params_per_sample"),
)
