"""Names are judged by what Keras resolves them to (cnnlint/names.py), checked against Keras's own resolvers."""

from __future__ import annotations

import importlib
import json
import zipfile

import pytest
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.keras_names import SAFE
from cnnlint.names import CODE, CUSTOM, FILE, FOREIGN, KERAS_API, TF_OP, resolve
from cnnlint.names import SAFE as SAFE_VERDICT
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import raw_from_dict
from tests.hostile_corpus import dense, function, sequential

GATE = LintSettings(tuple(select_rules(["S4"])))

#: (serialized object, the dotted path Keras loads, the verdict, the rule that reports it)
SPELLINGS = [
    ({"module": "keras", "class_name": "layers.TorchModuleWrapper", "config": {}},
     "keras.layers.TorchModuleWrapper", CODE, "S401"),
    ({"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {}},
     "keras.layers.TorchModuleWrapper", CODE, "S401"),
    ({"module": "keras.src.utils.torch_utils", "class_name": "TorchModuleWrapper", "config": {}},
     "keras.src.utils.torch_utils.TorchModuleWrapper", CODE, "S401"),
    ({"module": "keras", "class_name": "layers.Lambda", "config": {}}, "keras.layers.Lambda", CODE, "S401"),
    ({"module": "keras", "class_name": "layers.TFSMLayer", "config": {}}, "keras.layers.TFSMLayer", FILE, "S404"),
    (function("keras", "utils.get_file"), "keras.utils.get_file", KERAS_API, "S403"),
    (function("keras", "saving.load_model"), "keras.saving.load_model", KERAS_API, "S403"),
    (function("tensorflow.keras.utils", "get_file"), "tensorflow.keras.utils.get_file", KERAS_API, "S403"),
    (function("keras.datasets.mnist", "load_data"), "keras.datasets.mnist.load_data", KERAS_API, "S403"),
    (function("tf_keras.src.utils.io_utils", "os.system"), "tf_keras.src.utils.io_utils.os.system", FOREIGN, "S402"),
    ({"module": "tensorflow.python.ops.init_ops", "class_name": "np.load", "config": {}},
     "tensorflow.python.ops.init_ops.np.load", FOREIGN, "S402"),
    (function("builtins", "exec"), "builtins.exec", FOREIGN, "S402"),
    ({"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "TFOpLambda", "config": {}},
     "tf_keras.src.layers.core.tf_op_layer.TFOpLambda", TF_OP, None),
]  # fmt: skip
#: what Keras and tf_keras write: each resolves to a known-safe object
WRITTEN = [
    ({"module": "keras.layers", "class_name": "Dense", "config": {}}, "keras.layers.Dense"),
    ({"module": "keras", "class_name": "layers.Dense", "config": {}}, "keras.layers.Dense"),
    ({"module": "keras.src.models.functional", "class_name": "Functional", "config": {}, "registered_name": "Functional"},
     "keras.src.models.functional.Functional"),
    ({"module": "keras.src.ops.numpy", "class_name": "Add", "config": {}, "registered_name": "Add"},
     "keras.src.ops.numpy.Add"),
    (function("builtins", "mean_squared_error"), "keras.losses.mean_squared_error"),
    ({"module": "tensorflow.python.ops.init_ops_v2", "class_name": "Constant", "config": {},
      "registered_name": "Constant"}, "tensorflow.python.ops.init_ops_v2.Constant"),
    ({"module": "tf_keras.src.engine.functional", "class_name": "Functional", "config": {}},
     "tf_keras.src.engine.functional.Functional"),
    ({"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay", "config": {}},
     "keras.optimizers.schedules.ExponentialDecay"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "target", "verdict", "rule"), SPELLINGS)
def test_each_spelling_resolves_to_the_object_keras_loads(entry, target, verdict, rule):
    assert (target, verdict) in [(found.target, found.verdict) for found in resolve(entry)]


@pytest.mark.parametrize(("entry", "target"), WRITTEN)
def test_what_keras_writes_resolves_to_a_safe_object(entry, target):
    assert [(found.target, found.verdict) for found in resolve(entry)] == [(target, SAFE_VERDICT)]


def test_names_without_a_module_are_builtins_or_custom_objects():
    assert [f.verdict for f in resolve({"class_name": "Conv2D", "config": {}})] == [SAFE_VERDICT]
    assert [f.verdict for f in resolve({"class_name": "Custom>Adam", "config": {}})] == [SAFE_VERDICT]
    assert [f.verdict for f in resolve({"class_name": "FancyBlock", "config": {}})] == [CUSTOM]
    assert [f.verdict for f in resolve({"class_name": "layers.Lambda", "config": {}})] == [CUSTOM]  # no module: no path
    registered = resolve({"module": "my_lab.layers", "class_name": "Evil", "registered_name": "my_lab>Evil"})
    assert {f.verdict for f in registered} == {CUSTOM, FOREIGN}


@pytest.mark.parametrize(("entry", "target", "verdict", "rule"), [s for s in SPELLINGS if s[3]])
def test_the_gate_reports_each_spelling_wherever_it_sits(entry, target, verdict, rule):
    """As a layer, an activation, an initializer and an optimizer's learning rate (which Keras 3 calls)."""
    placements = [
        sequential({**entry, "config": {"name": "p"}} if isinstance(entry["config"], dict) else dense("p", activation=entry)),
        sequential(dense("p", activation=entry)),
        sequential(dense("p", kernel_initializer=entry)),
        sequential(dense("p"), compile_config={"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                                             "config": {"learning_rate": entry}}, "loss": "mse"}),
    ]  # fmt: skip
    for config in placements:
        findings = lint_source(raw_from_dict(config), Dataset(), GATE).findings
        assert rule in {f.code for f in findings if f.severity == "error"}, (config, findings)


def test_the_committed_table_is_what_keras_exports(k3, tfk):
    """cnnlint/keras_names.py is generated from the installed keras and tf_keras (tests/keras_names_table.py)."""
    from tests.keras_names_table import generate

    assert generate() == SAFE


def _loaded(path: str):
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        return value
    raise ImportError(path)


@pytest.mark.parametrize(("entry", "target", "verdict", "rule"), SPELLINGS)
def test_keras_resolves_each_spelling_to_that_object(k3, tfk, entry, target, verdict, rule):
    """The loaders' own resolvers (nothing is instantiated or called): Keras 3 for a ``keras`` module, else (or
    where Keras 3 refuses a name it lists as non-modeling) tf_keras, which imports any module and follows one dot;
    what they return is the object at the path cnnlint names."""
    from keras.src.saving import serialization_lib as keras3
    from tf_keras.src.saving import serialization_lib as tf_keras

    kind = "function" if entry["class_name"] == "function" else "class"
    name = entry["config"] if kind == "function" else entry["class_name"]
    registered = entry.get("registered_name", name)
    found = None
    if entry["module"].startswith("keras"):
        try:
            found = keras3._retrieve_class_or_fn(name, registered, entry["module"], obj_type=kind, full_config=entry)
        except (TypeError, ValueError):
            found = None
    if found is None:
        module = "tf_" + entry["module"] if entry["module"].startswith("keras") else entry["module"]
        found = tf_keras._retrieve_class_or_fn(name, registered, module, obj_type=kind, full_config=entry)
    if getattr(found, "__module__", "").startswith("tf_keras") and target.startswith("keras."):
        target = "tf_" + target  # tf_keras loaded it from its own package
    assert found is _loaded(target)


def test_real_models_of_both_kerases_pass_the_gate(k3, tfk, tmp_path):
    """What keras.applications networks and compiled models are saved as, in both Kerases, resolves safe."""
    k3_model = k3.applications.MobileNetV3Small(weights=None)
    k3_model.compile(optimizer=k3.optimizers.Adam(k3.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
                     loss=k3.losses.CategoricalCrossentropy(), metrics=["accuracy", k3.metrics.AUC()])  # fmt: skip
    k3_model.save(tmp_path / "k3.keras")
    tf_model = tfk.applications.EfficientNetV2B0(weights=None)  # writes tensorflow.python.ops.init_ops_v2 objects
    tf_model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    tf_model.save(tmp_path / "tf.keras")
    tf_model.save(tmp_path / "tf.h5", save_format="h5")
    with zipfile.ZipFile(tmp_path / "tf.keras") as archive:
        assert "tensorflow.python.ops" in archive.read("config.json").decode()
    for path in ("k3.keras", "tf.keras", "tf.h5"):
        assert lint_source(tmp_path / path, Dataset(), GATE).findings == [], path
    assert json.loads(k3_model.to_json())  # the configs were real ones
