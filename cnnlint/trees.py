"""Gradient-boosted trees exported from scikit-learn to JSON, evaluated in pure Python.

A tree is a dict of node arrays (``feature``, ``threshold``, ``missing_left``, ``left``, ``right``, ``value``); a
leaf has ``left == -1``.  ``study/fit_risk.py`` and ``study/fit_forecast.py`` export them and check that the walk below
reproduces scikit-learn's predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: a tree as nested tuples, ``(feature, threshold, missing_left, left, right)`` down to the leaf values: a walk over
#: it does no dict look-ups (``nested``), about five times as fast as ``walk`` over the node arrays
Node = float | tuple


def walk(tree: dict[str, list], row: Sequence[float]) -> float:
    """The leaf value ``row`` reaches; NaN follows ``missing_left``."""
    node = 0
    left, right, feature, threshold, missing_left = (tree[key] for key in ("left", "right", "feature", "threshold",
                                                                            "missing_left"))  # fmt: skip
    while left[node] >= 0:
        x = row[feature[node]]
        go_left = missing_left[node] if math.isnan(x) else x <= threshold[node]
        node = left[node] if go_left else right[node]
    return tree["value"][node]


def ensemble(baseline: float, trees: Sequence[dict[str, list]], row: Sequence[float]) -> float:
    return baseline + sum(walk(tree, row) for tree in trees)


def thresholds(trees: Sequence[dict[str, list]], feature: int) -> list[float]:
    """Every split point on ``feature``, ascending: between two of them the ensemble is constant in it."""
    return sorted({t for tree in trees for f, t, left in zip(tree["feature"], tree["threshold"], tree["left"])
                   if left >= 0 and f == feature})  # fmt: skip


def nested(tree: dict[str, list]) -> Node:
    """``tree`` as nested tuples; built from the last node back, as every child comes after its parent."""
    built: list[Node] = [0.0] * len(tree["left"])
    for node in range(len(built) - 1, -1, -1):
        left = tree["left"][node]
        if left < 0:
            built[node] = tree["value"][node]
        else:
            built[node] = (tree["feature"][node], tree["threshold"][node], bool(tree["missing_left"][node]),
                           built[left], built[tree["right"][node]])  # fmt: skip
    return built[0]


def walk_nested(node: Node, row: Sequence[float]) -> float:
    """What ``walk`` returns, for a tree made by ``nested`` (``x != x``: NaN)."""
    while type(node) is tuple:
        feature, threshold, missing_left, left, right = node
        x = row[feature]
        node = left if x <= threshold or (missing_left and x != x) else right
    return node


def walk_recording(node: Node, row: Sequence[float]) -> tuple[float, dict[int, Node]]:
    """``walk_nested``'s leaf, and for each input the path asks about, the first node that asks: below the nodes
    before it the path is the same whatever that input's value, so a walk with it changed may start there."""
    first: dict[int, Node] = {}
    while type(node) is tuple:
        feature, threshold, missing_left, left, right = node
        first.setdefault(feature, node)
        x = row[feature]
        node = left if x <= threshold or (missing_left and x != x) else right
    return node, first
