"""`movebot report`: every figure of docs/REPORTS.md on a desk counted by hand, the period
choice, the JSON, the summary line, sending with the PNG attached, and the journal's figure.
The pictures themselves are looked at in tests/test_report_pictures.py."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from apscheduler.schedulers.background import BackgroundScheduler
from PIL import Image

from bot.app import App
from bot.cli import main
from bot.config import Settings, load_settings
from bot.digest import digest_of
from bot.errors import BadInput
from bot.journal import Journal
from bot.reporting import (
    Report,
    build_report,
    choose_period,
    run_report,
    summary_line,
    write_report,
)
from bot.schedule import Worker, build_scheduler
from bot.sheets.workbook import create_workbook
from rules.columns import LEAD_HEADERS, OB_HEADERS
from rules.digest import render_digest
from rules.figures import BotActivity, last_complete, parse_period
from rules.model import CellWrite, Skipped, WriteResult

from conftest import FakeNotifier, Sent
from desk import at, desk, lead, ob

NOW = at("2024-12-04 09:00")  # a Wednesday: the last complete week is 2024-W48
W48 = parse_period("2024-W48")


def p(n: int) -> str:
    return f"010-3100-{n:04d}"


# Each row says what it counts for; the expected figures below were counted from these lines.
LEADS = [
    # r2 W48, moving, handed (견적진행), open 이지은
    lead(intake="2024-11-25 10:00", status="견적진행", vendor="한빛이사", manager="이지은",
         phone=p(2)),
    # r3 W48, 계약완료 (handed, contracted), moved 11.28: 해피콜 대상 (6 days), 정해빈
    lead(intake="2024-11-26 10:00", status="계약완료", vendor="바른이사", manager="정해빈",
         phone=p(3), move_date="2024-11-28"),
    # r4 W48, 종결(중복): not in the funnel, closed
    lead(intake="2024-11-27 10:00", status="종결(중복)", phone=p(4)),
    # r5 W48, cleaning, open 미지정, call overdue
    lead(intake="2024-11-28 10:00", status="청소문의", move_type="입주청소", phone=p(5),
         call_due="2024-12-01"),
    # r6 W48, other service, open 정해빈, call overdue
    lead(intake="2024-11-29 10:00", status="기타 서비스", manager="정해빈", phone=p(6),
         call_due="2024-12-03"),
    # r7 W48, returned by 한빛이사 (its reason in 비고), no OB call: pending return of 이지은
    lead(intake="2024-11-30 12:00", status="확인요청", remarks="업체 : 고객 연락 안 됨",
         vendor="한빛이사", manager="이지은", phone=p(7)),
    # r8 W48, returned by 한빛이사, called on 12.2 (OB r9)
    lead(intake="2024-12-01 12:00", status="확인요청", remarks="업체 : 타 업체 계약했다고 함",
         vendor="한빛이사", manager="이지은", phone=p(8)),
    # r9 W47: only the previous period
    lead(intake="2024-11-24 10:00", status="종결(고객취소)", phone=p(9)),
    # r10 October, 계약완료, moved 11.10: 해피콜 지연 (24 days)
    lead(intake="2024-10-20 10:00", status="계약완료", manager="정해빈", phone=p(10),
         move_date="2024-11-10"),
    # r11 October, 계약완료, moved 11.30 but called after the move (OB r10): no 해피콜
    lead(intake="2024-10-21 10:00", status="계약완료", manager="정해빈", phone=p(11),
         move_date="2024-11-30"),
    # r12 October, 계약완료, moved 12.2: too soon for a 해피콜
    lead(intake="2024-10-22 10:00", status="계약완료", manager="정해빈", phone=p(12),
         move_date="2024-12-02"),
    # r13 W48, 종결(고객취소)
    lead(intake="2024-11-26 11:00", status="종결(고객취소)", phone=p(13)),
]  # fmt: skip
OBS = [
    # r2 W48 price, 한빛이사 2.5 t 2,500,000 -> 1,000,000 per ton: the outlier
    ob(ob_date="2024-11-26", phone=p(13), cancel_reason="비싼 가격", vendor="한빛이사",
       load_tons="2.5톤", quote_amount="2,500,000"),
    # r3 W48 price, 바른이사 5 t 2,000,000 -> 400,000
    ob(ob_date="2024-11-27", phone=p(31), cancel_reason="비싼 가격", vendor="바른이사",
       load_tons="5톤", quote_amount="200만원"),
    # r4 W48 schedule
    ob(ob_date="2024-11-28", phone=p(32), cancel_reason="일정 변경"),
    # r5 W48 price without tons: a price row, not complete
    ob(ob_date="2024-11-29", phone=p(33), cancel_reason="비싼 가격", quote_amount="100만원"),
    # r6 W47 price, 400,000 (a sample of the reference)
    ob(ob_date="2024-11-19", phone=p(34), cancel_reason="비싼 가격", vendor="바른이사",
       load_tons="5", quote_amount="2000000"),
    # r7 W47 schedule
    ob(ob_date="2024-11-20", phone=p(35), cancel_reason="일정 변경"),
    # r8 November price, 든든이사 3 t 1,350,000 -> 450,000 (sample)
    ob(ob_date="2024-11-05", phone=p(36), cancel_reason="가격", vendor="든든이사",
       load_tons="3톤", quote_amount="1350000"),
    # r9 12.2: the call after r8's return
    ob(ob_date="2024-12-02", phone=p(8), detail="업체 반환 사유 확인"),
    # r10 12.2: r11's after-service call
    ob(ob_date="2024-12-02", phone=p(11), detail="이사 후 만족도 확인"),
    # r11 October price, 1 t 500,000 (sample: within the 90 days ending 12.1)
    ob(ob_date="2024-10-01", phone=p(37), cancel_reason="비싼 가격", load_tons="1",
       quote_amount="500000"),
    # r12 August price: outside the 90 days
    ob(ob_date="2024-08-01", phone=p(38), cancel_reason="비싼 가격", load_tons="1",
       quote_amount="5000000"),
]  # fmt: skip
SNAP = desk(leads=LEADS, obs=OBS)

EXPECTED: dict[str, Any] = {
    "period": {"kind": "week", "label": "2024-W48", "start": "2024-11-25", "end": "2024-12-01"},
    "intake": {
        "total": 8,
        "by_day": {
            "2024-11-25": 1,
            "2024-11-26": 2,
            "2024-11-27": 1,
            "2024-11-28": 1,
            "2024-11-29": 1,
            "2024-11-30": 1,
            "2024-12-01": 1,
        },
        "by_service": {"이사": 6, "청소": 1, "기타 서비스": 1},
    },  # fmt: skip
    "status": {
        "확인요청": 2,
        "견적진행": 1,
        "계약완료": 1,
        "기타 서비스": 1,
        "종결(고객취소)": 1,
        "종결(중복)": 1,
        "청소문의": 1,
    },  # fmt: skip
    "funnel": {
        "leads": 7,
        "handed": 4,  # r3 견적진행, r11 계약완료, and r7, r8 (handed to 한빛이사, returned)
        "contracted": 1,
        "handed_rate": 0.571,
        "contract_rate": 0.143,
    },  # fmt: skip
    "closed": {"종결(고객취소)": 1, "종결(중복)": 1},
    "cancel_reasons": {
        "this": {"비싼 가격": 3, "(미기재)": 0, "일정 변경": 1},
        "previous": {"비싼 가격": 1, "일정 변경": 1},
    },
    "vendor_returns": [
        {"vendor": "한빛이사", "returned": 2, "called": 1, "outcome": {"확인요청": 2}}
    ],
    "price": {
        "rows": 3,
        "complete": 2,
        "reference_per_ton": 450000,
        "samples": 5,
        "by_vendor": [
            {"vendor": "한빛이사", "complete": 1, "median_per_ton": 1000000},
            {"vendor": "바른이사", "complete": 1, "median_per_ton": 400000},
        ],
        "outliers": [
            {
                "ob_row": 2,
                "vendor": "한빛이사",
                "tons": 2.5,
                "quote": 2500000,
                "per_ton": 1000000,
                "ratio": 2.22,
            }
        ],  # fmt: skip
    },
    "managers": [
        {"manager": "이지은", "open": 3, "overdue_calls": 0, "pending_returns": 1},
        {"manager": "정해빈", "open": 5, "overdue_calls": 1, "pending_returns": 0},
        {"manager": "미지정", "open": 1, "overdue_calls": 1, "pending_returns": 0},
    ],
    "bot": {"runs": 0, "cells_written": 0, "skipped": 0, "undone": 0, "by_rule": {}},
    "followups": [
        {"row": 10, "move_date": "2024-11-10", "days_since": 24, "manager": "정해빈"},
        {"row": 3, "move_date": "2024-11-28", "days_since": 6, "manager": "정해빈"},
    ],
}
del EXPECTED["cancel_reasons"]["this"]["(미기재)"]  # every W48 OB row has a reason


def report(snap=SNAP, now=NOW, period=W48, settings=None) -> Report:
    return build_report(snap, now, period, settings or Settings(), BotActivity())


def test_every_figure_matches_the_count_by_hand():
    assert report().figures == EXPECTED


def test_an_ob_row_without_a_reason_counts_as_not_written_and_a_lead_without_status_as_none():
    snap = desk(
        leads=[lead(intake="2024-11-25 10:00", status="", phone=p(2))],
        obs=[ob(ob_date="2024-11-25", phone=p(2), cancel_reason="")],
    )
    f = report(snap).figures
    assert f["status"] == {"(없음)": 1}
    assert f["cancel_reasons"]["this"] == {"(미기재)": 1}
    assert f["funnel"] == {
        "leads": 1, "handed": 0, "contracted": 0, "handed_rate": 0.0, "contract_rate": 0.0
    }  # fmt: skip


def test_too_few_price_samples_give_no_reference_and_no_outliers():
    settings = Settings(reports={"price_min_samples": 6})
    price = report(settings=settings).figures["price"]
    assert price["reference_per_ton"] is None
    assert price["samples"] == 5
    assert price["outliers"] == []


def test_followup_settings_move_the_window():
    settings = Settings(followup={"after_days": 2, "until_days": 10})
    rows = [f["row"] for f in report(settings=settings).figures["followups"]]
    assert rows == [3, 12]  # r10 (24 days) is past the window, r12 (2 days) now in it


def test_the_month_report_counts_the_calendar_month_and_the_one_before():
    f = report(period=parse_period("2024-11")).figures
    assert f["period"] == {"kind": "month", "label": "2024-11", "start": "2024-11-01",
                           "end": "2024-11-30"}  # fmt: skip
    assert f["intake"]["total"] == 8  # r2–r7, r9, r13 (r8 came in on 12.1)
    assert len(f["intake"]["by_day"]) == 30
    assert f["cancel_reasons"]["previous"] == {"비싼 가격": 1}  # October's r11


# --- the period ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "label", "today", "expected"),
    [
        (None, None, date(2024, 12, 4), ("2024-W48", "2024-11-25", "2024-12-01")),
        ("week", None, date(2024, 12, 2), ("2024-W48", "2024-11-25", "2024-12-01")),
        ("week", None, date(2024, 12, 1), ("2024-W47", "2024-11-18", "2024-11-24")),
        ("week", None, date(2025, 1, 3), ("2024-W52", "2024-12-23", "2024-12-29")),
        ("month", None, date(2024, 12, 4), ("2024-11", "2024-11-01", "2024-11-30")),
        ("month", None, date(2025, 1, 1), ("2024-12", "2024-12-01", "2024-12-31")),
        (None, "2024-W01", date(2025, 6, 1), ("2024-W01", "2024-01-01", "2024-01-07")),
        (None, "2024-02", date(2025, 6, 1), ("2024-02", "2024-02-01", "2024-02-29")),
        ("month", "2024-02", date(2025, 6, 1), ("2024-02", "2024-02-01", "2024-02-29")),
    ],
)
def test_the_period_is_the_last_complete_one_or_the_named_one(kind, label, today, expected):
    period = choose_period(kind, label, today)
    assert (period.label, period.start.isoformat(), period.end.isoformat()) == expected


@pytest.mark.parametrize(
    ("kind", "label", "message"),
    [
        (None, "2024-W60", "--for '2024-W60' names no week or month; write e.g. 2024-W48"),
        (None, "지난주", "--for '지난주' names no week or month"),
        (None, "2024-13", "--for '2024-13' names no week or month"),
        ("month", "2024-W48", "--for 2024-W48 is a week, but --period says month."),
    ],
)
def test_a_period_that_reads_as_none_is_named(kind, label, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_period(kind, label, date(2024, 12, 4))


def test_periods_follow_each_other_without_gap():
    week = last_complete("week", date(2024, 12, 4))
    assert week.previous().end + timedelta(days=1) == week.start
    month = parse_period("2024-03")
    assert month.previous().label == "2024-02" and month.previous().end == date(2024, 2, 29)


# --- the words -------------------------------------------------------------------------------


def test_the_summary_line_is_the_one_of_the_issue():
    assert summary_line(report()) == (
        "지난주 인입 8건 · 업체 전달 57% · 계약 14% · 취소 사유 1위 비싼 가격 (3건, +2) · "
        "가격 이상 업체 1곳"
    )


def test_a_period_that_is_not_the_last_is_named_in_the_summary():
    line = summary_line(report(period=parse_period("2024-W47")))
    assert line.startswith("2024년 47주차 인입 1건 · ")


# --- the command -----------------------------------------------------------------------------


def _workbook(tmp_path: Path) -> Path:
    from desk import LEAD_FIELDS, OB_FIELDS

    path = tmp_path / "desk.xlsx"
    lead_rows = [[r.get(f) for f in LEAD_FIELDS[:-1]] for r in LEADS]
    ob_rows = [[r.get(f) for f in OB_FIELDS[:-1]] for r in OBS]
    create_workbook(
        path,
        {
            "이사 관리자": [[LEAD_HEADERS[f][0] for f in LEAD_FIELDS[:-1]], *lead_rows],
            "OB 상세": [[OB_HEADERS[f][0] for f in OB_FIELDS[:-1]], *ob_rows],
        },
    )
    return path


def test_the_command_prints_the_figures_as_one_json_object_and_writes_both_files(tmp_path, capsys):
    book = _workbook(tmp_path)
    before = book.read_bytes()
    code = main(["report", "--workbook", str(book), "--now", "2024-12-04T09:00:00+09:00",
                 "--out", str(tmp_path / "out"), "--json"])  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report-2024-W48.html",
        "report-2024-W48.png",
    ]
    assert book.read_bytes() == before  # the report writes nothing to the sheet
    assert not (tmp_path / "movebot.db").exists()  # nor creates a journal


def test_the_command_prints_the_summary_and_the_two_paths_beside_the_journal(tmp_path, capsys):
    book = _workbook(tmp_path)
    assert main(["report", "--workbook", str(book), "--now", "2024-12-04T09:00:00+09:00"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [  # the summary line, broken between parts at 80 columns
        "2024년 48주차 주간 보고 (11.25–12.1)",
        "지난주 인입 8건 · 업체 전달 57% · 계약 14% · 취소 사유 1위 비싼 가격 (3건, +2)",
        "가격 이상 업체 1곳",
    ]
    assert f"HTML: {tmp_path / 'reports' / 'report-2024-W48.html'}" in out
    assert f"PNG:  {tmp_path / 'reports' / 'report-2024-W48.png'}" in out


def test_no_name_or_phone_appears_in_any_output(tmp_path, capsys):
    book = _workbook(tmp_path)
    main(["report", "--workbook", str(book), "--now", "2024-12-04T09:00:00+09:00", "--json"])
    page = (tmp_path / "reports" / "report-2024-W48.html").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    for text in (page, printed):
        assert "김민수" not in text
        assert "3100" not in text


def test_a_bad_period_exits_2_with_the_option_named(tmp_path, capsys):
    book = _workbook(tmp_path)
    assert main(["report", "--workbook", str(book), "--for", "2024-W99"]) == 2
    assert "--for '2024-W99' names no week or month" in capsys.readouterr().err


def test_send_without_a_channel_exits_2_before_reading_the_sheet(tmp_path, capsys):
    code = main(["report", "--workbook", str(tmp_path / "missing.xlsx"), "--send"])
    assert code == 2
    assert "report --send: no alert channel is configured" in capsys.readouterr().err


def test_a_preview_loads_none_of_the_libraries_it_does_not_use(tmp_path):
    """DESIGN.md's deferred imports: the plotting library, openpyxl (and numpy, which it
    imports), gspread, apprise and APScheduler cost start-up time a preview of a workbook does
    not need."""
    book = _workbook(tmp_path)
    code = (
        "import sys, bot.cli\n"
        f"code = bot.cli.main(['reconcile', '--workbook', {str(book)!r}, '--json'])\n"
        "unused = {'matplotlib', 'openpyxl', 'numpy', 'gspread', 'apprise', 'apscheduler'}\n"
        "print(code, sorted(unused & set(sys.modules)), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.splitlines()[-1] == "0 []", result.stderr
    assert json.loads(result.stdout)["applied"] is False


# --- sending ---------------------------------------------------------------------------------


@responses.activate
def test_send_attaches_the_png_where_the_channel_takes_files_and_sends_text_elsewhere(tmp_path):
    responses.post("http://hooks.example.test/report", json={})
    responses.post("https://api.kakaowork.com/v1/messages.send", json={"success": True})
    book = _workbook(tmp_path)
    settings = Settings(
        source={"kind": "workbook", "path": book},
        base_dir=tmp_path,
        alerts={"urls": ["json://hooks.example.test/report", "kakaowork://k-test@7"]},
    )
    with App(settings) as app:
        code = run_report(settings, app.backend, NOW, send_to=app.notifier, out=lambda _: None)
    assert code == 0
    by_url = {call.request.url: call.request for call in responses.calls}
    hook = json.loads(by_url["http://hooks.example.test/report"].body)
    assert hook["title"] == "2024년 48주차 주간 보고 (11.25–12.1)"
    assert hook["message"].startswith("지난주 인입 8건 · 업체 전달 57%")
    assert [a["filename"] for a in hook["attachments"]] == [
        "report-2024-W48.png",
        "report-2024-W48.html",
    ]
    kakao = json.loads(by_url["https://api.kakaowork.com/v1/messages.send"].body)
    assert kakao["text"].startswith("2024년 48주차 주간 보고 (11.25–12.1)\n\n지난주 인입 8건")


@responses.activate
def test_a_report_that_reached_no_channel_exits_1(tmp_path, capsys):
    responses.post("http://hooks.example.test/report", status=500)
    book = _workbook(tmp_path)
    settings = Settings(
        source={"kind": "workbook", "path": book},
        base_dir=tmp_path,
        alerts={"urls": ["json://hooks.example.test/report"]},
    )
    with App(settings) as app:
        assert run_report(settings, app.backend, NOW, send_to=app.notifier, out=len) == 1
    assert "the report reached no channel" in capsys.readouterr().err


# --- the journal's figure --------------------------------------------------------------------


def _write(rule: str, row: int) -> CellWrite:
    return CellWrite("leads", row, 2, "status", "", "종결(중복)", f"fp{row}", (rule,))


def test_the_bot_figure_counts_the_runs_whose_now_falls_in_the_period(tmp_path):
    with Journal(tmp_path / "movebot.db") as journal:
        # in W48: two applied runs (3 cells, 1 skipped), one undo; outside: one run
        for when, writes in (
            ("2024-11-25 00:00", [_write("dup.same", 2), _write("ob.sync", 3), _write("x", 0)]),
            ("2024-12-01 23:59", [_write("dup.same", 4)]),
            ("2024-12-02 00:00", [_write("dup.same", 5)]),
        ):
            run_id = journal.start_run("reconcile", "desk.xlsx", at(when))
            landed = tuple(w for w in writes if w.row)
            missed = tuple(Skipped(w, "셀이 바뀜") for w in writes if not w.row)
            journal.record_writes(run_id, WriteResult(written=landed, skipped=missed))
            journal.finish_run(run_id, at(when), "ok", {})
        undo = journal.start_run("undo", "desk.xlsx", at("2024-11-30 10:00"), undo_of=run_id)
        journal.finish_run(undo, at("2024-11-30 10:00"), "ok", {})
        start = at("2024-11-25 00:00")
        activity = journal.activity(start, start + timedelta(days=7))
    assert activity.as_json() == {
        "runs": 2,
        "cells_written": 3,
        "skipped": 1,
        "undone": 1,
        "by_rule": {"dup.same": 2, "ob.sync": 1},
    }


# --- the worker ------------------------------------------------------------------------------


def _fires(job, after: str) -> list[str]:
    out, previous, now = [], None, at(after)
    for _ in range(2):
        now = previous = job.trigger.get_next_fire_time(previous, now)
        out.append(f"{now:%a %Y-%m-%d %H:%M}")
    return out


def _jobs(settings: Settings) -> dict:
    scheduler = build_scheduler(
        settings,
        reconcile_job=lambda: None,
        digest_job=lambda: None,
        report_jobs={"report_weekly": lambda: None},
        scheduler_cls=BackgroundScheduler,
    )
    return {job.id: job for job in scheduler.get_jobs()}


def test_the_weekly_report_goes_out_on_mondays():
    jobs = _jobs(Settings(schedule={"report_weekly": "08:45"}, settlement={"day": 5}))
    assert _fires(jobs["report_weekly"], "2024-12-04 18:00") == [
        "Mon 2024-12-09 08:45",
        "Mon 2024-12-16 08:45",
    ]


def test_both_reports_can_be_turned_off(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("schedule:\n  report_weekly: off\n  report_monthly: false\n", "utf-8")
    settings = load_settings(config)
    assert settings.schedule.report_weekly is None
    assert set(_jobs(settings)) == {"poll", "nightly", "digest"}


def test_the_worker_writes_the_weekly_report_and_sends_it_once_per_channel(tmp_path):
    book = _workbook(tmp_path)
    settings = Settings(source={"kind": "workbook", "path": book}, base_dir=tmp_path)
    notifier = FakeNotifier()
    with App(settings, clock=lambda: NOW) as app:
        w = Worker(
            settings,
            backend=app.backend,
            journal=app.journal,
            notifier=notifier,
            lock=app.lock,
            clock=app.clock,
        )
        assert w.weekly_report() == "ok"
        assert w.weekly_report() == "ok"  # a second worker, or a restart: sent already
    assert notifier.sent == [
        Sent(
            "2024년 48주차 주간 보고 (11.25–12.1)",
            summary_line(report()),
            ("slack#1", "kakaowork#1"),
        )
    ]
    assert notifier.attached == [("report-2024-W48.png", "report-2024-W48.html")]
    assert (tmp_path / "reports" / "report-2024-W48.png").exists()


# --- the demo and the docs -------------------------------------------------------------------


def test_the_demo_ends_with_last_weeks_report_and_its_paths(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "desk.xlsx")]) == 0
    out = capsys.readouterr().out
    tail = out[out.index("== 4. Last week's report ==") :]
    assert (
        "지난주 인입 16건 · 업체 전달 80% · 계약 13% · 취소 사유 1위 비싼 가격 (4건, +4)\n" in tail
    )
    assert "\n가격 이상 업체 1곳\n" in tail
    for name in ("report-2024-W48.html", "report-2024-W48.png"):
        assert str(tmp_path / "reports" / name) in tail
        assert (tmp_path / "reports" / name).exists()


def test_the_readme_shows_the_demo_report_and_the_docs_define_the_command():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "![The demo desk's report for 2024-W48](docs/report-demo.png)" in readme
    with Image.open(root / "docs" / "report-demo.png") as image:
        assert image.size == (1200, 1500)
    assert "movebot report" in (root / "docs" / "REPORTS.md").read_text(encoding="utf-8")


def test_followup_days_out_of_order_are_named(tmp_path, capsys):
    config = tmp_path / "desk.yaml"
    config.write_text("followup:\n  after_days: 10\n", "utf-8")
    assert main(["report", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "setting 'followup'" in err
    assert "after_days <= due_days <= until_days, not 10, 7, 30" in err


# --- 해피콜 in the morning digest ------------------------------------------------------------


def test_the_digest_lists_followups_per_manager_due_then_late():
    d = digest_of(SNAP, NOW, Settings())
    (jung,) = [m for m in d.managers if m.manager == "정해빈"]
    assert [r.text for r in jung.followup_due] == ["행 3 김*수 010-****-0003 (이사 후 6일)"]
    assert [r.text for r in jung.followup_late] == ["행 10 김*수 010-****-0010 (이사 후 24일)"]
    title, body = render_digest(d)
    assert "해피콜 대상 1 · 해피콜 지연 1" in body.splitlines()[0]
    assert "해피콜 지연 1건\n  - 행 10 김*수 010-****-0010 (이사 후 24일)" in body


def test_the_digest_and_the_report_list_the_same_followups():
    d = digest_of(SNAP, NOW, Settings())
    in_digest = sorted(r.row for m in d.managers for r in m.followup_due + m.followup_late)
    assert in_digest == sorted(f["row"] for f in report().figures["followups"]) == [3, 10]


def test_the_page_lists_followups_due_and_late(tmp_path):
    html, _ = write_report(report(), tmp_path)
    page = html.read_text(encoding="utf-8")
    assert "<td>10</td><td>2024-11-10</td><td>24일</td><td>정해빈</td><td>지연</td>" in page
    assert "<td>3</td><td>2024-11-28</td><td>6일</td><td>정해빈</td><td>대상</td>" in page
