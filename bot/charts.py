"""The report's five charts (docs/REPORTS.md "The charts"), drawn with matplotlib.

Only `movebot report` (and the worker's report job) import this module: matplotlib takes a
while to import, and nothing else draws. The Korean text is drawn with NanumGothic, the font
file the `koreanize-matplotlib` package installs, registered with matplotlib's font manager
directly (the package itself is never imported, so none of its side effects apply). Colours
are grey-safe: each series differs in lightness and hatch, lines in dash pattern.

`summary_png` draws the five charts on one picture about 1200 px wide for chat channels;
`chart_svgs` draws each chart alone as SVG text (glyphs as paths, so a browser needs no font)
for the HTML report.
"""

from __future__ import annotations

import base64
import importlib.util
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rules.figures import NOT_WRITTEN

FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")
FONT_FAMILY = "NanumGothic"
BOLD = 600  # NanumGothicBold.ttf says it is 600, not 700
PNG_WIDTH_INCHES, PNG_DPI = 12, 100  # 1200 px
DARK, MID, LIGHT = "#1d3557", "#6c8ebf", "#d0d7e1"
HATCHES = ("", "//", "..")
EDGE: dict[str, Any] = {"edgecolor": "#333333", "linewidth": 0.5}  # bars keep their outline in grey

Figures = Mapping[str, Any]


def font_paths() -> list[Path]:
    """NanumGothic regular and bold as the koreanize-matplotlib package installed them (found,
    not imported)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("koreanize-matplotlib is not installed; reinstall movebot")
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return [fonts / name for name in FONT_FILES]


def font_face_css(text: str, family: str) -> str:
    """An `@font-face` rule for `family` carrying NanumGothic, cut down to the characters of
    `text`, inline as a data URI: a page with it shows its Korean on a machine without Korean
    fonts and still fetches nothing."""
    from fontTools import subset

    options = subset.Options()
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]  # hinting sources
    font = subset.load_font(str(font_paths()[0]), options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(set(text))))
        subsetter.subset(font)
        out = io.BytesIO()
        subset.save_font(font, out, options)
    finally:
        font.close()
    data = base64.b64encode(out.getvalue()).decode("ascii")
    return (
        f"@font-face {{ font-family: '{family}'; "
        f"src: url(data:font/ttf;base64,{data}) format('truetype'); }}"
    )


def _register_font() -> None:
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_paths():
        if str(path) not in known:
            font_manager.fontManager.addfont(str(path))


@contextmanager
def _style() -> Iterator[None]:
    _register_font()
    with rc_context(
        {
            "font.family": FONT_FAMILY,
            "axes.unicode_minus": False,  # NanumGothic has no U+2212
            "svg.fonttype": "path",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 13,
            "axes.titleweight": BOLD,
            "axes.labelsize": 10,
            "hatch.color": "#444444",
        }
    ):
        yield


def _day(iso: str) -> str:
    _, month, day = iso.split("-")
    return f"{int(month)}.{int(day)}"


def _figure(width: float, height: float, dpi: int = PNG_DPI) -> Figure:
    """A figure drawn by the Agg backend (its own canvas: pyplot and its global state are
    never involved)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax: Axes, text: str = "해당 기간 자료 없음") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")


def intake_chart(ax: Axes, f: Figures) -> None:
    """1. Intake per day, 이사 / 청소 / 기타 서비스 stacked."""
    intake = f["intake"]
    days = list(intake["by_day"])
    by_service: dict[str, list[int]] = f["series"]["intake_by_service_day"]
    bottom = [0] * len(days)
    for (service, counts), colour, hatch in zip(
        by_service.items(), (DARK, MID, LIGHT), HATCHES, strict=True
    ):
        ax.bar(
            range(len(days)),
            counts,
            bottom=bottom,
            color=colour,
            hatch=hatch,
            **EDGE,
            label=service,
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    step = 1 if len(days) <= 10 else 3
    ax.set_xticks(range(0, len(days), step), [_day(d) for d in days[::step]])
    ax.set_title(f"일별 인입 (총 {intake['total']}건)")
    ax.set_xlabel("인입일")
    ax.set_ylabel("인입 건수")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(bottom + [1]) * 1.25)
    ax.legend(loc="upper left", ncols=3, fontsize=9, frameon=False)


