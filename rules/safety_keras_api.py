"""Keras non-modeling APIs named in the config.

## What it does
Looks for serialized references to Keras functions that are not part of a
model: ``get_file``, ``load_model``, ``load_weights``,
``enable_unsafe_deserialization``, ``set_random_seed``, file and network
utilities, and the like.

## Why is this bad?
A config can name any Keras attribute as an "object" to deserialize.  Naming
``keras.utils.get_file`` makes ``load_model`` download files, and
``keras.config.enable_unsafe_deserialization`` switches off safe mode for the
rest of the load, so that a Lambda later in the same file runs
(CVE-2025-8747, CVE-2025-9906).  No real model needs these in its config.

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

from cnnlint.rules._scan import objects

from cnnlint.findings import Finding, Rule, RuleContext

DANGEROUS = ("get_file", "load_model", "load_weights", "enable_unsafe_deserialization", "save_model", "save_weights",
             "model_from_json", "model_from_config", "deserialize_keras_object", "set_random_seed", "file_utils",
             "io_utils", "TFSMLayer", "export", "register_keras_serializable", "get_custom_objects",
             "custom_object_scope")  # fmt: skip


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    for layer, obj in objects(ctx.raw):
        module = obj.get("module") if isinstance(obj.get("module"), str) else ""
        name = obj.get("class_name")
        config = obj.get("config")
        named = config if name == "function" and isinstance(config, str) else name
        if not isinstance(named, str) or named not in DANGEROUS or named == "TFSMLayer":
            continue
        if not (module.startswith(("keras", "tf_keras")) or module == ""):
            continue
        yield RULE.finding(
            f"'{layer or 'model'}' names the Keras API '{module + '.' if module else ''}{named}'; loading the file "
            "with Keras would call it (downloads, file access, or safe mode switched off: CVE-2025-8747, CVE-2025-9906)",
            layers=[layer or "model"],
            evidence={"api": f"{module}.{named}" if module else named},
            fix="treat this file as hostile: do not load it with Keras; rebuild the model from reviewed code",
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
