"""Output formats: one module per format, registered here.

Each module has ``render(reports, options) -> str``.  To add a format, add a
module and a line to ``_MODULES``.

A format whose output is made of one part per model may also have ``model_part(report, options)``: the worker
that linted a model renders its part there (``with_part``), and ``render`` only assembles the parts, so with
``-j2`` the main process neither receives the model graphs nor renders them alone (issue 26).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cnnlint.reports.base import RenderOptions

if TYPE_CHECKING:  # the CLI reads the format names from here; rendering imports the pipeline when it runs
    from cnnlint.pipeline import ModelReport

Renderer = Callable[["list[ModelReport]", RenderOptions], str]


#: format name -> its module under ``cnnlint.reports``
_MODULES = {"text": "text", "json": "json_format", "sarif": "sarif", "github": "github", "markdown": "markdown",
            "html": "html"}  # fmt: skip


def _lazy(name: str, module: str) -> Renderer:
    def render(reports: list[ModelReport], options: RenderOptions) -> str:
        from importlib import import_module

        from cnnlint.reports.base import safe_report

        # every format gets the same neutralised strings: nothing from a file or path reaches it raw.  A model's
        # part rendered by its worker was made from its safe_report there (with_part), and beside its part a format
        # reads only counts: the part is not neutralised twice.
        safe = [r if r.part_for(name) is not None else safe_report(r) for r in reports]
        return import_module(f"cnnlint.reports.{module}").render(safe, options)

    return render


FORMATS: dict[str, Renderer] = {name: _lazy(name, module) for name, module in _MODULES.items()}


def with_part(report: ModelReport, fmt: str, options: RenderOptions) -> ModelReport:
    """``report`` with its part of the ``fmt`` output rendered, and without the graph and facts, which only that
    part reads; unchanged for a format rendered as a whole (Markdown, HTML)."""
    from dataclasses import replace
    from importlib import import_module

    from cnnlint.reports.base import safe_report

    make = getattr(import_module(f"cnnlint.reports.{_MODULES[fmt]}"), "model_part", None)
    if make is None:
        return report
    return replace(report, graph=None, facts=None, part=(fmt, make(safe_report(report), options)))


#: What ``cnnlint confirm`` writes: its text is the run's summary (``confirm_text.py``); the other formats are the
#: lint's, and carry the run in the model section.
CONFIRM_FORMATS: dict[str, Renderer] = {
    "text": _lazy("confirm_text", "confirm_text"),  # a confirm report never carries a part (with_part)
    **{name: FORMATS[name] for name in ("json", "html", "markdown")},
}

#: The format names each command accepts (``inspect`` writes its layer table, ``cnnlint/summary.py``, as text or
#: the same table as JSON).
COMMAND_FORMATS: dict[str, tuple[str, ...]] = {
    "check": tuple(FORMATS),
    "confirm": tuple(CONFIRM_FORMATS),
    "inspect": ("text", "json"),
}

__all__ = ["COMMAND_FORMATS", "CONFIRM_FORMATS", "FORMATS", "RenderOptions", "Renderer", "with_part"]
