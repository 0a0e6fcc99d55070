"""The Python API: check(model) goes through the same pipeline as the CLI on the saved file."""

from __future__ import annotations

import json
import re

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


EXAMPLE = str(REPO / "examples" / "example2_plain.keras")


@pytest.mark.parametrize(("kwargs", "cli_args", "expected"), [
    ({"samples": 0}, ["--samples", "0"], "'samples'"),
    ({"samples": "abc"}, ["--samples", "abc"], "'samples'"),
    ({"samples": 2.5}, ["--samples", "2.5"], "'samples'"),
    ({"samples": 2000, "classes": 1}, ["--samples", "2000", "--classes", "1"], "'classes'"),
])  # fmt: skip
def test_check_refuses_what_the_cli_refuses_with_the_same_message(kwargs, cli_args, expected):
    with pytest.raises(cnnlint.ConfigError, match=expected) as raised:
        cnnlint.check(EXAMPLE, **kwargs)
    api_problem = str(raised.value).split(": ", 1)[1]  # after "invalid value for 'samples'"
    cli = run_cli(EXAMPLE, *cli_args)
    assert cli.returncode == 2 and api_problem in cli.stderr, (api_problem, cli.stderr)
    assert "--" not in str(raised.value)  # worded with the API's names, not the CLI's flags


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"samples": True}, "samples"), ({"augmented": "yes"}, "augmented"), ({"select": 5}, "select"),
    ({"ignore": ["R201", 3]}, "ignore"), ({"training_steps": "10"}, "training_steps"),
])  # fmt: skip
def test_check_refuses_wrong_types_naming_the_argument(kwargs, name):
    with pytest.raises(cnnlint.ConfigError, match=f"'{name}'"):
        cnnlint.check(EXAMPLE, **kwargs)


def test_check_names_the_api_argument_for_an_unknown_rule():
    with pytest.raises(cnnlint.ConfigError) as raised:
        cnnlint.check(EXAMPLE, select=["Z9"])
    assert str(raised.value).startswith("select: 'Z9' matches no rule")
    assert "--select: 'Z9'" in run_cli(EXAMPLE, "--select", "Z9").stderr


def test_check_takes_numpy_integers_and_comma_separated_codes():
    import numpy as np

    report = cnnlint.check(EXAMPLE, samples=np.int64(2000), select="R201, R202")
    assert report.risk is not None and {f.code for f in report.findings} == {"R201", "R202"}


def test_an_unreadable_model_raises_model_error_with_the_cli_line(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"not a model")
    for path in (tmp_path / "missing.keras", tmp_path / "broken.keras"):
        with pytest.raises(cnnlint.ModelError) as raised:
            cnnlint.check(str(path), samples=2000)
        assert isinstance(raised.value, cnnlint.CnnlintError)
        assert str(raised.value) in run_cli(str(path), "--samples", "2000").stderr


def test_data_that_does_not_fit_raises_config_error(tmp_path):
    import numpy as np

    with pytest.raises(cnnlint.ConfigError, match="28"):
        cnnlint.check(EXAMPLE, data=(np.zeros((40, 9, 9, 1), "float32"), np.arange(40) % 10))


def test_repr_says_path_risk_and_findings():
    report = cnnlint.check(EXAMPLE, samples=2000)
    text = repr(report)
    low, high = report.risk.interval
    assert text.startswith("<cnnlint.Report ") and EXAMPLE in text
    assert f"risk {report.risk.level}, gap {report.risk.gap:.2f}" in text and f"{low:.2f} to {high:.2f}" in text
    assert f"{len(report.findings)} findings: " + ", ".join(f.code for f in report.findings) in text
    assert "samples=N" in repr(cnnlint.check(EXAMPLE))  # why there is no risk, and what to pass


def test_classes_that_disagree_with_the_output_layer_are_noted():
    report = cnnlint.check(EXAMPLE, samples=2000, classes=2)
    assert len(report.notes) == 1 and "classes=2" in report.notes[0] and "10 units" in report.notes[0]
    assert cnnlint.check(EXAMPLE, samples=2000, classes=10).notes == []
    assert json.loads(report.to_json())["models"][0]["notes"] == report.notes
    cli = run_cli(EXAMPLE, "--samples", "2000", "--classes", "2", "--no-color")
    assert f"{EXAMPLE}: note: 2 classes given (--classes or classes in the config)" in cli.stdout


def test_without_samples_a_finding_says_how_to_give_them(tmp_path):
    api = cnnlint.check(EXAMPLE)
    assert all("pass samples=N" in f.message for f in api.findings if f.code.startswith("R"))
    cli = run_cli(EXAMPLE, "--no-color", cwd=tmp_path)  # no config above tmp_path gives a size
    assert "set samples = N in [tool.cnnlint]" in cli.stdout and "risk: unknown without a training-set size" in cli.stdout


@pytest.mark.parametrize(("options", "error", "expected"), [
    ({"sample": 10}, TypeError, "did you mean 'samples'"),
    ({"val_split": 0.95}, "ConfigError", "invalid value for 'val_split': expected a number, from 0.01 to 0.9"),
    ({"epochs": 0}, "ConfigError", "invalid value for 'epochs'"),
    ({"device": "tpu"}, "ConfigError", "invalid value for 'device'"),
    ({"probe": "yes"}, "ConfigError", "invalid value for 'probe'"),
    ({"x_val": [[0.0]]}, "ConfigError", "x_val and y_val"),
])  # fmt: skip
def test_confirm_checks_its_arguments_before_anything_runs(options, error, expected):
    error = getattr(cnnlint, error) if isinstance(error, str) else error
    with pytest.raises(error, match=re.escape(expected)):
        cnnlint.confirm(EXAMPLE, [[0.0]], [0], **options)


def test_confirm_counts_the_validation_split_in_the_samples_message():
    """Raised before Keras is imported: the split leaves 1,600 of 2,000 rows to train on."""
    import numpy as np

    x, y = np.zeros((2000, 28, 28, 1), "float32"), np.arange(2000) % 10
    with pytest.raises(cnnlint.ConfigError) as raised:
        cnnlint.confirm(EXAMPLE, x, y, samples=2000)
    message = str(raised.value)
    assert message.startswith("samples=2000 is more than the 1,600 training samples")
    assert "val_split=0.2 holds out 400 of the 2,000 rows" in message and "x_val= and y_val=" in message
    assert "--" not in message
