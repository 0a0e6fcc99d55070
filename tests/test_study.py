"""The study as a pipeline: its steps, the schema of the files it ships, its run records, and its schedulers.

The expensive claims are checked for real where they are cheap enough: ``fit-risk --check`` refits the shipped risk
model from the committed runs (about 10 s) and must reproduce it byte for byte; the Ray scheduler trains one real
run of the corpus (scikit-learn's digits, seconds) and must measure the gap the committed record has.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnlint.model_files import FORECAST_MODEL_FILE, RISK_MODEL_FILE, ModelFileError
from tests.conftest import REPO

pytest.importorskip("sklearn")

SHIPPED = {"risk_model": (RISK_MODEL_FILE, REPO / "cnnlint" / "data" / "risk_model.json"),
           "forecast_model": (FORECAST_MODEL_FILE, REPO / "cnnlint" / "data" / "forecast_model.json")}  # fmt: skip


def study(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "study", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_python_m_study_lists_the_steps_in_order_and_each_fitted_step_is_up_to_date():
    result = study()
    assert result.returncode == 0, result.stderr
    from study.pipeline import STEPS

    listed = [line.split()[1] for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert listed == [step.name for step in STEPS] == ["sources", "generate", "probes", "fit-risk", "fit-forecast",
                                                      "evaluate", "publish"]  # fmt: skip
    statuses = dict(zip(listed, (line.strip() for line in result.stdout.splitlines()[3::2])))
    for name in ("probes", "fit-risk", "fit-forecast", "evaluate", "publish"):
        assert statuses[name] == "up to date", (name, statuses[name])


def test_fit_risk_reproduces_the_shipped_risk_model_byte_for_byte():
    result = study("fit-risk", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduced byte for byte" in result.stdout


def test_publish_would_change_no_page():
    result = study("publish", "--check")
    assert result.returncode == 0 and "match" in result.stdout, result.stdout


def test_a_changed_input_makes_its_step_stale(tmp_path):
    from dataclasses import replace

    from study import pipeline

    step = pipeline.STEPS_BY_NAME["fit-risk"]
    stamps = pipeline.load_stamps()
    assert step.status(stamps) == "up to date"
    extra = tmp_path / "runs-extra-0.jsonl"
    extra.write_text("{}\n")
    grown = replace(step, inputs=lambda: [*step.inputs(), extra])
    assert grown.status(stamps) == "would redo: its inputs changed since it ran"


@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_shipped_model_file_round_trips_through_its_schema(name):
    model_file, path = SHIPPED[name]
    text = path.read_text(encoding="utf-8")
    document = model_file.loads(text)
    assert document["schema"] == model_file.schema_tag
    assert model_file.dumps(document) == text


@pytest.mark.parametrize("name", list(SHIPPED))
def test_a_model_file_of_another_version_or_shape_is_refused(name):
    model_file, path = SHIPPED[name]
    document = json.loads(path.read_text(encoding="utf-8"))
    older = {**document, "schema": f"{model_file.schema}/{model_file.version - 1}"}
    with pytest.raises(ModelFileError, match="this cnnlint reads"):
        model_file.loads(json.dumps(older))
    lacking = {k: v for k, v in document.items() if k != "variants"}
    with pytest.raises(ModelFileError, match="missing 'variants'"):
        model_file.dumps(lacking)
    variant = next(iter(document["variants"]))
    broken = json.loads(json.dumps(document))
    broken["variants"][variant]["features"] = "log_samples"
    with pytest.raises(ModelFileError, match="features: expected list"):
        model_file.loads(json.dumps(broken))


def test_the_readers_use_the_schema():
    from cnnlint.forecast import load_forecaster
    from cnnlint.risk import load_model

    assert load_model() is not None and load_forecaster() is not None


def test_run_records_round_trip_and_a_cut_line_is_skipped(tmp_path):
    from study import records

    path = records.run_file(tmp_path, "host")
    record = {key: 0 for key in records.REQUIRED} | {"id": 7, "spec": {}, "curves": {}}
    records.append(path, record)
    records.append(path, {"id": 8, "skipped": "over the cap"})
    with open(path, "a") as stream:
        stream.write('{"id": 9, "spec"')  # a kill mid-write
    assert [r["id"] for r in records.records(tmp_path)] == [7, 8]
    assert [r["id"] for r in records.trained(tmp_path)] == [7]
    assert records.recorded_ids([tmp_path]) == {7, 8}
    with pytest.raises(records.RecordError, match="lacks gap"):
        records.append(path, {k: v for k, v in record.items() if k != "gap"})


def test_campaigns_resume_from_what_is_recorded():
    from study.campaigns import CAMPAIGNS
    from study.generate import V3_MIN_STEPS

    for campaign in CAMPAIGNS.values():
        if campaign.closed:
            assert campaign.planned() and campaign.pending() == [], campaign.name
    v3 = CAMPAIGNS["v3"]
    assert v3.overrides["min_steps"] == V3_MIN_STEPS == CAMPAIGNS["v3-reruns"].overrides["min_steps"]
    recorded = set(v3.planned()) - set(v3.pending())
    assert recorded and all(v3.spec(i)["min_steps"] == V3_MIN_STEPS for i in sorted(recorded)[:3])


def test_ids_on_the_command_line():
    from study.__main__ import parse_ids

    assert parse_ids("3,7-9") == [3, 7, 8, 9]


@pytest.mark.slow
@pytest.mark.keras
def test_a_run_scheduled_through_ray_trains_and_records_like_the_committed_one(tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("tensorflow")
    from study import records
    from study.paths import V2

    index = 3080  # a digits run (scikit-learn's bundled data): a few seconds of training
    committed = next(r for r in records.trained(V2) if r["id"] == index)
    result = study("generate", "v2", "--engine", "ray", "--ids", str(index), "--out", str(tmp_path), "--host", "t",
                   timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = records.trained(tmp_path)
    layers = [[layer["class_name"] for layer in r["config"]["config"]["layers"]] for r in (record, committed)]
    assert record["spec"] == committed["spec"] and layers[0] == layers[1]  # names differ: Keras counts its models
    assert record["params"] == committed["params"]
    assert record["gap"] == pytest.approx(committed["gap"], abs=0.02)
    assert "1 recorded" in result.stdout
    again = study("generate", "v2", "--engine", "ray", "--ids", str(index), "--out", str(tmp_path), "--host", "t")
    assert again.returncode == 0 and "v2: 0 runs to train" in again.stdout  # resumes from what is recorded
