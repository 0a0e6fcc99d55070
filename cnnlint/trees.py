"""Gradient-boosted trees exported from scikit-learn to JSON, evaluated in pure Python.

A tree is a dict of node arrays (``feature``, ``threshold``, ``missing_left``, ``left``, ``right``, ``value``); a
leaf has ``left == -1``.  ``study/fit_risk.py`` and ``study/fit_forecast.py`` export them and check that the walk below
reproduces scikit-learn's predictions.  The risk model evaluates its trees as generated functions instead
(``cnnlint.tree_code``); ``walk`` is the reference they are tested against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


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
