"""Output formats: one module per format, registered here.

Each module has ``render(reports, options) -> str``.  To add a format, add a
module and a line to ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cnnlint.reports.base import RenderOptions

if TYPE_CHECKING:  # the CLI reads the format names from here; rendering imports the pipeline when it runs
    from cnnlint.pipeline import ModelReport

Renderer = Callable[["list[ModelReport]", RenderOptions], str]


def _lazy(module: str) -> Renderer:
    def render(reports: list[ModelReport], options: RenderOptions) -> str:
        from importlib import import_module

        from cnnlint.reports.base import safe_report

        # every format gets the same neutralised strings: nothing from a file or path reaches it raw
        return import_module(f"cnnlint.reports.{module}").render([safe_report(r) for r in reports], options)

    return render


FORMATS: dict[str, Renderer] = {
    "text": _lazy("text"),
    "json": _lazy("json_format"),
    "sarif": _lazy("sarif"),
    "github": _lazy("github"),
    "markdown": _lazy("markdown"),
    "html": _lazy("html"),
}

#: What ``cnnlint confirm`` writes: its text is the run's summary (``confirm_text.py``); the other formats are the
#: lint's, and carry the run in the model section.
CONFIRM_FORMATS: dict[str, Renderer] = {
    "text": _lazy("confirm_text"),
    **{name: FORMATS[name] for name in ("json", "html", "markdown")},
}

#: The format names each command accepts (``inspect`` writes its layer table, ``cnnlint/summary.py``, as text or
#: the same table as JSON).
COMMAND_FORMATS: dict[str, tuple[str, ...]] = {
    "check": tuple(FORMATS),
    "confirm": tuple(CONFIRM_FORMATS),
    "inspect": ("text", "json"),
}

__all__ = ["COMMAND_FORMATS", "CONFIRM_FORMATS", "FORMATS", "RenderOptions", "Renderer"]
