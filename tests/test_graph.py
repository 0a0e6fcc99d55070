"""The model graph: shapes and parameter counts for every layer family, nesting, sharing, wrappers."""

from __future__ import annotations

import pytest

from cnnlint.analysis import analyze
from cnnlint.graph import build_graph
from cnnlint.readers import raw_from_dict, read_model
from tests.conftest import save_keras3, save_tf_keras, weight_counts


def zoo(keras, multi_axis_layer_norm: bool = True):
    """One functional model with most layer families, shared layers, a nested model and several outputs."""
    L = keras.layers
    image = keras.Input((16, 16, 3), name="image")
    seq = keras.Input((10, 8), name="seq")
    tokens = keras.Input((12,), name="tokens")
    vol = keras.Input((8, 8, 8, 2), name="vol")

    x = L.RandomFlip("horizontal")(image)
    x = L.Rescaling(1 / 255.0)(x)
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = L.Cropping2D(((1, 1), (0, 1)))(x)
    x = L.Conv2D(8, 3, strides=2, padding="same", groups=1, kernel_regularizer=keras.regularizers.l2(1e-4))(x)
    x = L.BatchNormalization()(x)
    x = L.PReLU(shared_axes=[1, 2])(x)
    x = L.Conv2D(8, 3, padding="same", groups=4, dilation_rate=2)(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2)(x)
    x = L.SeparableConv2D(12, 3, padding="same", depth_multiplier=2)(x)
    x = L.Conv2DTranspose(6, 3, strides=2, output_padding=1)(x)
    x = L.UpSampling2D(2)(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.AveragePooling2D(2)(x)
    x = L.GroupNormalization(groups=3)(x)
    x = L.LayerNormalization(axis=[1, 2, 3] if multi_axis_layer_norm else -1)(x)
    x = L.SpatialDropout2D(0.1)(x)
    backbone = keras.Sequential(
        [keras.Input(x.shape[1:]), L.Conv2D(10, 1, name="conv1"), L.BatchNormalization(name="bn1")], name="backbone"
    )
    backbone.trainable = False
    x = backbone(x)
    img_vec = L.GlobalAveragePooling2D()(x)

    s = L.Conv1D(6, 3, padding="causal")(seq)
    s = L.DepthwiseConv1D(3, padding="same")(s)
    s = L.SeparableConv1D(6, 3)(s)
    s = L.Conv1DTranspose(4, 2, strides=2)(s)
    s = L.UpSampling1D(2)(s)
    s = L.ZeroPadding1D(2)(s)
    s = L.Cropping1D((1, 2))(s)
    s = L.Bidirectional(L.LSTM(5, return_sequences=True))(s)
    s = L.GRU(4, return_sequences=True, reset_after=False)(s)
    s = L.TimeDistributed(L.Dense(3))(s)
    attn = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    s = attn(s, s)
    s2 = attn(s, s)  # shared layer, second call
    s = L.Add()([s, s2])
    s = L.GRU(4, reset_after=True)(s)

    t = L.Embedding(50, 6)(tokens)
    t = L.SimpleRNN(5, return_sequences=True)(t)
    q = L.Attention()([t, t])
    a = L.AdditiveAttention()([t, t])
    t = L.Concatenate()([q, a])
    t = L.Permute((2, 1))(t)
    t = L.Reshape((-1,))(t)
    t = L.EinsumDense("ab,bc->ac", output_shape=7, bias_axes="c")(t)
    t = L.RepeatVector(2)(t)
    t = L.Flatten()(t)

    v = L.Conv3D(4, 3, padding="same")(vol)
    v = L.Conv3DTranspose(2, 2, strides=2)(v)
    v = L.MaxPooling3D(2)(v)
    v = L.UpSampling3D(2)(v)
    v = L.ZeroPadding3D(1)(v)
    v = L.Cropping3D(1)(v)
    v = L.GlobalMaxPooling3D()(v)

    shared = L.Dense(9, name="shared_dense")
    merged = L.Concatenate()([shared(img_vec), shared(L.Dense(10)(s)), t, v])
    merged = L.Dropout(0.3)(merged)
    out1 = L.Dense(3, activation="softmax", name="cls")(merged)
    out2 = L.Dense(1, name="reg")(L.Dot(axes=1)([merged, merged]))
    return keras.Model([image, seq, tokens, vol], [out1, out2], name="zoo")


def test_zoo_keras3_all_formats(k3, tmp_path):
    model = zoo(k3)
    expected = weight_counts(model)
    for path in save_keras3(model, tmp_path, "zoo").values():
        graph = build_graph(read_model(path))
        assert graph.params_exact, [layer.problem for layer in graph.uncounted_layers]
        assert (graph.trainable_params, graph.non_trainable_params) == expected, path
        assert [list(s) for s in graph.output_shapes] == [[None, 3], [None, 1]]
        assert "backbone/conv1" in {layer.path for layer in graph.layers}
        assert len(graph.layer("shared_dense").nodes) == 2
        assert graph.layer("backbone/conv1").trainable is False


def test_zoo_tf_keras_all_formats(tfk, tmp_path):
    model = zoo(tfk, multi_axis_layer_norm=False)  # tf_keras cannot trace that into a SavedModel
    expected = weight_counts(model)
    for path in save_tf_keras(model, tmp_path, "zoo").values():
        graph = build_graph(read_model(path))
        assert graph.params_exact, [layer.problem for layer in graph.uncounted_layers]
        assert (graph.trainable_params, graph.non_trainable_params) == expected, path


def test_normalization_preprocessing_weights(k3):
    L = k3.layers
    adapted = k3.Sequential([k3.Input((4, 4, 3)), L.Normalization(axis=-1), L.Flatten(), L.Dense(2)])
    fixed = k3.Sequential([k3.Input((4, 4, 3)), L.Normalization(mean=0.5, variance=2.0), L.Flatten(), L.Dense(2)])
    for model in (adapted, fixed):
        graph = build_graph(raw_from_dict(__import__("json").loads(model.to_json())))
        assert (graph.trainable_params, graph.non_trainable_params) == weight_counts(model)


def test_nested_paths_and_receptive_field(k3, tmp_path):
    L = k3.layers
    inner = k3.Sequential([k3.Input((32, 32, 3)), L.Conv2D(4, 3, name="conv1"), L.Conv2D(4, 3, strides=2, name="conv2")],
                          name="backbone")  # fmt: skip
    middle_in = k3.Input((32, 32, 3))
    middle = k3.Model(middle_in, inner(middle_in), name="middle")
    outer_in = k3.Input((32, 32, 3))
    model = k3.Model(outer_in, L.Dense(2)(L.Flatten()(middle(outer_in))), name="outer")
    path = tmp_path / "nested.keras"
    model.save(path)
    graph = build_graph(read_model(path))
    assert "middle/backbone/conv1" in {layer.path for layer in graph.layers}
    facts = analyze(graph)
    # conv 3x3 (rf 3), then conv 3x3 stride 2 (rf 5)
    assert facts.receptive_field == (5, 5)
    assert facts.depth == 3
    assert facts.input_spatial == (32, 32)


def test_receptive_field_of_resnet50_and_vgg16(k3):
    import json

    for name, rf, depth in (("ResNet50", 483, 50), ("VGG16", 212, 16)):
        model = getattr(k3.applications, name)(weights=None)
        facts = analyze(build_graph(raw_from_dict(json.loads(model.to_json()))))
        assert facts.depth == depth
        if name == "ResNet50":
            assert facts.receptive_field == (rf, rf)
        else:  # VGG16's last conv (block5_conv3) sees 196x196; the last pool 212x212
            assert facts.receptive_field == (196, 196)
        k3.backend.clear_session()


def test_unknown_custom_layer_is_carried_through(k3):
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 1], "name": "in"}},
                {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3}},
                {"module": "my_package.layers", "class_name": "FancyLayer", "config": {"name": "fancy"}},
                {"class_name": "Flatten", "config": {"name": "f"}},
                {"class_name": "Dense", "config": {"name": "d", "units": 2}},
            ],
        },
    }
    graph = build_graph(raw_from_dict(config))
    assert not graph.params_exact
    assert graph.layer("fancy").kind == "unknown"
    assert graph.layer("c").params == 3 * 3 * 1 * 4 + 4
    assert "d" in {layer.path for layer in graph.uncounted_layers}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"filters": "abc", "kernel_size": 3}, "filters must be an integer"),
        ({"filters": 4, "kernel_size": -1}, "kernel_size must be >= 1"),
        ({"filters": 4, "kernel_size": None}, "missing required 'kernel_size'"),
        ({"filters": 4, "kernel_size": [3, 3, 3]}, "kernel_size must have 2 values"),
        ({"filters": 4, "kernel_size": 3, "padding": "sideways"}, "padding must be one of"),
    ],
)
def test_wrong_types_name_the_layer(bad, message):
    from cnnlint.errors import ModelError

    config = {
        "class_name": "Sequential",
        "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 1], "name": "in"}},
            {"class_name": "Conv2D", "config": {"name": "conv_3", **bad}},
        ]},
    }  # fmt: skip
    with pytest.raises(ModelError) as info:
        build_graph(raw_from_dict(config))
    assert "conv_3" in str(info.value) and message in str(info.value)
