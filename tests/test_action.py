"""The composite GitHub Action (action.yml): its shell steps run locally, the way GitHub runs them.

Steps are run with ``bash --noprofile --norc -eo pipefail`` (GitHub's default shell), ``${{ inputs.* }}`` filled
in from the action's defaults and the test's inputs, ``if:`` conditions evaluated, and fake ``GITHUB_*`` files.
``uses:`` steps (the SARIF upload) run on GitHub only; the test checks what they are given. The install step needs
a package index; it runs for real only where CI provides an offline wheelhouse (CNNLINT_WHEELHOUSE).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.test_packaging import SOURCE_PARTS

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
CONDITION = re.compile(r"^inputs\.([\w-]+) == '([^']*)'$")


def inputs_with(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    unknown = {name.replace("_", "-") for name in given} - set(values)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    values.update({name.replace("_", "-"): value for name, value in given.items()})
    return values


def runs(step: dict, inputs: dict[str, str]) -> bool:
    condition = step.get("if")
    if condition is None:
        return True
    match = CONDITION.match(condition.strip())
    assert match, f"the test understands only inputs.NAME == 'value' conditions: {condition}"
    return inputs[match.group(1)] == match.group(2)


def fill(text: str, inputs: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: inputs[m.group(1)], text)


class Runner:
    """A workspace with a copy of the examples, GitHub's files, and `cnnlint` on PATH."""

    def __init__(self, tmp_path: Path, install: bool = False) -> None:
        self.workspace = tmp_path / "workspace"
        (self.workspace / "models").mkdir(parents=True)
        for model in (REPO / "examples").glob("*.keras"):
            shutil.copy(model, self.workspace / "models" / model.name)
        (self.workspace / "cnnlint.toml").write_text("samples = 2000\n")
        self.temp = tmp_path / "runner_temp"
        self.temp.mkdir()
        self.files = {name: tmp_path / name.lower() for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_PATH")}
        for path in self.files.values():
            path.write_text("")
        self.action_path = REPO
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        if not install:  # the checkout's cnnlint, as the install step would provide it
            shim = self.bin / "cnnlint"
            shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m cnnlint "$@"\n')
            shim.chmod(0o755)

    def env(self, step_env: dict[str, str]) -> dict[str, str]:
        extra_path = [line for line in self.files["GITHUB_PATH"].read_text().splitlines() if line]
        path = os.pathsep.join([*extra_path, str(self.bin), os.environ["PATH"]])
        github = {name: str(path) for name, path in self.files.items()}
        return {**os.environ, **github, **step_env, "PATH": path, "RUNNER_TEMP": str(self.temp),
                "GITHUB_ACTION_PATH": str(self.action_path), "GITHUB_WORKSPACE": str(self.workspace)}  # fmt: skip

    def run(self, inputs: dict[str, str], skip: tuple[str, ...] = ("install",)) -> dict[str, int]:
        """Each shell step's exit code by id; like GitHub, a failing step stops the ones after it."""
        codes: dict[str, int] = {}
        for step in ACTION["runs"]["steps"]:
            if "run" not in step or step["id"] in skip or not runs(step, inputs):
                continue
            step_env = {key: fill(str(value), inputs) for key, value in (step.get("env") or {}).items()}
            assert "${{" not in step["run"], "inputs go through env:, never into the script text"
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                    cwd=self.workspace, env=self.env(step_env), capture_output=True, text=True,
                                    timeout=600)  # fmt: skip
            codes[step["id"]] = result.returncode
            self.last = result
            if result.returncode != 0:
                break
        return codes

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.files["GITHUB_OUTPUT"].read_text().splitlines() if "=" in line)


def test_action_is_composite_with_the_promised_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "format", "fail-on", "sarif", "summary"} <= set(ACTION["inputs"])
    upload = next(step for step in ACTION["runs"]["steps"] if "uses" in step)
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ runner.temp }}/cnnlint.sarif" and upload["if"] == "inputs.sarif == 'true'"
    assert [step["id"] for step in ACTION["runs"]["steps"]][-1] == "gate"  # the gate fails the job after the reports


