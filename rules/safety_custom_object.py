"""Custom registered objects: loading needs code from elsewhere.

## What it does
Finds layers and other objects registered with
``keras.saving.register_keras_serializable`` (their ``registered_name`` has a
``package>Name`` form) or of a class Keras does not ship.

## Why is this bad?
To load the file, Keras imports the package that defines the object and runs
its ``from_config``: whoever controls that package (or a same-named module on
the loading machine's path) runs code during loading.  cnnlint also cannot
count such a layer's parameters, so its numbers for the model are a lower
bound.

## Example
```python
@keras.saving.register_keras_serializable(package="my_lab")
class FancyBlock(keras.layers.Layer): ...
```

## Use instead
Built-in layers where possible.  Otherwise, keep the custom code in a
reviewed, pinned package and load only files from trusted sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.names import CUSTOM, FOREIGN, resolve


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    for layer in ctx.graph.layers:
        if layer.kind != "unknown" or not _custom(layer.class_name, layer.module):
            continue
        origin = f" from '{layer.module}'" if layer.module else ""
        yield RULE.finding(
            f"'{layer.path}' is a custom {layer.class_name}{origin}; loading the file imports and runs its code, "
            "and cnnlint cannot count its parameters",
            layers=[layer.path],
            evidence={"class_name": layer.class_name, "module": layer.module},
            content={"class_name": layer.class_name, "module": layer.module or ""},
            fix="use built-in Keras layers, or load only with the reviewed package that defines "
            f"'{layer.class_name}' installed",
        )


def _custom(class_name: str, module: str | None) -> bool:
    """Whether the layer needs code from outside Keras: not a built-in Keras layer (one cnnlint does not model
    included), nor one the other S4 rules report (code, files, TF ops, Keras APIs)."""
    found = resolve({"class_name": class_name, "module": module})
    return not found or all(item.verdict in (CUSTOM, FOREIGN) for item in found)


RULE = Rule(
    code="S405",
    name="custom-object",
    severity="warning",
    category="safety",
    summary="Custom objects that need code from elsewhere",
    doc=__doc__ or "",
    check=check,
)
