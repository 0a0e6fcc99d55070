"""``--format html``: one self-contained page (inline CSS and SVG, no scripts, no network) per run.

Autoescaping is on: layer names come from untrusted files.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cnnlint.reports.base import RenderOptions, model_dict, riskiest_first, sorted_findings
from cnnlint.reports.charts import capacity_split, forecast_chart, parameter_bars, receptive_field_curve
from cnnlint.reports.data_probes import PROBE_GUIDE
from cnnlint.reports.fixes import suggest
from cnnlint.reports.templating import environment

from cnnlint import __version__
from cnnlint.pipeline import ModelReport

CATEGORY_TITLES = {
    "depth": "Depth", "width": "Width and capacity", "kernel": "Kernel size", "head": "Dense head",
    "regularization": "Regularization", "data": "Data", "safety": "Safety",
}  # fmt: skip


#: A finding's heading names at most this many layers, then says how many more (ResNet50's C103 has 45).
LAYERS_SHOWN = 5


def _view(report: ModelReport) -> dict[str, Any]:
    view = model_dict(report)
    # stable across runs (hash() is salted per process), so regenerated reports diff cleanly
    view["anchor"] = "model-" + hashlib.sha256(report.path.encode()).hexdigest()[:10]
    if report.graph is None or report.facts is None:
        return view
    groups: dict[str, list] = {}
    for finding in sorted_findings(report.findings):
        groups.setdefault(CATEGORY_TITLES.get(finding.category, finding.category.title()), []).append(finding)
    bars, hidden = parameter_bars(report.graph, report.facts)
    rf_chart = receptive_field_curve(report.graph, report.facts)
    view.update(
        groups=groups,
        bars=bars,
        hidden_bars=hidden,
        rf_chart=rf_chart,
        input_size=max(report.facts.input_spatial) if report.facts.input_spatial else None,
        split=capacity_split(report.graph, report.facts),
        suggestion=suggest(report.graph, report.findings),
        curves=_learning_curves(report.confirm),
        gap_chart=forecast_chart(report.confirm),
    )
    return view


def _learning_curves(confirm: dict[str, Any] | None) -> dict[str, Any] | None:
    """Polyline points for train/val accuracy and loss per epoch, from a confirm run."""
    if not confirm or not confirm.get("history"):
        return None
    history = confirm["history"]
    epochs = len(history.get("accuracy", []))
    if epochs < 1:
        return None

    def points(values: list[float], top: float) -> str:
        step = 1 / max(epochs - 1, 1)
        return " ".join(f"{i * step * 560 + 40:.1f},{180 - (v / top) * 160:.1f}" for i, v in enumerate(values))

    loss_top = max([*history.get("loss", [1]), *history.get("val_loss", [1]), 1e-9])
    return {
        "train_acc": points(history.get("accuracy", []), 1.0),
        "val_acc": points(history.get("val_accuracy", []), 1.0),
        "train_loss": points(history.get("loss", []), loss_top),
        "val_loss": points(history.get("val_loss", []), loss_top),
        "loss_top": loss_top,
        "epochs": epochs,
    }


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    env = environment(autoescape=True)
    views = [_view(r) for r in reports]
    views.sort(key=riskiest_first)
    return env.get_template("report.html.j2").render(models=views, version=__version__, LAYERS_SHOWN=LAYERS_SHOWN,
                                                     probe_guide=PROBE_GUIDE)
