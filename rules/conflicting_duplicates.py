"""Duplicate training examples that carry different labels (label noise).

## What it does
With ``--data``, looks for training examples that are exact or near copies of another example (on the
area-averaged features the data probes use) but carry a different label, and reports their share.

## Why is this bad?
A network that can memorize its training set learns every label it is given, wrong ones included: each
conflicting pair is an example it must fit against its own features.  Label noise raises the gap between
training and validation accuracy, and the validation accuracy it leaves cannot exceed the share of labels
that are right.  Duplicates also leak between a training and a validation split made from the same data.

## Example
```python
# the same image saved twice, once under "cat/" and once under "dog/"
np.savez("train.npz", x=x, y=y)   # 3 % of x have a twin with another label
```

## Use instead
```python
# drop or relabel the conflicting copies, then split train/validation after deduplication
```

## Threshold (provisional)
A warning from 1 % of the examples (option ``min_share``).  Needs ``--data``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    probes = ctx.dataset.probes
    if probes is None or probes.conflicting_duplicate_fraction < options["min_share"]:
        return
    first = ctx.graph.nodes[ctx.graph.inputs[0][0]].layer.path if ctx.graph.inputs else ""
    yield RULE.finding(
        f"{probes.conflicting_duplicate_fraction:.1%} of the training examples duplicate another example that "
        "has a different label: label noise the network will memorize",
        layers=[first],
        evidence={
            "conflicting_duplicate_fraction": round(probes.conflicting_duplicate_fraction, 4),
            "duplicate_fraction": round(probes.duplicate_fraction, 4),
            "probed": probes.probed,
        },
        fix="find the duplicated examples (exact or near copies), keep one copy with the right label, and split "
        "train/validation only after deduplicating",
    )


RULE = Rule(
    code="D302",
    name="conflicting-duplicates",
    severity="warning",
    category="data",
    summary="Duplicate training examples with different labels (label noise)",
    doc=__doc__ or "",
    check=check,
    options={"min_share": 0.01},
    explains=("knn_error", "linear_error", "patch_error"),  # label noise caps what any classifier reaches on this data
)