def funnel_chart(ax: Axes, f: Figures) -> None:
    """2. Leads → handed → contracted."""
    funnel = f["funnel"]
    labels = ["인입 (중복 제외)", "업체 전달", "계약 완료"]
    values = [funnel["leads"], funnel["handed"], funnel["contracted"]]
    rates = ["", f"{funnel['handed_rate']:.0%}", f"{funnel['contract_rate']:.0%}"]
    bars = ax.barh(
        labels,
        values,
        color=(LIGHT, MID, DARK),
        **EDGE,
    )
    ax.invert_yaxis()
    for bar, value, rate in zip(bars, values, rates, strict=True):
        text = f"{value}건" + (f" ({rate})" if rate else "")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center")
    ax.set_xlim(0, max(values + [1]) * 1.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("진행 단계")
    ax.set_xlabel("건수")


def cancel_chart(ax: Axes, f: Figures) -> None:
    """3. Cancellation reasons, this period against the previous one (OB rows with no reason
    are left out of the bars and counted under the axis: they would dwarf the reasons)."""
    this, previous = f["cancel_reasons"]["this"], f["cancel_reasons"]["previous"]
    written = (set(this) | set(previous)) - {NOT_WRITTEN}
    reasons = sorted(written, key=lambda r: (-this.get(r, 0), -previous.get(r, 0), r))[:10]
    if not reasons:
        _no_data(ax)
    else:
        y = range(len(reasons))
        h = 0.4
        ax.barh(
            [i - h / 2 for i in y],
            [this.get(r, 0) for r in reasons],
            height=h,
            color=DARK,
            **EDGE,
            label="이번 기간",
        )
        ax.barh(
            [i + h / 2 for i in y],
            [previous.get(r, 0) for r in reasons],
            height=h,
            color=LIGHT,
            hatch="//",
            **EDGE,
            label="지난 기간",
        )
        ax.set_yticks(list(y), reasons)
        ax.invert_yaxis()
        ax.set_xlim(
            0, max([this.get(r, 0) for r in reasons] + [previous.get(r, 0) for r in reasons]) * 1.3
        )
        ax.legend(loc="lower right", fontsize=9, frameon=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("취소 사유 (OB 상세)")
    blank = this.get(NOT_WRITTEN, 0)
    ax.set_xlabel("OB 건수" + (f" (사유 미기재 {blank}건 제외)" if blank else ""))


def returns_chart(ax: Axes, f: Figures) -> None:
    """4. Vendor returns per vendor, called vs not yet called."""
    rows = f["vendor_returns"][:10]
    if not rows:
        _no_data(ax, "업체 반환 없음")
    else:
        vendors = [r["vendor"] for r in rows]
        called = [r["called"] for r in rows]
        waiting = [r["returned"] - r["called"] for r in rows]
        ax.barh(vendors, called, color=DARK, **EDGE, label="OB 완료")
        ax.barh(
            vendors,
            waiting,
            left=called,
            color=LIGHT,
            hatch="..",
            **EDGE,
            label="OB 대기",
        )
        ax.invert_yaxis()
        ax.set_xlim(0, max(r["returned"] for r in rows) * 1.4)  # room for the legend
        ax.legend(loc="upper right", fontsize=9, frameon=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("업체별 DB 반환")
    ax.set_xlabel("반환 건수")


def price_chart(ax: Axes, f: Figures) -> None:
    """5. Price per ton per vendor: one dot per complete price row, the reference as a line,
    the outliers marked and labelled with their OB row."""
    price = f["price"]
    points: list[dict[str, Any]] = f["series"]["price_points"]
    if not points:
        _no_data(ax, "짐 양·견적금액이 있는 가격 취소 없음")
    else:
        vendors = sorted({p["vendor"] for p in points})
        x_of = {v: i for i, v in enumerate(vendors)}
        outlier_rows = {o["ob_row"] for o in price["outliers"]}
        normal = [p for p in points if p["ob_row"] not in outlier_rows]
        marked = [p for p in points if p["ob_row"] in outlier_rows]
        ax.scatter(
            [x_of[p["vendor"]] for p in normal],
            [p["per_ton"] / 10_000 for p in normal],
            s=36,
            color=MID,
            edgecolor="#222222",
            label="가격 취소 1건",
        )
        if marked:
            ax.scatter(
                [x_of[p["vendor"]] for p in marked],
                [p["per_ton"] / 10_000 for p in marked],
                s=90,
                marker="X",
                color="black",
                label="가격 이상",
            )
            for p in marked:
                ax.annotate(
                    f"OB 행 {p['ob_row']}",
                    (x_of[p["vendor"]], p["per_ton"] / 10_000),
                    xytext=(8, 4),
                    textcoords="offset points",
                    fontsize=9,
                )
        reference = price["reference_per_ton"]
        if reference:
            ax.axhline(reference / 10_000, color="#222222", linestyle="--", linewidth=1.2)
            ax.annotate(
                f"기준 {reference / 10_000:,.1f}만원/톤 (최근 표본 {price['samples']}건 중앙값)",
                (0, reference / 10_000),
                xytext=(0, 5),
                textcoords="offset points",
                fontsize=9,
            )
        ax.set_xticks(range(len(vendors)), vendors)
        ax.set_xlim(-0.6, len(vendors) - 0.4)
        ax.set_ylim(0, max(p["per_ton"] for p in points) / 10_000 * 1.2)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    ax.set_title("업체별 톤당 견적 (가격 취소)")
    ax.set_xlabel("담당 업체")
    ax.set_ylabel("톤당 견적 (만원)")


CHARTS: tuple[tuple[str, Callable[[Axes, Figures], None]], ...] = (
    ("intake", intake_chart),
    ("funnel", funnel_chart),
    ("cancel_reasons", cancel_chart),
    ("vendor_returns", returns_chart),
    ("price", price_chart),
)


def summary_png(f: Figures, title: str, subtitle: str, path: Path) -> None:
    """The five charts on one picture, 1200 px wide, with the report's title on top."""
    with _style():
        fig = _figure(PNG_WIDTH_INCHES, 15)
        fig.set_layout_engine("constrained", h_pad=0.12, hspace=0.04)  # air around the title
        fig.suptitle(f"{title}\n{subtitle}", fontsize=15, fontweight=BOLD, linespacing=1.6)
        grid = fig.add_gridspec(3, 2, height_ratios=(1, 1, 1.1))
        axes = [
            fig.add_subplot(grid[0, 0]),
            fig.add_subplot(grid[0, 1]),
            fig.add_subplot(grid[1, 0]),
            fig.add_subplot(grid[1, 1]),
            fig.add_subplot(grid[2, :]),
        ]
        for ax, (_, draw) in zip(axes, CHARTS, strict=True):
            draw(ax, f)
        fig.savefig(path, format="png", dpi=PNG_DPI)


def chart_svgs(f: Figures) -> dict[str, str]:
    """Each chart alone, as the text of an SVG element (no XML prologue)."""
    svgs: dict[str, str] = {}
    with _style():
        for name, draw in CHARTS:
            fig = _figure(9 if name == "price" else 5.6, 3.6)
            draw(fig.add_subplot(), f)
            out = io.StringIO()
            fig.savefig(out, format="svg")
            text = out.getvalue()
            svgs[name] = text[text.index("<svg") :]
    return svgs
