"""Activations, dropout and noise, masking, and other shape-keeping layers."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, identity, one_input, register

register("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU", kind="activation")(identity)
register("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", kind="dropout")(
    identity
)
register("GaussianDropout", "GaussianNoise", kind="noise")(identity)
register("ActivityRegularization", "Masking", "Identity", kind="other")(identity)


@register("PReLU", kind="activation")
def prelu(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    alpha = list(shape[1:])
    shared = cfg.get("shared_axes") or []
    shared = shared if isinstance(shared, (list, tuple)) else [shared]
    for axis in shared:
        index = cfg.int_value("shared_axes", axis, None) - 1
        if not 0 <= index < len(alpha):
            raise cfg.error(f"shared axis {axis} out of range")
        alpha[index] = 1
    if any(d is None for d in alpha):
        raise cfg.error("PReLU needs every non-shared input axis known")
    return Built([shape], [Weight("alpha", tuple(alpha))])  # type: ignore[arg-type]
