"""The README's promises: it opens with the two commands, CI runs its test command, and the GitHub Actions
workflow of the CI page (docs/ci.md) works."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
CI_PAGE = (REPO / "docs" / "ci.md").read_text()


def workflow() -> dict:
    block = CI_PAGE.split("<!-- workflow-start -->")[1].split("<!-- workflow-end -->")[0]
    return yaml.safe_load(block.split("```yaml")[1].split("```")[0])


def test_workflow_run_steps_work_locally(tmp_path):
    (tmp_path / "models").mkdir()
    for model in (REPO / "examples").glob("*.keras"):
        shutil.copy(model, tmp_path / "models" / model.name)
    (tmp_path / "cnnlint.toml").write_text("samples = 2000\n")
    summary = tmp_path / "summary.md"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    codes = []
    for step in workflow()["jobs"]["models"]["steps"]:
        command = step.get("run")
        if command is None or command.startswith("pip install"):
            continue  # actions run on GitHub; the package is installed here already
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        codes.append((command, result.returncode, result.stdout))
    assert [c[1] for c in codes] == [0, 0, 1], codes
    sarif = json.loads((tmp_path / "cnnlint.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert summary.read_text().startswith("## cnnlint")
    assert codes[-1][2].startswith("::warning file=models/")


def test_ci_runs_the_readme_test_command():
    command = re.search(r"&& (python -m pytest)\n", README).group(1)
    assert command in (REPO / ".ci" / "run").read_text()


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)[:2]
    assert "pip install . && cnnlint examples/" in blocks[0]
    assert "python -m pytest" in blocks[1]


def test_tests_depend_on_nothing_outside_the_repository():
    """A fresh clone runs the suite with nothing beside it: no test reads a path above the checkout."""
    outside = re.compile(r"REPO\.parent|\.\./|[\"']\.\.[\"']|/work/|shared/schemas|shared/seed")
    offenders = [f"{path.name}:{number}" for path in sorted((REPO / "tests").glob("*.py")) if path.name != "test_readme.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if outside.search(line)]  # fmt: skip
    assert offenders == []


def test_readme_opens_by_saying_what_cnnlint_is():
    opening = README.split("\n\n")[1]
    assert opening.startswith("cnnlint ") and opening.rstrip().endswith(".") and "```" not in opening
    assert README.index(opening) < README.index("```")


def test_readme_commands_say_how_long_they_take():
    before_blocks = re.split(r"```bash\n.*?\n```", README, flags=re.S)[:2]
    for text in before_blocks:
        paragraph = text.strip().split("\n\n")[-1]
        assert re.search(r"about \d+ (seconds|minutes) on a 2-core machine", paragraph), paragraph


def test_readme_counts_the_examples_and_points_at_nothing_outside():
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
    count = re.search(r"lint the (\w+) example models in `examples/`", README).group(1)
    assert words[count] == len(list((REPO / "examples").glob("*.keras")))
    for name in (REPO / "examples").glob("*.keras"):
        assert f"`{name.stem}`" in README.split("---")[0]  # each example is described
    assert not re.search(r"\.\./|shared/seed", README)  # no path above the checkout
    assert "TensorFlow CPU" not in README


def test_readme_quick_test_command_names_a_real_extra_and_marker():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: cnnlint depends on tomli there
        import tomli as tomllib

    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    quick = [re.search(r'pip install -e "\.\[([\w-]+)\]" && python -m pytest -m "not (\w+)"$', b) for b in blocks]
    command = next((match for match in quick if match), None)
    assert command, "the README gives the quick test command in a code block of its own"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert command.group(1) in extras and not any("tensorflow" in r or "keras" in r for r in extras[command.group(1)])
    markers = project["tool"]["pytest"]["ini_options"]["markers"]
    assert any(marker.startswith(f"{command.group(2)}:") for marker in markers)


def test_readme_says_what_cnnlint_is_once():
    """The one-sentence description is not repeated further down (the README used to open twice)."""
    opening = README.split("\n\n")[1]
    assert opening.count(". ") == 0 and opening.count("\n") == 0, "one sentence, on one line"
    assert README.count("cnnlint reads a saved Keras") == 1 and "tells an ML engineer" not in README


def test_readme_keeps_an_example_of_output_exit_codes_and_a_table_of_contents():
    assert re.search(r"```\n\$ cnnlint examples/\S+ --samples \d+\n.*risk (LOW|MEDIUM|HIGH)", README, re.S)
    codes = re.search(r"## Exit codes\n(.*?)\n## ", README, re.S).group(1)
    assert all(f"| {code} |" in codes for code in (0, 1, 2))
    contents = re.search(r"## Documentation\n(.*?)\n## ", README, re.S).group(1)
    assert len(re.findall(r"\]\(docs/[\w/-]+\.md\)", contents)) >= 10
