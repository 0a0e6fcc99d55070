"""The training settings a config records, parsed from untrusted values: weight regularizers and
the compile config (optimizer, learning rate, weight decay, losses, label smoothing).

Used by the graph builder and by ``cnnlint confirm`` (which trains with the file's own settings).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from cnnlint.errors import printable
from cnnlint.graph.model import CompileInfo, Loss, Regularizer


def class_name_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        return value["class_name"]
    return None


_REGULARIZER_DEFAULTS = {"l1": ("L1", 0.01, 0.0), "l2": ("L2", 0.0, 0.01), "l1_l2": ("L1L2", 0.0, 0.0)}


def parse_regularizer(value: Any) -> Regularizer | None:
    if isinstance(value, str):
        kind, l1, l2 = _REGULARIZER_DEFAULTS.get(value.lower(), (value[:60], 0.0, 0.0))
        return Regularizer(printable(kind), l1, l2)
    if not isinstance(value, dict):
        return None
    name = class_name_of(value) or "?"
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    canonical = {"l1": "L1", "l2": "L2", "l1l2": "L1L2", "l1_l2": "L1L2", "orthogonalregularizer": "Orthogonal"}
    kind = canonical.get(name.lower(), name[:60])
    l1 = config.get("l1", 0.0)
    l2 = config.get("l2", 0.0)
    l1 = float(l1) if isinstance(l1, (int, float)) and not isinstance(l1, bool) else 0.0
    l2 = float(l2) if isinstance(l2, (int, float)) and not isinstance(l2, bool) else 0.0
    if kind == "Orthogonal":
        factor = config.get("factor", 0.01)
        l2 = float(factor) if isinstance(factor, (int, float)) and not isinstance(factor, bool) else 0.0
    return Regularizer(printable(kind), l1, l2)


def parse_compile(config: dict | None, style: str) -> CompileInfo | None:
    if not isinstance(config, dict) or not config:
        return None
    optimizer = config.get("optimizer") if style == "keras3" else config.get("optimizer_config")
    if optimizer is None:
        optimizer = config.get("optimizer_config", config.get("optimizer"))
    opt_name, lr, decay = None, None, None
    if isinstance(optimizer, str):
        opt_name = optimizer
    elif isinstance(optimizer, dict):
        opt_name = class_name_of(optimizer)
        opt_cfg = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
        lr = _number(opt_cfg.get("learning_rate", opt_cfg.get("lr")))
        decay = _number(opt_cfg.get("weight_decay"))
    if opt_name and opt_name.startswith("Custom>"):
        opt_name = opt_name[len("Custom>") :]
    return CompileInfo(
        optimizer=printable(opt_name[:60]) if opt_name else None,
        learning_rate=lr,
        weight_decay=decay,
        losses=tuple(_losses(config.get("loss"))),
    )


def _losses(value: Any, depth: int = 0) -> Iterator[Loss]:
    if depth > 4 or value is None:
        return
    if isinstance(value, str):
        yield Loss(printable(value[:80]))
    elif isinstance(value, dict) and "class_name" in value:
        cfg = value.get("config") if isinstance(value.get("config"), dict) else {}
        yield Loss(printable(str(value.get("class_name"))[:80]), _number(cfg.get("label_smoothing")) or 0.0)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _losses(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _losses(item, depth + 1)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
