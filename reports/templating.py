"""The Jinja2 environment for the report templates in ``reports/templates``."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined


def environment(*, autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("cnnlint.reports", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
