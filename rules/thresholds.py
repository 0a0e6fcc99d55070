"""Budgets that scale with the training set, shared by the capacity rules.

These are heuristics, marked *provisional* in every rule's documentation:
they encode common practice for training from scratch, not a fitted law.
The calibrated number is the risk model's (``cnnlint/risk.py``), which is
fitted to measured training runs.  Change a budget here and every rule that
uses it follows.
"""

from __future__ import annotations

import math


def depth_budget(n: int, residual: bool) -> float:
    """Weight layers on the longest path that n samples support.

    ``3 * log2(n / 100)``: about 10 at n = 1,000, 27 at 50,000 (CIFAR) and 40
    at 1,000,000.  Skip connections double it (ResNets train well far deeper).
    """
    budget = 3 * math.log2(max(n, 100) / 100)
    return max(budget, 3.0) * (2 if residual else 1)


def width_budget(n: int) -> float:
    """Filters/units per layer that n samples support: ``72 * sqrt(n / 1000)``.

    About 72 at n = 1,000, 510 at 50,000 and 2,280 at 1,000,000.
    """
    return 72 * math.sqrt(n / 1000)


def samples_per_class_needed(pixels: int) -> float:
    """Training samples per class below which the input resolution is a risk: ``3 * sqrt(pixels)``.

    84 per class at 28x28, 96 at 32x32, 672 at 224x224.
    """
    return 3 * math.sqrt(pixels)


#: P / (n x classes) at which a model can memorize every label (C106 warns above it).
MEMORIZATION_RATIO = 1.0
#: Below this P / (n x classes), missing-regularization rules stay silent.
REGULARIZATION_RATIO_FLOOR = 0.05


def regularization_severity(ratio: float | None) -> str | None:
    """Severity of a missing regularizer, or None when the data dwarfs the model."""
    if ratio is None or ratio >= MEMORIZATION_RATIO:
        return "warning"
    if ratio >= REGULARIZATION_RATIO_FLOOR:
        return "info"
    return None


def assumed_data_note(ratio: float | None) -> str:
    """What a finding says when it was judged without a training-set size, and where to give one."""
    if ratio is not None:
        return ""
    return f" (no training-set size given: judged as if it were small; {how_to_give_samples()})"


def how_to_give_samples() -> str:
    """Where the training-set size goes: the API's argument, or the CLI's option and the config keys."""
    from cnnlint.wording import in_api_call

    if in_api_call():
        return "pass samples=N"
    return "pass --samples N, or set samples = N in [tool.cnnlint] or per model in [[tool.cnnlint.models]]"