def test_defaults_annotate_summarize_and_fail(tmp_path):
    runner = Runner(tmp_path)
    codes = runner.run(inputs_with(paths="models"))
    assert codes == {"summary": 0, "gate": 1}  # the examples have warnings; no SARIF unless asked
    assert runner.last.stdout.startswith("::warning file=models/")
    assert runner.files["GITHUB_STEP_SUMMARY"].read_text().startswith("## cnnlint")
    assert runner.outputs()["exit-code"] == "1"
    assert not (runner.temp / "cnnlint.sarif").exists()


def test_sarif_on_request_and_fail_on_never(tmp_path):
    runner = Runner(tmp_path)
    codes = runner.run(inputs_with(paths="models/example2_*.keras models/example1_reduced.keras", sarif="true",
                                   fail_on="never", summary="false", format="text"))  # fmt: skip
    assert codes == {"sarif": 0, "gate": 0}
    sarif = json.loads((runner.temp / "cnnlint.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    linted = {Path(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name
              for r in sarif["runs"][0]["results"]}  # fmt: skip
    assert "example1_reduced.keras" in linted and "example2_plain.keras" in linted
    assert linted <= {"example2_plain.keras", "example2_regularized.keras", "example1_reduced.keras"}
    assert runner.files["GITHUB_STEP_SUMMARY"].read_text() == ""
    assert runner.last.stdout.strip().endswith("in 3 models.")


def test_severity_and_args_reach_the_gate(tmp_path):
    runner = Runner(tmp_path)
    codes = runner.run(inputs_with(paths="models", severity="error", fail_on="high", args="--samples 1000000"))
    assert codes["gate"] == 0  # no errors, and a million samples is low risk


def test_unreadable_file_fails_with_2_but_the_reports_are_written(tmp_path):
    runner = Runner(tmp_path)
    (runner.workspace / "models" / "broken.keras").write_bytes(b"not a model")
    codes = runner.run(inputs_with(paths="models", sarif="true", fail_on="never"))
    assert codes == {"sarif": 0, "summary": 0, "gate": 2}
    assert runner.outputs()["exit-code"] == "2"
    assert (runner.temp / "cnnlint.sarif").is_file() and "broken.keras" in runner.last.stderr


@pytest.mark.slow
def test_install_step_for_real(tmp_path):
    wheelhouse = os.environ.get("CNNLINT_WHEELHOUSE")
    if not wheelhouse:
        pytest.skip("set CNNLINT_WHEELHOUSE (made by .ci/run) so the install step can run offline")
    os.environ.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=wheelhouse)
    try:
        runner = Runner(tmp_path, install=True)
        runner.action_path = tmp_path / "action"  # pip builds in the source folder: a copy, not the checkout
        for part in SOURCE_PARTS:
            copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy
            copy(REPO / part, runner.action_path / part)
        codes = runner.run(inputs_with(paths="models", fail_on="never"), skip=())
    finally:
        for key in ("PIP_NO_INDEX", "PIP_FIND_LINKS"):
            os.environ.pop(key)
    assert codes == {"install": 0, "summary": 0, "gate": 0}, runner.last.stderr[-2000:]
    assert (runner.temp / "cnnlint-venv" / "bin" / "cnnlint").is_file()


def readme_example() -> dict:
    """The action example of the CI page (docs/ci.md, which the README links to)."""
    page = (REPO / "docs" / "ci.md").read_text()
    block = page.split("<!-- action-start -->")[1].split("<!-- action-end -->")[0]
    steps = yaml.safe_load(block.split("```yaml")[1].split("```")[0])["steps"]
    return next(step for step in steps if "cnnlint/cnnlint@" in step.get("uses", ""))


def test_the_readme_example_runs(tmp_path):
    given = {key: str(value).lower() if isinstance(value, bool) else str(value)  # GitHub passes true as "true"
             for key, value in readme_example()["with"].items()}  # fmt: skip
    runner = Runner(tmp_path)
    codes = runner.run(inputs_with(**given))
    assert codes == {"sarif": 0, "summary": 0, "gate": 0}, runner.last.stderr  # 50,000 samples: low risk
    assert json.loads((runner.temp / "cnnlint.sarif").read_text())["runs"][0]["results"]
    expected = subprocess.run([str(runner.bin / "cnnlint"), "models/", "--samples", "50000", "--classes", "10",
                               "--format", "markdown"], cwd=runner.workspace, capture_output=True, text=True).stdout
    assert runner.files["GITHUB_STEP_SUMMARY"].read_text() == expected  # the args reached cnnlint
