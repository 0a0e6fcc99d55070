"""Too many weight layers on the longest path for the training set.

## What it does
Counts the layers with a learned kernel (convolutions, dense, recurrent and
attention layers) on the longest input-to-output path and compares the count
with a depth budget that grows with the number of training samples.

## Why is this bad?
Every layer adds capacity: with few samples a deep stack can learn features
so specific that they only exist in the training set.  Deep networks trained
from scratch on small datasets typically reach 100 % training accuracy early
while validation accuracy stalls.

## Example
```python
# 1,000 training images
model = keras.Sequential([keras.Input((64, 64, 3))] +
                         [layers.Conv2D(64, 3, padding="same", activation="relu") for _ in range(16)] +
                         [layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
```

## Use instead
```python
model = keras.Sequential([keras.Input((64, 64, 3)),
    layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
    layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
    layers.Conv2D(64, 3, activation="relu"), layers.GlobalAveragePooling2D(),
    layers.Dense(10, activation="softmax")])
```
Or start from pretrained weights (``keras.applications``) and fine-tune.

## Threshold (provisional)
``budget = max(3, 3 * log2(n / 100))``, doubled for networks with skip
connections: about 10 layers at n = 1,000, 27 at 50,000, 40 at 1,000,000.
Needs ``--samples``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import has_skip_connections
from cnnlint.rules.thresholds import depth_budget

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts, n = ctx.facts, ctx.n
    if not n:
        return
    residual = has_skip_connections(ctx.graph)
    budget = depth_budget(n, residual) * options["budget_scale"]
    if facts.depth <= budget:
        return
    keep = max(1, int(budget))
    first_extra = facts.depth_path[keep] if keep < len(facts.depth_path) else facts.depth_path[-1]
    kind = "residual network" if residual else "network without skip connections"
    yield RULE.finding(
        f"{facts.depth} weight layers on the longest path ({facts.conv_depth} convolutional) for "
        f"{n:,} training samples; a {kind} this size supports about {budget:.0f}",
        layers=[first_extra],
        evidence={"depth": facts.depth, "conv_depth": facts.conv_depth, "budget": round(budget, 1),
                  "samples": n, "residual": residual},  # fmt: skip
        fix=f"cut about {facts.depth - keep} layers: keep the first {keep} and end the stack before "
        f"'{first_extra}' with global pooling, or fine-tune a pretrained network instead of training from scratch",
    )


RULE = Rule(
    code="C101",
    name="deep-network",
    severity="warning",
    category="depth",
    summary="Too many weight layers for the training set",
    doc=__doc__ or "",
    check=check,
    options={"budget_scale": 1.0},
    needs_samples=True,
    explains=("depth",),
)
