"""The report's pictures as a person sees them: the HTML rendered by a real headless browser
(Debian's `chromium`) and the chat PNG, with its Korean drawn in the packaged font."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from PIL import Image
from test_report import report

from bot.reporting import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = ("intake", "funnel", "cancel_reasons", "vendor_returns", "price")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The report of tests/test_report.py's desk, written once, with every warning and every
    log record raised while drawing it."""
    out = tmp_path_factory.mktemp("report")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            html, png = write_report(report(), out)
    finally:
        root.removeHandler(handler)
    return html, png, [str(w.message) for w in caught], [r.getMessage() for r in records]


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        print("chromium is not installed (`apt-get install -y chromium`, as .ci/run does)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--no-proxy-server", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_png_is_about_1200_px_wide_and_drawn_in_the_packaged_korean_font(written):
    _, png, caught, logged = written
    with Image.open(png) as image:
        width, height = image.size
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
    assert width == 1200
    assert 1000 <= height <= 2000
    assert dark > width * height * 0.02  # the charts are there, not a blank picture
    missing = [m for m in caught + logged if "glyph" in m.lower() or "findfont" in m.lower()]
    assert missing == []


def test_the_charts_use_nanumgothic_from_the_package():
    from matplotlib import font_manager

    from bot.charts import FONT_FAMILY, _style, font_paths

    with _style():
        found = font_manager.findfont(font_manager.FontProperties(family=FONT_FAMILY))
    assert Path(found) == font_paths()[0]
    assert "koreanize_matplotlib" in found


def test_the_html_fetches_nothing(written):
    page = written[0].read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", page)
    assert "@font-face" in page and "data:font/ttf;base64," in page


def test_the_browser_shows_the_page_with_its_five_charts(written, tmp_path):
    html = written[0]
    dom = _browser("--dump-dom", html.as_uri())
    assert dom.returncode == 0, dom.stderr
    figures = re.findall(r'<figure class="chart" id="chart-([a-z_]+)"><svg', dom.stdout)
    assert tuple(figures) == CHARTS
    assert "2024년 48주차 주간 보고" in dom.stdout

    shot = tmp_path / "shot.png"
    taken = _browser("--window-size=1200,1400", f"--screenshot={shot}", html.as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr
    with Image.open(shot) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
        pixels = image.size[0] * image.size[1]
    assert sum(histogram[:200]) > pixels * 0.03  # ink on the page, not a blank screen
    assert sum(1 for n in histogram if n) > 20  # text, bars and greys, not one flat colour
