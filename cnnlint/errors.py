"""Errors that cross the pipeline's boundaries.

Every problem with an input file becomes a ``ModelError`` carrying *what* went
wrong, *where* (file, layer) and *what to do*.  The CLI turns it into one line
and exit code 2; nothing else in the pipeline formats errors.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Escape control characters (newlines, ANSI escapes) that came from an untrusted file."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class CnnlintError(Exception):
    """Base class of every error cnnlint reports as one line with exit 2."""

    def __init__(self, message: str, *, where: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def one_line(self) -> str:
        parts = [f"{self.where}: " if self.where else "", self.message]
        if self.hint:
            parts.append(f" ({self.hint})")
        return printable("".join(parts))

    def __str__(self) -> str:
        return self.one_line()


class ModelError(CnnlintError):
    """The model file is unreadable, malformed or not a Keras model."""


class ConfigError(CnnlintError):
    """The cnnlint configuration or a command-line value is wrong."""
