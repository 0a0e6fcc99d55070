"""The documentation: every page the README links to exists, links between pages resolve, the rule pages are the
rule docstrings, the generated tables live where their scripts write them, and the documented pre-commit pin and
confirm message are what the tools do."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from cnnlint.rules import RULES

from tests.conftest import REPO, run_cli

DOCS = REPO / "docs"
README = REPO / "README.md"
GITHUB_FILE = re.compile(r"https://github\.com/cnnlint/cnnlint/blob/main/([^)#\s]+)")
#: [text](target) links, leaving out images and code spans (a crude but sufficient Markdown reading)
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")


def rule_pages_module():
    spec = importlib.util.spec_from_file_location("rule_pages", REPO / "tools" / "rule_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prose(text: str) -> str:
    """Markdown without its fenced code blocks and code spans, where a '[x](y)' is not a link."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def local_links(page: Path) -> list[tuple[str, Path]]:
    """(link, the file it names) for every relative link of a Markdown page."""
    found = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        found.append((target, (page.parent / target.split("#")[0]).resolve()))
    return found


def all_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_the_readme_fits_on_a_few_screens():
    assert len(README.read_text(encoding="utf-8")) <= 12_000


def test_every_page_the_readme_links_to_exists():
    links = local_links(README)
    pages = {path for _, path in links if path.suffix == ".md"}
    assert len(pages) >= 10, "the README's table of contents links to the documentation pages"
    missing = [link for link, path in links if not path.exists()]
    assert missing == []
    assert all(DOCS in path.parents for path in pages), "README links to pages under docs/"


