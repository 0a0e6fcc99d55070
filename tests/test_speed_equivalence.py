"""The speed work's shortcuts (issue 26) give exactly what the plain computations give: the nested-tuple tree walk,
the varied-input and reused-leaf evaluations of the risk model, and the indented JSON writer."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from cnnlint.analysis import analyze
from cnnlint.findings import Dataset
from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from cnnlint.risk import SIZE_GRID, assess, level_at, load_model
from cnnlint.trees import nested, walk, walk_nested, walk_recording
from reports.base import json_text


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


def test_nested_walks_reach_the_leaf_the_node_arrays_do():
    trees = load_model().static.point.fit
    for x in _rows(load_model().static, 50, 1):
        row = [x[n] for n in trees.names]
        for tree in trees.trees:
            node = nested(tree)
            assert walk_nested(node, row) == walk(tree, row) == walk_recording(node, row)[0]


def _varied_by_walking_every_tree(part, x: dict[str, float], name: str, values: list[float]) -> list[float]:
    """``Trees.varying`` as it was before issue 26: every tree that splits on ``name`` walked for every value."""
    row = [x[n] for n in part.names]
    base = [walk(tree, row) for tree in part.trees]
    column = part.names.index(name)
    moving = part._trees_using()[column]
    fixed = part.baseline + sum(base) - sum(base[i] for i in moving)
    out = []
    for value in values:
        row[column] = value
        out.append(fixed + sum(walk(part.trees[i], row) for i in moving))
    return out


def test_varied_and_reused_evaluations_equal_walking_every_tree():
    for variant in (load_model().static, load_model().with_probes):
        rows = _rows(variant, 12, 2)
        for part in (variant.point.fit, variant.point.held_out):
            for x, other in zip(rows, rows[1:]):
                for name in part.names:
                    values = [v for v, _ in variant.reference.get(name, ())] + [x[name] - 0.3, math.nan]
                    assert part.varying(x, name, values) == _varied_by_walking_every_tree(part, x, name, values)
                # per_tree after a varied row reuses the leaves of trees whose path did not ask about what changed
                assert part.per_tree(other) == [walk(tree, [other[n] for n in part.names]) for tree in part.trees]


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
