"""Every model under a path is linted, however the folders are nested, linked or named (cnnlint/discovery.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from cnnlint.discovery import discover
from cnnlint.walk import walk
from tests.conftest import run_cli
from tests.hostile_corpus import LAMBDA, deep_folder, dense, keras_zip, remove_tree, savedmodel, sequential

EVIL = keras_zip(json.dumps(sequential(LAMBDA, dense())).encode())
BENIGN = keras_zip(json.dumps(sequential(dense())).encode())


@pytest.fixture
def deep(tmp_path):
    folder = deep_folder(tmp_path)
    yield folder
    remove_tree(folder)  # pytest's own clean-up recurses, as shutil.rmtree does


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown", "html"])
def test_a_folder_nested_deeper_than_the_recursion_limit_is_walked(deep, fmt):
    result = run_cli(str(deep), "--select", "S4", "--format", fmt)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "S401" in result.stdout and "evil.keras" in result.stdout


def test_output_checks_walk_a_deep_folder_too(deep, tmp_path):
    result = run_cli(str(deep), "--select", "S4", "-o", str(tmp_path / "report.txt"))
    assert result.returncode == 1 and "S401" in (tmp_path / "report.txt").read_text(), result.stderr


def test_a_glob_over_links_to_the_same_folder_ends_and_finds_each_model_once(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.keras").write_bytes(EVIL)
    for name in ("again", "and_again"):
        (tmp_path / "models" / name).symlink_to(".", target_is_directory=True)
    start = time.monotonic()
    result = run_cli("models/**/*.keras", "--select", "S4", "--format", "json", cwd=tmp_path)
    assert time.monotonic() - start < 60 and result.returncode == 1, result.stderr
    assert [m["path"] for m in json.loads(result.stdout)["models"]] == ["models/evil.keras"]
    assert result.stderr.count("the same folder as one already walked") == 2


def test_a_glob_matches_what_the_folder_walk_finds(tmp_path, monkeypatch):
    for relative in ("a/x.keras", "a/.hidden/y.keras", "b/c/d/z.keras", "e.keras"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(BENIGN)
    monkeypatch.chdir(tmp_path)
    globbed, _ = discover(["**/*.keras"])
    walked, _ = discover(["."])
    assert sorted(globbed) == sorted(p.removeprefix("./") for p in walked)
    assert "a/.hidden/y.keras" in globbed


def test_model_folders_are_walked_for_the_models_they_hold(tmp_path):
    repo = savedmodel(tmp_path / "repo", [("root", {"model_config": sequential(dense())})])
    (repo / "models").mkdir()
    (repo / "models" / "evil.keras").write_bytes(EVIL)
    unzipped = repo / "unzipped"
    unzipped.mkdir()
    (unzipped / "config.json").write_text(json.dumps(sequential(dense())))
    (unzipped / "metadata.json").write_text("{}")
    found, problems = discover([str(repo)])
    assert found == [str(repo), str(repo / "models" / "evil.keras"), str(unzipped)] and not problems  # depth first
    # the folder's own parts are read with it, not again on their own
    assert not any(name.endswith(("config.json", "metadata.json")) for name in found)


def test_a_folder_that_is_two_formats_is_scanned_as_both(tmp_path):
    dual = savedmodel(tmp_path / "dual", [("root", {"model_config": sequential(dense())})])
    (dual / "config.json").write_text(json.dumps(sequential(LAMBDA, dense())))
    result = run_cli(str(dual), "--select", "S4", "--format", "json")
    findings = {f["code"] for f in json.loads(result.stdout)["models"][0]["findings"]}
    assert result.returncode == 1 and {"S401", "S407"} <= findings, result.stdout


def test_dot_folders_and_links_inside_the_tree_are_walked_and_skips_are_named(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    (tree / ".cache").mkdir(parents=True)
    (tree / ".cache" / "evil.keras").write_bytes(EVIL)
    (tree / ".git").mkdir()
    (tree / ".git" / "ignored.keras").write_bytes(EVIL)
    (tmp_path / "beside").mkdir()
    (tmp_path / "beside" / "linked.keras").write_bytes(EVIL)
    (tree / "beside").symlink_to(tmp_path / "beside", target_is_directory=True)
    elsewhere = Path("/") if os.access("/", os.R_OK) else tmp_path
    (tree / "root").symlink_to(elsewhere, target_is_directory=True)
    notes: list[str] = []
    monkeypatch.chdir(tmp_path)  # the working directory holds the link's target, as a checkout does
    found, _ = discover([str(tree)], notes)
    assert sorted(Path(p).relative_to(tree).as_posix() for p in found) == [".cache/evil.keras", "beside/linked.keras"]
    assert any(note.startswith(f"{tree / '.git'}: skipped") for note in notes), notes
    assert any(note.startswith(f"{tree / 'root'}: skipped, a link to a folder outside") for note in notes), notes


def test_a_config_json_whose_class_name_comes_late_is_a_model(tmp_path):
    folder = tmp_path / "late"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"pad": "x" * 10_000, **sequential(LAMBDA, dense())}))
    found, problems = discover([str(tmp_path)])
    assert found == [str(folder)] and not problems
    assert run_cli(str(tmp_path), "--select", "S4").returncode == 1


def test_the_walk_visits_each_real_folder_once(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a", target_is_directory=True)
    notes: list[str] = []
    folders = [folder.path for folder in walk(tmp_path, notes)]
    assert folders == [tmp_path, tmp_path / "a", tmp_path / "a" / "b"]
    assert notes == [f"{tmp_path / 'a' / 'b' / 'up'}: skipped, the same folder as one already walked (a link back "
                     "into the tree)"]  # fmt: skip


def test_the_pre_commit_hook_skips_named_json_that_is_no_model(tmp_path):
    """The hook passes every committed .json; a named one that is no model's is skipped, as a folder walk skips it."""
    (tmp_path / "package.json").write_text('{"name": "x", "version": "1"}')
    (tmp_path / "model.json").write_text(json.dumps(sequential(dense())))
    named = [str(tmp_path / "package.json"), str(tmp_path / "model.json")]
    notes: list[str] = []
    assert discover(named, notes, skip_non_models=True) == ([named[1]], [])
    assert notes == [f"{named[0]}: skipped, not a model file"]
    assert discover(named)[0] == named  # without the flag a named file is read, and an error if it is no model


