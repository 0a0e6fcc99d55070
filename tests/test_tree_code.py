"""The risk model's generated tree functions (cnnlint.tree_code): current with the shipped JSON, equal to walking the
node arrays, compiled at load time when no current module ships, and closed to code from a model file."""

from __future__ import annotations

import ast
import importlib
import json
import math
import random
from pathlib import Path

import pytest

from cnnlint import risk, tree_code
from cnnlint.trees import walk

MODEL = Path(risk.__file__).parent / "data" / "risk_model.json"


def _document() -> tuple[dict, tuple[int, int]]:
    text = MODEL.read_text(encoding="utf-8")
    return json.loads(text), tree_code.fingerprint(text)


@pytest.mark.parametrize("variant", sorted(tree_code.SHIPPED))
def test_the_shipped_modules_are_generated_from_the_shipped_model(variant):
    document, source = _document()
    module = importlib.import_module(tree_code.SHIPPED[variant])
    shipped = Path(module.__file__).read_text(encoding="utf-8")
    assert shipped == tree_code.module_source(variant, document["variants"][variant], source), (
        "regenerate them: python tools/risk_trees.py")
    assert source == module.SOURCE


def _rows(names: tuple[str, ...], ranges: dict, count: int, seed: int) -> list[list[float]]:
    """Random inputs around the study's ranges, some missing (NaN) or infinite, and some on a split point."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = []
        for name in names:
            low, high = ranges[name]
            pick = rng.random()
            row.append(math.nan if pick < 0.05 else rng.choice([-math.inf, math.inf]) if pick < 0.08
                       else rng.uniform(low - 0.5, high + 0.5))  # fmt: skip
        rows.append(row)
    return rows


def _ensembles():
    model = risk.load_model()
    for variant in (model.static, model.with_probes):
        for part in (variant.point.fit, variant.point.held_out, variant.logged_fit):
            yield variant, part


def test_every_function_reaches_the_leaves_walking_the_trees_reaches():
    checked = 0
    for variant, part in _ensembles():
        code = part._code()
        assert code is not None and code.full.__module__.startswith("cnnlint.risk_trees_")  # the shipped module
        rows = _rows(part.names, variant.ranges, 60, 11)
        for tree in part.trees:  # a value on a split point goes left, as in scikit-learn
            point = tree["threshold"][0] if tree["left"][0] >= 0 else None
            if point is not None:
                rows.append([point if j == tree["feature"][0] else rows[0][j] for j in range(len(part.names))])
        for row in rows:
            leaves = [walk(tree, row) for tree in part.trees]
            assert list(code.full(*row)) == leaves
            for column, partial in code.partials.items():
                assert list(partial(*row)) == [leaves[i] for i in part.uses()[column]]
            checked += 1
    assert checked > 600


def test_without_a_current_module_the_same_functions_are_compiled_at_load_time(monkeypatch):
    document, source = _document()
    assert tree_code.shipped("static", "fit", (source[0] ^ 1, source[1])) is None  # another JSON: not used
    shipped_model = risk.load_model()
    examples = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.keras"))
    from cnnlint.analysis import analyze
    from cnnlint.findings import Dataset
    from cnnlint.pipeline import model_graph
    from cnnlint.readers import read_model

    facts = [analyze(model_graph(read_model(path))) for path in examples]
    dataset = Dataset(samples=2000, classes=10)
    with_shipped = [(risk.assess(f, dataset), risk.smallest_low_risk_samples(f, dataset)) for f in facts]
    monkeypatch.setattr(tree_code, "fingerprint", lambda text: (0, 0))  # as if the JSON had been refitted
    risk.load_model.cache_clear()
    try:
        compiled_model = risk.load_model()
        for shipped, compiled in ((shipped_model.static, compiled_model.static),
                                  (shipped_model.with_probes, compiled_model.with_probes)):  # fmt: skip
            for ours, theirs in ((shipped.point.fit, compiled.point.fit), (shipped.point.held_out,
                                 compiled.point.held_out), (shipped.logged_fit, compiled.logged_fit)):  # fmt: skip
                assert ours._code().full.__module__.startswith("cnnlint.risk_trees_")
                assert theirs._code().full.__code__.co_filename == "<risk trees>"  # compiled here, not shipped
                for row in _rows(ours.names, shipped.ranges, 30, 5):
                    assert theirs._code().full(*row) == ours._code().full(*row)
                    for column, partial in ours._code().partials.items():
                        assert theirs._code().partials[column](*row) == partial(*row)
        assert [(risk.assess(f, dataset), risk.smallest_low_risk_samples(f, dataset)) for f in facts] == with_shipped
    finally:
        risk.load_model.cache_clear()


def test_functions_generated_for_other_trees_are_not_used():
    """A module whose fingerprint matches but whose trees split elsewhere (a forged or colliding CRC) is compiled
    over, not trusted: each ensemble's functions carry which trees split on which input."""
    part = risk.load_model().static.point.fit
    other = risk.load_model().static.point.held_out
    impostor = risk.Trees(part.names, part.baseline, part.trees, shipped=lambda: other._code())
    assert impostor._code() is not other._code()
    row = [0.5] * len(part.names)
    assert list(impostor._code().full(*row)) == [walk(tree, row) for tree in part.trees]


