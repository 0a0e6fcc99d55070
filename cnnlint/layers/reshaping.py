"""Flatten, Reshape, Permute, RepeatVector, padding, cropping and upsampling."""

from __future__ import annotations

import math

from cnnlint.layers.base import (
    Built,
    Cfg,
    Geometry,
    MaybeShape,
    one_input,
    register,
    spatial_dims,
    with_spatial,
)


@register("Flatten", kind="reshape")
def flatten(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    rest = shape[1:]
    size = None if any(d is None for d in rest) else math.prod(rest)  # type: ignore[arg-type]
    return Built([(shape[0], size)], [], Geometry("global"))


@register("Reshape", kind="reshape")
def reshape(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    target = cfg.get("target_shape")
    if not isinstance(target, (list, tuple)):
        raise cfg.error("target_shape must be a list of integers")
    dims = [cfg.int_value("target_shape", d, -1) for d in target]
    if dims.count(-1) > 1:
        raise cfg.error("target_shape may hold at most one -1")
    if -1 in dims:
        total = None if any(d is None for d in shape[1:]) else math.prod(shape[1:])  # type: ignore[arg-type]
        known = math.prod(d for d in dims if d != -1)
        fill = None if total is None or known == 0 else total // known
        return Built([(shape[0], *[fill if d == -1 else d for d in dims])])
    return Built([(shape[0], *dims)])


@register("Permute", kind="reshape")
def permute(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    dims = cfg.get("dims")
    if not isinstance(dims, (list, tuple)):
        raise cfg.error("dims must be a list of axis numbers")
    dims = [cfg.int_value("dims", d, 1) for d in dims]
    if sorted(dims) != list(range(1, len(shape))):
        raise cfg.error(f"dims must be a permutation of 1..{len(shape) - 1}")
    return Built([(shape[0], *[shape[d] for d in dims])])


@register("RepeatVector", kind="reshape")
def repeat_vector(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes, rank=2)
    return Built([(shape[0], cfg.int("n", minimum=1), shape[1])])


def _pairs(cfg: Cfg, key: str, rank: int, default: int) -> list[tuple[int, int]]:
    value = cfg.get(key, default)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = cfg.int_value(key, value, 0)
        return [(n, n)] * rank
    if not isinstance(value, (list, tuple)) or len(value) != rank:
        if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2:
            return [(cfg.int_value(key, value[0], 0), cfg.int_value(key, value[1], 0))]
        raise cfg.error(f"{key} must be an integer or {rank} values")
    pairs = []
    for item in value:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((cfg.int_value(key, item[0], 0), cfg.int_value(key, item[1], 0)))
        else:
            n = cfg.int_value(key, item, 0)
            pairs.append((n, n))
    return pairs


def _resize(rank: int, key: str, default: int, sign: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape = one_input(cfg, shapes, rank=rank + 2)
        fmt = cfg.data_format() if rank > 1 else "channels_last"
        pairs = _pairs(cfg, key, rank, default)
        out = []
        for length, (a, b) in zip(spatial_dims(shape, fmt), pairs):
            n = None if length is None else length + sign * (a + b)
            if n is not None and n <= 0:
                raise cfg.error(f"{key} {a}+{b} removes the whole axis of length {length}")
            out.append(n)
        channels = shape[-1] if fmt == "channels_last" else shape[1]
        return Built([with_spatial(shape, fmt, out, channels)])

    return spec


def _upsample(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape = one_input(cfg, shapes, rank=rank + 2)
        fmt = cfg.data_format() if rank > 1 else "channels_last"
        size = cfg.ints("size", rank, 2)
        out = [None if n is None else n * s for n, s in zip(spatial_dims(shape, fmt), size)]
        channels = shape[-1] if fmt == "channels_last" else shape[1]
        return Built([with_spatial(shape, fmt, out, channels)], [], Geometry("upsample", (), size))

    return spec


for _rank in (1, 2, 3):
    register(f"ZeroPadding{_rank}D", kind="reshape")(_resize(_rank, "padding", 1, +1))
    register(f"Cropping{_rank}D", kind="reshape")(_resize(_rank, "cropping", 0, -1))
    register(f"UpSampling{_rank}D", kind="reshape")(_upsample(_rank))
