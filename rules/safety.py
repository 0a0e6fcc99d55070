"""What the safety rules know, for code outside the rule runner: ``cnnlint confirm`` asks it before it lets
Keras rebuild a model from its config."""

from __future__ import annotations

from typing import Any

from cnnlint.rules._scan import resolved_objects

from cnnlint.names import CODE, FILE, TF_OP, unsafe

_WHY = {CODE: "runs code stored in or named by the file", FILE: "loads a file the config names",
        TF_OP: "calls the TensorFlow function its config names"}  # fmt: skip


def unsafe_reasons(config: Any) -> list[str]:
    """Why rebuilding this config would run code or load objects outside Keras's model classes (empty if none)."""
    reasons: list[str] = []
    for layer, _, resolved in resolved_objects(config):
        for found in unsafe(resolved):
            why = _WHY.get(found.verdict, "which is not one of Keras's built-in model objects")
            reasons.append(f"'{layer or 'model'}' resolves to '{found.shown}', {why}")
    return list(dict.fromkeys(reasons))
