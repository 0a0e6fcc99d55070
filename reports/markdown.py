"""``--format markdown``: compact GitHub-flavored Markdown for PR comments and step summaries.

Stays under GitHub's 65,536-character comment limit by leaving out whole
model sections (lowest risk first) and saying so.
"""

from __future__ import annotations

import re

from cnnlint.reports.base import RenderOptions, model_dict, riskiest_first
from cnnlint.reports.data_probes import PROBE_GUIDE
from cnnlint.reports.templating import environment

from cnnlint.pipeline import ModelReport

LIMIT = 60_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md(text: object) -> str:
    """Escape HTML (as entities) and Markdown metacharacters; keep table cells on one line."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def confirm_rows(confirm: dict | None, most: int = 12) -> list[dict]:
    """Rows of the confirm table: measured epochs (thinned to ``most``, last kept), then the forecast path."""
    if not confirm or not confirm.get("history"):
        return []
    from cnnlint.forecast import measured_gaps

    history = confirm["history"]
    gaps = measured_gaps(history)
    step = max(1, -(-len(gaps) // most))
    keep = sorted({*range(0, len(gaps), step), len(gaps) - 1})
    rows = [{"epoch": i + 1, "train": history["accuracy"][i], "val": history["val_accuracy"][i], "gap": gaps[i],
             "band": None} for i in keep]  # fmt: skip
    for point in (confirm.get("forecast") or {}).get("path", []):
        rows.append({"epoch": point["epoch"], "train": None, "val": None, "gap": point["gap"],
                     "band": (point["low"], point["high"])})  # fmt: skip
    return rows


def gap_chart(confirm: dict | None, most: int = 12) -> str | None:
    """A Mermaid line chart (GitHub renders it) of the gap per epoch: measured, then the forecast path with the
    lower and upper ends of its 80 % band as two more lines, which start where the measured gap ends."""
    forecast = (confirm or {}).get("forecast")
    if not forecast or not forecast.get("path") or not confirm.get("history"):
        return None
    from cnnlint.forecast import measured_gaps

    gaps = measured_gaps(confirm["history"])
    step = max(1, -(-len(gaps) // most))
    keep = sorted({*range(0, len(gaps), step), len(gaps) - 1})
    path = forecast["path"]
    epochs = [i + 1 for i in keep] + [p["epoch"] for p in path]
    measured = [gaps[i] for i in keep]
    lines = {key: measured + [p[key] for p in path] for key in ("gap", "low", "high")}
    values = [v for line in lines.values() for v in line]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or 0.05
    what = "observed gap held (the forecaster does not beat it here)" if forecast.get("observed") else "forecast"
    return "\n".join([
        "```mermaid", "xychart-beta",
        f'    title "Gap: measured to epoch {len(gaps)}, then {what} to epoch {forecast["full_epochs"]}, 80 % band"',
        "    x-axis \"epoch\" [" + ", ".join(f'"{e}"' for e in epochs) + "]",
        f'    y-axis "train - validation accuracy" {low - pad:.3f} --> {high + pad:.3f}',
        *(f"    line [{', '.join(f'{v:.4f}' for v in lines[key])}]" for key in ("low", "gap", "high")),
        "```",
    ])  # fmt: skip


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    env = environment(autoescape=False)
    env.filters["md"] = md
    template = env.get_template("report.md.j2")
    models = [model_dict(r, include_layers=False) for r in reports]
    models.sort(key=riskiest_first)
    for m in models:
        m["truncated"] = False
        m["confirm_rows"] = confirm_rows(m.get("confirm"))
        m["confirm_chart"] = gap_chart(m.get("confirm"))
    truncated = 0
    text = template.render(models=models, truncated=truncated, probe_guide=PROBE_GUIDE)
    while len(text) > LIMIT and truncated < len(models):
        models[len(models) - 1 - truncated]["truncated"] = True
        truncated += 1
        text = template.render(models=models, truncated=truncated, probe_guide=PROBE_GUIDE)
    return text
