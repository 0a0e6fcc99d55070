"""No weight penalty: no L1/L2 kernel regularizer and no optimizer weight decay.

## What it does
Looks for ``kernel_regularizer`` (L1, L2, L1L2, orthogonal) on any layer and
for ``weight_decay`` in the optimizer saved in the file's compile config
(``AdamW``, or any optimizer with ``weight_decay`` set).

## Why is this bad?
Without a penalty, nothing pulls weights back once they have grown to fit
individual training samples.  Weight decay is part of nearly every modern
training recipe (Loshchilov & Hutter 2019).

## Example
```python
layers.Dense(128, activation="relu")
model.compile(optimizer="adam", ...)
```

## Use instead
```python
layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4))
# or
model.compile(optimizer=keras.optimizers.AdamW(weight_decay=1e-4), ...)
```

## Threshold (provisional)
Same scaling as ``no-dropout``.  A file saved without its compile config
(``to_json``, or saved uncompiled) cannot show weight decay; the finding says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import output_layer_paths
from cnnlint.rules.thresholds import assumed_data_note, regularization_severity

from cnnlint.edits import Edit
from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.graph import Regularizer


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    if facts.has_weight_penalty:
        return
    ratio = ctx.memorization_ratio
    severity = regularization_severity(ratio)
    if severity is None:
        return
    weighted = [layer for layer in ctx.graph.layers if layer.kind in ("conv", "dense")]
    if not weighted:
        return
    target = max(weighted, key=lambda layer: layer.params)
    compiled = ctx.graph.compile is not None and ctx.graph.compile.optimizer is not None
    caveat = "" if compiled else "; the file has no optimizer config, so weight decay set at compile time is unseen"
    yield RULE.finding(
        "no L1/L2 kernel regularizer and no optimizer weight decay" + caveat + assumed_data_note(ratio),
        layers=[target.path],
        evidence={"optimizer": ctx.graph.compile.optimizer if ctx.graph.compile else None,
                  "params_per_label": None if ratio is None else round(ratio, 3)},  # fmt: skip
        fix=f"compile with keras.optimizers.AdamW(weight_decay={options['weight_decay']:g}), or add "
        f"kernel_regularizer=keras.regularizers.L2({options['l2']:g}) to '{target.path}' "
        f"({target.params:,} params) and the other weight layers",
        severity=severity,
        edits=[Edit(layer.path, "L2 weight penalty", args=(("kernel_regularizer", Regularizer("L2", l2=options["l2"])),))
               for layer in weighted if layer.path not in output_layer_paths(ctx.graph)],  # fmt: skip
    )


RULE = Rule(
    code="R203",
    name="no-weight-penalty",
    severity="warning",
    category="regularization",
    summary="No L1/L2 regularizer and no weight decay",
    doc=__doc__ or "",
    check=check,
    options={"weight_decay": 1e-4, "l2": 1e-4},
    explains=("weight_penalty",),
)
