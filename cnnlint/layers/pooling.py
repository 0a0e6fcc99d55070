"""Pooling and global pooling."""

from __future__ import annotations

from cnnlint.layers.base import (
    Built,
    Cfg,
    Geometry,
    MaybeShape,
    channel_axis,
    conv_output_length,
    one_input,
    register,
    spatial_dims,
    with_spatial,
)


def _pool(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape = one_input(cfg, shapes, rank=rank + 2)
        fmt = cfg.data_format()
        pool = cfg.ints("pool_size", rank, 2)
        strides = cfg.ints("strides", rank, pool)
        padding = cfg.str("padding", "valid", choices=("valid", "same"))
        out = []
        for length, k, s in zip(spatial_dims(shape, fmt), pool, strides):
            n = conv_output_length(length, k, padding, s)
            if n is not None and n <= 0:
                raise cfg.error(f"pool size {k} does not fit an input of length {length}")
            out.append(n)
        channels = shape[channel_axis(fmt)]
        return Built([with_spatial(shape, fmt, out, channels)], [], Geometry("window", pool, strides, (1,) * rank))

    return spec


def _global_pool(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape = one_input(cfg, shapes, rank=rank + 2)
        fmt = cfg.data_format()
        channels = shape[channel_axis(fmt)]
        if cfg.bool("keepdims", False):
            return Built([with_spatial(shape, fmt, (1,) * rank, channels)], [], Geometry("global"))
        return Built([(shape[0], channels)], [], Geometry("global"))

    return spec


for _rank in (1, 2, 3):
    register(f"MaxPooling{_rank}D", f"MaxPool{_rank}D", f"AveragePooling{_rank}D", f"AvgPool{_rank}D", kind="pool")(
        _pool(_rank)
    )
    register(
        f"GlobalAveragePooling{_rank}D",
        f"GlobalAvgPool{_rank}D",
        f"GlobalMaxPooling{_rank}D",
        f"GlobalMaxPool{_rank}D",
        kind="global_pool",
    )(_global_pool(_rank))