def test_a_model_file_cannot_put_code_into_the_generated_source():
    tree = {"feature": [0, 0, 0], "threshold": [0.5, 0.0, 0.0], "missing_left": [1, 0, 0], "left": [1, -1, -1],
            "right": [2, -1, -1], "value": [0.0, -1.0, 2.0]}  # fmt: skip
    assert tree_code.compile_ensemble([tree], 1).full(0.2) == (-1.0,)
    assert tree_code.compile_ensemble([tree], 1).full(math.nan) == (-1.0,)  # missing goes left here
    for key, bad in [("threshold", "__import__('os').system('true')"), ("value", "1); import os; (")]:
        hostile = {**tree, key: [bad, 0.0, 0.0] if key == "threshold" else [0.0, bad, 2.0]}
        with pytest.raises(ValueError):
            risk._checked_trees([hostile], 1)
    # what the generator writes is only numbers, x-names, inf/nan and conditional expressions
    source = "\n".join(tree_code.functions("part", [tree, {**tree, "threshold": [math.inf, 0, 0]}], 1, True))
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    assert names <= {"x0", "inf", "nan", "Compiled", "PART", "part", "part_0"}
    assert tree_code.compile_ensemble([{**tree, "threshold": [math.inf, 0, 0]}], 1).full(1e308) == (-1.0,)


def _chain(levels: int) -> dict[str, list]:
    """A tree of ``levels`` inner nodes in a row: node 2l asks, its right child 2l+1 is a leaf, its left the next."""
    size = 2 * levels + 1
    left, right = [-1] * size, [-1] * size
    for level in range(levels):
        left[2 * level], right[2 * level] = 2 * level + 2, 2 * level + 1
    return {"feature": [0] * size, "threshold": [float(-level) for level in range(size)], "missing_left": [0] * size,
            "left": left, "right": right, "value": [float(i) for i in range(size)]}  # fmt: skip


def test_trees_deeper_than_the_generator_writes_are_refused():
    deepest = _chain(tree_code.MAX_DEPTH)
    assert risk._checked_trees([deepest], 1) == (deepest,)
    assert tree_code.compile_ensemble([deepest], 1).full(-100.0) == (walk(deepest, [-100.0]),)
    with pytest.raises(ValueError):
        risk._checked_trees([_chain(tree_code.MAX_DEPTH + 1)], 1)


def test_shared_subtrees_and_numbers_a_float_cannot_hold_are_refused():
    """Written out, a node reached from two parents would be written twice: a chain of them grows as 2^depth (a
    JSON of a few KB, source of terabytes).  Only trees whose every node has one parent are accepted."""
    levels = 30
    size = levels + 1
    shared = {"feature": [0] * size, "threshold": [0.0] * size, "missing_left": [0] * size,
              "left": [i + 1 if i < levels else -1 for i in range(size)],
              "right": [i + 1 if i < levels else -1 for i in range(size)], "value": [0.0] * size}  # fmt: skip
    with pytest.raises(ValueError):
        risk._checked_trees([shared], 1)
    diamond = {"feature": [0, 0, 0, 0], "threshold": [0.0] * 4, "missing_left": [0] * 4, "left": [1, 3, 3, -1],
               "right": [2, 3, 3, -1], "value": [0.0] * 4}  # fmt: skip
    with pytest.raises(ValueError):
        risk._checked_trees([diamond], 1)
    stump = {"feature": [0, 0, 0], "threshold": [0.5, 0.0, 0.0], "missing_left": [0, 0, 0], "left": [1, -1, -1],
             "right": [2, None, None], "value": [0.0, 1.0, 2]}  # fmt: skip
    assert risk._checked_trees([stump], 1) == (stump,)  # a leaf's right is never read; an int leaf is a number
    assert tree_code.compile_ensemble([stump], 1).full(0.7) == (2.0,)
    with pytest.raises(ValueError):
        risk._checked_trees([{**stump, "value": [0.0, 10**400, 2.0]}], 1)
