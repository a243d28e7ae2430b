"""`movebot report`: the weekly or monthly report (docs/REPORTS.md).

`build_report` reads nothing itself: it takes the snapshot, the report's `now`, the settings and
the journal's activity, and calls the pure figures of `rules.figures`. `write_report` writes the
self-contained HTML and the summary PNG (the only place that draws, through `bot.charts`);
`send_report` sends the Korean summary line with the PNG (and the HTML) attached where a
channel takes files; `run_report` is the command. Nothing here writes to the sheet, and no
customer name or phone appears: a row is named by its sheet row.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import structlog

from bot import ports
from bot.alerts import delivery_code, once_key, require_channels, send_once
from bot.config import Settings
from bot.errors import BadConfig, BadInput
from bot.ports import ChannelResult, SheetBackend
from bot.report import terminal_width
from bot.runner import source_name
from rules.context import Context
from rules.figures import (
    NOT_WRITTEN,
    BotActivity,
    Period,
    PeriodKind,
    chart_series,
    last_complete,
    parse_period,
    report_figures,
)
from rules.model import Snapshot
from rules.parse import parse_desk
from rules.text import width
from rules.values import KST

log = structlog.get_logger(__name__)

# The HTML's fonts: what Korean Windows, macOS, Linux and phones have, then NanumGothic cut
# down to the page's characters and carried in the page (the charts are paths and need none).
EMBEDDED_FONT = "movebot-NanumGothic"  # the page's own characters of NanumGothic, inline
FONT_STACK = (
    "'Malgun Gothic', '맑은 고딕', 'Apple SD Gothic Neo', 'Noto Sans KR', 'Noto Sans CJK KR', "
    f"'NanumGothic', '나눔고딕', '{EMBEDDED_FONT}', sans-serif"
)
CHART_TITLES = {
    "intake": "일별 인입",
    "funnel": "진행 단계",
    "cancel_reasons": "취소 사유: 이번 기간과 지난 기간",
    "vendor_returns": "업체별 DB 반환",
    "price": "업체별 톤당 견적",
}


@dataclass(frozen=True, slots=True)
class Report:
    now: datetime  # aware, KST
    period: Period
    figures: dict[str, Any]  # docs/REPORTS.md, as --json prints them
    series: dict[str, Any]  # what the charts draw beyond the figures
    followup_due_days: int  # a 해피콜 waiting longer is late (지연)

    @property
    def name(self) -> str:
        return f"report-{self.period.label}"


def choose_period(kind: PeriodKind | None, label: str | None, today: date) -> Period:
    """`--period` / `--for`: the named period, else the last complete one of the kind."""
    if label is None:
        return last_complete(kind or "week", today)
    try:
        period = parse_period(label)
    except ValueError as e:
        raise BadInput(f"--for {e}.") from None
    if kind is not None and kind != period.kind:
        raise BadInput(f"--for {label} is a {period.kind}, but --period says {kind}.")
    return period


def _bounds(period: Period) -> tuple[datetime, datetime]:
    """The period as [start, end) in KST."""
    start = datetime.combine(period.start, time(0), KST)
    return start, datetime.combine(period.end + timedelta(days=1), time(0), KST)


def build_report(
    snapshot: Snapshot, now: datetime, period: Period, settings: Settings, bot: BotActivity
) -> Report:
    local = now.astimezone(KST)
    wall = local.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    desk = parse_desk(snapshot, wall.date())
    ctx = Context(desk.leads, desk.obs, wall, settings.rule_settings())
    figures = report_figures(ctx, period, settings.report_settings(), bot)
    return Report(local, period, figures, chart_series(ctx, period), settings.followup.due_days)


# --- words -----------------------------------------------------------------------------------


def period_name(period: Period) -> str:
    """`2024년 48주차`, `2024년 11월`."""
    if period.kind == "week":
        return f"{period.start.isocalendar()[0]}년 {int(period.label[-2:])}주차"
    return f"{period.start.year}년 {period.start.month}월"


def period_title(period: Period) -> str:
    s, e = period.start, period.end
    kind = "주간" if period.kind == "week" else "월간"
    return f"{period_name(period)} {kind} 보고 ({s.month}.{s.day}–{e.month}.{e.day})"


def _summary_lines(line: str) -> list[str]:
    """The summary line on a terminal: broken between its ` · ` parts where it is too wide."""
    columns = terminal_width()
    lines: list[str] = []
    for part in line.split(" · "):
        if lines and width(f"{lines[-1]} · {part}") <= columns:
            lines[-1] += f" · {part}"
        else:
            lines.append(part)
    return lines


def summary_line(report: Report) -> str:
    """`지난주 인입 312건 · 업체 전달 71% · 계약 18% · 취소 사유 1위 비싼 가격 (23건, +5) ·
    가격 이상 업체 2곳` — 지난주 / 지난달 when the period is the last complete one."""
    f, period = report.figures, report.period
    last = last_complete(period.kind, report.now.date())
    when = (
        ("지난주" if period.kind == "week" else "지난달") if period == last else period_name(period)
    )
    funnel = f["funnel"]
    parts = [
        f"{when} 인입 {f['intake']['total']}건",
        f"업체 전달 {funnel['handed_rate']:.0%}",
        f"계약 {funnel['contract_rate']:.0%}",
    ]
    this, previous = f["cancel_reasons"]["this"], f["cancel_reasons"]["previous"]
    reasons = [r for r in this if r != NOT_WRITTEN]
    if reasons:
        top = reasons[0]
        parts.append(f"취소 사유 1위 {top} ({this[top]}건, {this[top] - previous.get(top, 0):+d})")
    else:
        parts.append("기록된 취소 사유 없음")
    vendors = {o["vendor"] for o in f["price"]["outliers"]}
    parts.append(f"가격 이상 업체 {len(vendors)}곳")
    return " · ".join(parts)


# --- the HTML --------------------------------------------------------------------------------


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]], empty: str) -> str:
    if not rows:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _counts_rows(counts: Mapping[str, int]) -> list[tuple[Any, ...]]:
    return [(k, f"{v}건") for k, v in counts.items()]


def render_html(
    report: Report, svgs: Mapping[str, str], font_face: Callable[[str], str] = lambda _: ""
) -> str:
    """One self-contained page: inline SVG charts, inline style, no script, nothing fetched.
    `font_face(text)` gives the `@font-face` rule of the embedded font for the page's text."""
    f = report.figures
    title = period_title(report.period)
    charts = "".join(
        f"<figure class='chart' id='chart-{name}'>{svg}"
        f"<figcaption>{html.escape(CHART_TITLES[name])}</figcaption></figure>"
        for name, svg in svgs.items()
    )
    price = f["price"]
    reference = price["reference_per_ton"]
    reference_text = (
        f"기준 톤당 {reference:,}원 (최근 {price['samples']}건의 중앙값)"
        if reference
        else f"기준 가격 없음 (표본 {price['samples']}건, 최소 표본 수 미달)"
    )
    bot = f["bot"]
    followups = f["followups"]
    sections = [
        (
            "진행상황 (이번 기간 인입 DB의 현재 상태)",
            _table(("진행상황", "건수"), _counts_rows(f["status"]), "인입 없음"),
        ),
        ("종결 현황", _table(("종결 상태", "건수"), _counts_rows(f["closed"]), "종결된 DB 없음")),
        (
            "가격 이상 견적 (업체 교육·제재 대상)",
            f"<p>{html.escape(reference_text)} · 가격 취소 {price['rows']}건 중 짐 양·견적금액 기재 {price['complete']}건</p>"
            + _table(
                ("OB 상세 행", "담당 업체", "짐 양(톤)", "견적금액", "톤당", "기준 대비"),
                [
                    (
                        o["ob_row"],
                        o["vendor"],
                        o["tons"],
                        f"{o['quote']:,}원",
                        f"{o['per_ton']:,}원",
                        f"{o['ratio']:.2f}배",
                    )
                    for o in price["outliers"]
                ],
                "가격 이상 견적 없음",
            ),
        ),
        (
            "업체 반환 DB",
            _table(
                ("업체", "반환", "OB 완료", "현재 상태"),
                [
                    (
                        r["vendor"],
                        f"{r['returned']}건",
                        f"{r['called']}건",
                        ", ".join(f"{k} {v}" for k, v in r["outcome"].items()),
                    )
                    for r in f["vendor_returns"]
                ],
                "업체 반환 없음",
            ),
        ),
        (
            "담당자별 진행 중 DB",
            _table(
                ("담당자", "진행 중", "통화 예정일 지남", "업체 반환 OB 대기"),
                [
                    (m["manager"], m["open"], m["overdue_calls"], m["pending_returns"])
                    for m in f["managers"]
                ],
                "진행 중인 DB 없음",
            ),
        ),
        (
            "해피콜 (이사 후 확인 전화)",
            _table(
                ("행", "이사일", "이사 후", "담당자", "구분"),
                [
                    (
                        fu["row"],
                        fu["move_date"],
                        f"{fu['days_since']}일",
                        fu["manager"],
                        "지연" if fu["days_since"] > report.followup_due_days else "대상",
                    )
                    for fu in followups
                ],
                "해피콜 대상 없음",
            ),
        ),
        (
            "봇 작업",
            f"<p>적용 실행 {bot['runs']}회 · 기록한 칸 {bot['cells_written']}개 · 건너뛴 칸 {bot['skipped']}개 · 되돌리기 {bot['undone']}회</p>",
        ),
    ]
    body = "".join(
        f"<section><h2>{html.escape(h)}</h2>{content}</section>" for h, content in sections
    )
    page = f"""<h1>{html.escape(title)}</h1>
<p class="meta">{report.period.start.isoformat()} ~ {report.period.end.isoformat()} · 기준 시각 {report.now:%Y-%m-%d %H:%M} (KST) · 진행상황은 기준 시각의 시트 그대로</p>
<p class="summary">{html.escape(summary_line(report))}</p>
<div class="charts">{charts}</div>
{body}"""
    visible = html.unescape(re.sub(r"<[^>]*>", "", page.replace(charts, ""))) + title
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{font_face(visible + "".join(CHART_TITLES.values()))}
body {{ font-family: {FONT_STACK}; color: #1a1a1a; background: #fff; margin: 24px auto;
  max-width: 1100px; padding: 0 16px; line-height: 1.5; }}