def test_a_walk_skips_json_that_names_class_name_and_config_but_is_no_model(tmp_path):
    """An optimizer's config or a keras-tuner trial names both keys; a folder walk judges its top level and skips it."""
    (tmp_path / "optimizer.json").write_text(json.dumps({"optimizer": {"class_name": "Adam", "config": {}}}))
    (tmp_path / "model.json").write_text(json.dumps(sequential(dense())))
    notes: list[str] = []
    assert discover([str(tmp_path)], notes) == ([str(tmp_path / "model.json")], [])
    assert notes == [f"{tmp_path / 'optimizer.json'}: skipped, not a model file"]
    result = run_cli(str(tmp_path), "--samples", "50000")
    assert result.returncode != 2, result.stderr
    assert "skipped, not a model file" in result.stderr and "1 model" in result.stdout


def test_a_model_json_that_cannot_be_judged_is_read_not_skipped(tmp_path):
    """A file naming both keys that is malformed stays a model, so the reader says why it cannot be read."""
    (tmp_path / "broken.json").write_text('{"class_name": "Sequential", "config": {"layers": [')
    found, problems = discover([str(tmp_path)])
    assert found == [str(tmp_path / "broken.json")] and not problems
    assert run_cli(str(tmp_path)).returncode == 2


def test_an_empty_path_argument_is_one_clear_line_and_the_others_are_linted(tmp_path):
    """Path('') is '.': an unset "$MODEL" must not lint the working directory."""
    (tmp_path / "model.json").write_text(json.dumps(sequential(dense())))
    alone = run_cli("")
    assert alone.returncode == 2 and "empty path argument" in alone.stderr
    assert len(alone.stderr.strip().splitlines()) == 1 and "Traceback" not in alone.stderr
    beside = run_cli("", str(tmp_path / "model.json"), "--samples", "50000")
    assert beside.returncode == 2 and "1 model" in beside.stdout and "1 path not found" in beside.stdout
