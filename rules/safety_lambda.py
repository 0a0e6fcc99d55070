"""Code stored in the file: Lambda layers, lambda functions, pickled torch modules.

## What it does
Finds ``Lambda`` layers, any other serialized lambda function
(``"class_name": "__lambda__"``, e.g. a loss or metric in ``compile_config``,
which Keras deserializes when the model is compiled on load),
``TorchModuleWrapper`` layers and the JAX wrappers ``JaxLayer`` and
``FlaxLayer``, however the name is spelled: the layer is the one Keras
resolves from ``module`` + ``class_name`` (``"keras"`` +
``"layers.Lambda"`` is a Lambda; see ``cnnlint/names.py``).  Keras serializes a Lambda's function as
marshalled Python bytecode (or a reference to a named function), and a
``TorchModuleWrapper`` as a pickled torch module.  Every config the file
carries is scanned: the model, its compile or training settings (``.keras``,
legacy ``.h5`` and SavedModel), every SavedModel node, and every view of a
file that is valid in two formats.

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

from cnnlint.rules._scan import resolved_objects

from cnnlint.findings import Finding, Rule, RuleContext, digest
from cnnlint.names import CODE, LAMBDA, Resolved


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    lambda_layers: set[str] = set()
    for layer, obj, resolved in resolved_objects(ctx.raw):
        code = next((found for found in resolved if found.verdict == CODE), None)
        if code is None:
            continue
        if code.leaf == "TorchModuleWrapper":
            yield _torch_finding(layer, code, obj)
        elif code.leaf == LAMBDA:
            if not any(_within(layer, seen) for seen in lambda_layers):
                yield _bytecode_finding(layer, obj)
        elif isinstance(obj.get("config"), dict):
            lambda_layers.add(layer)
            yield _lambda_finding(layer, code, obj["config"])


def _lambda_finding(layer: str, code: Resolved, config: dict) -> Finding:
    function = config.get("function")
    bytecode = LAMBDA in str(function)[:200] or config.get("function_type") == "lambda"  # Keras 3 / Keras 2
    stored = "marshalled bytecode" if bytecode else "a function reference"
    spelled = "Lambda" if code.leaf == "Lambda" else code.leaf
    return RULE.finding(
        f"{spelled} layer '{layer}' stores {stored}; keras.models.load_model would execute it "
        "(refused in safe mode, run with safe_mode=False or by older tf.keras: CVE-2024-3660)",
        layers=[layer],
        evidence={"stored": stored, "resolved": code.shown},
        fix="replace the Lambda with built-in layers (Rescaling, Activation, Reshape...) or a registered "
        "custom layer, and re-save; never load this file with safe_mode=False",
        content={"resolved": code.target, "stored": stored, "sha256": digest(_without_name(config))},
    )


def _without_name(config: dict) -> dict:
    """What a reviewer accepts of a layer: everything in its config but the name (the finding's key has it)."""
    return {key: value for key, value in config.items() if key != "name"}


def _within(layer: str, lambda_layer: str) -> bool:
    return layer == lambda_layer or layer.startswith(lambda_layer + "/")


def _bytecode_finding(layer: str, obj: dict) -> Finding:
    where = layer or "model"
    return RULE.finding(
        f"'{where}' holds a serialized lambda function (marshalled Python bytecode); Keras rebuilds and runs it "
        "when it deserializes this part (compile settings are deserialized on load): CVE-2024-3660",
        layers=[where],
        evidence={"stored": "marshalled bytecode"},
        fix="use a built-in or registered loss/metric/function instead of a lambda, and re-save; never load this "
        "file with safe_mode=False",
        content={"resolved": LAMBDA, "stored": "marshalled bytecode", "sha256": digest(obj)},
    )


def _torch_finding(layer: str, code: Resolved, obj: dict) -> Finding:
    where = layer or "model"
    config = obj.get("config") if isinstance(obj.get("config"), dict) else {}
    return RULE.finding(
        f"TorchModuleWrapper '{where}' stores a pickled torch module; loading the file unpickles it, which runs "
        "code chosen by the file's author",
        layers=[where],
        evidence={"stored": "pickled torch module", "resolved": code.shown},
        fix="rebuild the layer from Keras layers, or load only files whose author you trust",
        content={"resolved": code.target, "stored": "pickled torch module", "sha256": digest(_without_name(config))},
    )


RULE = Rule(
    code="S401",
    name="lambda-layer",
    severity="error",
    category="safety",
    summary="Code stored in the model file: Lambda layers, lambda functions, pickled torch modules",
    doc=__doc__ or "",
    check=check,
)
