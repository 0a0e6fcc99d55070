"""SimpleRNN, LSTM and GRU."""

from __future__ import annotations

from cnnlint.layers.base import Built, Cfg, MaybeShape, Weight, known_dim, one_input, register

#: gates per cell and states it returns
_CELLS = {"SimpleRNN": (1, 1), "LSTM": (4, 2), "GRU": (3, 1), "CuDNNLSTM": (4, 2), "CuDNNGRU": (3, 1)}


def recurrent_weights(cfg: Cfg, class_name: str, features: int) -> list[Weight]:
    gates, _ = _CELLS[class_name]
    units = cfg.int("units", minimum=1)
    weights = [Weight("kernel", (features, gates * units)), Weight("recurrent_kernel", (units, gates * units))]
    if cfg.bool("use_bias", True):
        if class_name == "GRU" and cfg.bool("reset_after", True):
            weights.append(Weight("bias", (2, gates * units)))
        else:
            weights.append(Weight("bias", (gates * units,)))
    return weights


def recurrent_outputs(cfg: Cfg, class_name: str, shape, units: int) -> list[MaybeShape]:
    _, states = _CELLS[class_name]
    if cfg.bool("return_sequences", False):
        main: MaybeShape = (shape[0], shape[1], units)
    else:
        main = (shape[0], units)
    outputs = [main]
    if cfg.bool("return_state", False):
        outputs += [(shape[0], units)] * states
    return outputs


def _rnn(class_name: str):
    def spec(cfg: Cfg, shapes: list[MaybeShape]) -> Built:
        shape = one_input(cfg, shapes, rank=3)
        features = known_dim(cfg, shape, -1, "input features")
        weights = recurrent_weights(cfg, class_name, features)
        units = cfg.int("units", minimum=1)
        return Built(recurrent_outputs(cfg, class_name, shape, units), weights)

    return spec


for _name in _CELLS:
    register(_name, kind="recurrent")(_rnn(_name))
