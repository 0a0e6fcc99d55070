"""The Python API: check(model) goes through the same pipeline as the CLI on the saved file."""

from __future__ import annotations

import json

import pytest

import cnnlint
from tests.conftest import REPO, run_cli


def _models(k3):
    L = k3.layers
    seq = k3.Sequential([k3.Input((28, 28, 1)), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                         L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")], name="seq")
    inputs = k3.Input((32, 32, 3))
    x = L.Conv2D(16, 7)(inputs)
    x = L.Dropout(0.7)(x)
    x = L.BatchNormalization()(x)
    functional = k3.Model(inputs, L.Dense(5)(L.GlobalAveragePooling2D()(x)), name="functional")
    backbone = k3.Sequential([k3.Input((32, 32, 3)), L.Conv2D(8, 3), L.Conv2D(8, 3)], name="backbone")
    outer_in = k3.Input((32, 32, 3))
    nested = k3.Model(outer_in, L.Dense(3)(L.Flatten()(backbone(outer_in))), name="nested")
    for model in (seq, functional, nested):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return [seq, functional, nested]


def _comparable(findings):
    return sorted((f["code"], f["severity"], f["layer"], f["message"], f["fix"]) for f in findings)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_live_model_matches_cli_on_saved_file(k3, tmp_path, index):
    model = _models(k3)[index]
    live = json.loads(cnnlint.check(model, samples=800).to_json())["models"][0]
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    saved = json.loads(run_cli(str(path), "--samples", "800", "--format", "json").stdout)["models"][0]
    assert live["findings"] and _comparable(live["findings"]) == _comparable(saved["findings"])
    assert live["risk"] == saved["risk"]
    assert live["model"]["trainable_params"] == saved["model"]["trainable_params"] == int(
        sum(w.numpy().size for w in model.trainable_weights)
    )


def test_tf_keras_live_model_sees_its_optimizer(tfk):
    L = tfk.layers
    model = tfk.Sequential([L.InputLayer(input_shape=(16, 16, 1)), L.Conv2D(8, 3), L.Flatten(), L.Dense(2)])
    model.compile(optimizer=tfk.optimizers.AdamW(weight_decay=0.01), loss="mse")
    report = cnnlint.check(model, samples=100)
    assert report.error is None and "R203" not in {f.code for f in report.findings}
    assert report.graph["regularization"]["weight_decay"] == pytest.approx(0.01)


def test_report_object_renders_everything():
    report = cnnlint.check(str(REPO / "examples" / "example2_plain.keras"), samples=2000, select=["R"])
    assert {f.code for f in report.findings} <= {"R201", "R202", "R203", "R204", "R205", "R206"}
    html = report._repr_html_()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert report._repr_markdown_().startswith("## cnnlint")
    assert json.loads(report.to_sarif())["version"] == "2.1.0"
    assert "R201" in str(report)
    assert report.graph["trainable_params"] == 27114


def test_the_estimate_can_be_for_the_planned_run_length():
    path = str(REPO / "examples" / "example2_plain.keras")
    full = cnnlint.check(path, samples=200, classes=10).risk
    short = cnnlint.check(path, samples=200, classes=10, training_steps=20).risk
    assert short.gap < full.gap and any("full training run" in note for note in full.notes)


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_a_nonsense_training_length_is_one_clear_error(steps):
    from cnnlint.errors import ConfigError

    with pytest.raises(ConfigError, match="training_steps"):
        cnnlint.check(str(REPO / "examples" / "example2_plain.keras"), samples=200, training_steps=steps)


def test_config_dict_and_bad_object():
    from cnnlint.errors import ModelError

    with pytest.raises(ModelError):
        cnnlint.check(42)
    report = cnnlint.check({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "i"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}})  # fmt: skip
    assert report.graph["trainable_params"] == 10


def test_notebook_runs_top_to_bottom(k3):
    """The example notebook's code cells, run in order as a script (nbclient would need a kernel)."""
    notebook = json.loads((REPO / "examples" / "notebook.ipynb").read_text())
    namespace: dict = {}
    for cell in notebook["cells"]:
        assert cell.get("outputs", []) == []  # outputs stripped
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)
    assert namespace["report"].findings
    assert len(namespace["after"].findings) < len(namespace["report"].findings)
