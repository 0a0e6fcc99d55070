"""How well can anything rank the measured gap?  Two trainings of the same spec, compared.

    python -m study generate replicates     # retrain v2 runs with a second training seed
    python -m study evaluate                # writes study/results/noise_ceiling.{json,md} and training_length.md
    python -m study publish                 # copies both tables into study/README.md

A replicate keeps a corpus run's data, labels, architecture and epochs and changes only the training seed
(initial weights, shuffling, dropout masks).  The gap it ends with differs from the original's by seed noise
alone.  The Kendall tau between the two gaps is how well one measured gap ranks another measurement of the
same spec: a predictor that knew each spec's expected gap exactly would rank a single measured gap at about
this tau (a little higher, since it carries no noise of its own).  So it is an approximate ceiling for the
risk model's held-out tau, and the place to read the issue's target of tau >= 0.5 against.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from . import records
from .generate import optimizer_steps
from .paths import REPLICATES, V2, V3_RERUNS


def load(folder: Path) -> dict[int, dict]:
    return {record["id"]: record for record in records.trained(folder)}


def pairs(folder: Path = REPLICATES) -> list[tuple[dict, dict]]:
    originals, others = load(V2), load(folder)
    return [(originals[i], others[i]) for i in sorted(others) if i in originals]


def fits_training_set(run: dict) -> bool:
    """Training accuracy (inference mode) within 5 % of the most its labels allow (1 - label noise)."""
    return run["train_acc"] >= 0.95 * (1 - run["spec"].get("label_noise", 0.0))


def training_length_table() -> str:
    """Corpus runs against the same runs (same seed) trained for at least ``min_steps`` optimizer steps."""
    matched = pairs(V3_RERUNS)
    if not matched:
        return ""
    lines = ["| n | runs | optimizer steps (corpus -> longer) | fit their training set | mean gap | "
             "mean gap change | Kendall τ between the two gaps |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for n in sorted({o["spec"]["n"] for o, _ in matched}):
        group = [(o, r) for o, r in matched if o["spec"]["n"] == n]
        a, b = np.array([o["gap"] for o, _ in group]), np.array([r["gap"] for _, r in group])
        steps = [sorted({optimizer_steps(run) for run in side})
                 for side in zip(*group)]  # fmt: skip
        fits = [np.mean([fits_training_set(run) for run in side]) for side in zip(*group)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = kendalltau(a, b).statistic if len(group) > 2 else float("nan")
        lines.append(f"| {n} | {len(group)} | {steps[0][0]}-{steps[0][-1]} -> {steps[1][0]}-{steps[1][-1]} | "
                     f"{fits[0]:.0%} -> {fits[1]:.0%} | {a.mean():.3f} -> {b.mean():.3f} | {np.mean(b - a):+.3f} | "
                     f"{'' if np.isnan(tau) else round(float(tau), 2)} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def summary(matched: list[tuple[dict, dict]]) -> dict:
    a = np.array([o["gap"] for o, _ in matched])
    b = np.array([r["gap"] for _, r in matched])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = kendalltau(a, b).statistic
    return {
        "pairs": len(matched),
        "kendall_tau": None if np.isnan(tau) else round(float(tau), 3),
        "mean_abs_difference": round(float(np.mean(np.abs(a - b))), 4),
        "share_differing_by_over_0.10": round(float(np.mean(np.abs(a - b) > 0.10)), 3),
    }


def evaluate() -> tuple[dict, str, str]:
    """The noise ceiling (JSON and its table) and the training-length table, from the replicates and reruns."""
    matched = pairs()
    groups = {"all": matched}
    for source in sorted({o["spec"]["dataset"] for o, _ in matched}):
        groups[source] = [(o, r) for o, r in matched if o["spec"]["dataset"] == source]
    groups["n <= 200"] = [(o, r) for o, r in matched if o["spec"]["n"] <= 200]
    groups["n >= 500"] = [(o, r) for o, r in matched if o["spec"]["n"] >= 500]
    result = {name: summary(group) for name, group in groups.items() if len(group) >= 8}
    lines = ["| runs | pairs | Kendall τ between the two gaps | mean abs. difference | share differing by > 0.10 |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, row in result.items():
        lines.append(f"| {name} | {row['pairs']} | {row['kendall_tau']} | {row['mean_abs_difference']} | "
                     f"{row['share_differing_by_over_0.10']} |")  # fmt: skip
    return result, "\n".join(lines) + "\n", training_length_table()
