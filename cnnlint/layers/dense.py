"""Dense, EinsumDense and Embedding."""

from __future__ import annotations

import re

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, known_dim, one_input, register


@register("Dense", kind="dense")
def dense(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    if len(shape) < 2:
        raise cfg.error(f"expects at least a 2D input, got rank {len(shape)}")
    units = cfg.int("units", minimum=1)
    features = known_dim(cfg, shape, -1, "input features")
    weights = [Weight("kernel", (features, units))]
    if cfg.bool("use_bias", True):
        weights.append(Weight("bias", (units,)))
    return Built([(*shape[:-1], units)], weights)


@register("Embedding", kind="embedding")
def embedding(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    shape = one_input(cfg, shapes)
    vocabulary = cfg.int("input_dim", minimum=1)
    size = cfg.int("output_dim", minimum=1)
    return Built([(*shape, size)], [Weight("embeddings", (vocabulary, size))])


_EINSUM = re.compile(r"^([a-zA-Z.]+),([a-zA-Z.]+)->([a-zA-Z.]+)$")


@register("EinsumDense", kind="dense")
def einsum_dense(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    """Kernel and output shapes from the equation, as Keras's ``_analyze_einsum_string``."""
    shape = one_input(cfg, shapes)
    equation = cfg.str("equation").replace(" ", "")
    match = _EINSUM.match(equation)
    if not match:
        raise cfg.error(f"unsupported EinsumDense equation '{equation[:60]}'")
    in_spec, kernel_spec, out_spec = match.groups()
    declared = cfg.get("output_shape")
    declared = list(declared) if isinstance(declared, (list, tuple)) else [declared]
    if "..." in in_spec:
        in_spec, out_spec, shape = _expand_ellipsis(cfg, in_spec, out_spec, shape)
    if len(in_spec) != len(shape):
        raise cfg.error(f"equation input '{in_spec}' does not match input rank {len(shape)}")
    # output_shape lists the output dims after the batch dim (the last ones).
    out_dims: dict[str, int | None] = dict(zip(in_spec, shape))
    tail = out_spec[len(out_spec) - len(declared) :]
    for letter, dim in zip(tail, declared):
        if dim is not None and not isinstance(dim, int):
            raise cfg.error("output_shape must hold integers")
        out_dims.setdefault(letter, dim)
        if out_dims[letter] is None:
            out_dims[letter] = dim
    out_shape = tuple(out_dims.get(letter) for letter in out_spec)
    kernel = []
    for letter in kernel_spec:
        dim = out_dims.get(letter)
        if dim is None:
            raise cfg.error(f"cannot size kernel axis '{letter}' of '{equation}'")
        kernel.append(dim)
    weights = [Weight("kernel", tuple(kernel))]
    bias_axes = cfg.get("bias_axes")
    if isinstance(bias_axes, str) and bias_axes:
        first = min(out_spec.index(c) for c in bias_axes if c in out_spec)
        bias = tuple(out_dims[c] if c in bias_axes else 1 for c in out_spec[first:])
        if any(b is None for b in bias):
            raise cfg.error("cannot size the bias")
        weights.append(Weight("bias", bias))  # type: ignore[arg-type]
    return Built([out_shape], weights)


def _expand_ellipsis(cfg: Cfg, in_spec: str, out_spec: str, shape):
    free = "".join(c for c in "zyxwvutsrqponmlk" if c not in in_spec + out_spec)
    explicit = len(in_spec.replace("...", ""))
    count = len(shape) - explicit
    if count < 0:
        raise cfg.error("equation has more axes than the input")
    letters = free[:count]
    return in_spec.replace("...", letters), out_spec.replace("...", letters), shape