@pytest.mark.parametrize("page", all_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_links_between_pages_resolve(page):
    missing = [link for link, path in local_links(page) if not path.exists()]
    outside = [link for link, path in local_links(page) if DOCS not in path.parents]
    assert missing == [] and outside == [], "a page links to pages, or to the repository's files by GitHub URL"


def test_github_links_name_files_of_this_repository():
    texts = [README.read_text(encoding="utf-8"), *(page.read_text(encoding="utf-8") for page in all_pages())]
    paths = {path for text in texts for path in GITHUB_FILE.findall(text)}
    assert paths, "the pages link to ARCHITECTURE.md, study/README.md, action.yml"
    assert sorted(p for p in paths if not (REPO / p).exists()) == []


def test_the_site_navigation_names_existing_pages():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    named = [next(iter(entry.values())) for entry in config["nav"]]
    assert named and all((DOCS / page).is_file() for page in named)
    assert "tools/rule_pages.py" in config["hooks"]


def test_rule_pages_are_the_rule_docstrings():
    """Committed pages equal what the generator writes now; `python tools/rule_pages.py` fixes a difference."""
    generated = rule_pages_module().pages()
    assert {path.name for path in generated} == {f"{code}.md" for code in RULES} | {"index.md"}
    stale = [path.name for path, text in generated.items() if not path.is_file() or path.read_text() != text]
    assert stale == [], "run: python tools/rule_pages.py"
    assert sorted(p.name for p in (DOCS / "rules").glob("*.md")) == sorted(p.name for p in generated)


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_rule_page_has_the_docstring_sections_and_the_index_links_it(code):
    page = (DOCS / "rules" / f"{code}.md").read_text()
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in page
    assert page.splitlines()[1] == f"# {code} {RULES[code].name}"
    assert "``" not in prose(page)  # RST literals became Markdown ones
    assert f"]({code}.md)" in (DOCS / "rules" / "index.md").read_text()


@pytest.mark.parametrize("marker", ["risk-evaluation", "forecast-evaluation", "noise-ceiling", "training-length"])
def test_generated_tables_live_where_the_study_publishes_them(marker):
    from study.publish import TABLES

    table = next(t for t in TABLES if t.marker == marker)
    text = table.page.read_text(encoding="utf-8")
    assert text.count(f"<!-- {marker} -->\n") == 1 and text.count(f"<!-- {marker}-end -->") == 1
    before = text.split(f"<!-- {marker} -->")[0].rsplit("\n\n", 3)[-3:]
    assert any("python -m study" in paragraph for paragraph in before), "the command that regenerates it"
    assert f"<!-- {marker}" not in README.read_text(encoding="utf-8")


def _pre_commit_config() -> dict:
    text = (DOCS / "ci.md").read_text()
    block = text.split("## pre-commit")[1].split("```yaml")[1].split("```")[0]
    return yaml.safe_load(block)["repos"][0]


def test_the_documented_pre_commit_pin_is_a_revision_that_exists():
    repo = _pre_commit_config()
    rev, hooks = str(repo["rev"]), {hook["id"] for hook in repo["hooks"]}
    manifest = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks <= manifest
    if shutil.which("git") is None or not (REPO / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", rev)
        return
    tags = subprocess.run(["git", "tag"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert rev in tags or re.fullmatch(r"[0-9a-f]{40}", rev), "a tag that exists, or a full commit SHA"
    shown = subprocess.run(["git", "show", f"{rev}:.pre-commit-hooks.yaml"], cwd=REPO, capture_output=True, text=True)
    if shown.returncode != 0 and subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=REPO,
                                                capture_output=True, text=True).stdout.strip() == "true":  # fmt: skip
        pytest.skip("a shallow clone does not hold the pinned commit")
    assert shown.returncode == 0, shown.stderr
    assert hooks <= {hook["id"] for hook in yaml.safe_load(shown.stdout)}
    assert f"cnnlint/cnnlint@{rev}" in (DOCS / "ci.md").read_text()  # the workflow and the action pin the same


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_autoupdate_pins_the_newest_commit_of_a_repository_without_tags(tmp_path):
    """What the CI page promises: with no tags, `pre-commit autoupdate` moves `rev` to the newest commit."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks)
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "hooks"]):
        subprocess.run(["git", *cmd], cwd=hooks, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True).stdout.strip()
    user = tmp_path / "user"
    user.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=user, check=True, env=env)
    config = {"repos": [{**_pre_commit_config(), "repo": hooks.as_uri()}]}
    (user / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run([sys.executable, "-m", "pre_commit", "autoupdate"], cwd=user, capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load((user / ".pre-commit-config.yaml").read_text())["repos"][0]["rev"] == head


def test_the_documented_confirm_message_is_the_one_confirm_prints(tmp_path):
    """docs/confirm.md quotes the error for --samples 2000 on a 2,000-row file; it comes before any training."""
    block = (DOCS / "confirm.md").read_text().split("## Training and validation rows")[1].split("```\n")[1]
    documented = block.strip()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((2000, 28, 28, 1), dtype=np.float32), y=np.arange(2000) % 10)
    result = run_cli("confirm", str(REPO / "examples" / "example2_plain.keras"), "--data", str(tmp_path / "d.npz"),
                     "--samples", "2000", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == documented


def test_the_getting_started_risk_line_is_what_the_lint_prints():
    page = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
    [quoted] = [line for line in page.splitlines() if line.startswith("examples/example2_plain.keras: risk ")]
    result = run_cli("examples/example2_plain.keras", "--samples", "2000", "--no-color", cwd=REPO)
    assert quoted in result.stdout.splitlines()


def test_the_api_page_reprs_are_what_check_returns():
    import cnnlint

    page = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    quoted = [line for line in page.splitlines() if line.startswith("<cnnlint.Report ")]
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        shown = [repr(cnnlint.check("examples/example2_plain.keras", samples=2000)),
                 repr(cnnlint.check("examples/example2_plain.keras"))]  # fmt: skip
    finally:
        os.chdir(cwd)
    assert quoted == shown


def test_the_readme_example_output_is_what_the_lint_prints():
    """Each line of the README's example (an excerpt: '...' stands for lines left out) is a line the command prints,
    in the same order."""
    readme = README.read_text(encoding="utf-8")
    block = readme.split("$ cnnlint examples/example2_plain.keras --samples 2000\n", 1)[1].split("```", 1)[0]
    quoted = [line for line in block.splitlines() if line != "..."]
    printed = run_cli("examples/example2_plain.keras", "--samples", "2000", "--no-color", cwd=REPO).stdout.splitlines()
    assert len(quoted) >= 8 and all(line in printed for line in quoted), set(quoted) - set(printed)
    assert [printed.index(line) for line in quoted] == sorted(printed.index(line) for line in quoted)


def test_the_example_html_report_is_what_the_lint_writes(tmp_path):
    """docs/example-report.html is the README's command's output; regenerate it with that command when it differs."""
    result = run_cli("examples/", "--format", "html", "-o", str(tmp_path / "report.html"), cwd=REPO)
    assert result.returncode == 1, result.stderr  # the examples have findings
    written = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert written == (DOCS / "example-report.html").read_text(encoding="utf-8"), (
        "run: cnnlint examples/ --format html -o docs/example-report.html")
