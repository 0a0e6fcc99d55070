"""scikit-learn's fitted gradient-boosted trees as the node arrays ``cnnlint.trees`` walks.

scikit-learn keeps the trees in private attributes (``model._predictors``), so every caller checks that the walk
reproduces scikit-learn's own predictions before it writes a model file.
"""

from __future__ import annotations


def export_tree(predictor, digits: int | None = 7) -> dict[str, list]:
    """One fitted tree (a ``TreePredictor``); the fields a walk does not read at a leaf (or at a split, the value)
    are zero, and leaf values are rounded to ``digits`` (None: exact), which keeps the JSON small."""
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "feature": [0 if is_leaf else int(v) for v, is_leaf in zip(nodes["feature_idx"], leaf)],
        "threshold": [0.0 if is_leaf else float(v) for v, is_leaf in zip(nodes["num_threshold"], leaf)],
        "missing_left": [0 if is_leaf else int(v) for v, is_leaf in zip(nodes["missing_go_to_left"], leaf)],
        "left": [-1 if is_leaf else int(v) for v, is_leaf in zip(nodes["left"], leaf)],
        "right": [-1 if is_leaf else int(v) for v, is_leaf in zip(nodes["right"], leaf)],
        "value": [(float(v) if digits is None else round(float(v), digits)) if is_leaf else 0.0
                  for v, is_leaf in zip(nodes["value"], leaf)],
    }


def export_ensemble(model, digits: int | None = 7) -> list[dict[str, list]]:
    """Every tree of a fitted single-output ``HistGradientBoostingRegressor``."""
    return [export_tree(tree[0], digits) for tree in model._predictors]
