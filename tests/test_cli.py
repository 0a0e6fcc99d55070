"""The command line as people use it: formats, gates, configuration, baselines, hooks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

EXAMPLES = REPO / "examples"


@pytest.fixture()
def models(tmp_path) -> Path:
    """A folder with two example models and no config (so the CLI's flags decide)."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(EXAMPLES / "example2_plain.keras", folder / "plain.keras")
    shutil.copy(EXAMPLES / "example2_regularized.keras", folder / "regularized.keras")
    return folder


@pytest.mark.parametrize("data", [None, "npz", "image-folder"])
def test_lint_path_never_imports_tensorflow_or_keras(models, tmp_path, data):
    from tests.probe_data import write_image_folder, write_npz

    extra = ["--samples", "500"]
    if data == "npz":
        extra = ["--data", str(write_npz(tmp_path / "train.npz", (28, 28, 1), classes=10))]
    elif data == "image-folder":
        extra = ["--data", str(write_image_folder(tmp_path / "images", (28, 28), classes=10))]
    code = (
        "import sys\n"
        "from cnnlint.cli import main\n"
        "try:\n"
        f"    main([{str(models)!r}, *{extra!r}, '--format', 'json', '-o', {str(models / 'r.json')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tf_keras', 'torch', 'jax') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    env = {**os.environ, "CNNLINT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.stdout.strip() == "none", result.stdout + result.stderr
    document = json.loads((models / "r.json").read_text())
    assert document["summary"]["models"] == 2
    assert all((m["probes"] is not None) == (data is not None) for m in document["models"])


def test_exit_codes(models):
    assert run_cli(str(models / "regularized.keras"), "--samples", "1000000").returncode == 0
    assert run_cli(str(models / "plain.keras"), "--samples", "500").returncode == 1
    assert run_cli(str(models / "plain.keras"), "--samples", "500", "--exit-zero").returncode == 0
    assert run_cli(str(models / "plain.keras"), "--samples", "500", "--severity", "error", "--fail-on", "never").returncode == 0
    assert run_cli(str(models / "plain.keras"), "--samples", "0").returncode == 2


def test_text_output_ends_with_one_summary_line(models):
    result = run_cli(str(models), "--samples", "500", "--no-color")
    lines = result.stdout.strip().splitlines()
    assert lines[-1].endswith("in 2 models.")
    assert any(line.startswith(f"{models / 'plain.keras'}::dense R201 warning") for line in lines)
    assert "\x1b[" not in result.stdout


def test_usage_errors_are_one_line(models):
    for args in (["--format", "pdf", str(models)], ["--select", "Z9", str(models)], [str(models / "missing.keras")]):
        result = run_cli(*args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_empty_folder_is_an_error(tmp_path):
    result = run_cli(str(tmp_path))
    assert result.returncode == 2 and "no model files" in result.stderr


def test_select_and_ignore(models):
    def codes(*args):
        data = json.loads(run_cli(str(models / "plain.keras"), "--samples", "500", "--format", "json", *args).stdout)
        return {f["code"] for f in data["models"][0]["findings"]}

    everything = codes()
    assert {"R201", "R202", "C106"} <= everything
    assert codes("--select", "R") == {c for c in everything if c.startswith("R")}
    assert "R201" not in codes("--ignore", "R201")
    assert codes("--select", "C106", "--extend-select", "R201") == {"C106", "R201"}


def test_json_schema_fields(models):
    data = json.loads(run_cli(str(models / "plain.keras"), "--samples", "500", "--format", "json").stdout)
    assert data["version"] == 1 and data["tool"]["name"] == "cnnlint"
    model = data["models"][0]
    assert model["dataset"] == {"samples": 500, "classes": 10, "augmented": False}
    assert model["model"]["trainable_params"] == 27114 and model["model"]["layers"]
    finding = model["findings"][0]
    assert set(finding) >= {"code", "severity", "message", "layer", "evidence", "fix"}


def test_sarif_validates_against_the_official_schema(models, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"  # shipped with its NOTICE
    (models / "broken.keras").write_bytes(b"not a model")
    out = tmp_path / "out.sarif"
    result = run_cli(str(models), "--samples", "500", "--format", "sarif", "-o", str(out))
    assert result.returncode == 2  # the broken file
    log = json.loads(out.read_text())
    jsonschema.validate(log, json.loads(schema_path.read_text()))
    results = log["runs"][0]["results"]
    assert results and all(r["partialFingerprints"]["cnnlintFinding/v1"] for r in results)
    assert log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["level"] == "error"


def test_sarif_fingerprints_survive_retraining(k3, tmp_path):
    """Same architecture, new weights: the fingerprints are unchanged."""
    model = k3.models.load_model(EXAMPLES / "example2_plain.keras")
    before = json.loads(run_cli("examples/example2_plain.keras", "--format", "sarif", cwd=REPO).stdout)
    copy_dir = tmp_path / "examples"
    copy_dir.mkdir()
    for layer in model.layers:
        for weight in layer.weights:
            weight.assign(weight.numpy() + 1.0)
    model.save(copy_dir / "example2_plain.keras")
    after = json.loads(run_cli("examples/example2_plain.keras", "--format", "sarif", "--samples", "2000",
                               cwd=tmp_path).stdout)  # fmt: skip
    prints = [{r["partialFingerprints"]["cnnlintFinding/v1"] for r in log["runs"][0]["results"]} for log in (before, after)]
    assert prints[0] == prints[1] and prints[0]


def test_github_annotations_escape(tmp_path):
    from cnnlint.reports.github import command

    line = command("warning", "a,b:c.keras", "T: x, y", "50% done\nnext")
    assert line == "::warning file=a%2Cb%3Ac.keras,title=T%3A x%2C y::50%25 done%0Anext"


def test_github_format_from_cli(models):
    out = run_cli(str(models / "plain.keras"), "--samples", "500", "--format", "github").stdout
    assert out.startswith("::warning file=") and "title=C106 capacity-vs-data" in out


def test_output_file_is_written_atomically_and_not_on_usage_error(models, tmp_path):
    out = tmp_path / "report.json"
    assert run_cli(str(models), "--samples", "500", "--format", "json", "-o", str(out)).returncode == 1
    assert json.loads(out.read_text())["summary"]["models"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    missing_dir = tmp_path / "nope" / "r.json"
    result = run_cli(str(models), "-o", str(missing_dir))
    assert result.returncode == 2 and not missing_dir.exists()


def test_config_file_per_path_dataset_and_did_you_mean(models, tmp_path):
    (tmp_path / "cnnlint.toml").write_text(
        'ignore = ["C102"]\n'
        "[[models]]\n"
        'path = "models/plain.keras"\n'
        "samples = 10000000\n"
        'per-layer-ignores = { "R204" = ["input*"] }\n'
        "[[models]]\n"
        'path = "models/regularized.keras"\n'
        "samples = 100\n"
    )
    data = json.loads(run_cli("models", "--format", "json", cwd=tmp_path).stdout)
    by_name = {Path(m["path"]).name: m for m in data["models"]}
    assert by_name["plain.keras"]["dataset"]["samples"] == 10_000_000
    assert by_name["regularized.keras"]["dataset"]["samples"] == 100
    assert "R204" not in {f["code"] for f in by_name["plain.keras"]["findings"]}
    # the CLI overrides the config
    data = json.loads(run_cli("models", "--format", "json", "--samples", "5", cwd=tmp_path).stdout)
    assert {m["dataset"]["samples"] for m in data["models"]} == {5}

    (tmp_path / "cnnlint.toml").write_text("sampels = 5\n")
    result = run_cli("models", cwd=tmp_path)
    assert result.returncode == 2 and "did you mean 'samples'" in result.stderr


def test_the_risk_is_for_the_planned_run_from_the_cli_or_the_config(tmp_path):
    model = str(EXAMPLES / "example2_plain.keras")

    def risk(*args: str, cwd: Path | None = None) -> dict:
        result = run_cli(model, "--samples", "200", "--format", "json", *args, cwd=cwd)
        assert result.returncode in (0, 1), result.stderr
        return json.loads(result.stdout)["models"][0]["risk"]

    full, short = risk(), risk("--full-epochs", "3")
    assert short["gap"] < full["gap"]
    assert any("full training run" in note for note in full["notes"])
    assert any("planned run of 21 optimizer steps (3 epochs of batch 32)" in note for note in short["notes"])
    assert "planned run of 6 optimizer steps" in " ".join(risk("--full-epochs", "3", "--batch-size", "100")["notes"])
    (tmp_path / "cnnlint.toml").write_text("full-epochs = 3\n")
    assert risk(cwd=tmp_path)["gap"] == short["gap"]
    assert "3-epoch run" in run_cli(model, "--samples", "200", "--full-epochs", "3").stdout


def test_pyproject_tool_section_is_found_upward(models, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.cnnlint]\nselect = ["R201"]\nsamples = 500\n')
    sub = tmp_path / "models"
    data = json.loads(run_cli(".", "--format", "json", cwd=sub).stdout)
    assert {f["code"] for m in data["models"] for f in m["findings"]} == {"R201"}


def test_rule_options_in_config(models, tmp_path):
    (tmp_path / "cnnlint.toml").write_text("[rules.R205]\nmax_rate = 0.1\n")
    data = json.loads(run_cli("models/regularized.keras", "--format", "json", cwd=tmp_path).stdout)
    assert "R205" in {f["code"] for f in data["models"][0]["findings"]}  # Dropout(0.25) > 0.1
    (tmp_path / "cnnlint.toml").write_text("[rules.R205]\nmax_rat = 0.1\n")
    assert "did you mean 'max_rate'" in run_cli("models", cwd=tmp_path).stderr


def test_baseline_only_new_findings_fail(models, tmp_path):
    baseline = tmp_path / "baseline.json"
    assert run_cli(str(models), "--samples", "500", "--write-baseline", str(baseline)).returncode == 1
    assert run_cli(str(models), "--samples", "500", "--baseline", str(baseline), "--fail-on", "never", "--severity", "warning").returncode == 0
    # a new rule firing is new
    result = run_cli(str(models), "--samples", "500", "--baseline", str(baseline), "--fail-on", "never", "--severity", "warning",
                     "--format", "json", "--extend-select", "ALL")  # fmt: skip
    assert result.returncode == 0
    smaller = run_cli(str(models), "--samples", "50", "--baseline", str(baseline), "--fail-on", "never", "--severity", "warning", "--format", "json")
    new = {f["code"] for m in json.loads(smaller.stdout)["models"] for f in m["findings"]}
    assert smaller.returncode == (1 if new else 0)


def test_jobs_gives_the_same_result(models):
    one = json.loads(run_cli(str(models), "--samples", "500", "--format", "json", "-j", "1").stdout)
    two = json.loads(run_cli(str(models), "--samples", "500", "--format", "json", "-j", "2").stdout)
    assert one == two


def test_inspect_table_and_json():
    text = run_cli("inspect", str(EXAMPLES / "example2_regularized.keras")).stdout
    assert "Layer (type)" in text and "RF" in text and "Total params: 27,498" in text
    assert "Trainable params: 27,306" in text and "Non-trainable params: 192" in text
    data = json.loads(run_cli("inspect", str(EXAMPLES / "example2_regularized.keras"), "--format", "json").stdout)
    assert data["trainable_params"] == 27306 and data["depth"] == 3


def test_version_and_rules_list():
    assert run_cli("--version").stdout.startswith("cnnlint, version")
    listing = run_cli("rules").stdout
    assert "C105  dense-head-dominance" in listing


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hook_for_real(tmp_path):
    """`pre-commit try-repo` installs this repository's hook and runs it on a good and a bad model."""
    wheelhouse = os.environ.get("CNNLINT_WHEELHOUSE")
    if not wheelhouse:
        pytest.skip("set CNNLINT_WHEELHOUSE (made by .ci/run) so pre-commit can install the hook offline")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheelhouse, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / "cnnlint.toml").write_text('samples = 2000\naugmented = true\nfail-on = "never"\nseverity = "warning"\n')
    shutil.copy(EXAMPLES / "example2_regularized.keras", repo / "good.keras")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)

    def try_repo(*files):
        cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "cnnlint", "--verbose", "--files", *files]
        return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=env, timeout=900)

    good = try_repo("good.keras", "cnnlint.toml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    shutil.copy(EXAMPLES / "example1_4x_width.keras", repo / "bad.keras")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    bad = try_repo("bad.keras")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "C106" in bad.stdout and "bad.keras" in bad.stdout


def test_globs_and_savedmodel_files_from_pre_commit(models, tfk, tmp_path):
    data = json.loads(run_cli(str(models / "*.keras"), "--format", "json", "--samples", "500").stdout)
    assert sorted(Path(m["path"]).name for m in data["models"]) == ["plain.keras", "regularized.keras"]
    model = tfk.Sequential([tfk.layers.InputLayer(input_shape=(8, 8, 1)), tfk.layers.Conv2D(4, 3), tfk.layers.Flatten(),
                            tfk.layers.Dense(2)])  # fmt: skip
    model.save(tmp_path / "sm", save_format="tf")
    # the cnnlint-savedmodel hook passes the folder's files; both map to one model
    result = run_cli(str(tmp_path / "sm" / "keras_metadata.pb"), str(tmp_path / "sm" / "saved_model.pb"),
                     "--format", "json", "--samples", "100")  # fmt: skip
    models_seen = json.loads(result.stdout)["models"]
    assert len(models_seen) == 1 and models_seen[0]["model"]["trainable_params"] == 4 * 9 + 4 + 6 * 6 * 4 * 2 + 2
    assert run_cli(str(tmp_path / "nothing*.keras")).returncode == 2
