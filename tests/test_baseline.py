"""A baseline entry for a security finding pins what was reviewed: changed content is a new finding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import pytest
from cnnlint.reports.sarif import fingerprint
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from tests.conftest import run_cli
from tests.hostile_corpus import dense, keras_zip, sequential, weights_h5

GATE = ("--select", "S4", "--severity", "error")
BENIGN_ZIP = keras_zip(json.dumps(sequential(dense())).encode())
REFERENCE = {"module": "keras.layers", "class_name": "Lambda", "config": {
    "name": "preprocess", "function": {"module": "my_lab.preprocessing", "class_name": "function",
                                       "config": "normalize", "registered_name": "normalize"}}}  # fmt: skip
BYTECODE = {"module": "keras.layers", "class_name": "Lambda", "config": {
    "name": "preprocess", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                                              "closure": None}}}}  # fmt: skip


def lambda_model(path: Path, layer: dict) -> Path:
    path.write_bytes(keras_zip(json.dumps(sequential(layer, dense())).encode()))
    return path


def linked_model(path: Path, *links) -> Path:
    def edit(handle) -> None:
        for name, link in links:
            handle[name] = link

    path.write_bytes(keras_zip(json.dumps(sequential(dense())).encode(), weights=weights_h5(edit)))
    return path


def gate(model: Path, baseline: Path) -> int:
    return run_cli(str(model), *GATE, "--baseline", str(baseline)).returncode


def test_a_reviewed_lambda_replaced_by_bytecode_is_new(tmp_path):
    model, baseline = lambda_model(tmp_path / "m.keras", REFERENCE), tmp_path / "baseline.json"
    assert run_cli(str(model), *GATE, "--write-baseline", str(baseline)).returncode == 1
    entry = next(e for e in json.loads(baseline.read_text())["findings"] if e["code"] == "S401")
    assert entry["layer"] == "preprocess" and entry["content"]["stored"] == "a function reference"
    assert entry["content"]["resolved"] == "keras.layers.Lambda" and len(entry["content"]["sha256"]) == 64
    assert gate(model, baseline) == 0  # what was reviewed is accepted
    lambda_model(model, BYTECODE)
    assert gate(model, baseline) == 1  # same code, same layer, other content: a new finding


def test_another_function_reference_is_new_too(tmp_path):
    model, baseline = lambda_model(tmp_path / "m.keras", REFERENCE), tmp_path / "baseline.json"
    run_cli(str(model), *GATE, "--write-baseline", str(baseline))
    other = json.loads(json.dumps(REFERENCE))
    other["config"]["function"]["config"] = other["config"]["function"]["registered_name"] = "exfiltrate"
    lambda_model(model, other)
    assert gate(model, baseline) == 1


def test_a_reviewed_soft_link_joined_by_an_external_link_is_new(tmp_path):
    soft = ("layers/dense/vars/2", h5py.SoftLink("/layers/dense/vars/0"))
    model, baseline = linked_model(tmp_path / "m.keras", soft), tmp_path / "baseline.json"
    assert run_cli(str(model), *GATE, "--write-baseline", str(baseline)).returncode == 1
    entry = next(e for e in json.loads(baseline.read_text())["findings"] if e["code"] == "S406")
    assert entry["layer"] == "model" and entry["content"]["count"] == "1"
    assert gate(model, baseline) == 0
    linked_model(model, soft, ("layers/dense/vars/3", h5py.ExternalLink("/etc/passwd", "/x")))
    assert gate(model, baseline) == 1


def test_a_link_past_the_twentieth_is_pinned_too(tmp_path):
    """The finding shows 20 links; its content covers every one."""
    links = [(f"layers/dense/vars/s{i}", h5py.SoftLink("/layers/dense/vars/0")) for i in range(30)]
    model, baseline = linked_model(tmp_path / "m.keras", *links), tmp_path / "baseline.json"
    run_cli(str(model), *GATE, "--write-baseline", str(baseline))
    links[-1] = (links[-1][0], h5py.SoftLink("/layers/dense/vars/1"))
    linked_model(model, *links)
    assert gate(model, baseline) == 1


def test_a_version_1_baseline_accepts_no_security_finding(tmp_path):
    """Written before content was pinned: its entries still accept the other findings, and no security finding."""
    model, baseline = lambda_model(tmp_path / "m.keras", REFERENCE), tmp_path / "baseline.json"
    run_cli(str(model), "--write-baseline", str(baseline))
    entries = json.loads(baseline.read_text())["findings"]
    assert {e["code"] for e in entries} >= {"S401", "S402", "R201"}
    old = {"version": 1, "findings": [{key: e[key] for key in ("file", "code", "layer")} for e in entries]}
    baseline.write_text(json.dumps(old))
    result = run_cli(str(model), "--baseline", str(baseline), "--format", "json", "--fail-on", "never")
    codes = {f["code"] for f in json.loads(result.stdout)["models"][0]["findings"]}
    assert codes == {"S401", "S402"}, codes


def test_fingerprints_without_content_are_unchanged_and_with_content_differ(tmp_path):
    model = lambda_model(tmp_path / "m.keras", REFERENCE)
    findings = lint_source(model, Dataset(), LintSettings(tuple(select_rules()))).findings
    plain = next(f for f in findings if not f.content)
    old = hashlib.sha256("\0".join((Path(model).as_posix(), plain.code, plain.layer)).encode()).hexdigest()
    assert fingerprint(str(model), plain) == old  # existing code-scanning alerts keep their identity
    s401 = next(f for f in findings if f.code == "S401")
    bytecode = lint_source(lambda_model(tmp_path / "m.keras", BYTECODE), Dataset(),
                           LintSettings(tuple(select_rules(["S401"])))).findings[0]  # fmt: skip
    assert s401.layer == bytecode.layer and fingerprint(str(model), s401) != fingerprint(str(model), bytecode)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{bad", "is not JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
        (b'{"version": 2}', "is JSON but not a cnnlint baseline (expected an object with a 'findings' list"),
        (b'{"findings": [{"file": "m.keras"}]}', "is JSON but not a cnnlint baseline"),
        (b"\xff\xfe{", "is not UTF-8 text"),
    ],
)
def test_a_broken_baseline_is_one_line_saying_what_is_wrong_and_how_to_fix_it(tmp_path, content, message):
    model = tmp_path / "m.keras"
    model.write_bytes(BENIGN_ZIP)
    (tmp_path / "b.json").write_bytes(content)
    result = run_cli(str(model), "--baseline", str(tmp_path / "b.json"))
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert message in errors[0] and "write it again with --write-baseline" in errors[0]
    assert "Error)" not in errors[0]  # an exception's class name tells a user nothing