h1 {{ font-size: 24px; margin-bottom: 4px; }}
.summary {{ font-size: 17px; font-weight: bold; background: #eef1f6; padding: 10px 14px;
  border-left: 5px solid #1d3557; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }}
figure.chart {{ margin: 0; border: 1px solid #ccd; padding: 8px; }}
figure.chart svg {{ width: 100%; height: auto; }}
#chart-price {{ grid-column: 1 / -1; }}
figcaption {{ font-size: 13px; color: #444; text-align: center; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid #bbb; padding: 4px 10px; text-align: left; }}
th {{ background: #e4e8ee; }}
.empty, .meta {{ color: #555; }}
</style></head>
<body>
{page}
</body></html>
"""


# --- writing, sending, the command -----------------------------------------------------------


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """`out_dir/report-<label>.html` and `.png`; returns their paths."""
    from bot import charts

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadConfig(f"Report folder {out_dir} cannot be created: {e}.") from None
    drawn = {**report.figures, "series": report.series}
    html_path = out_dir / f"{report.name}.html"
    png_path = out_dir / f"{report.name}.png"
    page = render_html(
        report,
        charts.chart_svgs(drawn),
        lambda text: charts.font_face_css(text, EMBEDDED_FONT),
    )
    html_path.write_text(page, encoding="utf-8")
    charts.summary_png(drawn, period_title(report.period), summary_line(report), png_path)
    return html_path, png_path


def send_report(
    report: Report,
    notifier: ports.Notifier,
    files: tuple[Path, ...],
    *,
    journal: ports.Journal | None = None,
    source: str = "",
) -> list[ChannelResult]:
    """The summary line to every channel, with `files` attached where a channel takes them.
    With a `journal` (the worker), a channel that already got this period's report of this
    sheet is skipped and each delivery journaled."""
    title, body = period_title(report.period), summary_line(report)
    if journal is None:
        results = notifier.send(title, body, attach=files)
    else:
        key = once_key("report", report.period.label, source)
        since = _bounds(report.period)[1] - timedelta(microseconds=1)
        results = send_once(
            notifier, journal, key, title, body, now=report.now, since=since, attach=files
        )
    log.info("report.sent", channels=len(results), failed=sum(not r.ok for r in results))
    return results


def scheduled_report(
    settings: Settings,
    backend: SheetBackend,
    journal: ports.Journal,
    notifier: ports.Notifier,
    now: datetime,
    kind: PeriodKind,
) -> None:
    """The worker's weekly or monthly report: the last complete period, written beside the
    journal and sent once per channel."""
    period = last_complete(kind, now.astimezone(KST).date())
    report = build_report(backend.read(), now, period, settings, journal.activity(*_bounds(period)))
    html_path, png_path = write_report(report, settings.reports_dir)
    log.info("report.written", period=period.label)
    if notifier.channels:
        source = source_name(settings)
        send_report(report, notifier, (png_path, html_path), journal=journal, source=source)


def run_report(
    settings: Settings,
    backend: SheetBackend,
    now: datetime,
    *,
    journal: ports.Journal | None = None,
    kind: PeriodKind | None = None,
    label: str | None = None,
    out_dir: Path | None = None,
    as_json: bool = False,
    send_to: ports.Notifier | None = None,
    out: Callable[[str], object] = print,
) -> int:
    """`movebot report`: read the sheet once, write the HTML and the PNG, print the summary
    and the two paths (or the figures as one JSON object), and deliver it through `send_to`
    when given (`--send`). The `bot` figure comes from `journal` (none: zeros).

    Exit code 0; 1 when sending reached no channel. Sending with no channel configured is a
    BadConfig (exit 2), raised before the sheet is read."""
    period = choose_period(kind, label, now.astimezone(KST).date())
    if send_to is not None:
        require_channels(send_to, "report")
    activity = journal.activity(*_bounds(period)) if journal is not None else BotActivity()
    report = build_report(backend.read(), now, period, settings, activity)
    html_path, png_path = write_report(report, out_dir or settings.reports_dir)
    if as_json:
        out(json.dumps(report.figures, ensure_ascii=False))
    else:
        out(
            f"{period_title(period)}\n"
            + "\n".join(_summary_lines(summary_line(report)))
            + f"\n\nHTML: {html_path}\nPNG:  {png_path}"
        )
    if send_to is None:
        return 0
    return delivery_code(send_report(report, send_to, (png_path, html_path)), "report")
