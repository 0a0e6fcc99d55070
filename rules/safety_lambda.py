"""A Lambda layer: Python code stored in the file.

## What it does
Finds ``Lambda`` layers.  Keras serializes a Lambda's function as marshalled
Python bytecode (or a reference to a named function).

## Why is this bad?
``keras.models.load_model`` rebuilds the function, which runs the file's
code in your process.  Keras refuses in safe mode (the default since Keras
2.13), but ``safe_mode=False``, ``keras.config.enable_unsafe_deserialization()``
and older tf.keras execute it: CVE-2024-3660.  A model file from a pull
request must never be loaded that way.  The bytecode is also tied to the
Python version that wrote it.

## Example
```python
layers.Lambda(lambda x: x / 255.0)
```

## Use instead
```python
layers.Rescaling(1 / 255.0)   # a built-in layer: no code in the file
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._scan import objects

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    for layer, obj in objects(ctx.raw.config):
        if obj.get("class_name") != "Lambda" or not isinstance(obj.get("config"), dict):
            continue
        function = obj["config"].get("function")
        bytecode = "__lambda__" in str(function)[:200] or obj["config"].get("function_type") == "lambda"  # Keras 3 / 2
        stored = "marshalled bytecode" if bytecode else "a function reference"
        yield RULE.finding(
            f"Lambda layer '{layer}' stores {stored}; keras.models.load_model would execute it "
            "(refused in safe mode, run with safe_mode=False or by older tf.keras: CVE-2024-3660)",
            layers=[layer],
            evidence={"stored": stored},
            fix="replace the Lambda with built-in layers (Rescaling, Activation, Reshape...) or a registered "
            "custom layer, and re-save; never load this file with safe_mode=False",
        )


RULE = Rule(
    code="S401",
    name="lambda-layer",
    severity="error",
    category="safety",
    summary="Lambda layer: code stored in the model file",
    doc=__doc__ or "",
    check=check,
)
