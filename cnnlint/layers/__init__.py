"""Layer specs: one module per family, all registered in ``base.SPECS``.

``build_spec`` is the single entry point the graph uses.  It picks the spec
for a serialized layer and reports how it could be modelled:
``known`` (a registered Keras layer), ``op`` (a tensor operation) or
``unknown`` (anything else, such as a custom layer).
"""

from __future__ import annotations

from cnnlint.layers import (  # noqa: F401  (importing registers the specs)
    activation,
    applications,
    attention,
    conv,
    dense,
    merging,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    wrappers,
)
from cnnlint.layers.base import SPECS, Built, Cfg, MaybeShape, ShapeUnknown
from cnnlint.layers.ops import op_spec
from cnnlint.names import TF_FUNCTION_LAYERS, layer_class

__all__ = ["build_spec", "is_keras_module", "layer_kind", "ShapeUnknown", "SPECS"]

_KERAS_MODULE_PREFIXES = ("keras.", "tf_keras.", "tensorflow.python.keras.", "tensorflow.keras.")
_OP_MODULE_PREFIXES = ("keras.src.ops.", "keras.ops")


def is_keras_module(module: str | None) -> bool:
    """``None`` (Keras 2 configs carry no module) or a module inside Keras itself."""
    return module is None or module == "keras" or module.startswith(_KERAS_MODULE_PREFIXES)


def is_op(class_name: str, module: str | None) -> bool:
    return class_name in TF_FUNCTION_LAYERS or (module is not None and module.startswith(_OP_MODULE_PREFIXES))


#: Helper layers of keras.applications that tf.keras registers as "Custom>Name" in SavedModels.
APPLICATION_LAYERS = ("CustomScaleLayer", "LayerScale", "StochasticDepth")


def canonical_class(class_name: str, module: str | None = None) -> str:
    """The class Keras builds: tf.keras's ``Custom>`` application layers, and dotted names Keras resolves in its
    layers namespace (``"keras"`` + ``"layers.Dense"``, see ``cnnlint/names.py``), by their own name."""
    if class_name.startswith("Custom>") and class_name[len("Custom>") :] in APPLICATION_LAYERS:
        return class_name[len("Custom>") :]
    return layer_class(class_name, module)


def layer_kind(class_name: str, module: str | None) -> str:
    class_name = canonical_class(class_name, module)
    if is_op(class_name, module):
        return "op"
    entry = SPECS.get(class_name)
    if entry is None or not is_keras_module(module):
        return "unknown"
    return entry.kind


def build_spec(class_name: str, module: str | None, cfg: Cfg, shapes: list[MaybeShape]) -> tuple[Built, str]:
    """Run the spec for one call of a layer.  Returns (built, kind).

    Raises ``ShapeUnknown`` when an input dimension the layer needs is unknown.
    """
    kind = layer_kind(class_name, module)
    if kind == "op":
        name = cfg.get("function", class_name) if class_name in TF_FUNCTION_LAYERS else class_name
        return op_spec(str(name), cfg, shapes), kind
    if kind == "unknown":
        return Built([_declared_output_shape(cfg)]), kind
    return SPECS[canonical_class(class_name, module)].spec(cfg, shapes), kind


def _declared_output_shape(cfg: Cfg) -> MaybeShape:
    """Lambda layers may declare ``output_shape`` (without the batch axis)."""
    declared = cfg.raw.get("output_shape")
    if isinstance(declared, (list, tuple)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in declared
    ):
        return (None, *declared)
    return None
