"""The contract between the graph builder and the per-family layer specs.

A *spec* is a function ``(cfg, input_shapes) -> Built``: given a layer's
validated config and the shapes of the tensors it is called on, it returns
the output shapes, the weights Keras would create (name, shape, trainable) and
how the layer moves the receptive field.  Specs never see raw dicts: ``Cfg``
validates every value it hands out and names the layer when one is wrong.

Shapes include the batch dimension and use ``None`` for unknown sizes.  A
whole shape of ``None`` means even the rank is unknown (after a layer cnnlint
cannot model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnlint.errors import ModelError

Shape = tuple[int | None, ...]
MaybeShape = Shape | None

_REQUIRED: Any = object()


class ShapeUnknown(Exception):
    """Raised by a spec that needs an input dimension the graph could not infer."""


@dataclass(frozen=True)
class Weight:
    """One weight variable of a layer, with the shape Keras would build."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Geometry:
    """How a layer changes the receptive field on its spatial axes.

    ``kind`` is ``window`` (convolution or pooling: ``kernel`` is the dilated
    extent, ``strides`` the step), ``upsample`` (``strides`` is the factor)
    or ``global`` (the window is the whole feature map).
    """

    kind: str
    kernel: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()


@dataclass
class Built:
    """What a layer spec computes for one call: its output shapes, its weights and its receptive-field geometry."""

    outputs: list[MaybeShape]
    weights: list[Weight] = field(default_factory=list)
    geometry: Geometry | None = None


