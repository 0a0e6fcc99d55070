"""``--format json``: the versioned, documented report schema (see README)."""

from __future__ import annotations

from cnnlint.reports.base import RenderOptions, document, json_text, json_with_lists, model_dict, part_of, slot

from cnnlint.pipeline import ModelReport


def model_part(report: ModelReport, options: RenderOptions) -> str:
    """One entry of ``models``, written."""
    return json_text(model_dict(report), indent=2)


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    models = [part_of(report, "json", model_part, options) for report in reports]
    return json_with_lists(document(reports, models=slot("models")), {"models": models}) + "\n"
