"""The receptive field covers the whole input long before the head.

## What it does
Follows the receptive field through the network and finds the first
convolution whose receptive field already spans the whole input.  If several
more convolutions follow on the deepest path, it reports them.

## Why is this bad?
Once a unit sees the whole image, further convolutions add no new spatial
context, only capacity: more ways to fit the training set.  (The *effective*
receptive field is smaller than the theoretical one, so this is reported only
when many layers follow.)

## Example
```python
# 32x32 input: after four 3x3/stride-2 stages the receptive field is 46x46
x = layers.Conv2D(64, 3, strides=2)(x)  # ... and six more convolutions follow
```

## Use instead
```python
# end the convolutional stack where it sees the whole input, then pool
x = layers.GlobalAveragePooling2D()(x)
```

## Threshold
Reported when at least ``min_layers`` (4) weight layers, and at least a
quarter of the convolutional depth, come after full coverage.  Model-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    after = facts.convs_after_full_rf
    if not facts.rf_covers_input_at or after < options["min_layers"] or after < facts.conv_depth / 4:
        return
    size = "x".join(map(str, facts.input_spatial or ()))
    yield RULE.finding(
        f"the receptive field spans the whole {size} input at '{facts.rf_covers_input_at}', "
        f"yet {after} more weight layers follow on the deepest path",
        layers=[facts.rf_covers_input_at],
        evidence={"input": list(facts.input_spatial or ()), "layers_after": after,
                  "receptive_field": list(facts.receptive_field or ())},  # fmt: skip
        fix=f"end the convolutional stack after '{facts.rf_covers_input_at}' (global pooling, then the classifier), "
        f"removing up to {after} layers, or feed larger inputs if detail matters",
    )


RULE = Rule(
    code="C102",
    name="wasted-depth",
    severity="info",
    category="depth",
    summary="Convolutions after the receptive field already covers the input",
    doc=__doc__ or "",
    check=check,
    options={"min_layers": 4},
    explains=("depth",),
)
