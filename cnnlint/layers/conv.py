"""Convolutions: plain, transposed, depthwise and separable, in 1, 2 and 3 D."""

from __future__ import annotations

from cnnlint.layers.base import (
    Built,
    Cfg,
    Geometry,
    MaybeShape,
    Weight,
    channel_axis,
    conv_output_length,
    known_dim,
    one_input,
    register,
    spatial_dims,
    with_spatial,
)

PADDINGS = ("valid", "same", "causal", "full")


def _common(cfg: Cfg, shapes: list[MaybeShape], rank: int):
    shape = one_input(cfg, shapes, rank=rank + 2)
    fmt = cfg.data_format()
    kernel = cfg.ints("kernel_size", rank)
    strides = cfg.ints("strides", rank, 1)
    dilation = cfg.ints("dilation_rate", rank, 1)
    padding = cfg.str("padding", "valid", choices=PADDINGS)
    channels = known_dim(cfg, shape, channel_axis(fmt), "input channels")
    return shape, fmt, kernel, strides, dilation, padding, channels


def _geometry(kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...]) -> Geometry:
    extent = tuple(k + (k - 1) * (d - 1) for k, d in zip(kernel, dilation))
    return Geometry("window", extent, strides, dilation)


def _spatial_out(cfg: Cfg, shape, fmt, kernel, strides, dilation, padding):
    out = []
    for length, k, s, d in zip(spatial_dims(shape, fmt), kernel, strides, dilation):
        n = conv_output_length(length, k, padding, s, d)
        if n is not None and n <= 0:
            raise cfg.error(
                f"kernel {k} (dilation {d}) does not fit an input of length {length} with padding '{padding}'"
            )
        out.append(n)
    return out


def _conv(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape, fmt, kernel, strides, dilation, padding, channels = _common(cfg, shapes, rank)
        filters = cfg.int("filters", minimum=1)
        groups = cfg.int("groups", 1, minimum=1)
        if channels % groups or filters % groups:
            raise cfg.error(f"groups={groups} must divide input channels ({channels}) and filters ({filters})")
        weights = [Weight("kernel", (*kernel, channels // groups, filters))]
        if cfg.bool("use_bias", True):
            weights.append(Weight("bias", (filters,)))
        out = _spatial_out(cfg, shape, fmt, kernel, strides, dilation, padding)
        return Built([with_spatial(shape, fmt, out, filters)], weights, _geometry(kernel, strides, dilation))

    return spec


def _deconv_length(length, kernel, padding, output_padding, stride, dilation):
    if length is None:
        return None
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(kernel - stride, 0)
        if padding == "full":
            return length * stride - (stride + kernel - 2)
        return length * stride
    pad = {"same": kernel // 2, "valid": 0, "full": kernel - 1}.get(padding, 0)
    return (length - 1) * stride + kernel - 2 * pad + output_padding


def _conv_transpose(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape, fmt, kernel, strides, dilation, padding, channels = _common(cfg, shapes, rank)
        filters = cfg.int("filters", minimum=1)
        output_padding = cfg.ints("output_padding", rank, None, minimum=0) if cfg.has("output_padding") else None
        weights = [Weight("kernel", (*kernel, filters, channels))]
        if cfg.bool("use_bias", True):
            weights.append(Weight("bias", (filters,)))
        pads = output_padding or (None,) * rank
        out = [
            _deconv_length(n, k, padding, p, s, d)
            for n, k, p, s, d in zip(spatial_dims(shape, fmt), kernel, pads, strides, dilation)
        ]
        return Built([with_spatial(shape, fmt, out, filters)], weights, Geometry("upsample", (), strides))

    return spec


def _depthwise(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape, fmt, kernel, strides, dilation, padding, channels = _common(cfg, shapes, rank)
        multiplier = cfg.int("depth_multiplier", 1, minimum=1)
        weights = [Weight("kernel", (*kernel, channels, multiplier))]
        if cfg.bool("use_bias", True):
            weights.append(Weight("bias", (channels * multiplier,)))
        out = _spatial_out(cfg, shape, fmt, kernel, strides, dilation, padding)
        return Built(
            [with_spatial(shape, fmt, out, channels * multiplier)], weights, _geometry(kernel, strides, dilation)
        )

    return spec


def _separable(rank: int):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape, fmt, kernel, strides, dilation, padding, channels = _common(cfg, shapes, rank)
        filters = cfg.int("filters", minimum=1)
        multiplier = cfg.int("depth_multiplier", 1, minimum=1)
        weights = [
            Weight("depthwise_kernel", (*kernel, channels, multiplier)),
            Weight("pointwise_kernel", (*(1,) * rank, channels * multiplier, filters)),
        ]
        if cfg.bool("use_bias", True):
            weights.append(Weight("bias", (filters,)))
        out = _spatial_out(cfg, shape, fmt, kernel, strides, dilation, padding)
        return Built([with_spatial(shape, fmt, out, filters)], weights, _geometry(kernel, strides, dilation))

    return spec


for _rank in (1, 2, 3):
    register(f"Conv{_rank}D", f"Convolution{_rank}D", kind="conv")(_conv(_rank))
    register(f"Conv{_rank}DTranspose", f"Convolution{_rank}DTranspose", kind="conv")(_conv_transpose(_rank))
for _rank in (1, 2):
    register(f"DepthwiseConv{_rank}D", kind="conv")(_depthwise(_rank))
    register(f"SeparableConv{_rank}D", f"SeparableConvolution{_rank}D", kind="conv")(_separable(_rank))
