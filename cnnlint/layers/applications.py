"""Helper layers that ``keras.applications`` defines for itself."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, identity, one_input, register

register("StochasticDepth", kind="dropout")(identity)


@register("LayerScale", kind="other")
def layer_scale(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    return Built([shape], [Weight("gamma", (cfg.int("projection_dim", minimum=1),))])


@register("CustomScaleLayer", kind="merge")
def custom_scale(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    """InceptionResNetV2's residual ``inputs[0] + inputs[1] * scale``."""
    if not shapes:
        raise cfg.error("is called without an input")
    return Built([shapes[0]])
