"""HTML and Markdown reports: content, escaping of hostile names, a real browser, suggested code."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cnnlint.reports import FORMATS, RenderOptions
from cnnlint.reports.fixes import suggest
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from tests.conftest import REPO, run_cli

EXAMPLES = REPO / "examples"
ALL = LintSettings(tuple(select_rules()))
HOSTILE = "<script>alert(1)</script>"


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


def hostile_model(tmp_path: Path) -> Path:
    config = {"class_name": "Sequential", "config": {"name": HOSTILE, "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 32, 32, 3], "name": "in"}},
        {"class_name": "Conv2D", "config": {"name": HOSTILE, "filters": 64, "kernel_size": 7}},
        {"class_name": "Flatten", "config": {"name": "flat|`*"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 256}},
        {"class_name": "Dense", "config": {"name": "out", "units": 10, "activation": "softmax"}},
    ]}}  # fmt: skip
    path = tmp_path / f"{'x'}.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


def test_html_report_content(tmp_path):
    out = tmp_path / "report.html"
    result = run_cli(str(EXAMPLES), "--format", "html", "-o", str(out), "--samples", "2000")
    assert result.returncode == 1, result.stderr
    html = out.read_text()
    doc = parse(html)
    text = " ".join(doc.text)
    assert "script" not in doc.tags and "link" not in doc.tags  # self-contained, no scripts
    assert doc.tags.count("svg") >= 10  # charts drawn inline
    assert "Models, by risk" in text and text.count("example2_plain.keras") >= 2
    for code in ("R201", "R202", "R203", "R204", "C106"):
        assert code in text
    assert "Suggested architecture" in text and "keras.Sequential" in text
    assert "http://" not in html and "https://" not in html


def test_hostile_layer_names_render_as_text(tmp_path):
    report = lint_source(hostile_model(tmp_path), Dataset(500), ALL)
    assert report.error is None
    html = FORMATS["html"]([report], RenderOptions())
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script" not in parse(html).tags
    markdown = FORMATS["markdown"]([report], RenderOptions())
    assert HOSTILE not in markdown and "<script" not in markdown


def test_markdown_is_compact_and_truncates(tmp_path):
    report = lint_source(EXAMPLES / "example2_plain.keras", Dataset(2000), ALL)
    text = FORMATS["markdown"]([report], RenderOptions())
    assert text.startswith("## cnnlint") and "| R201 | warning | dense |" in text
    many = FORMATS["markdown"]([report] * 400, RenderOptions())
    assert len(many) <= 65_536 and "Truncated:" in many


def test_markdown_shows_what_raises_the_risk_and_the_estimates_premises():
    report = lint_source(EXAMPLES / "example2_plain.keras", Dataset(2000, 10), ALL)
    assert report.risk is not None and report.risk.factors and report.risk.notes
    text = FORMATS["markdown"]([report], RenderOptions())
    assert "Raised most" in text
    for factor in report.risk.factors:
        assert f"{factor.contribution:+.2f}".replace("+", "\\+") in text
        assert all(code in text for code in factor.rules)
    for note in report.risk.notes:
        assert f"Note: {note.split(':')[0]}" in text


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, decompressed filtered scanlines) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    return width, height, zlib.decompress(idat)


def _png_size_and_variety(data: bytes) -> tuple[int, int, int]:
    width, height, raw = _png_pixels(data)
    return width, height, len(set(raw[:: max(1, len(raw) // 200_000)]))


def _png_mean_brightness(data: bytes) -> float:
    """Mean of the RGB channels (0-255) of an 8-bit RGB/RGBA PNG, undoing the row filters."""
    depth, color = data[24], data[25]
    assert depth == 8 and color in (2, 6)
    channels = 3 if color == 2 else 4
    width, height, raw = _png_pixels(data)
    stride = width * channels
    prev = bytearray(stride)
    total, pos = 0, 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        total += sum(v for i, v in enumerate(line) if i % channels < 3)
        prev = line
    return total / (width * height * 3)


def _screenshot(html: Path, shot: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra,
         "--window-size=1200,1600", f"--screenshot={shot}", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_dark_color_scheme_renders_dark(tmp_path):
    out = tmp_path / "report.html"
    run_cli(str(EXAMPLES / "example2_plain.keras"), "--format", "html", "-o", str(out), "--samples", "2000")
    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    _screenshot(out, light, tmp_path / "p1")
    _screenshot(out, dark, tmp_path / "p2", "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
    assert _png_mean_brightness(light.read_bytes()) > 180
    assert _png_mean_brightness(dark.read_bytes()) < 90


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_real_headless_chromium_renders_the_report(tmp_path):
    out = tmp_path / "report.html"
    run_cli(str(EXAMPLES), "--format", "html", "-o", str(out), "--samples", "2000")
    shot = tmp_path / "shot.png"
    result = _screenshot(out, shot, tmp_path / "profile")
    assert shot.is_file(), result.stderr[-2000:]
    width, height, variety = _png_size_and_variety(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    assert variety > 20, "the screenshot is blank"
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line and "rror" in line]
    assert not console_errors


def test_suggested_code_builds_and_clears_findings(k3):
    before = lint_source(EXAMPLES / "example1_4x_width.keras", Dataset(2000, 10), ALL)
    suggestion = suggest(before.graph, before.findings)
    assert suggestion is not None
    namespace: dict = {}
    exec(suggestion.code, namespace)  # our own generated code, run with the real Keras
    model = namespace["model"]
    assert tuple(model.output_shape) == (None, 10)
    from cnnlint.readers import raw_from_dict

    after = lint_source(raw_from_dict(json.loads(model.to_json())), Dataset(2000, 10), ALL)
    fixed = {"C103", "R201", "R202", "R204"}
    assert fixed <= {f.code for f in before.findings}
    assert not fixed & {f.code for f in after.findings}


def test_branching_graph_gets_no_code(k3):
    report = lint_source(REPO / "examples" / "example2_plain.keras", Dataset(2000), ALL)
    assert suggest(report.graph, report.findings) is not None
    inputs = k3.Input((8, 8, 1))
    a, b = k3.layers.Conv2D(2, 3)(inputs), k3.layers.Conv2D(2, 3)(inputs)
    model = k3.Model(inputs, k3.layers.Dense(2)(k3.layers.Flatten()(k3.layers.Add()([a, b]))))
    from cnnlint.readers import raw_from_dict

    branching = lint_source(raw_from_dict(json.loads(model.to_json())), Dataset(100), ALL)
    assert suggest(branching.graph, branching.findings) is None


def test_a_finding_heading_names_a_few_layers_then_how_many_more():
    """ResNet50's C103 lists about 45 layers: the heading shows the first few and counts the rest."""
    from cnnlint.reports.html import LAYERS_SHOWN

    from cnnlint.readers import raw_from_dict

    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 16], "name": "in"}}]
    layers += [{"class_name": "Dense", "config": {"name": f"wide_{i}", "units": 512}} for i in range(12)]
    layers.append({"class_name": "Dense", "config": {"name": "out", "units": 10}})
    raw = raw_from_dict({"class_name": "Sequential", "config": {"name": "m", "layers": layers}}, source="m.json")
    report = lint_source(raw, Dataset(samples=1000), ALL)
    finding = next(f for f in report.findings if f.code == "C103")
    assert len(finding.layers) == 12
    html = FORMATS["html"]([report], RenderOptions())
    heading = next(line for line in html.splitlines() if "<strong>C103</strong>" in line)
    names = re.search(r'<span class="mono">([^<]*)</span></div>', heading).group(1)
    shown, _, more = names.partition(" and ")
    assert shown.split(", ") == list(finding.layers[:LAYERS_SHOWN]) and more == f"{12 - LAYERS_SHOWN} more"
