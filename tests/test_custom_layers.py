"""Custom layers are counted from the shapes in the weights file, so totals equal Keras's ``count_params()``.

Covers Keras 3 and tf.keras 2, ``.keras`` (zipped and unzipped) and legacy ``.h5``, custom layers at the top
level, inside a nested Sequential and holding sublayers, and the fallbacks: a weights file that does not match
the config, or one that is compressed, leaves the custom layers uncounted (a lower bound), never wrong.
"""

from __future__ import annotations

import shutil
import zipfile

import h5py
import pytest

from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from tests.conftest import weight_counts


def _custom_classes(keras):
    layers = keras.layers

    class Scale(layers.Layer):
        """A per-channel scale (trainable) and a frozen 3-vector."""

        def build(self, shape):
            self.s = self.add_weight(name="s", shape=(shape[-1],), initializer="ones")
            self.m = self.add_weight(name="m", shape=(3,), initializer="zeros", trainable=False)

        def call(self, x):
            return x * self.s

    class ConvBlock(layers.Layer):
        """A custom layer that owns built-in sublayers."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = layers.Conv2D(4, 3, padding="same")
            self.norm = layers.BatchNormalization()

        def call(self, x):
            return self.norm(self.conv(x))

    return Scale, ConvBlock


def _model(keras):
    Scale, ConvBlock = _custom_classes(keras)
    layers = keras.layers
    inner = keras.Sequential([keras.Input((8, 8, 4)), Scale(), layers.Conv2D(4, 1)], name="inner")
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = Scale(name="first_scale")(x)
    x = ConvBlock()(x)
    x = inner(x)
    x = Scale()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(2)(x))


@pytest.fixture(scope="module")
def saved(tmp_path_factory, k3, tfk):
    folder = tmp_path_factory.mktemp("custom")
    files = {}
    for tag, keras in (("keras3", k3), ("tf_keras", tfk)):
        model = _model(keras)
        trainable, frozen = weight_counts(model)
        model.save(folder / f"{tag}.keras")
        model.save(folder / f"{tag}.h5")
        unzipped = folder / f"{tag}_unzipped"
        with zipfile.ZipFile(folder / f"{tag}.keras") as archive:
            archive.extractall(unzipped)
        for kind, path in (("keras", f"{tag}.keras"), ("h5", f"{tag}.h5"), ("folder", f"{tag}_unzipped")):
            files[(tag, kind)] = (folder / path, trainable + frozen)
    return folder, files


@pytest.mark.parametrize("tag", ["keras3", "tf_keras"])
@pytest.mark.parametrize("kind", ["keras", "h5", "folder"])
def test_total_equals_count_params(saved, tag, kind):
    _, files = saved
    path, expected = files[(tag, kind)]
    graph = model_graph(read_model(path))
    assert graph.params_exact, [layer.problem for layer in graph.uncounted_layers]
    assert graph.params == expected
    assert any("custom" in note and "first_scale" in note for note in graph.notes)


def test_trainable_split_of_builtin_layers_read_from_a_legacy_h5(saved, tfk):
    """After a custom layer nothing in a legacy .h5 records shapes; BatchNorm's moving stats stay non-trainable."""
    folder, _ = saved
    Scale, _ = _custom_classes(tfk)
    layers = tfk.layers
    model = tfk.Sequential([tfk.Input((6, 6, 2)), Scale(), layers.Conv2D(3, 3), layers.BatchNormalization()])
    model.save(folder / "split.h5")
    graph = model_graph(read_model(folder / "split.h5"))
    norm = next(layer for layer in graph.layers if layer.class_name == "BatchNormalization")
    assert (norm.trainable_params, norm.non_trainable_params) == (6, 6)
    assert graph.params == model.count_params()


def test_sequential_after_a_custom_layer_uses_the_recorded_build_shape(saved, k3):
    folder, _ = saved
    Scale, _ = _custom_classes(k3)
    model = k3.Sequential([k3.Input((6, 6, 2)), Scale(), k3.layers.Conv2D(3, 3), k3.layers.BatchNormalization()])
    model.save(folder / "seq.keras")
    graph = model_graph(read_model(folder / "seq.keras"))
    norm = next(layer for layer in graph.layers if layer.class_name == "BatchNormalization")
    assert (norm.trainable_params, norm.non_trainable_params) == (6, 6)  # counted from its config
    assert graph.params == model.count_params()


def _graph_of_edited_folder(files, tmp_path, edit):
    """The Keras 3 unzipped model with its model.weights.h5 edited by ``edit(h5py_file)``."""
    copy = tmp_path / "edited"
    shutil.copytree(files[("keras3", "folder")][0], copy)
    with h5py.File(copy / "model.weights.h5", "r+") as handle:
        edit(handle)
    return model_graph(read_model(copy))


def test_weights_that_do_not_match_the_config_are_not_used(saved, tmp_path):
    graph = _graph_of_edited_folder(saved[1], tmp_path, lambda h5: h5.move("layers/conv2d", "layers/conv2d_99"))
    assert not graph.params_exact
    assert "first_scale" in {layer.path for layer in graph.uncounted_layers}


def test_wrong_counts_in_the_weights_file_are_not_used(saved, tmp_path):
    _, files = saved
    path, _ = files[("tf_keras", "h5")]
    copy = tmp_path / "resized.h5"
    shutil.copy(path, copy)
    conv = next(layer for layer in model_graph(read_model(path)).layers if layer.class_name == "Conv2D")
    assert conv.counted and conv.params
    with h5py.File(copy, "r+") as handle:
        group = handle[f"model_weights/{conv.path}/{conv.path}"]
        name = next(iter(group))
        del group[name]
        group.create_dataset(name, shape=(7, 7), dtype="float32")
    graph = model_graph(read_model(copy))
    assert not graph.params_exact and "first_scale" in {layer.path for layer in graph.uncounted_layers}


def test_compressed_weights_member_is_not_read(saved, tmp_path):
    _, files = saved
    path, _ = files[("keras3", "keras")]
    deflated = tmp_path / "deflated.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    graph = model_graph(read_model(deflated))
    assert not graph.params_exact


def test_links_in_the_weights_file_are_not_followed(saved, tmp_path):
    def relink(h5):
        h5.move("layers/scale", "moved_scale")
        h5["layers/scale"] = h5py.SoftLink("/moved_scale")

    graph = _graph_of_edited_folder(saved[1], tmp_path, relink)
    assert "first_scale" in {layer.path for layer in graph.uncounted_layers}


def test_object_budget_leaves_the_layers_uncounted(saved, monkeypatch):
    import cnnlint.readers.weights as weights

    _, files = saved
    path, expected = files[("keras3", "keras")]
    monkeypatch.setattr(weights, "MAX_OBJECTS", 5)
    graph = model_graph(read_model(path))
    assert not graph.params_exact and graph.params < expected


@pytest.mark.parametrize("which", ["k3", "tfk"])
def test_live_model_counts_custom_layers_exactly(request, which):
    """cnnlint.check(model) takes a custom layer's weights from the live model: trainable split included."""
    import cnnlint

    model = _model(request.getfixturevalue(which))
    trainable, frozen = weight_counts(model)
    summary = cnnlint.check(model).graph
    assert summary["params_exact"]
    assert (summary["trainable_params"], summary["non_trainable_params"]) == (trainable, frozen)
    assert any("live model" in note for note in summary["notes"])