class Cfg:
    """Typed, validated access to one layer's (untrusted) config dict."""

    def __init__(self, raw: Any, layer: str, where: str) -> None:
        if not isinstance(raw, dict):
            raise ModelError(f"layer '{layer}': config must be an object, got {_kind(raw)}", where=where)
        self.raw = raw
        self.layer = layer
        self.where = where

    def error(self, message: str) -> ModelError:
        return ModelError(f"layer '{self.layer}': {message}", where=self.where)

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def int(self, key: str, default: Any = _REQUIRED, *, minimum: int | None = None) -> int:
        value = self._value(key, default)
        return self.int_value(key, value, minimum)

    def ints(self, key: str, n: int, default: Any = _REQUIRED, *, minimum: int = 1) -> tuple[int, ...]:
        """An int or a sequence of ``n`` ints (``kernel_size=3`` means ``(3, 3)``)."""
        value = self._value(key, default)
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise self.error(f"{key} must have {n} values, got {len(value)}")
            return tuple(self.int_value(key, v, minimum) for v in value)
        return (self.int_value(key, value, minimum),) * n

    def float(self, key: str, default: Any = _REQUIRED) -> float:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{key} must be a number, got {_kind(value)}")
        return float(value)

    def bool(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false, got {_kind(value)}")
        return value

    def str(self, key: str, default: Any = _REQUIRED, *, choices: Sequence[str] | None = None) -> str:
        value = self._value(key, default)
        if not isinstance(value, str):
            raise self.error(f"{key} must be a string, got {_kind(value)}")
        if choices is not None and value.lower() not in choices:
            raise self.error(f"{key} must be one of {', '.join(choices)}, got '{value[:40]}'")
        return value.lower() if choices is not None else value

    def axes(self, key: str, default: Any) -> list[int]:
        value = self._value(key, default)
        values = value if isinstance(value, (list, tuple)) else [value]
        return [self.int_value(key, v, None) for v in values]

    def data_format(self) -> str:
        return self.str("data_format", "channels_last", choices=("channels_last", "channels_first"))

    def _value(self, key: str, default: Any) -> Any:
        value = self.raw.get(key)
        if value is None:
            if default is _REQUIRED:
                raise self.error(f"missing required '{key}'")
            return default
        return value

    def int_value(self, key: str, value: Any, minimum: int | None) -> int:
        """Check one integer taken from this config (a list item, say); errors name the layer and ``key``."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key} must be an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(f"{key} must be >= {minimum}, got {value}")
        if value > 2**40:
            raise self.error(f"{key} is implausibly large ({value})")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value[:40]}'"
    if isinstance(value, (bool, int, float)):
        return repr(value)
    return type(value).__name__


Spec = Callable[[Cfg, list[MaybeShape]], Built]


@dataclass(frozen=True)
class SpecEntry:
    """A registered layer spec and the kind of layer it builds (``conv``, ``dense``, ``dropout``, ...)."""

    spec: Spec
    kind: str


SPECS: dict[str, SpecEntry] = {}


def register(*class_names: str, kind: str) -> Callable[[Spec], Spec]:
    """Register ``spec`` for these Keras class names, with an analysis ``kind``.

    Kinds: conv, dense, recurrent, attention, embedding, norm, dropout, noise,
    augment, pool, global_pool, merge, reshape, activation, preprocess, other.
    """

    def decorate(spec: Spec) -> Spec:
        for name in class_names:
            SPECS[name] = SpecEntry(spec, kind)
        return spec

    return decorate


# ---- shape helpers shared by the specs -------------------------------------------------


def one_input(cfg: Cfg, shapes: list[MaybeShape], *, rank: int | None = None) -> Shape:
    """The single input shape, which must be known (rank at least)."""
    if not shapes:
        raise cfg.error("is called without an input")
    shape = shapes[0]
    if shape is None:
        raise ShapeUnknown("input shape unknown")
    if rank is not None and len(shape) != rank:
        raise cfg.error(f"expects a {rank}D input (batch included), got shape {fmt_shape(shape)}")
    return shape


def known_dim(cfg: Cfg, shape: Shape, axis: int, what: str) -> int:
    try:
        dim = shape[axis]
    except IndexError:
        raise cfg.error(f"axis {axis} is out of range for input shape {fmt_shape(shape)}") from None
    if dim is None:
        raise ShapeUnknown(f"{what} (axis {axis}) of input {fmt_shape(shape)} is unknown")
    return dim


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def spatial_dims(shape: Shape, data_format: str) -> tuple[int | None, ...]:
    return shape[1:-1] if data_format == "channels_last" else shape[2:]


def with_spatial(shape: Shape, data_format: str, spatial: Sequence[int | None], channels: int | None) -> Shape:
    if data_format == "channels_last":
        return (shape[0], *spatial, channels)
    return (shape[0], channels, *spatial)


def conv_output_length(length: int | None, kernel: int, padding: str, stride: int, dilation: int = 1) -> int | None:
    """Keras's ``compute_conv_output_shape`` for one axis."""
    if length is None:
        return None
    extent = kernel + (kernel - 1) * (dilation - 1)
    if padding in ("same", "causal"):
        out = length
    elif padding == "full":
        out = length + extent - 1
    else:
        out = length - extent + 1
    return (out + stride - 1) // stride


def broadcast(cfg: Cfg, shapes: list[MaybeShape]) -> MaybeShape:
    """NumPy-style broadcast of several shapes (merge layers and elementwise ops)."""
    known = [s for s in shapes if s is not None]
    if len(known) < len(shapes):
        return None
    if not known:
        return None
    rank = max(len(s) for s in known)
    result: list[int | None] = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in known if axis - rank + len(s) >= 0}
        concrete = {d for d in dims if d is not None and d != 1}
        if len(concrete) > 1:
            raise cfg.error(f"cannot combine inputs of shapes {', '.join(fmt_shape(s) for s in known)}")
        if concrete:
            result.append(concrete.pop())
        elif None in dims:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def fmt_shape(shape: MaybeShape) -> str:
    if shape is None:
        return "(?)"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner}{',' if len(shape) == 1 else ''})"


def identity(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    """Layers that keep their input's shape and own no weights."""
    if not shapes:
        raise cfg.error("is called without an input")
    return Built([shapes[0]])
