"""A convolutional stack with no normalization layer.

## What it does
Looks for ``BatchNormalization``, ``LayerNormalization`` and
``GroupNormalization`` in models with two or more convolutions. The fix
adds normalization after each convolution that another learned layer reads;
a convolution that is the model's output (a segmentation head, the last 1x1
of an all-convolutional classifier) is left as it is, since normalizing it
would change what the model predicts.

## Why is this bad?
Batch normalization (Ioffe & Szegedy 2015) stabilizes training and, through
the noise of batch statistics, acts as a regularizer; deeper plain stacks
without it train erratically and tend to need smaller learning rates and more
epochs, which gives them longer to memorize.

## Example
```python
layers.Conv2D(64, 3, activation="relu"),
layers.Conv2D(64, 3, activation="relu"),
```

## Use instead
```python
layers.Conv2D(64, 3, use_bias=False), layers.BatchNormalization(), layers.Activation("relu"),
layers.Conv2D(64, 3, use_bias=False), layers.BatchNormalization(), layers.Activation("relu"),
```

## Threshold (provisional)
Same scaling as ``no-dropout``: warning at ``P / (n x classes) >= 1`` or
without ``--samples``, info down to 0.05.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from cnnlint.rules.thresholds import assumed_data_note, regularization_severity

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.graph import Layer, ModelGraph

#: kinds a convolution's output may pass through and still be the model's output: no learned transform of it
PASS_THROUGH = frozenset({"activation", "dropout", "noise", "other", "pool", "global_pool", "reshape", "merge", "norm", "op",
                          "augment", "preprocess"})  # fmt: skip


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    convs = [layer for layer in ctx.graph.layers if layer.kind == "conv"]
    if facts.norm_layers or len(convs) < options["min_convs"]:
        return
    ratio = ctx.memorization_ratio
    severity = regularization_severity(ratio)
    if severity is None:
        return
    read = _read_by_a_learned_layer(ctx.graph)
    hidden = [conv for conv in convs if read.intersection(conv.nodes)]
    outputs = [conv for conv in convs if not read.intersection(conv.nodes)]
    if not hidden:
        return
    yield RULE.finding(
        f"{len(convs)} convolutions and no normalization layer" + assumed_data_note(ratio),
        layers=[hidden[0].path],
        evidence={"convolutions": len(convs), "params_per_label": None if ratio is None else round(ratio, 3)},
        fix=_fix(hidden, outputs),
        severity=severity,
        edits=[_edit(conv) for conv in hidden],
    )


def _read_by_a_learned_layer(graph: ModelGraph) -> set[int]:
    """The nodes whose output another learned layer (or one cnnlint does not know) reads, through any path.  A
    convolution with none is the output layer (a segmentation head, an all-convolutional classifier's last 1x1),
    with only activation, pooling, reshaping and the like after it: normalizing it would change what the model
    predicts.  One backward walk from every learned node, so linear in the graph's size."""
    upstream: set[int] = set()
    todo = [node.id for node in graph.nodes if node.layer.kind not in PASS_THROUGH]
    while todo:
        for source, _ in graph.nodes[todo.pop()].inputs:
            if source not in upstream:
                upstream.add(source)
                todo.append(source)
    return upstream


def _moved_activation(conv: Layer) -> str | None:
    """The convolution's non-linear activation, which moves after the normalization; None for a linear one."""
    return None if conv.activation in (None, "linear") else conv.activation


def _fix(convs: list[Layer], outputs: list[Layer]) -> str:
    """The fix in words: with an activation on a convolution, the activation moves after the normalization (a
    bias is redundant only right before normalization, so use_bias=False needs BN on the linear output)."""
    start = f"add BatchNormalization() after each convolution, starting after '{convs[0].path}'"
    if outputs:
        names = ", ".join(f"'{conv.path}'" for conv in outputs[:3]) + (", ..." if len(outputs) > 3 else "")
        start += f" (not after the output convolution{'s' if len(outputs) > 1 else ''} {names})"
    activated = next((conv for conv in convs if _moved_activation(conv)), None)
    if activated is None:
        return f"{start} (and set use_bias=False on those convolutions)"
    pattern = (f"{activated.class_name}(..., use_bias=False) -> BatchNormalization() "
               f"-> Activation({json.dumps(_moved_activation(activated))})")  # fmt: skip
    return f"{start}, and move each convolution's activation after its normalization: {pattern}"


def _edit(conv: Layer) -> Edit:
    """use_bias=False and BN after the convolution; its non-linear activation, if any, moves after the BN."""
    activation = _moved_activation(conv)
    if activation is None:
        return Edit(conv.path, args=(("use_bias", False),), after=(NewLayer.of("BatchNormalization"),))
    after = (NewLayer.of("BatchNormalization"), NewLayer.of("Activation", activation=activation))
    return Edit(conv.path, args=(("use_bias", False),), drop=("activation",), after=after)


RULE = Rule(
    code="R202",
    name="no-normalization",
    severity="warning",
    category="regularization",
    summary="No normalization in a convolutional stack",
    doc=__doc__ or "",
    check=check,
    options={"min_convs": 2},
    explains=("normalization",),
)
