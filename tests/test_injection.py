"""Strings from files and paths reach no output format raw: no forged lines, no bidi tricks, no crashes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import pytest

from cnnlint.errors import printable
from tests.conftest import REPO, run_cli

#: a newline that forges a GitHub workflow command, CR, ESC, bidi override, line separator, lone surrogate
HOSTILE = "x\n::error title=forged::pwned\r\x1b[31m\u202e\u2028\udc80"
#: invisible: Hangul fillers, the combining grapheme joiner, the Mongolian vowel separator, deprecated format
#: characters, the soft hyphen, tag characters (which spell hidden ASCII) and a variation selector
INVISIBLE = "\u115f\u1160\u3164\uffa0\u034f\u180e\u206a\u206f\u00ad\U000e0001\U000e0041\U000e007f\ufe0f"


class _Unsafe:
    """What no output may hold: the controls this file has always listed, and (``search``) any character the Unicode
    data calls a control, format, separator, private-use or unassigned character, or default-ignorable."""

    LISTED = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")

    def search(self, text: str):
        found = self.LISTED.search(text)
        if found:
            return found
        return next((char for char in text if ord(char) > 0x7f and (
            unicodedata.category(char) in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp") or char in INVISIBLE)), None)


UNSAFE = _Unsafe()
FORMATS = ["text", "json", "sarif", "github", "markdown", "html"]


def hostile_model(folder: Path) -> Path:
    """A .keras file whose name, layer names, module names and config keys carry every hostile and invisible
    character (a surrogate-escaped byte too)."""
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": HOSTILE + INVISIBLE, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": HOSTILE, "function": "f"}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d" + HOSTILE, "units": 2}},
        {"module": "evil" + INVISIBLE, "class_name": "E" + INVISIBLE, "config": {"name": "i" + INVISIBLE,
                                                                                 "u" + INVISIBLE: "http://x" + INVISIBLE}},
    ]}}  # fmt: skip
    name = os.fsdecode(b"m\n::error title=forged::x\xff\xe2\x80\xae") + INVISIBLE[:4] + ".keras"
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))  # ensure_ascii keeps the surrogate as \\udc80
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inject")
    good = Path(shutil.copy(REPO / "examples" / "example2_plain.keras", folder / "good.keras"))
    return [hostile_model(folder), good]


def test_printable_escapes_every_unsafe_character():
    out = printable(HOSTILE + INVISIBLE)
    assert not UNSAFE.search(out) and "\n" not in out
    assert "\\u202e" in out and "\\udc80" in out and "\\x1b" in out
    assert "\\u115f" in out and "\\U000e0041" in out and "\\xad" in out
    out.encode("utf-8")  # encodable
    assert printable("Conv2D_日本語_é") == "Conv2D_日本語_é"  # visible text stays as it is


def test_every_ascii_control_and_only_those_are_escaped():
    for code in range(128):
        char = chr(code)
        expected = f"\\x{code:02x}" if code < 0x20 or code == 0x7F else char
        assert printable(char) == expected and printable(f"a{char}b") == f"a{expected}b", hex(code)


def _default_ignorable() -> list[int]:
    """Unicode's Default_Ignorable_Code_Point, from Perl's copy of the Unicode data (skipped without Perl)."""
    if shutil.which("perl") is None:
        pytest.skip("needs perl for Unicode's Default_Ignorable_Code_Point")
    script = "for (0..0x10FFFF) { next if $_ >= 0xD800 && $_ <= 0xDFFF; print qq($_\\n) if chr($_) =~ /\\p{DI}/ }"
    result = subprocess.run(["perl", "-e", script], capture_output=True, text=True, timeout=120)
    return [int(line) for line in result.stdout.split()]


def test_every_default_ignorable_code_point_is_escaped():
    points = _default_ignorable()
    assert len(points) > 4000 and 0x115F in points and 0xE0041 in points  # the property, not a handful
    kept = [hex(code) for code in points if printable(chr(code)) == chr(code)]
    assert kept == [], kept[:20]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_passes_hostile_strings(models, fmt, tmp_path):
    result = run_cli(*map(str, models), "--format", fmt, "--select", "S,R")
    assert result.returncode == 1, result.stderr  # S401 on the hostile file, and both files reported
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    out = result.stdout
    assert not UNSAFE.search(out), repr(UNSAFE.search(out))
    assert not any(line.startswith("::error title=forged") for line in out.splitlines())
    assert "good.keras" in out  # the other file's results are not lost
    written = tmp_path / f"report.{fmt}"
    assert run_cli(*map(str, models), "--format", fmt, "-o", str(written)).returncode == 1
    assert not UNSAFE.search(written.read_text(encoding="utf-8"))


def test_markdown_rows_stay_whole(models):
    out = run_cli(*map(str, models), "--format", "markdown").stdout
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert rows and all(line.endswith("|") for line in rows)


def test_error_lines_on_stderr_are_neutralised(tmp_path):
    missing = tmp_path / "no\n::error::forged\u202e.keras"
    result = run_cli(str(missing))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not UNSAFE.search(result.stderr.strip())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_inspect_output_is_neutralised(tmp_path, fmt):
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": HOSTILE, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        {"module": "evil\n::error::x", "class_name": "Evil" + HOSTILE, "config": {"name": HOSTILE}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2,
                                                                    "activation": "relu" + HOSTILE}},
    ]}}  # fmt: skip
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    result = run_cli("inspect", str(path), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert not UNSAFE.search(result.stdout) and "\n::error" not in result.stdout
