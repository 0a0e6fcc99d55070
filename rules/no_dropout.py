"""No dropout or noise layer anywhere in the model.

## What it does
Looks for ``Dropout``, ``SpatialDropout1D/2D/3D``, ``AlphaDropout``,
``GaussianDropout`` and ``GaussianNoise``.  If there are none, it names where
one would help most: in front of the largest dense layer of the head, or
after the last convolution.

## Why is this bad?
Dropout (Srivastava et al. 2014) stops units from co-adapting to specific
training samples.  Without it (or another noise source) a high-capacity head
fits the training set freely.

## Example
```python
layers.Flatten(),
layers.Dense(128, activation="relu"),
layers.Dense(10, activation="softmax"),
```

## Use instead
```python
layers.Flatten(),
layers.Dropout(0.5),
layers.Dense(128, activation="relu"),
layers.Dense(10, activation="softmax"),
```

## Threshold (provisional)
Reported as a warning when ``P / (n x classes) >= 1`` or ``--samples`` is not
given, as info down to 0.05, and not at all below (the data then dwarfs the
model).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import output_layer_paths
from cnnlint.rules.thresholds import assumed_data_note, regularization_severity

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    if facts.dropout_layers or facts.noise_layers:
        return
    ratio = ctx.memorization_ratio
    severity = regularization_severity(ratio)
    if severity is None:
        return
    head = [ctx.graph.layer(p) for p in facts.head_layers if ctx.graph.layer(p).class_name == "Dense"]
    if head:
        target = max(head, key=lambda layer: layer.params)
        dropout = NewLayer.of("Dropout", rate=options["rate"])
        where = f"add Dropout({options['rate']}) right before '{target.path}'"
        edit = Edit(target.path, "dropout before the largest head layer", before=(dropout,))
    elif facts.last_conv:
        target = ctx.graph.layer(facts.last_conv)
        dropout = NewLayer.of(f"SpatialDropout{len(facts.input_spatial or (0, 0))}D", rate=0.1)
        where = f"add {dropout.class_name}(0.1) after '{target.path}'"
        edit = Edit(target.path, after=(dropout,))
    else:  # no convolution (an MLP): plain dropout after the largest hidden layer
        outputs = output_layer_paths(ctx.graph)
        hidden = [layer for layer in ctx.graph.layers if layer.path not in outputs] or ctx.graph.layers
        target = max(hidden, key=lambda layer: layer.params)
        where = f"add Dropout({options['rate']}) after '{target.path}'"
        edit = Edit(target.path, after=(NewLayer.of("Dropout", rate=options["rate"]),))
    yield RULE.finding(
        "no dropout or noise layer in the model" + assumed_data_note(ratio),
        layers=[target.path],
        evidence={"params_per_label": None if ratio is None else round(ratio, 3), "target_params": target.params},
        fix=where,
        severity=severity,
        edits=[edit],
    )


RULE = Rule(
    code="R201",
    name="no-dropout",
    severity="warning",
    category="regularization",
    summary="No dropout or noise layer",
    doc=__doc__ or "",
    check=check,
    options={"rate": 0.5},
    explains=("dropout",),
)
