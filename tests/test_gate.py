"""The safety gate (`--select S4 --severity error`) fails on every file that is dangerous to load with Keras."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import read_model
from tests.conftest import run_cli
from tests.hostile_corpus import LAMBDA, dangerous, h5_model, keras_zip, sequential

SAFETY = LintSettings(tuple(select_rules(["S4"])))
#: what each file must at least be flagged with (None: refused as unreadable, which also fails the gate)
EXPECTED = {
    "polyglot_userblock.h5": {"S401", "S407"},
    "polyglot_appended.keras": {"S401", "S407"},
    "polyglot_appended.h5": {"S401", "S407"},
    "lambda_userblock.h5": {"S401"},
    "lambda_deep_pipeline.keras": {"S401"},
    "vocabulary_deep.keras": {"S404"},
    "payload_after_2m_lists.keras": None,
    "lambda_metric.keras": {"S401"},
    "lambda_metric.h5": {"S401"},
    "torch_module.keras": {"S401"},
    "weights_external_storage.keras": {"S406"},
    "weights_soft_link.keras": {"S406"},
    "weights_external_link.keras": {"S406"},
    "weights_deflated.keras": {"S408"},
    "h5_external_storage.h5": {"S406"},
    "savedmodel_layer_node": {"S401"},
    "savedmodel_node0_not_root": {"S401"},
    "savedmodel_training": {"S401"},
    "savedmodel_root_config": {"S401"},
    # issue 28: names Keras resolves (module + dotted path), judged by what they resolve to
    "dotted_torch_module.keras": {"S401"},
    "dotted_tfsm_layer.keras": {"S404"},
    "dotted_string_lookup.keras": {"S404"},
    "dotted_text_vectorization.keras": {"S404"},
    "dotted_lambda_load_model.keras": {"S401", "S403"},
    "dotted_get_file_activation.keras": {"S403"},
    "tensorflow_keras_get_file.keras": {"S403"},
    "tf_keras_module_os_system.keras": {"S402"},
    "trusted_tf_module_np_load.keras": {"S402"},
    "registered_name_fallback.keras": {"S402"},
    "learning_rate_load_data.keras": {"S403"},
    "builtins_eval.h5": {"S402"},
    # polyglot views read as zipfile reads them
    "polyglot_zip64_locator.keras": {"S401", "S407"},
    "polyglot_zip64_locator.h5": {"S401", "S407"},
    "polyglot_offset_spells_eocd.keras": {"S401", "S407"},
    "polyglot_offset_spells_eocd.h5": {"S401", "S407"},
    "polyglot_10002_members.h5": {"S407", "S408"},
    "late_class_name.json": {"S401"},
    # folders: every model under them (the folder itself benign, what it holds not)
    "unzipped_with_h5": set(),
    "unzipped_with_h5/model.h5": {"S401"},
    "savedmodel_with_keras": set(),
    "savedmodel_with_keras/evil.keras": {"S401"},
    "repo_root_savedmodel": set(),
    "repo_root_savedmodel/models/evil.keras": {"S401"},
    "repo_root_savedmodel/models/evil.h5": {"S401"},
    "savedmodel_and_keras_folder": {"S401", "S407"},
    "dot_folder/.cache/evil.keras": {"S401"},
    "linked_folder/models/evil.keras": {"S401"},
    "late_class_name": {"S401"},
}
#: the inputs that are folders: each must fail the gate through the models it holds
FOLDERS = {"unzipped_with_h5", "savedmodel_with_keras", "repo_root_savedmodel", "dot_folder", "linked_folder"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    return dangerous(tmp_path_factory.mktemp("dangerous"))


def test_every_dangerous_file_fails_the_gate(files):
    """Run from the corpus folder, as CI runs from the checkout (a link to a folder beside the one linted is
    followed inside the working directory)."""
    root = files[0].parent
    names = {p.relative_to(root).as_posix() for p in files}
    assert names == {name for name in EXPECTED if "/" not in name} | FOLDERS
    result = run_cli(*map(str, files), "--select", "S4", "--severity", "error", "--format", "json", cwd=root)
    assert result.returncode in (1, 2) and "internal error" not in result.stderr, result.stderr
    seen = set()
    for model in json.loads(result.stdout)["models"]:
        name = Path(model["path"]).relative_to(root).as_posix()
        seen.add(name)
        expected = EXPECTED[name]
        if expected is None:
            assert model["error"], model["path"]
            continue
        errors = {f["code"] for f in model["findings"] if f["severity"] == "error"}
        assert not model["error"] and errors >= expected, (model["path"], model["error"], errors)
    assert seen == set(EXPECTED)  # every model inside every folder was linted, and nothing else


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_a_folder_alone_fails_the_gate_for_what_it_holds(files, name):
    root = files[0].parent
    result = run_cli(str(root / name), "--select", "S4", "--severity", "error", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["lambda_deep_pipeline.keras", "polyglot_appended.h5", "weights_soft_link.keras"])
def test_one_file_alone_exits_1(files, name):
    path = next(p for p in files if p.name == name)
    assert run_cli(str(path), "--select", "S4", "--severity", "error").returncode == 1


def test_polyglot_is_read_as_keras_would_for_its_name(tmp_path):
    """The same bytes: named .keras, the zip is the model; named .h5, the HDF5 side is."""
    data = h5_model(sequential()) + keras_zip(json.dumps(sequential(LAMBDA)).encode())
    as_keras, as_h5 = tmp_path / "x.keras", tmp_path / "x.h5"
    as_keras.write_bytes(data)
    as_h5.write_bytes(data)
    assert read_model(as_keras).formats == ("keras", "h5") and read_model(as_h5).formats == ("h5", "keras")
    assert read_model(as_keras).format == "keras" and read_model(as_h5).format == "h5"
    for path in (as_keras, as_h5):
        codes = {f.code for f in lint_source(path, Dataset(), SAFETY).findings}
        assert {"S401", "S407"} <= codes, (path, codes)


def test_plain_files_are_not_polyglots(tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(h5_model(sequential()))
    raw = read_model(path)
    assert raw.formats == () and raw.views == ()
    assert lint_source(path, Dataset(), SAFETY).findings == []


def test_real_keras_files_pass_the_gate(k3, tmp_path):
    """No false alarm on what Keras writes (weights audited in place, compile config scanned)."""
    model = k3.Sequential([k3.Input((4,)), k3.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    for path in (tmp_path / "m.keras", tmp_path / "m.h5"):
        assert lint_source(path, Dataset(), SAFETY).findings == [], path


def test_scan_budget_exhausted_is_an_error(monkeypatch):
    from cnnlint.rules import _scan

    from cnnlint.readers import raw_from_dict

    monkeypatch.setattr(_scan, "MAX_ITEMS", 5)
    config = sequential(*[{"module": "keras.layers", "class_name": "Dense", "config": {"name": f"d{i}", "units": 2}}
                          for i in range(5)])  # fmt: skip
    findings = lint_source(raw_from_dict(config), Dataset(), SAFETY).findings
    assert [f.code for f in findings if f.severity == "error"] == ["S408"]


def test_stray_end_of_archive_bytes_do_not_make_a_polyglot(tmp_path):
    """Weight data can contain the zip end-of-archive signature by chance; only a zip that parses is a view."""
    path = tmp_path / "m.h5"
    path.write_bytes(h5_model(sequential()) + b"PK\x05\x06" + bytes(18) + b"\x00" * 100)
    assert read_model(path).formats == ()
    assert lint_source(path, Dataset(), SAFETY).findings == []
