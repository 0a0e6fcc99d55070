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
