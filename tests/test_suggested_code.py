"""The HTML report's suggested code builds in Keras, with the parameter count the report states."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest
from cnnlint.reports import FORMATS, RenderOptions
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, ModelReport, lint_source
from cnnlint.readers import raw_from_dict
from tests.conftest import REPO

ALL = LintSettings(tuple(select_rules()))
EXAMPLES = sorted((REPO / "examples").glob("*.keras"))
SMALL_DATA = Dataset(samples=500, classes=10)


def _mlp(keras):
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(512, activation="relu"),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10, activation="softmax")])


def _digits(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255), layers.Conv2D(32, 3, activation="relu"),
                             layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                             layers.Dense(256, activation="relu"), layers.Dense(10, activation="softmax")])


def _large_kernel_flatten_head(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(16, 3, activation="relu"),
                             layers.Conv2D(32, 7, activation="relu", use_bias=False), layers.MaxPooling2D(3, strides=2),
                             layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])


def _dropout_problems(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((32, 32, 3)), layers.RandomFlip("horizontal"), layers.RandomZoom((-0.2, 0.1)),
                             layers.Conv2D(16, 3, padding="same", activation="relu"), layers.Dropout(0.8),
                             layers.BatchNormalization(center=False), layers.GlobalAveragePooling2D(),
                             layers.Dense(10, activation="softmax")])


def _sequence(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((100, 8)), layers.Conv1D(64, 5, strides=2, activation="relu"),
                             layers.Conv1D(64, 3, dilation_rate=2), layers.GlobalMaxPooling1D(),
                             layers.Dense(5, activation="softmax")])


ZOO: dict[str, Callable] = {"mlp": _mlp, "digits": _digits, "large_kernel_flatten_head": _large_kernel_flatten_head,
                            "dropout_problems": _dropout_problems, "sequence": _sequence}  # fmt: skip


def _stated(report: ModelReport) -> tuple[str, int]:
    """The suggested code and its parameter count, as the HTML report shows them."""
    page = FORMATS["html"]([report], RenderOptions())
    code = re.search(r"<pre[^>]*><code>(.*?)</code></pre>", page, re.S)
    params = re.search(r'class="suggested-params">([\d,]+) parameters', page)
    assert code is not None and params is not None, "the report has no suggested code with a parameter count"
    return html.unescape(code.group(1)), int(params.group(1).replace(",", ""))


def _build(code: str):
    namespace: dict = {}
    exec(code, namespace)  # our own generated code, run with the real Keras
    return namespace["model"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_suggested_code_of_each_example_builds_with_the_stated_count(k3, path):
    code, params = _stated(lint_source(path, SMALL_DATA, ALL))
    assert _build(code).count_params() == params


@pytest.mark.parametrize("name", sorted(ZOO))
def test_suggested_code_of_each_zoo_model_builds_with_the_stated_count(k3, name):
    report = lint_source(raw_from_dict(json.loads(ZOO[name](k3).to_json())), SMALL_DATA, ALL)
    assert any(f.edits for f in report.findings), "the model should need some fix"
    code, params = _stated(report)
    assert _build(code).count_params() == params


def test_mlp_gets_plain_dropout(k3):
    report = lint_source(raw_from_dict(json.loads(_mlp(k3).to_json())), SMALL_DATA, ALL)
    code, _ = _stated(report)
    assert "SpatialDropout" not in code and "layers.Dropout(" in code


def test_single_channel_images_are_not_flipped(k3):
    report = lint_source(raw_from_dict(json.loads(_digits(k3).to_json())), SMALL_DATA, ALL)
    augmentation = next(f for f in report.findings if f.code == "R204")
    code, _ = _stated(report)
    assert "RandomFlip" not in code and "RandomTranslation" in code
    assert "RandomFlip" not in augmentation.fix.split("(", 1)[0]


def test_dropout_is_moved_after_the_normalization_it_fed(k3):
    report = lint_source(raw_from_dict(json.loads(_dropout_problems(k3).to_json())), SMALL_DATA, ALL)
    code, _ = _stated(report)
    assert code.index("layers.BatchNormalization(") < code.index("layers.Dropout(rate=0.5)")


def _lint_zoo(keras, name: str) -> ModelReport:
    return lint_source(raw_from_dict(json.loads(ZOO[name](keras).to_json())), SMALL_DATA, ALL)


def _convs(keras, model) -> list[int]:
    """The positions of the model's convolutions among its layers."""
    return [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D)]


