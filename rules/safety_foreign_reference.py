"""References to modules or functions outside Keras.

## What it does
Finds serialized objects whose ``module`` is outside Keras (``os``,
``builtins``, ``subprocess``, ``__main__``, any third-party package), and
tf.keras ``TFOpLambda`` layers that call TensorFlow functions other than
plain math, array and activation ops.

## Why is this bad?
Keras resolves ``module`` + ``class_name`` by importing the module and
fetching the attribute: a config can make ``load_model`` import and call
arbitrary code, even in safe mode (CVE-2025-1550).  A ``TFOpLambda`` naming
``io.write_file`` or ``py_function`` runs that function when the model runs.

## Example
```json
{"module": "builtins", "class_name": "function", "config": "exec"}
```

## Use instead
Only built-in Keras layers, activations, initializers and regularizers; ship
custom code as a registered Keras object in a package you review.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._scan import foreign_module, objects

from cnnlint.findings import Finding, Rule, RuleContext

SAFE_TF_OP_PREFIXES = ("math.", "nn.", "__operators__.", "compat.v1.transpose", "reshape", "transpose", "concat",
                       "stack", "expand_dims", "squeeze", "cast", "clip_by_value", "identity", "split", "linalg.",
                       "image.resize", "reduce_", "broadcast_to", "zeros_like", "ones_like", "where", "tile", "pad",
                       "gather", "argmax", "argmin", "shape", "size", "einsum", "matmul", "maximum", "minimum",
                       "abs", "sqrt", "exp", "nn.", "sigmoid", "tanh", "one_hot")  # fmt: skip


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    reported: set[tuple[str, str]] = set()
    for layer, obj in objects(ctx.raw):
        module = foreign_module(obj)
        target = None
        if module is not None:
            target = f"{module}.{obj.get('class_name')}"
            if obj.get("class_name") == "function" and isinstance(obj.get("config"), str):
                target = f"{module}.{obj['config']}"
        elif obj.get("class_name") in ("TFOpLambda", "SlicingOpLambda") and isinstance(obj.get("config"), dict):
            function = obj["config"].get("function")
            if isinstance(function, str) and not function.startswith(SAFE_TF_OP_PREFIXES):
                target = f"tf.{function}"
        if target is None or (layer, target) in reported:
            continue
        reported.add((layer, target))
        yield RULE.finding(
            f"'{layer or 'model'}' references '{target[:120]}' outside Keras; loading the file with Keras would "
            "import it and may call it, even in safe mode (CVE-2025-1550)",
            layers=[layer or "model"],
            evidence={"reference": target[:200]},
            fix="do not load this file with Keras unless you trust its author; rebuild the model from code that "
            "uses only Keras objects",
        )


RULE = Rule(
    code="S402",
    name="foreign-reference",
    severity="error",
    category="safety",
    summary="Module or function references outside Keras",
    doc=__doc__ or "",
    check=check,
)
