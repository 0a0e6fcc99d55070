"""References to modules or functions outside Keras.

## What it does
Finds serialized objects that resolve outside Keras: a ``module`` outside
Keras (``os``, ``builtins``, ``subprocess``, ``__main__``, any third-party
package, a TensorFlow module other than the initializers tf.keras writes),
and a dotted name that tf_keras follows through an attribute of a Keras
module (``tf_keras.src.utils.io_utils`` + ``os.system`` is ``os.system``).
Also tf.keras ``TFOpLambda`` layers that call TensorFlow functions other
than plain math, array and activation ops, and ``TensorFlowOpLayer``
layers, which run the TensorFlow op their config names.

## Why is this bad?
Keras resolves ``module`` + ``class_name`` by importing the module and
fetching the attribute (tf_keras follows one dot further): a config can make
``load_model`` import and call arbitrary code, even in safe mode
(CVE-2025-1550).  A ``TFOpLambda`` naming ``io.write_file`` or
``py_function`` runs that function when the model runs.

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

from cnnlint.rules._scan import resolved_objects

from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.names import FOREIGN, TF_OP, Resolved

SAFE_TF_OP_PREFIXES = ("math.", "nn.", "__operators__.", "compat.v1.transpose", "reshape", "transpose", "concat",
                       "stack", "expand_dims", "squeeze", "cast", "clip_by_value", "identity", "split", "linalg.",
                       "image.resize", "reduce_", "broadcast_to", "zeros_like", "ones_like", "where", "tile", "pad",
                       "gather", "argmax", "argmin", "shape", "size", "einsum", "matmul", "maximum", "minimum",
                       "abs", "sqrt", "exp", "nn.", "sigmoid", "tanh", "one_hot")  # fmt: skip


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    reported: set[tuple[str, str]] = set()
    for layer, obj, found in resolved_objects(ctx.raw):
        for target in _targets(obj, found):
            if (layer, target) in reported:
                continue
            reported.add((layer, target))
            yield RULE.finding(
                f"'{layer or 'model'}' references '{target[:120]}' outside Keras; loading the file with Keras would "
                "import it and may call it, even in safe mode (CVE-2025-1550)",
                layers=[layer or "model"],
                evidence={"reference": target[:200]},
                fix="do not load this file with Keras unless you trust its author; rebuild the model from code that "
                "uses only Keras objects",
                content={"resolved": target},
            )


def _targets(obj: dict, resolved: tuple[Resolved, ...]) -> Iterator[str]:
    """What ``obj`` (which resolves to ``resolved``) reaches outside Keras: resolved references, and the TensorFlow
    function a TF-op layer calls."""
    for found in resolved:
        if found.verdict == FOREIGN:
            yield found.target
        elif found.verdict == TF_OP and isinstance(obj.get("config"), dict):
            target = _tf_op(found.leaf, obj["config"])
            if target is not None:
                yield target


def _tf_op(layer_class: str, config: dict) -> str | None:
    if layer_class == "TensorFlowOpLayer":  # a NodeDef: any TensorFlow op, file and process ops included
        node = config.get("node_def")
        op = node.get("op") if isinstance(node, dict) else None
        return f"tf.raw_ops.{op if isinstance(op, str) else '?'}"
    function = config.get("function")
    if isinstance(function, str) and not function.startswith(SAFE_TF_OP_PREFIXES):
        return f"tf.{function}"
    return None


RULE = Rule(
    code="S402",
    name="foreign-reference",
    severity="error",
    category="safety",
    summary="Module or function references outside Keras",
    doc=__doc__ or "",
    check=check,
)