@pytest.mark.parametrize("name", sorted(ZOO))
def test_no_convolution_loses_its_bias_in_front_of_its_activation(k3, name):
    """use_bias=False is only right when normalization takes the convolution's linear output."""
    model = _build(_stated(_lint_zoo(k3, name))[0])
    for i in _convs(k3, model):
        conv = model.layers[i]
        if not conv.use_bias:
            assert conv.get_config()["activation"] == "linear", f"'{conv.name}' has no bias but an activation"
            assert isinstance(model.layers[i + 1], k3.layers.BatchNormalization)


def test_normalization_goes_between_a_convolution_and_its_activation(k3):
    original = _sequence(k3)
    activations = [original.layers[i].get_config()["activation"] for i in _convs(k3, original)]
    assert activations == ["relu", "linear"], "the test needs one activated and one linear convolution"
    report = _lint_zoo(k3, "sequence")
    code, params = _stated(report)
    model = _build(code)
    assert model.count_params() == params
    positions = _convs(k3, model)
    assert len(positions) == len(activations)
    for i, activation in zip(positions, activations):
        conv, norm, after = model.layers[i], model.layers[i + 1], model.layers[i + 2]
        assert not conv.use_bias and conv.get_config()["activation"] == "linear"
        assert isinstance(norm, k3.layers.BatchNormalization)
        if activation == "linear":
            assert not isinstance(after, k3.layers.Activation)
        else:
            assert isinstance(after, k3.layers.Activation) and after.get_config()["activation"] == activation


def test_normalization_fix_says_what_the_code_does(k3):
    fix = next(f for f in _lint_zoo(k3, "sequence").findings if f.code == "R202").fix
    chain = fix.rsplit(": ", 1)[-1].split(" -> ")
    assert len(chain) == 3 and "use_bias=False" in chain[0] and "activation" not in chain[0]
    assert chain[1:] == ["BatchNormalization()", 'Activation("relu")']


def test_normalization_of_linear_convolutions_adds_no_activation(k3):
    layers = k3.layers
    linear = k3.Sequential([k3.Input((16, 16, 3)), layers.Conv2D(8, 3), layers.Conv2D(8, 3), layers.GlobalAveragePooling2D(),
                            layers.Dense(10, activation="softmax")])  # fmt: skip
    report = lint_source(raw_from_dict(json.loads(linear.to_json())), SMALL_DATA, ALL)
    fix = next(f for f in report.findings if f.code == "R202").fix
    code, params = _stated(report)
    model = _build(code)
    assert model.count_params() == params and "Activation(" not in fix
    assert not any(isinstance(layer, layers.Activation) for layer in model.layers)
    assert all(isinstance(model.layers[i + 1], layers.BatchNormalization) for i in _convs(k3, model))


def test_a_convolution_replaced_by_a_stack_hands_its_activation_to_the_normalization(k3):
    report = _lint_zoo(k3, "large_kernel_flatten_head")
    assert {"C104", "R202"} <= {f.code for f in report.findings}, "the 7x7 convolution should be replaced and normalized"
    model = _build(_stated(report)[0])
    norms = [i for i, layer in enumerate(model.layers) if isinstance(layer, k3.layers.BatchNormalization)]
    assert len(norms) == len(_convs(k3, _large_kernel_flatten_head(k3)))
    for i in norms:
        conv, after = model.layers[i - 1], model.layers[i + 1]
        assert isinstance(conv, k3.layers.Conv2D) and not conv.use_bias and conv.get_config()["activation"] == "linear"
        assert isinstance(after, k3.layers.Activation) and after.get_config()["activation"] == "relu"


def _all_convolutional(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(16, 3, activation="relu"),
                             layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(10, 1),
                             layers.GlobalAveragePooling2D(), layers.Activation("softmax")])  # fmt: skip


def _segmentation(keras):
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(4, 1, activation="softmax", name="mask")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("make", [_all_convolutional, _segmentation], ids=["all_convolutional", "segmentation"])
def test_the_output_convolution_gets_no_normalization(k3, make):
    """Normalizing the convolution that is the model's output would change what it predicts; the others get it."""
    original = make(k3)
    report = lint_source(raw_from_dict(json.loads(original.to_json())), SMALL_DATA, ALL)
    finding = next(f for f in report.findings if f.code == "R202")
    output_conv = _convs(k3, original)[-1]
    assert f"(not after the output convolution '{original.layers[output_conv].name}')" in finding.fix
    model = _build(_stated(report)[0])
    positions = _convs(k3, model)
    assert len(positions) == 3
    for i in positions[:-1]:
        assert isinstance(model.layers[i + 1], k3.layers.BatchNormalization) and not model.layers[i].use_bias
    last = model.layers[positions[-1]]
    assert last.use_bias and not any(isinstance(layer, k3.layers.BatchNormalization) for layer in model.layers[positions[-1]:])
    assert last.get_config()["activation"] == original.layers[output_conv].get_config()["activation"]
