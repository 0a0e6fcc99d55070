"""``cnnlint confirm --format text``: the model's risk line, then the run: what was trained, the measured and
forecast gap, the curves as sparklines, the verdict, the probe and the notes."""

from __future__ import annotations

from typing import Any

from cnnlint.reports.base import RenderOptions
from cnnlint.reports.text import risk_line

from cnnlint.forecast import measured_gaps
from cnnlint.pipeline import ModelReport

_SPARKS = "▁▂▃▄▅▆▇█"


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    return "".join(risk_line(r, options) + "\n" + run_text(r.confirm) for r in reports if r.confirm is not None)


def sparkline(values: list[float], low: float, high: float) -> str:
    span = max(high - low, 1e-9)
    return "".join(_SPARKS[min(max(int((v - low) / span * len(_SPARKS)), 0), len(_SPARKS) - 1)] for v in values)


def curve_lines(run: dict[str, Any]) -> list[str]:
    """The measured curves as sparklines and the gap's forecast continuation as numbers."""
    h = run["history"]
    gaps = measured_gaps(h)
    if not gaps:
        return []
    lines = [f"curves, epochs 1 to {len(gaps)} (accuracy 0 to 1; gap {min(gaps):+.2f} to {max(gaps):+.2f}):",
             f"  train accuracy       {sparkline(h['accuracy'], 0, 1)}",
             f"  validation accuracy  {sparkline(h['val_accuracy'], 0, 1)}",
             f"  gap{' (inference mode)' if 'train_eval_accuracy' in h else '                 '} "
             f"{sparkline(gaps, min(gaps), max(gaps))}"]  # fmt: skip
    if run["forecast"]:
        steps = " · ".join(f"{p['epoch']}: {p['gap']:.2f} ({p['low']:.2f} to {p['high']:.2f})"
                           for p in run["forecast"]["path"])  # fmt: skip
        lines.append(f"  forecast gap (80 % band) at epoch  {steps}")
    return lines


def run_text(run: dict[str, Any]) -> str:
    """A confirm run (``ConfirmResult.to_dict()``) as the lines ``cnnlint confirm`` prints."""
    epochs = run["epochs_run"]
    planned = f" of {run['planned_epochs']} planned" if run["planned_epochs"] != epochs else ""
    lines = [
        f"trained {epochs}{planned} epoch{'s' if epochs != 1 else ''} of a "
        f"{run['full_epochs']}-epoch run{' (assumed)' if run['full_epochs_assumed'] else ''} on "
        f"{run['train_samples']:,} samples ({run['backend']} backend, {run['device']}) in {run['seconds']:.1f} s",
        f"now: train accuracy {run['train_accuracy']:.3f}, validation accuracy {run['val_accuracy']:.3f}, "
        f"gap {run['measured_gap']:.3f} (trend {run['gap_trend']:+.3f} per epoch)",
    ]
    f = run["forecast"]
    if f and f.get("observed"):
        lines.append(f"forecast: none better than the gap observed so far, {f['gap']:.3f} (80 % band at epoch "
                     f"{f['full_epochs']}: {f['interval'][0]:.3f} to {f['interval'][1]:.3f}, as the observed gap "
                     "moved in the study's held-out runs)")  # fmt: skip
    elif f:
        lines.append(f"forecast: gap at epoch {f['full_epochs']} {f['gap']:.3f} (80 % interval {f['interval'][0]:.3f} "
                     f"to {f['interval'][1]:.3f}), from the first {f['epochs_done']} epochs")  # fmt: skip
    lines += curve_lines(run)
    lines.append(run["verdict_text"])
    if run["probe"]:
        p = run["probe"]
        ratio = "n/a" if p["memorization_ratio"] is None else f"{p['memorization_ratio']:.2f}"
        lines.append(f"probe: shuffled labels reach {p['random_label_train_accuracy']:.3f} train accuracy in the same "
                     f"{p['epochs']} epochs (chance {p['chance']:.3f}); memorization ratio {ratio} "
                     "(1 = fits noise as fast as real labels)")  # fmt: skip
    lines += [f"note: {n}" for n in run["notes"]]
    return "\n".join(lines) + "\n"
