"""Layers wider than the training set supports.

## What it does
Compares the filters (convolutions) or units (dense and recurrent layers) of
every hidden layer with a width budget that grows with the square root of the
number of training samples, and reports the parameters per training sample.

## Why is this bad?
Width multiplies parameters: a convolution's kernel grows with the product of
its input and output channels.  A wide layer has room to store sample-specific
patterns; with few samples it memorizes instead of generalizing.

## Example
```python
# 2,000 training images
layers.Conv2D(512, 3, activation="relu")
layers.Dense(1024, activation="relu")
```

## Use instead
```python
layers.Conv2D(64, 3, activation="relu")
layers.Dense(128, activation="relu")
```

## Threshold (provisional)
``budget = 72 * sqrt(n / 1000)`` filters or units: about 72 at n = 1,000, 510
at 50,000 and 2,280 at 1,000,000.  The output layer is not judged.  Needs
``--samples``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import output_layer_paths
from cnnlint.rules.thresholds import width_budget

from cnnlint.analysis import DEPTH_KINDS
from cnnlint.edits import Edit
from cnnlint.findings import Finding, Rule, RuleContext, fmt_int, fmt_ratio


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    n = ctx.n
    if not n:
        return
    budget = width_budget(n) * options["budget_scale"]
    outputs = output_layer_paths(ctx.graph)
    wide = [layer for layer in ctx.graph.layers
            if layer.kind in DEPTH_KINDS and layer.units and layer.units > budget and layer.path not in outputs]  # fmt: skip
    if not wide:
        return
    wide.sort(key=lambda layer: (-(layer.units or 0), -layer.params))
    target = 1 << max(3, int(budget).bit_length() - 1)  # the power of two at or below the budget
    saved = sum(layer.params * (1 - target / (layer.units or 1)) for layer in wide)
    widest = wide[0]
    yield RULE.finding(
        f"'{widest.path}' has {widest.units} {'filters' if widest.kind == 'conv' else 'units'}{_more(len(wide) - 1)} "
        f"(budget about {budget:.0f} for {n:,} samples); that layer holds {fmt_int(widest.params)} parameters "
        f"({fmt_ratio(widest.params / n)} per training sample), the whole model "
        f"{fmt_int(ctx.facts.trainable_params)} ({fmt_ratio(ctx.facts.trainable_params / n)} per training sample)",
        layers=[layer.path for layer in wide],
        evidence={"width": widest.units, "budget": round(budget), "samples": n, "layers_over": len(wide),
                  "layer_params_per_sample": round(widest.params / n, 2),
                  "model_params_per_sample": round(ctx.facts.trainable_params / n, 2), "target_width": target},  # fmt: skip
        fix=f"reduce these layers to {target} filters/units; that removes at least {fmt_int(saved)} parameters "
        "(approximate: the next layer's inputs shrink too)",
        edits=[Edit(layer.path, f"was {layer.units}", args=((WIDTH_ARGS[layer.kind], target),))
               for layer in wide if layer.kind in WIDTH_ARGS],  # fmt: skip
    )


def _more(count: int) -> str:
    """' and 3 more layers', ' and 1 more layer', or nothing."""
    return f" and {count} more layer{'s' if count > 1 else ''}" if count > 0 else ""


#: The Keras argument that sets a layer's width, by layer kind.
WIDTH_ARGS = {"conv": "filters", "dense": "units"}


RULE = Rule(
    code="C103",
    name="wide-layers",
    severity="warning",
    category="width",
    summary="Layers wider than the training set supports",
    doc=__doc__ or "",
    check=check,
    options={"budget_scale": 1.0},
    needs_samples=True,
    explains=("log_params_per_sample",),
)
