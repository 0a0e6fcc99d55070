"""The HTML report as a browser lays it out: the receptive-field chart has axis values and layer names, the
suggested code wraps instead of scrolling, and "Models, by risk" is sorted by predicted gap within a level.

Headless Chromium renders the examples' report twice: once as a screenshot (the page is drawn), and once with a
small measuring script appended (the report itself has no scripts; this copy drops its CSP for the script) whose
results ``--dump-dom`` returns after layout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.test_reports import _png_size_and_variety, _screenshot

EXAMPLES = REPO / "examples"
LEVEL_RANK = {"high": 0, "medium": 1, "low": 2}
WINDOW_WIDTH = 760  # narrower than the longest suggested line, so only wrapping avoids a scrollbar

MEASURE = """
<script>
const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
// a text's four corners on the screen, rotation included (getBoundingClientRect would give the rotated box's hull)
const corners = (t) => { const b = t.getBBox(), m = t.getScreenCTM();
  return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
    .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m)).map((p) => [p.x, p.y]); };
const texts = (chart, kind) => [...chart.querySelectorAll("text." + kind)].map((t) => [t.textContent, box(t),
                                                                                    corners(t)]);
const result = {
  charts: [...document.querySelectorAll("svg.rf-chart")].map((c) => ({box: box(c), ticks: texts(c, "tick"),
                                                                     layers: texts(c, "layer")})),
  code: [...document.querySelectorAll("pre")].filter((p) => p.textContent.includes("keras.Sequential"))
        .map((p) => [p.scrollWidth, p.clientWidth, getComputedStyle(p).whiteSpace]),
  index: [...document.querySelectorAll("#index tbody tr")].map((r) => [...r.cells].map((c) => c.textContent.trim())),
};
document.body.setAttribute("data-measured", JSON.stringify(result));
</script>
"""


class _Measured(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.value: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "body" and dict(attrs).get("data-measured"):
            self.value = json.loads(dict(attrs)["data-measured"])


def measure(html: str, tmp_path) -> dict:
    page = tmp_path / "measure.html"
    page.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(
        "</body>", MEASURE + "</body>"))  # fmt: skip
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile-measure'}", f"--window-size={WINDOW_WIDTH},1200", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    parser = _Measured()
    parser.feed(result.stdout)
    assert parser.value is not None, result.stderr[-2000:]
    return parser.value


def long_names_model(path: Path, convolutions: int = 60) -> Path:
    """A deep chain whose layer names are long: labels must be shortened, thinned out and kept inside the chart."""
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 64, 64, 3], "name": "in"}}]
    layers += [{"class_name": "Conv2D", "config": {"name": f"block{i}_convolution_with_a_long_name", "filters": 4,
                                                   "kernel_size": 3, "padding": "same"}} for i in range(convolutions)]
    layers += [{"class_name": "GlobalAveragePooling2D", "config": {"name": "pool"}},
               {"class_name": "Dense", "config": {"name": "out", "units": 10, "activation": "softmax"}}]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": layers}}))
    return path


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("html")
    shutil.copytree(EXAMPLES, folder / "examples", ignore=shutil.ignore_patterns("*.py", "*.ipynb"))
    long_names_model(folder / "examples" / "long_names.keras")
    out = folder / "report.html"
    run_cli(str(folder / "examples"), "--format", "html", "-o", str(out), "--samples", "2000")
    return out.read_text()


def overlaps(a: list[list[float]], b: list[list[float]]) -> bool:
    """Whether two convex quadrilaterals (corner lists) overlap by more than half a pixel (separating axes)."""
    for quad in (a, b):
        for (x1, y1), (x2, y2) in zip(quad, quad[1:] + quad[:1]):
            normal = (y1 - y2, x2 - x1)
            length = (normal[0] ** 2 + normal[1] ** 2) ** 0.5 or 1.0
            project_a = [(x * normal[0] + y * normal[1]) / length for x, y in a]
            project_b = [(x * normal[0] + y * normal[1]) / length for x, y in b]
            if max(project_a) <= min(project_b) + 0.5 or max(project_b) <= min(project_a) + 0.5:
                return False
    return True


def inside(inner: list[float], outer: list[float]) -> bool:
    return inner[0] >= outer[0] - 0.5 and inner[1] >= outer[1] - 0.5 and inner[2] <= outer[2] + 0.5 and (
        inner[3] <= outer[3] + 0.5)  # fmt: skip


def test_riskiest_first_orders_by_gap_within_a_level():
    from cnnlint.reports.base import riskiest_first

    def view(path: str, level: str | None, gap: float = 0.0) -> dict:
        return {"path": path, "risk": {"level": level, "gap": gap} if level else None}

    views = [view("a", "medium", 0.06), view("b", "medium", 0.10), view("c", "high", 0.2), view("d", None),
             view("e", "low", 0.01), view("f", "medium", 0.10)]  # fmt: skip
    assert [v["path"] for v in sorted(views, key=riskiest_first)] == ["c", "b", "f", "a", "e", "d"]


def test_the_html_index_is_in_that_order():
    rows = index_rows(run_cli(str(EXAMPLES), "--format", "html", "--samples", "2000").stdout)
    keys = [(LEVEL_RANK[level], -gap) for _, level, gap in rows]  # shown gaps are rounded: ties keep any order
    assert keys == sorted(keys)


def index_rows(html: str) -> list[tuple[str, str, float]]:
    section = html.split('<section id="index">')[1].split("</section>")[0]
    cells = re.findall(r'<tr>\s*<td><a href="#[^"]+" class="mono">([^<]+)</a></td>\s*<td><span class="level (\w+)">'
                       r'\w+</span></td>\s*<td class="num">(-?[\d.]+)</td>', section)  # fmt: skip
    assert cells, section[:500]
    return [(path, level, float(gap)) for path, level, gap in cells]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_layout_in_chromium(report_html, tmp_path):
    shot = tmp_path / "shot.png"
    page = tmp_path / "report.html"
    page.write_text(report_html)
    _screenshot(page, shot, tmp_path / "profile-shot")
    assert _png_size_and_variety(shot.read_bytes())[2] > 20, "the screenshot is blank"

    measured = measure(report_html, tmp_path)
    assert len(measured["charts"]) == 6  # five examples and the long-names model
    for chart in measured["charts"]:
        # axis values: at least three, increasing upward, drawn inside the chart
        values = [(float(text), box) for text, box, _ in chart["ticks"]]
        assert len(values) >= 3 and all(inside(box, chart["box"]) for _, box in values)
        assert [v for v, _ in values] == sorted(v for v, _ in values)
        assert all(upper[1][1] < lower[1][1] for lower, upper in zip(values, values[1:]))
        # layer names: the first convolution and the last layer are named, inside the chart, none overlapping
        labels = chart["layers"]
        assert len(labels) >= 2 and labels[0][0].startswith(("conv2d", "block0_"))
        assert all(inside(box, chart["box"]) for _, box, _ in labels), labels
        assert not any(overlaps(a[2], b[2]) for i, a in enumerate(labels) for b in labels[i + 1 :])
    # suggested code: long comment lines wrap inside the block, no horizontal scrollbar
    assert measured["code"]
    for scroll_width, client_width, white_space in measured["code"]:
        assert scroll_width <= client_width, (scroll_width, client_width, white_space)
    # the browser shows the index in the sorted order
    shown = [(row[0], row[1].lower(), float(row[2])) for row in measured["index"] if row[2] not in ("", "–")]
    assert shown == index_rows(report_html)
