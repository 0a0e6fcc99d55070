"""The speed work's shortcuts (issue 26) give exactly what the plain computations give: the varied-input evaluations
of the risk model (its generated functions: tests/test_tree_code.py), and the indented JSON writer."""

from __future__ import annotations

import json
import math
import pickle
import random
import shutil
from dataclasses import replace
from pathlib import Path

from cnnlint.rules import select_rules

from cnnlint.analysis import analyze
from cnnlint.findings import Dataset
from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from cnnlint.risk import SIZE_GRID, assess, level_at, load_model
from cnnlint.trees import walk
from reports.base import json_text, json_with_lists, slot
from tests.conftest import run_cli


def _rows(variant, count: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        x = {}
        for name in variant.names:
            low, high = variant.ranges[name]
            x[name] = math.nan if rng.random() < 0.05 else rng.uniform(low - 0.5, high + 0.5)
        rows.append(x)
    return rows


def _varied_by_walking_every_tree(part, x: dict[str, float], name: str, values: list[float]) -> list[float]:
    """``Trees.varying`` as it was before issue 26: every tree that splits on ``name`` walked for every value."""
    row = [x[n] for n in part.names]
    base = [walk(tree, row) for tree in part.trees]
    column = part.names.index(name)
    moving = part.uses()[column]
    fixed = part.baseline + sum(base) - sum(base[i] for i in moving)
    out = []
    for value in values:
        row[column] = value
        out.append(fixed + sum(walk(part.trees[i], row) for i in moving))
    return out


def test_varied_evaluations_equal_walking_every_tree():
    for variant in (load_model().static, load_model().with_probes):
        rows = _rows(variant, 12, 2)
        for part in (variant.point.fit, variant.point.held_out):
            for x, other in zip(rows, rows[1:]):
                for name in part.names:
                    values = [v for v, _ in variant.reference.get(name, ())] + [x[name] - 0.3, math.nan]
                    assert part.varying(x, name, values) == _varied_by_walking_every_tree(part, x, name, values)
                assert part.per_tree(other) == [walk(tree, [other[n] for n in part.names]) for tree in part.trees]


def _saturation_by_scanning_every_step(variant, x: dict[str, float], name: str) -> float | None:
    """``risk.saturation`` as it was before its bisection: every step of the estimate in one ``gaps`` pass, the
    first past which it equals its value at the top."""
    top = variant.ranges[name][1]
    below = [t for t in variant.point.thresholds(name) if t < top]
    if not below:
        return None
    full, first, *past = variant.point.gaps(x, name, [top, below[0], *(math.nextafter(t, math.inf) for t in below)])
    if first == full:
        return None
    return next((t for t, gap in zip(below, past) if gap == full), None)


def test_the_saturation_bisection_finds_the_step_a_scan_finds():
    from cnnlint.risk import saturation

    found = 0
    for variant in (load_model().static, load_model().with_probes):
        if "log_steps" not in variant.names:
            continue
        for x in _rows(variant, 60, 8):
            expected = _saturation_by_scanning_every_step(variant, x, "log_steps")
            assert saturation(variant, x, "log_steps") == expected, x
            found += expected is not None
    assert found > 10  # most rows saturate somewhere: the comparison is not of Nones


def test_models_rendered_as_parts_are_the_reports_rendered_whole(tmp_path):
    from cnnlint.reports import FORMATS, RenderOptions, with_part

    from cnnlint.pipeline import LintSettings, lint_source

    examples = Path(__file__).resolve().parent.parent / "examples"
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    settings = LintSettings(tuple(select_rules()))
    reports = [lint_source(str(path), Dataset.of(samples=2000), settings)
               for path in [*sorted(examples.glob("*.keras")), broken]]  # fmt: skip
    assert reports[-1].error and all(r.findings for r in reports[:-1])
    for fmt in ("json", "sarif", "text", "github"):
        for options in (RenderOptions(), RenderOptions(quiet=True), RenderOptions(verbose=True)):
            parts = [with_part(report, fmt, options) for report in reports]
            assert all(part.part is not None and part.graph is None for part in parts)
            assert FORMATS[fmt](parts, options) == FORMATS[fmt](reports, options), (fmt, options)


def test_the_indented_writer_writes_what_json_dumps_writes():
    rng = random.Random(3)
    scalars = ["a", "é\u2028\n\"\\", "", "\x00\x7f\ud800", 0, -1, 10**20, 1.5, -0.0, 1e-300, True, False, None]

    def value(depth: int = 0):
        pick = rng.random()
        if depth > 4 or pick < 0.3:
            return rng.choice(scalars)
        if pick < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {f"{rng.choice(['k', 'ключ', ' '])}{i}": value(depth + 1) for i in range(rng.randint(0, 4))}

    for _ in range(500):
        data = value()
        for indent in (0, 2):
            assert json_text(data, indent=indent) == json.dumps(data, indent=indent)
    # what the plain writer leaves to json.dumps: non-finite numbers (written as null), keys that are not strings
    assert json_text({"a": math.nan, 1: (1, 2)}, indent=2) == json.dumps({"a": None, 1: [1, 2]}, indent=2)


def test_the_smallest_n_search_reads_the_level_assess_gives():
    examples = Path(__file__).resolve().parent.parent / "examples"
    for name in ("example1_reduced.keras", "example2_regularized.keras"):
        facts = analyze(model_graph(read_model(examples / name)))
        for n in SIZE_GRID[::2]:
            for dataset in (Dataset(n, 10), Dataset(n, 10, training_steps=500, label_noise=0.2)):
                assert level_at(facts, dataset) == assess(facts, dataset, explain=False).level


def test_a_document_assembled_from_written_items_is_the_document_written_whole():
    rng = random.Random(4)
    scalars = ["a", "line\nbreak \"q\" \\", "é\u2028", 0, 1.25, True, None]

    def item(depth: int = 0):
        if depth > 3 or rng.random() < 0.3:
            return rng.choice(scalars)
        if rng.random() < 0.5:
            return [item(depth + 1) for _ in range(rng.randint(0, 3))]
        return {f"k{i}": item(depth + 1) for i in range(rng.randint(0, 3))}

    for _ in range(200):
        lists = {name: [item() for _ in range(rng.randint(0, 3))] for name in ("models", "results")}
        whole = {"head": item(), "runs": [{"results": lists["results"], "x": 1}], "models": lists["models"]}
        holed = {"head": whole["head"], "runs": [{"results": slot("results"), "x": 1}], "models": slot("models")}
        written = {name: [json_text(value, indent=2) for value in values] for name, values in lists.items()}
        assert json_with_lists(holed, written) == json_text(whole, indent=2)


def test_a_job_for_a_worker_carries_the_registered_rules_by_code():
    rules = tuple(select_rules())
    assert all(loaded is rule for loaded, rule in zip(pickle.loads(pickle.dumps(rules)), rules))
    assert len(pickle.dumps(rules)) < 40 * len(rules)  # codes, not documentation
    changed = replace(rules[0], options={"limit": 3})  # not the registered object: pickled whole, as before
    assert pickle.loads(pickle.dumps(changed)) == changed


def test_workers_apply_the_baseline_and_render_as_one_process_does(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples", models,
                    ignore=shutil.ignore_patterns("*.py", "*.ipynb"))  # fmt: skip
    baseline = tmp_path / "baseline.json"
    reviewed = models / "example2_plain.keras"
    written = run_cli(str(reviewed), "--samples", "2000", "--write-baseline", str(baseline))
    assert written.returncode in (0, 1), written.stderr
    outputs = {}
    for fmt in ("json", "text", "sarif", "github"):
        runs = [run_cli(str(models), "--samples", "2000", "--format", fmt, "--baseline", str(baseline), "-j", jobs)
                for jobs in ("1", "2")]  # fmt: skip
        assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode, fmt
        outputs[fmt] = runs[1].stdout
    report = {model["path"]: model for model in json.loads(outputs["json"])["models"]}
    assert report[str(reviewed)]["findings"] == []  # what the baseline knows is left out
    assert any(model["findings"] for path, model in report.items() if path != str(reviewed))


def test_the_printable_shortcut_cleans_what_the_full_walk_cleans():
    from reports.base import _cleaned, clean_data

    rng = random.Random(5)
    strings = ["conv2d_1", "dense", 'say "hi"', "back\\slash", "del\x7f", "esc\x1b[31m", "bidi\u202etxt", "é", "\u200b",
               "tab\t", ""]  # fmt: skip

    def value(depth: int = 0):
        pick = rng.random()
        if depth > 3 or pick < 0.4:
            return rng.choice([*strings, 3, 2.5, None, True, b"raw", math.nan])
        if pick < 0.7:
            return rng.choice([list, tuple])(value(depth + 1) for _ in range(rng.randint(0, 3)))
        return {rng.choice([*strings, 7]): value(depth + 1) for _ in range(rng.randint(0, 3))}

    for _ in range(2000):
        data = value()
        assert repr(clean_data(data)) == repr(_cleaned(data))  # repr: types kept, and NaN compares
