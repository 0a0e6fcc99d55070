"""Dropout directly before BatchNormalization.

## What it does
Reports a dropout layer whose output goes straight into a
``BatchNormalization`` layer.

## Why is this bad?
Dropout scales activations during training but not at inference, so the
batch statistics that BatchNormalization learns in training do not match the
activations it sees at test time: the "variance shift" of Li et al. (2019),
which costs accuracy.  Put dropout after the last normalization instead.

## Example
```python
layers.Dropout(0.3),
layers.BatchNormalization(),
```

## Use instead
```python
layers.BatchNormalization(),
layers.Dropout(0.3),
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import consumers

from cnnlint.edits import Edit
from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    graph = ctx.graph
    for node in graph.nodes:
        if node.layer.kind != "dropout":
            continue
        for nxt in consumers(graph, node):
            if nxt.layer.class_name in ("BatchNormalization", "SyncBatchNormalization"):
                yield RULE.finding(
                    f"'{node.layer.path}' feeds '{nxt.layer.path}' directly: the normalization statistics "
                    "learned under dropout do not match inference",
                    layers=[node.layer.path, nxt.layer.path],
                    evidence={"dropout_rate": node.layer.rate},
                    fix=f"move '{node.layer.path}' after '{nxt.layer.path}'",
                    edits=[Edit(node.layer.path, "moved after the normalization", move_after=nxt.layer.path)],
                )


RULE = Rule(
    code="R206",
    name="dropout-before-batchnorm",
    severity="warning",
    category="regularization",
    summary="Dropout directly before BatchNormalization",
    doc=__doc__ or "",
    check=check,
)
