"""Trainable parameters against the labels in the training set.

## What it does
Computes ``P / (n x classes)``: trainable parameters per training label.  Above
1, the model has more free parameters than the training set has label
constraints, so it *can* memorize every label.  The finding's severity rises
when the model also lacks regularization.

## Why is this bad?
Zhang et al. (2017) showed that standard CNNs with this much capacity fit even
random labels.  Whether they do on real labels depends on regularization,
augmentation and the optimizer: more parameters are **not** monotonically
worse (double descent, Nakkiran et al. 2019; Jiang et al. 2020 found parameter
count a poor predictor of the generalization gap on its own).  So read this as
"memorization is possible", and look at the regularization findings and the
risk estimate for whether it is likely.

## Example
```python
# 1,000 samples, 10 classes: 1.2 M parameters = 120 per label
layers.Flatten(), layers.Dense(256, activation="relu")
```

## Use instead
```python
layers.GlobalAveragePooling2D(), layers.Dense(64, activation="relu"), layers.Dropout(0.5)
```

## Threshold (provisional)
``P / (n x classes) >= 1``: info when dropout or normalization and a weight
penalty or augmentation are present, warning otherwise.  Needs ``--samples``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext, class_count, fmt_int, fmt_ratio


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    ratio = ctx.memorization_ratio
    if ratio is None or ratio < options["max_ratio"]:
        return
    facts = ctx.facts
    classes = class_count(ctx.dataset, facts)
    regularized = bool(facts.dropout_layers or facts.norm_layers) and (
        facts.has_weight_penalty or bool(facts.augment_layers) or ctx.dataset.augmented
    )
    largest = max(ctx.graph.layers, key=lambda layer: layer.trainable_params)
    target = int(options["max_ratio"] * (ctx.n or 0) * classes)
    yield RULE.finding(
        f"{fmt_int(facts.trainable_params)} trainable parameters for {ctx.n:,} samples x {classes} classes "
        f"= {fmt_ratio(ratio)} per label: enough capacity to memorize the training set"
        + ("" if regularized else ", and little regularization to stop it"),
        layers=[largest.path],
        evidence={"trainable_params": facts.trainable_params, "samples": ctx.n, "classes": classes,
                  "params_per_label": round(ratio, 3), "regularized": regularized},  # fmt: skip
        fix=f"bring trainable parameters toward {fmt_int(target)} (the largest layer is '{largest.path}' with "
        f"{fmt_int(largest.trainable_params)}), or keep the size and add dropout, weight decay and augmentation",
        severity="info" if regularized else "warning",
    )


RULE = Rule(
    code="C106",
    name="capacity-vs-data",
    severity="warning",
    category="width",
    summary="More trainable parameters than training labels",
    doc=__doc__ or "",
    check=check,
    options={"max_ratio": 1.0},
    needs_samples=True,
    explains=("log_params_per_sample", "log_samples"),
)
