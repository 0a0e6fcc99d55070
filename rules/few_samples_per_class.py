"""Too few training samples per class for the input resolution.

## What it does
For image inputs, compares samples per class (``n / classes``) with what the
input resolution calls for, and works out the resolution that the available
samples would support.

## Why is this bad?
Every input pixel is a dimension the first layers can latch onto.  With few
examples per class and many pixels, spurious pixel-level differences separate
the training images perfectly and the network learns those instead of the
class.  Downsampling the input, or more data per class, reduces that.

## Example
```python
# 10 classes, 500 images: 50 per class at 224x224
keras.Input((224, 224, 3))
```

## Use instead
```python
keras.Input((96, 96, 3))   # or fine-tune a pretrained model
```

## Threshold (provisional)
``needed = 3 * sqrt(height * width)`` samples per class: 84 at 28x28, 96 at
32x32, 672 at 224x224.  Needs ``--samples``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from cnnlint.rules.thresholds import samples_per_class_needed

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    if not ctx.n or not facts.is_image or not facts.input_spatial or not ctx.classes:
        return
    pixels = math.prod(facts.input_spatial)
    per_class = ctx.n / ctx.classes
    needed = samples_per_class_needed(pixels) * options["scale"]
    if per_class >= needed:
        return
    # needed(side x side) = 3 * side, so the supported side is per_class / 3
    side = min(max(8, int(per_class / (3 * options["scale"]))), int(math.sqrt(pixels)))
    size = "x".join(map(str, facts.input_spatial))
    first = ctx.graph.nodes[ctx.graph.inputs[0][0]].layer.path if ctx.graph.inputs else ""
    yield RULE.finding(
        f"{per_class:.0f} training samples per class for {size} inputs; about {needed:.0f} per class is typical "
        "at this resolution",
        layers=[first],
        evidence={"samples_per_class": round(per_class, 1), "needed": round(needed), "input": list(facts.input_spatial)},
        fix=f"collect about {math.ceil(needed * ctx.classes):,} samples, downsample inputs to about {side}x{side} "
        "(which this many samples supports), or fine-tune a pretrained network",
    )


RULE = Rule(
    code="D301",
    name="few-samples-per-class",
    severity="warning",
    category="data",
    summary="Too few samples per class for the input resolution",
    doc=__doc__ or "",
    check=check,
    options={"scale": 1.0},
    needs_samples=True,
    explains=("log_samples", "log_classes"),
)
