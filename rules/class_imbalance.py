"""The smallest class has far fewer training examples than the largest.

## What it does
With ``--data``, compares the smallest class's example count with the largest's.

## Why is this bad?
With few examples of a class, the network can memorize them instead of learning the class: the rare
classes overfit first, and overall accuracy hides it, because always answering the common class already
scores its share.  Validation accuracy on the rare classes is then much lower than on the training set.

## Example
```python
np.bincount(y_train)   # array([5000, 5000, 120])
```

## Use instead
```python
model.fit(x, y, class_weight={0: 1.0, 1: 1.0, 2: 41.7})   # or oversample / augment the rare classes
```

## Threshold (provisional)
A warning when the smallest class has under 10 % of the largest's examples (option ``min_ratio``).
Needs ``--data``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    probes = ctx.dataset.probes
    if probes is None or probes.classes < 2 or probes.class_balance >= options["min_ratio"]:
        return
    last = ctx.graph.nodes[ctx.graph.outputs[0][0]].layer.path if ctx.graph.outputs else ""
    yield RULE.finding(
        f"the smallest class has {probes.class_balance:.1%} as many training examples as the largest; the "
        f"largest alone is {probes.majority_share:.0%} of the data",
        layers=[last],
        evidence={"class_balance": round(probes.class_balance, 4), "majority_share": round(probes.majority_share, 4)},
        fix="weight the classes in the loss (fit(class_weight=...)), oversample or augment the rare classes, or "
        "collect more of them; report per-class validation accuracy",
    )


RULE = Rule(
    code="D303",
    name="class-imbalance",
    severity="warning",
    category="data",
    summary="The smallest class has far fewer examples than the largest",
    doc=__doc__ or "",
    check=check,
    options={"min_ratio": 0.1},
)
