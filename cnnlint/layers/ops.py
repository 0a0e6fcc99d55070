"""Tensor operations recorded in functional graphs.

Keras 3 records ``x + 3.0`` on a symbolic tensor as an operation node
(module ``keras.src.ops.*``); tf.keras 2 records TensorFlow calls as
``TFOpLambda`` layers.  Neither owns weights.  Elementwise operations
broadcast their tensor inputs; for any other operation the output shape is
left unknown here, and the graph fills it in from the shapes Keras 3 stores
next to every tensor reference when it can.
"""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, broadcast

ELEMENTWISE = {
    "add", "subtract", "multiply", "divide", "truedivide", "true_divide", "truediv",
    "floordiv", "floor_divide", "maximum", "minimum", "power", "pow", "mod",
    "relu", "relu6", "sigmoid", "tanh", "abs", "exp", "log", "sqrt", "square", "negative",
    "cast", "hardsigmoid", "hard_sigmoid", "hardswish", "hard_swish", "hardsilu", "hard_silu",
    "silu", "swish", "gelu", "softmax", "elu", "selu", "softplus", "leaky_relu", "clip",
    "clip_by_value", "identity", "stop_gradient", "rsqrt", "reciprocal", "sign",
}  # fmt: skip


def _is_elementwise(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower().strip("_")
    return last in ELEMENTWISE or last.replace("_", "") in ELEMENTWISE


def op_spec(op_name: str, cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    if _is_elementwise(op_name) and shapes:
        return Built([broadcast(cfg, shapes)])
    return Built([None])
