"""``--format json``: the versioned, documented report schema (see README)."""

from __future__ import annotations

import json

from cnnlint.reports.base import RenderOptions, document

from cnnlint.pipeline import ModelReport


def render(reports: list[ModelReport], options: RenderOptions) -> str:
    return json.dumps(document(reports), indent=2, sort_keys=False) + "\n"
