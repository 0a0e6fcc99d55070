"""How an option is worded in a message: ``--val-split 0.2`` on the command line, ``val_split=0.2`` in Python.

A leaf module (it imports nothing of cnnlint), so that the pipeline and the rules can word their messages without
importing the configuration, which imports the output formats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

#: Set while the Python API runs, so that messages name its parameters (``val_split=``), not the CLI's flags.
_API_CALL: ContextVar[bool] = ContextVar("cnnlint_api_call", default=False)


@contextlib.contextmanager
def api_call() -> Iterator[None]:
    """Within this block, ``option`` words options the way the Python API's keyword arguments are written."""
    token = _API_CALL.set(True)
    try:
        yield
    finally:
        _API_CALL.reset(token)


def in_api_call() -> bool:
    """Whether the Python API, not the command line, is running (see ``api_call``)."""
    return _API_CALL.get()


def option(key: str, value: Any = None) -> str:
    """An option as the user wrote it: ``--val-split 0.2`` on the command line, ``val_split=0.2`` in Python."""
    if _API_CALL.get():
        name = key.replace("-", "_")
        return name if value is None else f"{name}={value!r}"
    name = "--" + key.replace("_", "-")
    return name if value is None else f"{name} {value}"


def flag(key: str) -> str:
    """An on/off option switched on: ``--trust-code`` on the command line, ``trust_code=True`` in Python."""
    return f"{key.replace('-', '_')}=True" if _API_CALL.get() else "--" + key.replace("_", "-")
