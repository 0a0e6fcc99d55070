"""Dropout rate above 0.5.

## What it does
Reports dropout layers whose ``rate`` is above ``max_rate`` (0.5).

## Why is this bad?
Keras's ``rate`` is the fraction *dropped*.  Above 0.5, most units are
silenced at every step: training becomes noisy and slow, and the network
often underfits; when people then train longer or widen the layer to
compensate, the net effect can be more memorization, not less.  A rate
above 0.5 is often a ``keep_prob`` carried over from TensorFlow 1 code.

## Example
```python
layers.Dropout(0.8)
```

## Use instead
```python
layers.Dropout(0.2)   # if 0.8 was meant as keep_prob
layers.Dropout(0.5)   # the classic maximum for dense layers
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.edits import Edit
from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    for layer in ctx.graph.layers:
        if layer.kind != "dropout" or layer.rate is None or layer.rate <= options["max_rate"]:
            continue
        yield RULE.finding(
            f"'{layer.path}' drops {layer.rate:.0%} of its inputs (rate={layer.rate:g})",
            layers=[layer.path],
            evidence={"rate": layer.rate, "max_rate": options["max_rate"]},
            fix=f"set rate to {options['max_rate']:g} or less; if {layer.rate:g} was a keep probability, "
            f"use rate={1 - layer.rate:g}",
            edits=[Edit(layer.path, f"was rate {layer.rate:g}", args=(("rate", options["max_rate"]),))],
        )


RULE = Rule(
    code="R205",
    name="high-dropout-rate",
    severity="warning",
    category="regularization",
    summary="Dropout rate above 0.5",
    doc=__doc__ or "",
    check=check,
    options={"max_rate": 0.5},
    explains=("dropout",),
)
