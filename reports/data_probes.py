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
        "patch_accuracy": _round(probes.patch_accuracy),
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
    """'n=50,000, 10 classes, 32x32x3; 1-NN 0.26, linear 0.32, patch features 0.52 (chance 0.10); balance ...'"""

    def accuracy(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    shape = "x".join(map(str, probes.input_shape))
    text = (
        f"n={probes.samples:,}, {probes.classes} classes, {shape}; "
        f"1-NN accuracy {accuracy(probes.knn_accuracy)}, linear {accuracy(probes.linear_accuracy)}, "
        f"patch features {accuracy(probes.patch_accuracy)} "
        f"(chance {probes.majority_share:.2f}, {probes.probed:,} probed); class balance {probes.class_balance:.2f}; "
        f"duplicates {probes.duplicate_fraction:.1%} ({probes.conflicting_duplicate_fraction:.1%} with another label)"
    )
    if probes.notes:
        text += "; " + "; ".join(probes.notes)
    return printable(text)


#: what each probe is good for, as the reports say it (measured per source in study/README.md, "Probes")
PROBE_GUIDE = (
    "1-NN: data where near-identical examples share a label (drawn shapes, digits, duplicates); "
    "linear: data whose raw values separate the classes; "
    "patch features (single-layer k-means, Coates et al. 2011): natural photos, where raw pixels underrate a CNN"
)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
