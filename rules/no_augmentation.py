"""An image model with no data augmentation.

## What it does
For models whose input is an image batch (rank 4), looks for augmentation
layers inside the model (``RandomFlip``, ``RandomRotation``, ``RandomZoom``,
``RandomTranslation``, ``RandomCrop``, ``RandomContrast`` and the rest of the
``Random*`` family, ``MixUp``, ``CutMix``, ``RandAugment``...).  Many
pipelines augment in ``tf.data`` instead: say so with ``--augmented`` (or
``augmented = true`` in the config) and this rule is satisfied.

## Why is this bad?
Augmentation shows the network a new variant of each image every epoch, so
the pixels it could memorize keep changing while the label does not.  It is
the cheapest regularizer for small image datasets.

## Example
```python
inputs = keras.Input((64, 64, 3))
x = layers.Conv2D(32, 3, activation="relu")(inputs)
```

## Use instead
```python
inputs = keras.Input((64, 64, 3))
x = layers.RandomFlip("horizontal")(inputs)
x = layers.RandomTranslation(0.1, 0.1)(x)
x = layers.Conv2D(32, 3, activation="relu")(x)
```

## Threshold (provisional)
Same scaling as ``no-dropout``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules.thresholds import assumed_data_note, regularization_severity

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    facts = ctx.facts
    if not facts.is_image or facts.augment_layers or ctx.dataset.augmented:
        return
    ratio = ctx.memorization_ratio
    severity = regularization_severity(ratio)
    if severity is None:
        return
    first = ctx.graph.nodes[ctx.graph.inputs[0][0]].layer.path if ctx.graph.inputs else ""
    shift = [NewLayer.of("RandomTranslation", height_factor=0.1, width_factor=0.1),
             NewLayer.of("RandomZoom", height_factor=0.1)]  # fmt: skip
    if _single_channel(ctx):  # digits, letters, documents: a mirror image can change the class
        added = shift
        what = (f"add RandomTranslation(0.1, 0.1) and RandomZoom(0.1) right after '{first}' (no RandomFlip: "
                "a single-channel input is often digits or text, which mirroring changes)")  # fmt: skip
    else:
        added = [NewLayer.of("RandomFlip", mode="horizontal"), *shift]
        what = (f"add RandomFlip('horizontal'), RandomTranslation(0.1, 0.1) and RandomZoom(0.1) right after "
                f"'{first}' (drop RandomFlip for text or digits)")  # fmt: skip
    yield RULE.finding(
        "image input without augmentation in the model, and --augmented not given" + assumed_data_note(ratio),
        layers=[first],
        evidence={"params_per_label": None if ratio is None else round(ratio, 3)},
        fix=what + ", or pass --augmented if the input pipeline augments",
        severity=severity,
        edits=[Edit(first, "augmentation in the model", after=tuple(added))] if first else [],
    )


def _single_channel(ctx: RuleContext) -> bool:
    shape = ctx.facts.input_shape
    return shape is not None and shape[-1] == 1


RULE = Rule(
    code="R204",
    name="no-augmentation",
    severity="warning",
    category="regularization",
    summary="Image model without data augmentation",
    doc=__doc__ or "",
    check=check,
    explains=("augmentation",),
)
