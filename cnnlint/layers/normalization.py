"""Normalization layers, including the ``Normalization`` preprocessing layer."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, known_dim, one_input, register


def _param_shape(cfg: Cfg, shape, axes: list[int]) -> tuple[int, ...]:
    rank = len(shape)
    for axis in axes:
        if not -rank <= axis < rank:
            raise cfg.error(f"axis {axis} is out of range for an input of rank {rank}")
    kept = sorted({a % rank for a in axes})
    return tuple(known_dim(cfg, shape, a, "normalized axis") for a in kept)


@register("BatchNormalization", "SyncBatchNormalization", kind="norm")
def batch_norm(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    dims = _param_shape(cfg, shape, cfg.axes("axis", -1))
    weights = []
    if cfg.bool("scale", True):
        weights.append(Weight("gamma", dims))
    if cfg.bool("center", True):
        weights.append(Weight("beta", dims))
    weights += [Weight("moving_mean", dims, False), Weight("moving_variance", dims, False)]
    return Built([shape], weights)


@register("LayerNormalization", kind="norm")
def layer_norm(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    dims = _param_shape(cfg, shape, cfg.axes("axis", -1))
    rms = cfg.bool("rms_scaling", False)
    weights = []
    if cfg.bool("scale", True) or rms:
        weights.append(Weight("gamma", dims))
    if cfg.bool("center", True) and not rms:
        weights.append(Weight("beta", dims))
    return Built([shape], weights)


@register("GroupNormalization", kind="norm")
def group_norm(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    dims = _param_shape(cfg, shape, cfg.axes("axis", -1))
    groups = cfg.int("groups", 32, minimum=1)
    if dims[0] % groups:
        raise cfg.error(f"groups={groups} must divide the {dims[0]} channels")
    weights = []
    if cfg.bool("scale", True):
        weights.append(Weight("gamma", dims))
    if cfg.bool("center", True):
        weights.append(Weight("beta", dims))
    return Built([shape], weights)


@register("UnitNormalization", kind="norm")
def unit_norm(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    return Built([one_input(cfg, shapes)])


@register("Normalization", kind="preprocess")
def normalization(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    """Adapted mean/variance are weights; given ``mean``/``variance`` are constants."""
    shape = one_input(cfg, shapes)
    if cfg.has("mean"):
        return Built([shape])
    axis = cfg.raw.get("axis", -1)
    axes = [] if axis is None else cfg.axes("axis", -1)
    dims = _param_shape(cfg, shape, axes) if axes else ()
    weights = [
        Weight("mean", dims, False),
        Weight("variance", dims, False),
        Weight("count", (), False),
    ]
    return Built([shape], weights)
