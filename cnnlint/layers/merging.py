"""Merge layers: Add, Multiply, Concatenate, Dot and friends."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, broadcast, register


@register("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", kind="merge")
def elementwise(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    """Also Keras 3 operations saved to .h5 without their module (``x + 3.0`` becomes class "Add")."""
    if not shapes:
        raise cfg.error("is called without an input")
    return Built([broadcast(cfg, shapes)])


@register("Concatenate", kind="merge")
def concatenate(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    if len(shapes) < 1:
        raise cfg.error("needs inputs")
    if any(s is None for s in shapes):
        return Built([None])
    rank = len(shapes[0])  # type: ignore[arg-type]
    axis = cfg.int("axis", -1)
    if not -rank <= axis < rank or any(len(s) != rank for s in shapes):  # type: ignore[arg-type]
        raise cfg.error(f"cannot concatenate inputs of ranks {[len(s) for s in shapes]} on axis {axis}")  # type: ignore[arg-type]
    axis %= rank
    out = list(shapes[0])  # type: ignore[arg-type]
    sizes = [s[axis] for s in shapes]  # type: ignore[index]
    out[axis] = None if any(d is None for d in sizes) else sum(sizes)  # type: ignore[arg-type]
    for i in range(rank):
        if i != axis and out[i] is None:
            out[i] = next((s[i] for s in shapes if s[i] is not None), None)  # type: ignore[index]
    return Built([tuple(out)])


@register("Dot", kind="merge")
def dot(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    if len(shapes) != 2:
        raise cfg.error("needs exactly 2 inputs")
    a, b = shapes
    if a is None or b is None:
        return Built([None])
    axes = cfg.get("axes", -1)
    axes = list(axes) if isinstance(axes, (list, tuple)) else [axes, axes]
    ax = [cfg.int_value("axes", x, None) % len(s) for x, s in zip(axes, (a, b))]
    out = [d for i, d in enumerate(a) if i != ax[0]] + [d for i, d in enumerate(b) if i not in (0, ax[1])]
    if len(out) == 1:
        out.append(1)
    return Built([tuple(out)])
