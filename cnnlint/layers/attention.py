"""MultiHeadAttention, Attention and AdditiveAttention."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, known_dim, register


@register("MultiHeadAttention", kind="attention")
def multi_head_attention(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    if len(shapes) < 2:
        raise cfg.error("needs query and value inputs")
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) > 2 else value
    if query is None or value is None or key is None:
        return Built([None])
    heads = cfg.int("num_heads", minimum=1)
    key_dim = cfg.int("key_dim", minimum=1)
    value_dim = cfg.int("value_dim", key_dim, minimum=1)
    q_dim = known_dim(cfg, query, -1, "query features")
    k_dim = known_dim(cfg, key, -1, "key features")
    v_dim = known_dim(cfg, value, -1, "value features")
    declared = cfg.get("output_shape")
    if declared is None:
        out_dims: tuple[int, ...] = (q_dim,)
    elif isinstance(declared, (list, tuple)):
        out_dims = tuple(cfg.int_value("output_shape", d, 1) for d in declared)
    else:
        out_dims = (cfg.int_value("output_shape", declared, 1),)
    bias = cfg.bool("use_bias", True)
    weights = [
        Weight("query/kernel", (q_dim, heads, key_dim)),
        Weight("key/kernel", (k_dim, heads, key_dim)),
        Weight("value/kernel", (v_dim, heads, value_dim)),
        Weight("attention_output/kernel", (heads, value_dim, *out_dims)),
    ]
    if bias:
        weights[1:1] = [Weight("query/bias", (heads, key_dim))]
        weights[3:3] = [Weight("key/bias", (heads, key_dim))]
        weights.insert(5, Weight("value/bias", (heads, value_dim)))
        weights.append(Weight("attention_output/bias", out_dims))
    return Built([(*query[:-1], *out_dims)], weights)


def _query_value(cfg: Cfg, shapes: list[MaybeShape]):
    if len(shapes) < 2:
        raise cfg.error("needs query and value inputs")
    return shapes[0], shapes[1]


@register("Attention", kind="attention")
def dot_attention(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    query, value = _query_value(cfg, shapes)
    if query is None or value is None:
        return Built([None])
    weights = []
    if cfg.bool("use_scale", False):
        weights.append(Weight("scale", ()))
    if cfg.get("score_mode") == "concat":
        weights.append(Weight("concat_score_weight", ()))
    return Built([(*query[:-1], value[-1])], weights)


@register("AdditiveAttention", kind="attention")
def additive_attention(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    query, value = _query_value(cfg, shapes)
    if query is None or value is None:
        return Built([None])
    weights = []
    if cfg.bool("use_scale", True):
        weights.append(Weight("scale", (known_dim(cfg, query, -1, "query features"),)))
    return Built([(*query[:-1], value[-1])], weights)
