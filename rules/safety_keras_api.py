"""Keras non-modeling APIs named in the config.

## What it does
Looks for serialized references that resolve to a Keras object that is not
one of its built-in model parts (layers, initializers, regularizers,
constraints, activations, losses, metrics, optimizers and their schedules,
dtype policies, the model classes): ``get_file``, ``load_model``,
``load_weights``, ``enable_unsafe_deserialization``, the ``keras.datasets``
loaders, file and network utilities, and the like.  The name is resolved the
way Keras resolves it (``module`` + dotted name: ``"keras"`` +
``"utils.get_file"`` is ``keras.utils.get_file``), wherever it appears: a
layer, an initializer, an optimizer's learning rate.

## Why is this bad?
A config can name any Keras attribute as an "object" to deserialize.  Naming
``keras.utils.get_file`` makes ``load_model`` download files, and
``keras.config.enable_unsafe_deserialization`` switches off safe mode for the
rest of the load, so that a Lambda later in the same file runs
(CVE-2025-8747, CVE-2025-9906).  An optimizer calls a learning rate that is
a function, so ``keras.datasets.mnist.load_data`` there downloads a file even
in safe mode.  No real model needs these in its config.

## Example
```json
{"module": "keras.utils", "class_name": "function", "config": "get_file"}
```

## Use instead
Nothing: a model config has no reason to reference these.  Treat the file as hostile.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._scan import resolved_objects

from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.names import KERAS_API


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    reported: set[tuple[str, str]] = set()
    for layer, _, resolved in resolved_objects(ctx.raw):
        for found in resolved:
            if found.verdict != KERAS_API or (layer, found.target) in reported:
                continue
            reported.add((layer, found.target))
            yield RULE.finding(
                f"'{layer or 'model'}' names the Keras API '{found.shown}', which is not a built-in model object; "
                "loading the file with Keras would call it (downloads, file access, or safe mode switched off: "
                "CVE-2025-8747, CVE-2025-9906)",
                layers=[layer or "model"],
                evidence={"api": found.shown},
                fix="treat this file as hostile: do not load it with Keras; rebuild the model from reviewed code",
                content={"resolved": found.target},
            )


RULE = Rule(
    code="S403",
    name="keras-api-in-config",
    severity="error",
    category="safety",
    summary="Keras non-modeling APIs named in the config",
    doc=__doc__ or "",
    check=check,
)
