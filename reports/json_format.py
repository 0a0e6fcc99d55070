"""``--format json``: the versioned, documented report schema (see README)."""

from __future__ import annotations

from cnnlint.reports.base import RenderOptions, document, json_text

from cnnlint.pipeline import ModelReport


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    return json_text(document(reports), indent=2, sort_keys=False) + "\n"
