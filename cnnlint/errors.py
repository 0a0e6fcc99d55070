"""Errors that cross the pipeline's boundaries.

Every problem with an input file becomes a ``ModelError`` carrying *what* went
wrong, *where* (file, layer) and *what to do*.  The CLI turns it into one line
and exit code 2; nothing else in the pipeline formats errors.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: ASCII needs only its controls escaped (C0 and DEL), the characters ``str.isprintable`` refuses in ASCII text: the
#: common case is two C checks, and this pattern escapes them where there are some.
_ASCII_UNSAFE = re.compile("[\x00-\x1f\x7f]")
#: General categories no file or path may put into a report: controls (Cc: newlines, CR, ESC, C1), format
#: characters (Cf: zero-width, bidi controls, soft hyphen, word joiners, the BOM, U+180E, U+206A-U+206F, the tag
#: characters), lone surrogates (Cs, which no encoder accepts), private-use and unassigned code points (Co, Cn:
#: what they show is unknown), line and paragraph separators (Zl, Zp) and spaces other than ASCII's (Zs).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
#: Unicode's Other_Default_Ignorable_Code_Point (PropList.txt): the default-ignorable code points that are neither
#: format characters nor variation selectors, so that no general category gives them (Hangul fillers U+115F,
#: U+1160, U+3164, U+FFA0, U+034F, Khmer U+17B4-U+17B5, ...).  With Cf and the variation selectors they make up
#: Default_Ignorable_Code_Point; ``tests/test_injection.py`` checks the whole property against Perl's copy.
_OTHER_DEFAULT_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x2065, 0x2065),
                            (0x3164, 0x3164), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0000),
                            (0xE0002, 0xE001F), (0xE0080, 0xE00FF), (0xE01F0, 0xE0FFF))  # fmt: skip


@lru_cache(maxsize=8192)
def hidden(char: str) -> bool:
    """Whether a character must not reach a report as itself: a control, format, separator, unassigned or
    private-use character, a non-ASCII space, a variation selector or any other default-ignorable code point."""
    code = ord(char)
    if code < 0x80:
        return code < 0x20 or code == 0x7F
    if unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return True
    if any(low <= code <= high for low, high in _OTHER_DEFAULT_IGNORABLE):
        return True
    return unicodedata.name(char, "").startswith(("VARIATION SELECTOR", "MONGOLIAN FREE VARIATION SELECTOR"))


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """The one sanitiser for strings from files and paths: unsafe characters become visible escapes.

    Used by every output format (``reports.base.safe_report``), error lines and layer names.  The result has no
    character that can end a line, reorder text, start a terminal escape, hide itself or fail to encode as UTF-8
    (``hidden``, from the Unicode properties of each character).
    """
    if text.isascii():
        return text if text.isprintable() else _ASCII_UNSAFE.sub(lambda match: _escape(match.group()), text)
    return "".join(_escape(char) if hidden(char) else char for char in text)


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
