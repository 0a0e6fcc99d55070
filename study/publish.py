"""Copy the study's results into the documentation: each table between its two marker comments.

Only ``publish`` writes the docs; every number it copies comes from a results file the earlier steps wrote, so
``python -m study publish`` on a clean clone changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .paths import (
    CONFIRM_PAGE,
    FORECAST_EVALUATION,
    NOISE_CEILING,
    RISK_EVALUATION,
    RISK_PAGE,
    STUDY_README,
    TRAINING_LENGTH,
)


@dataclass(frozen=True)
class Table:
    marker: str
    page: Path
    source: Path

    def text(self) -> str:
        if self.marker == "risk-evaluation":
            from .evaluate_risk import markdown_table

            return markdown_table(json.loads(self.source.read_text(encoding="utf-8")))
        text = self.source.read_text(encoding="utf-8")
        if self.marker == "forecast-evaluation":
            return text.split("\n", 2)[2].strip() + "\n"  # without the page title
        return text


TABLES = (
    Table("risk-evaluation", RISK_PAGE, RISK_EVALUATION.with_suffix(".json")),
    Table("forecast-evaluation", CONFIRM_PAGE, FORECAST_EVALUATION.with_suffix(".md")),
    Table("noise-ceiling", STUDY_README, NOISE_CEILING.with_suffix(".md")),
    Table("training-length", STUDY_README, TRAINING_LENGTH),
)


def patched(text: str, marker: str, table: str) -> str:
    start, end = f"<!-- {marker} -->\n", f"<!-- {marker}-end -->"
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"the page needs exactly one {start.strip()} and one {end}")
    head, rest = text.split(start, 1)
    return head + start + table + end + rest.split(end, 1)[1]


def stale_pages() -> list[str]:
    """The tables whose page differs from its results file (what ``publish`` would rewrite)."""
    return [f"{t.page.relative_to(t.page.parents[1])} ({t.marker})" for t in TABLES
            if t.source.exists() and patched(t.page.read_text(encoding="utf-8"), t.marker, t.text())
            != t.page.read_text(encoding="utf-8")]  # fmt: skip


def publish() -> list[Path]:
    changed = []
    for table in TABLES:
        if not table.source.exists():
            continue
        old = table.page.read_text(encoding="utf-8")
        new = patched(old, table.marker, table.text())
        if new != old:
            table.page.write_text(new, encoding="utf-8")
            changed.append(table.page)
    return changed
