"""Errors that cross the pipeline's boundaries.

Every problem with an input file becomes a ``ModelError`` carrying *what* went
wrong, *where* (file, layer) and *what to do*.  The CLI turns it into one line
and exit code 2; nothing else in the pipeline formats errors.
"""

from __future__ import annotations

import re

#: Characters a file or path must not put into a report: C0/C1 controls (newlines, CR, ESC), zero-width and
#: bidi controls (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+061C), line and paragraph separators
#: (U+2028, U+2029), word joiners and the BOM, and lone surrogates (from "\\udc80" in JSON or an undecodable
#: file name), which no encoder accepts.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """The one sanitiser for strings from files and paths: unsafe characters become visible escapes.

    Used by every output format (``reports.base.safe_report``), error lines and layer names.  The result has no
    character that can end a line, reorder text, start a terminal escape or fail to encode as UTF-8.
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


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
