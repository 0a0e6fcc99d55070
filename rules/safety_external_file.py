"""Layers that point at files or URLs outside the model.

## What it does
Finds ``TFSMLayer`` (which wraps a SavedModel from a path), lookup and
vectorization layers whose vocabulary is a file path (a ``vocabulary`` or
``vocabulary_file`` string), and any URL (``http://``, ``https://``,
``ftp://``, ``gs://``, ``s3://``, ``hdfs://``, ``file://``) in the config.  The
layer is the one Keras resolves from ``module`` + ``class_name``, however the
name is spelled (``"keras"`` + ``"layers.StringLookup"``).

## Why is this bad?
Loading the model reads those files, or fetches those URLs, on the machine
that loads it: the model is not self-contained, and a path such as
``/etc/passwd`` or an attacker's URL turns loading into file access or a
network request.  ``TFSMLayer`` also executes the SavedModel's TensorFlow
graph.

## Example
```python
layers.StringLookup(vocabulary="/data/vocab.txt")
```

## Use instead
```python
layers.StringLookup(vocabulary=["cat", "dog", "bird"])   # stored in the model
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cnnlint.rules._scan import resolved_objects, strings

from cnnlint.findings import Finding, Rule, RuleContext
from cnnlint.names import FILE

URL = re.compile(r"^\s*(https?|ftp|gs|s3|hdfs|file)://", re.IGNORECASE)
#: config keys a layer (or a tf.keras feature column) reads a vocabulary file from
VOCABULARY_KEYS = ("vocabulary", "vocabulary_file")


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    seen: set[tuple[str, str]] = set()
    for layer, obj, found in resolved_objects(ctx.raw):
        config = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        loads = next((item for item in found if item.verdict == FILE), None)
        if loads is not None:
            yield _finding(layer, f"{loads.leaf} loads and runs a SavedModel from", str(config.get("filepath"))[:200],
                           loads.target)  # fmt: skip
        for key in VOCABULARY_KEYS:
            if isinstance(config.get(key), str):
                yield _finding(layer, f"{found[-1].leaf} reads its vocabulary from", config[key][:200],
                               found[-1].target)  # fmt: skip
    for layer, key, value in strings(ctx.raw):
        if URL.match(value) and (layer, value) not in seen:
            seen.add((layer, value))
            yield _finding(layer, f"'{key}' holds the URL", value[:200], key)


def _finding(layer: str, what: str, target: str, resolved: str) -> Finding:
    return RULE.finding(
        f"'{layer or 'model'}': {what} '{target}'; loading the model would access it",
        layers=[layer or "model"],
        evidence={"target": target},
        fix="store the data in the model (e.g. a vocabulary list) or load it in your own code after review",
        content={"resolved": resolved, "target": target},
    )


RULE = Rule(
    code="S404",
    name="external-file-reference",
    severity="error",
    category="safety",
    summary="Layers pointing at files or URLs",
    doc=__doc__ or "",
    check=check,
)
