"""A convolutional stack with no normalization layer.

## What it does
Looks for ``BatchNormalization``, ``LayerNormalization`` and
``GroupNormalization`` in models with two or more convolutions.

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

from collections.abc import Iterator
from typing import Any

from cnnlint.rules.thresholds import assumed_data_note, regularization_severity

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    convs = [layer for layer in ctx.graph.layers if layer.kind == "conv"]
    if facts.norm_layers or len(convs) < options["min_convs"]:
        return
    ratio = ctx.memorization_ratio
    severity = regularization_severity(ratio)
    if severity is None:
        return
    norm = "BatchNormalization()"
    yield RULE.finding(
        f"{len(convs)} convolutions and no normalization layer" + assumed_data_note(ratio),
        layers=[convs[0].path],
        evidence={"convolutions": len(convs), "params_per_label": None if ratio is None else round(ratio, 3)},
        fix=f"add {norm} after each convolution, starting after '{convs[0].path}' "
        "(and set use_bias=False on those convolutions)",
        severity=severity,
        edits=[Edit(conv.path, args=(("use_bias", False),), after=(NewLayer.of("BatchNormalization"),))
               for conv in convs],  # fmt: skip
    )


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
