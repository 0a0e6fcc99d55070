"""The data probes (``--data``) as every format shows them: a plain dict and one compact line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlint.errors import printable

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes


def probes_dict(probes: DataProbes | None) -> dict[str, Any] | None:
    if probes is None:
        return None
    return {
        "source": probes.source,
        "samples": probes.samples,
        "classes": probes.classes,
        "input_shape": list(probes.input_shape),
        "probed": probes.probed,
        "knn_accuracy": _round(probes.knn_accuracy),
        "linear_accuracy": _round(probes.linear_accuracy),
        "chance": _round(probes.majority_share),
        "majority_share": _round(probes.majority_share),
        "class_balance": _round(probes.class_balance),
        "duplicate_fraction": _round(probes.duplicate_fraction),
        "exact_duplicate_fraction": _round(probes.exact_duplicate_fraction),
        "conflicting_duplicate_fraction": _round(probes.conflicting_duplicate_fraction),
        "scanned": probes.scanned,
        "notes": list(probes.notes),
    }


def probes_line(probes: DataProbes) -> str:
    """'n=50,000, 10 classes, 32x32x3; 1-NN 0.35, linear 0.41 (chance 0.10); balance 1.00; duplicates 0.2% ...'"""

    def accuracy(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    shape = "x".join(map(str, probes.input_shape))
    text = (
        f"n={probes.samples:,}, {probes.classes} classes, {shape}; "
        f"1-NN accuracy {accuracy(probes.knn_accuracy)}, linear {accuracy(probes.linear_accuracy)} "
        f"(chance {probes.majority_share:.2f}, {probes.probed:,} probed); class balance {probes.class_balance:.2f}; "
        f"duplicates {probes.duplicate_fraction:.1%} ({probes.conflicting_duplicate_fraction:.1%} with another label)"
    )
    if probes.notes:
        text += "; " + "; ".join(probes.notes)
    return printable(text)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
