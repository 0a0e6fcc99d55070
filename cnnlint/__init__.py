"""cnnlint: a static overfitting linter for Keras convolutional networks.

Public API::

    import cnnlint
    report = cnnlint.check(model, samples=2000)      # a live keras.Model, a path or a config dict
    report = cnnlint.check(model, data=(x, y))       # ... with data probes (report.probes)
    report.risk, report.findings, report.graph
    report.to_html(), report.to_markdown(), report.to_json(), report.to_sarif()
    result = cnnlint.confirm(model, x, y, samples=2000)   # a short training run (needs Keras)

Bad arguments raise ``cnnlint.ConfigError`` (the CLI's message, worded with the API's argument names), a model
that cannot be read ``cnnlint.ModelError``; both are ``cnnlint.CnnlintError``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["check", "confirm", "Report", "CnnlintError", "ConfigError", "ModelError", "__version__"]

if TYPE_CHECKING:
    from cnnlint.api import Report


def _find_checkout_subpackages() -> None:
    """Let ``cnnlint.rules`` and ``cnnlint.reports`` resolve when Python runs from a source checkout.

    A wheel and an editable install put ``rules/`` and ``reports/`` inside the package (pyproject's package-dir).
    In a checkout they sit beside ``cnnlint/``, and a ``cnnlint/`` found first on sys.path (the current folder)
    would shadow the installed package without them. Adding the checkout's root to this package's search path
    finds them there, the mechanism ``pkgutil``-style namespace extension uses.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isfile(os.path.join(here, "rules", "__init__.py")):
        return
    root = os.path.dirname(here)
    beside = all(os.path.isfile(os.path.join(root, sub, "__init__.py")) for sub in ("rules", "reports"))
    if beside and root not in __path__:
        __path__.append(root)


_find_checkout_subpackages()


def check(model_or_path: Any, samples: int | None = None, classes: int | None = None, augmented: bool = False,
          select: list[str] | None = None, ignore: list[str] | None = None, data: Any = None,
          training_steps: int | None = None) -> Report:  # fmt: skip
    """Lint a live ``keras.Model``, a model file or folder, or a config dict; see ``cnnlint.api.check``."""
    from cnnlint.api import check as _check

    return _check(model_or_path, samples=samples, classes=classes, augmented=augmented, select=select, ignore=ignore,
                  data=data, training_steps=training_steps)  # fmt: skip


def confirm(model_or_path: Any, x: Any, y: Any, **options: Any) -> Any:
    """Train a fresh copy briefly on ``x``/``y`` and compare with the static estimate; see
    ``cnnlint.confirmation.confirm_arrays``."""
    from cnnlint.confirmation import confirm_arrays

    return confirm_arrays(model_or_path, x, y, **options)


def __getattr__(name: str) -> Any:
    if name == "Report":
        from cnnlint.api import Report

        return Report
    if name in ("CnnlintError", "ConfigError", "ModelError"):
        from cnnlint import errors

        return getattr(errors, name)
    raise AttributeError(name)
