"""TimeDistributed and Bidirectional: specs that delegate to the wrapped layer."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, one_input, register
from cnnlint.layers.recurrent import recurrent_outputs


def inner_config(cfg: Cfg, key: str = "layer") -> tuple[str, str | None, Cfg]:
    entry = cfg.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise cfg.error(f"'{key}' must be a serialized layer")
    module = entry.get("module")
    return entry["class_name"], module if isinstance(module, str) else None, Cfg(
        entry.get("config"), f"{cfg.layer}/{key}", cfg.where
    )


@register("TimeDistributed", kind="wrapper")
def time_distributed(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    from cnnlint.layers import build_spec

    shape = one_input(cfg, shapes)
    if len(shape) < 3:
        raise cfg.error("expects an input with a time axis (rank >= 3)")
    class_name, module, inner = inner_config(cfg)
    built, _kind = build_spec(class_name, module, inner, [(shape[0], *shape[2:])])
    outputs = [None if s is None else (s[0], shape[1], *s[1:]) for s in built.outputs]
    return Built(outputs, built.weights)


@register("Bidirectional", kind="recurrent")
def bidirectional(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
    from cnnlint.layers import build_spec

    shape = one_input(cfg, shapes, rank=3)
    class_name, module, forward_cfg = inner_config(cfg)
    forward, _ = build_spec(class_name, module, forward_cfg, [shape])
    if cfg.has("backward_layer"):
        back_name, back_module, backward_cfg = inner_config(cfg, "backward_layer")
        backward, _ = build_spec(back_name, back_module, backward_cfg, [shape])
    else:
        backward_cfg, backward = forward_cfg, forward
    weights = [*forward.weights, *backward.weights]
    mode = cfg.raw.get("merge_mode", "concat")
    units_f = forward_cfg.int("units", minimum=1)
    units_b = backward_cfg.int("units", minimum=1)
    if mode is None:
        return Built([forward.outputs[0], backward.outputs[0]], weights)
    if mode not in ("concat", "sum", "mul", "ave"):
        raise cfg.error(f"unknown merge_mode '{str(mode)[:20]}'")
    units = units_f + units_b if mode == "concat" else units_f
    outputs = recurrent_outputs(forward_cfg, class_name, shape, units) if class_name in (
        "LSTM", "GRU", "SimpleRNN"
    ) else [forward.outputs[0]]  # fmt: skip
    if len(outputs) > 1:  # states of both directions follow the merged output
        states = outputs[1:]
        states = [(shape[0], units_f)] * len(states) + [(shape[0], units_b)] * len(states)
        outputs = [outputs[0], *states]
    return Built(outputs, weights)
