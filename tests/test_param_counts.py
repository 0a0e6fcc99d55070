"""Parameter counts equal Keras's, trainable and non-trainable, for every format.

Every ``keras.applications`` architecture (``weights=None``) is saved for
real as Keras 3 ``.keras`` and ``.h5`` and as JSON; every tf_keras
application as tf.keras ``.keras``, ``.h5`` and JSON, and a representative
subset also as a SavedModel (saving all of them as SavedModels would take
most of CI's time budget: each save traces TensorFlow functions).
"""

from __future__ import annotations

import shutil

import pytest

from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from tests.conftest import save_keras3, save_tf_keras, weight_counts

K3_APPS = [
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S",
    "InceptionResNetV2", "InceptionV3", "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small",
    "NASNetLarge", "NASNetMobile", "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50",
    "ResNet50V2", "VGG16", "VGG19", "Xception",
]  # fmt: skip
TF_KERAS_EXTRA = [f"RegNet{kind}{size}" for kind in "XY" for size in
                  ("002", "004", "006", "008", "016", "032", "040", "064", "080", "120", "160", "320")]  # fmt: skip
SAVEDMODEL_SUBSET = {"MobileNetV2", "RegNetY002", "InceptionResNetV2"}


def assert_same_counts(path, expected: tuple[int, int]) -> None:
    graph = model_graph(read_model(path))
    assert graph.params_exact, [layer.problem for layer in graph.uncounted_layers]
    assert (graph.trainable_params, graph.non_trainable_params) == expected, path


def test_every_application_is_listed(k3):
    available = sorted(n for n in dir(k3.applications) if n[0].isupper())
    assert available == sorted(K3_APPS), "keras.applications changed: update K3_APPS"


@pytest.mark.slow
@pytest.mark.parametrize("name", K3_APPS)
def test_keras3_applications(k3, tmp_path, name):
    model = getattr(k3.applications, name)(weights=None)
    expected = weight_counts(model)
    paths = save_keras3(model, tmp_path, name)
    del model
    k3.backend.clear_session()
    for path in paths.values():
        assert_same_counts(path, expected)
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", K3_APPS + TF_KERAS_EXTRA)
def test_tf_keras_applications(tfk, tmp_path, name):
    model = getattr(tfk.applications, name)(weights=None)
    expected = weight_counts(model)
    paths = save_tf_keras(model, tmp_path, name, savedmodel=name in SAVEDMODEL_SUBSET)
    del model
    tfk.backend.clear_session()
    for path in paths.values():
        assert_same_counts(path, expected)
    shutil.rmtree(tmp_path, ignore_errors=True)


def _seed_models(keras):
    layers, l2 = keras.layers, keras.regularizers.l2
    plain = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(16, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    regularized = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.25), layers.Flatten(),
        layers.Dense(10, activation="softmax", kernel_regularizer=l2(0.01)),
    ])  # fmt: skip
    for model in (plain, regularized):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return {"plain": plain, "regularized": regularized}


@pytest.mark.parametrize("which", ["plain", "regularized"])
@pytest.mark.parametrize("keras_fixture, save", [("k3", save_keras3), ("tfk", save_tf_keras)])
def test_seed_models(request, tmp_path, which, keras_fixture, save):
    model = _seed_models(request.getfixturevalue(keras_fixture))[which]
    expected = weight_counts(model)
    for path in save(model, tmp_path, which).values():
        assert_same_counts(path, expected)
