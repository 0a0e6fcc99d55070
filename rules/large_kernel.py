"""Large convolution kernels outside a strided stem.

## What it does
Finds convolutions with a kernel of ``min_kernel`` (7) or more along an axis,
except the first convolution when it has a stride (a "stem", as in ResNet's
7x7/2), and prices the stacked 3-wide alternative that covers the same
receptive field.  Depthwise convolutions are not reported: their large
kernels are cheap.

## Why is this bad?
A k x k kernel has k^2 weights per channel pair: a 7x7 costs 49/9 = 5.4 times a
3x3.  Stacked small kernels reach the same receptive field with fewer
parameters and more non-linearities (VGG, Simonyan & Zisserman 2015).

## Example
```python
layers.Conv2D(64, (7, 7), activation="relu")
```

## Use instead
```python
layers.Conv2D(64, 3, activation="relu")
layers.Conv2D(64, 3, activation="relu")
layers.Conv2D(64, 3, activation="relu")   # 7x7 receptive field
```
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from cnnlint.rules._graph import CONV_CLASSES, in_out_channels

from cnnlint.edits import Edit, NewLayer
from cnnlint.findings import Finding, Rule, RuleContext, fmt_int
from cnnlint.graph import Layer


def stacked_params(kernel: int, rank: int, cin: int, cout: int, bias: bool) -> tuple[int, int]:
    """(layers, params) of 3-wide convolutions stacked to cover ``kernel``."""
    count = max(1, math.ceil((kernel - 1) / 2))
    window = 3**rank
    params = window * cin * cout + (count - 1) * window * cout * cout + (count * cout if bias else 0)
    return count, params


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    stem = ctx.facts.depth_path[0] if ctx.facts.depth_path else None
    for layer in ctx.graph.layers:
        if layer.class_name not in CONV_CLASSES or not layer.kernel_size:
            continue
        kernel = max(layer.kernel_size)
        if kernel < options["min_kernel"]:
            continue
        if layer.path == stem and layer.strides and max(layer.strides) > 1:
            continue
        channels = in_out_channels(layer)
        if channels is None:
            continue
        cin, cout = channels
        rank = len(layer.kernel_size)
        bias = any(w.name == "bias" for w in layer.weights)
        count, new = stacked_params(kernel, rank, cin, cout, bias)
        size = "x".join(map(str, layer.kernel_size))
        change = 1 - new / layer.params if layer.params else 0
        small = "x".join(["3"] * rank)
        yield RULE.finding(
            f"'{layer.path}' uses a {size} kernel ({fmt_int(layer.params)} params); "
            f"{count} stacked {small} convolutions cover the same receptive field with "
            f"{abs(change):.0%} {'fewer' if change >= 0 else 'more'} parameters and {count - 1} more non-linearities",
            layers=[layer.path],
            evidence={"kernel": list(layer.kernel_size), "params": layer.params, "stacked_layers": count,
                      "stacked_params": new, "in_channels": cin, "filters": cout},  # fmt: skip
            fix=f"replace Conv{rank}D({cout}, {size}) with {count} x Conv{rank}D({cout}, 3, padding='same') "
            f"-> {fmt_int(new)} params",
            edits=[Edit(layer.path, f"replaces the {size} kernel", replace=_stack(layer, rank, cout, count))],
        )


def _stack(layer: Layer, rank: int, filters: int, count: int) -> tuple[NewLayer, ...]:
    """``count`` 3-wide convolutions; the first keeps the layer's stride so the output size stays close."""
    args = {"filters": filters, "kernel_size": 3, "padding": "same", "activation": layer.activation or "relu"}
    strides = {"strides": layer.strides} if layer.strides and max(layer.strides) > 1 else {}
    return tuple(NewLayer.of(f"Conv{rank}D", **args, **(strides if i == 0 else {})) for i in range(count))


RULE = Rule(
    code="C104",
    name="large-kernel",
    severity="warning",
    category="kernel",
    summary="7x7 and larger kernels outside a strided stem",
    doc=__doc__ or "",
    check=check,
    options={"min_kernel": 7},
    explains=("log_params_per_sample",),
)
