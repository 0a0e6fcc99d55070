"""``--format markdown``: compact GitHub-flavored Markdown for PR comments and step summaries.

Stays under GitHub's 65,536-character comment limit by leaving out whole
model sections (lowest risk first) and saying so.
"""

from __future__ import annotations

import re

from cnnlint.reports.base import RenderOptions, model_dict, riskiest_first
from cnnlint.reports.templating import environment

from cnnlint.pipeline import ModelReport

LIMIT = 60_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md(text: object) -> str:
    """Escape HTML (as entities) and Markdown metacharacters; keep table cells on one line."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    env = environment(autoescape=False)
    env.filters["md"] = md
    template = env.get_template("report.md.j2")
    models = [model_dict(r, include_layers=False) for r in reports]
    models.sort(key=riskiest_first)
    for m in models:
        m["truncated"] = False
    truncated = 0
    text = template.render(models=models, truncated=truncated)
    while len(text) > LIMIT and truncated < len(models):
        models[len(models) - 1 - truncated]["truncated"] = True
        truncated += 1
        text = template.render(models=models, truncated=truncated)
    return text
