"""What the safety rules know, for code outside the rule runner: ``cnnlint confirm`` asks it before it lets
Keras rebuild a model from its config."""

from __future__ import annotations

from typing import Any

from cnnlint.rules._scan import foreign_module, objects

#: Layers whose config stores or names code that Keras runs when it rebuilds or calls them.
CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda", "TFSMLayer", "TorchModuleWrapper", "__lambda__")


def unsafe_reasons(config: Any) -> list[str]:
    """Why rebuilding this config would run code from outside Keras (empty when it would not)."""
    reasons: list[str] = []
    for layer, obj in objects(config):
        name = obj.get("class_name")
        if name in CODE_LAYERS:
            reasons.append(f"'{layer}' is a {name} layer, which runs code stored in or named by the file")
        elif (module := foreign_module(obj)) is not None:
            reasons.append(f"'{layer or 'model'}' uses '{name}' from module '{module}', outside Keras")
    return reasons
