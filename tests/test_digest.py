"""The morning digest: per 담당자, calls due today, overdue calls, vendor returns waiting for an
OB call, promoted leads waiting for a vendor — masked, counted, readable on a phone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import structlog.testing

from bot import demo
from bot.app import App
from bot.config import Settings, SourceConfig
from bot.digest import digest_of, run_digest, send_digest
from bot.engine import plan
from bot.errors import BadConfig
from bot.masking import row_label
from bot.sheets.workbook import create_workbook
from rules import RULES
from rules.digest import NOTHING_TODAY, UNASSIGNED, build_digest, digest_json, render_digest
from rules.settings import RuleSettings

from conftest import FakeNotifier
from desk import at, desk, lead, ob

NOW = at("2024-12-04 09:00")  # a Wednesday


def phone(n: int) -> str:
    return f"010-3000-{n:04d}"


SNAP = desk(
    leads=[
        # row 2: 이지은 calls today
        lead(phone=phone(2), name="김민수", manager="이지은", status="견적진행",
             call_due="2024-12-04"),
        # row 3: 이지은's call was due on the 2nd
        lead(phone=phone(3), name="박서준", manager="이지은", status="상담요청",
             call_due="2024-12-02"),
        # row 4: nobody's, a new inquiry whose call was due on the 1st
        lead(phone=phone(4), name="이서연", manager="", status="", call_due="2024-12-01"),
        # row 5 / 6: closed rows need no call, today or overdue
        lead(phone=phone(5), manager="이지은", status="종결(중복)", call_due="2024-12-04"),
        lead(phone=phone(6), manager="이지은", status="종결(고객취소)", call_due="2024-12-01"),
        # row 7: a vendor returned it on the 2nd, nobody called since -> return.pending
        lead(phone=phone(7), name="최지우", manager="정해빈", status="확인요청",
             intake="2024-12-02 15:19", remarks="업체 : 고객 연락 안 됨"),
        # row 8: returned, but the desk called on the 3rd
        lead(phone=phone(8), manager="정해빈", status="확인요청", intake="2024-12-02 15:19",
             remarks="업체 : 일정 안 맞음"),
        # row 9: promoted by the bot, no vendor yet
        lead(phone=phone(9), name="한도윤", manager="정해빈", status="상담요청",
             move_date="2025-02-02", remarks="장기요청→상담요청 (이사 D-60)"),
        # row 10: promoted and already handed to a vendor
        lead(phone=phone(10), manager="정해빈", status="상담요청", move_date="2025-02-02",
             remarks="장기요청→상담요청 (이사 D-60)", vendor="한빛이사"),
        # row 11: 상담요청 without the bot's note is not "promoted"
        lead(phone=phone(11), manager="정해빈", status="상담요청", move_date="2025-02-02"),
        # row 12: 통화예정일 tomorrow: nothing yet
        lead(phone=phone(12), manager="이지은", status="견적진행", call_due="2024-12-05"),
    ],
    obs=[ob(phone=phone(8), ob_date="2024-12-03", detail="고객 통화, 재배정 요청")],
)  # fmt: skip


def rows_of(d, manager: str) -> dict[str, list[str]]:
    m = next(m for m in d.managers if m.manager == manager)
    return {name: [r.text for r in m.rows(name)] for name in m.counts}


def test_each_manager_gets_calls_due_overdue_returns_and_promoted_leads():
    d = build_digest(SNAP, NOW, RuleSettings(), row_label)
    assert [m.manager for m in d.managers] == ["이지은", "정해빈", UNASSIGNED]
    assert rows_of(d, "이지은") == {
        "due_today": ["행 2 김*수 010-****-0002"],
        "overdue": ["행 3 박*준 010-****-0003 (예정 12.2)"],
        "returns": [],
        "promoted": [],
        "judgement": [],
        "followup_due": [],
        "followup_late": [],
    }
    assert rows_of(d, "정해빈") == {
        "due_today": [],
        "overdue": [],
        "returns": ["행 7 최*우 010-****-0007 (인입 후 2일)"],
        "promoted": ["행 9 한*윤 010-****-0009 (이사 D-60)"],
        "judgement": [],
        "followup_due": [],
        "followup_late": [],
    }
    assert rows_of(d, UNASSIGNED)["overdue"] == ["행 4 이*연 010-****-0004 (예정 12.1)"]
    assert d.counts == {
        "due_today": 1,
        "overdue": 2,
        "returns": 1,
        "promoted": 1,
        "judgement": 0,
        "followup_due": 0,
        "followup_late": 0,
    }


def test_overdue_calls_are_listed_oldest_first():
    snap = desk(
        leads=[
            lead(phone=phone(2), manager="이지은", status="견적진행", call_due="2024-12-03"),
            lead(phone=phone(3), manager="이지은", status="견적진행", call_due="2024-11-28"),
        ]
    )
    d = build_digest(snap, NOW, RuleSettings(), row_label)
    assert [r.row for r in d.managers[0].overdue] == [3, 2]


def test_returns_are_exactly_the_rows_the_return_pending_rule_flags():
    flagged = {
        f.row for f in plan(SNAP, NOW, RuleSettings()).findings if f.rule == "return.pending"
    }
    d = build_digest(SNAP, NOW, RuleSettings(), row_label)
    listed = {r.row for m in d.managers for r in m.returns}
    assert listed == flagged == {7}


def test_returns_follow_the_rules_hours_and_its_off_switch():
    later = Settings(returns={"pending_after_hours": 72})
    assert build_digest(SNAP, NOW, later.rule_settings(), row_label).counts["returns"] == 0
    off = Settings(rules={"return.pending": "off"})
    assert build_digest(SNAP, NOW, off.rule_settings(), row_label).counts["returns"] == 0


def test_a_row_the_return_rule_fails_on_is_left_out_and_logged_without_its_text(monkeypatch):
    def fails(lead, ctx):
        raise ValueError(f"odd row {lead.phone.text}")

    monkeypatch.setitem(RULES, "return.pending", replace(RULES["return.pending"], check=fails))
    with structlog.testing.capture_logs() as logs:
        d = digest_of(SNAP, NOW, Settings())
    assert d.counts["returns"] == 0 and d.counts["due_today"] == 1
    failed = [e for e in logs if e["event"] == "digest.rule_failed"]
    assert {e["row"] for e in failed} == set(range(2, 13))
    assert failed[0] == {
        "event": "digest.rule_failed",
        "log_level": "warning",
        "rule": "return.pending",
        "row": 2,
        "error": "ValueError",
    }


def test_today_is_the_day_in_seoul_whatever_the_clock_zone():
    d = build_digest(SNAP, datetime(2024, 12, 3, 23, 30, tzinfo=UTC), RuleSettings(), row_label)
    assert d.now.isoformat() == "2024-12-04T08:30:00+09:00"
    assert d.counts["due_today"] == 1


def test_the_text_counts_first_then_lists_each_manager_masked():
    title, body = render_digest(build_digest(SNAP, NOW, RuleSettings(), row_label))
    assert title == "movebot 오늘의 할 일 (12.4 수)"
    lines = body.splitlines()
    assert (
        lines[0]
        == "오늘 통화 예정 1 · 통화 예정일 지남 2 · 업체 반환 OB 대기 1 · 승격 후 업체 미배정 1"
    )
    assert lines[2:6] == [
        "[담당자별]",
        "이지은: 오늘 통화 예정 1 · 통화 예정일 지남 1",
        "정해빈: 업체 반환 OB 대기 1 · 승격 후 업체 미배정 1",
        "미지정: 통화 예정일 지남 1",
    ]
    assert "■ 이지은" in lines and "  - 행 2 김*수 010-****-0002" in lines
    for raw in ("김민수", "3000-0002", "010-3000", "최지우"):
        assert raw not in body


def test_a_long_list_shows_fifteen_rows_then_the_rest_counted():
    snap = desk(
        leads=[
            lead(phone=phone(n), manager="이지은", status="견적진행", call_due="2024-12-04")
            for n in range(20)
        ]
    )
    _, body = render_digest(build_digest(snap, NOW, RuleSettings(), row_label))
    listed = [line for line in body.splitlines() if line.startswith("  - 행 ")]
    assert len(listed) == 15
    assert "  - 외 5건" in body.splitlines()


def test_a_very_long_digest_lists_fewer_rows_to_fit_a_phone():
    snap = desk(
        leads=[
            lead(phone=phone(n), manager=f"담당{n % 12}", status="견적진행", call_due="2024-12-04")
            for n in range(300)
        ]
    )
    _, body = render_digest(build_digest(snap, NOW, RuleSettings(), row_label))
    assert len(body) <= 3500
    assert "외 " in body


def test_an_empty_digest_says_there_is_nothing_to_check():
    d = build_digest(desk(leads=[lead(status="견적진행")]), NOW, RuleSettings(), row_label)
    assert d.empty
    assert render_digest(d)[1] == NOTHING_TODAY
    assert digest_json(d)["empty"] is True and digest_json(d)["managers"] == []


def test_json_holds_counts_and_masked_rows_only():
    data = digest_json(build_digest(SNAP, NOW, RuleSettings(), row_label))
    assert data["now"] == "2024-12-04T09:00:00+09:00"
    assert data["counts"]["overdue"] == 2
    first = data["managers"][0]
    assert first["manager"] == "이지은"
    assert first["due_today"] == [{"row": 2, "label": "행 2 김*수 010-****-0002", "detail": ""}]
    text = json.dumps(data, ensure_ascii=False)
    assert "김민수" not in text and "3000-0002" not in text


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def book_app(book, tmp_path):
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    with App(settings) as app:
        yield app


def test_run_digest_prints_the_digest_of_the_workbook(book_app):
    printed: list[str] = []
    code = run_digest(
        book_app.settings, book_app.backend, at("2024-12-05 08:30"), out=printed.append
    )
    assert code == 0
    assert printed[0].startswith("movebot 오늘의 할 일 (12.5 목)\n\n오늘 통화 예정 ")
    assert "■ 이지은" in printed[0]


def test_run_digest_json_is_one_object(book_app):
    printed: list[str] = []
    run_digest(
        book_app.settings,
        book_app.backend,
        at("2024-12-05 08:30"),
        as_json=True,
        out=printed.append,
    )
    data = json.loads(printed[0])
    assert data["counts"]["due_today"] >= 1


def test_send_delivers_even_an_empty_digest_so_managers_know_the_bot_ran(tmp_path):
    path = tmp_path / "empty.xlsx"
    create_workbook(path, {"이사 관리자": [demo.LEAD_HEADERS], "OB 상세": [demo.OB_HEADERS]})
    settings = Settings(source=SourceConfig(kind="workbook", path=path), base_dir=tmp_path)
    fake = FakeNotifier()
    code = run_digest(settings, App(settings).backend, NOW, send_to=fake, out=lambda _: None)
    assert code == 0
    assert [sent.body for sent in fake.sent] == [NOTHING_TODAY]
    assert fake.sent[0].channels == ("slack#1", "kakaowork#1")


def test_send_without_any_channel_is_a_config_error(book_app):
    with pytest.raises(BadConfig, match="alerts.urls"):
        run_digest(
            book_app.settings,
            book_app.backend,
            NOW,
            send_to=book_app.notifier,
            out=lambda _: None,
        )


def test_send_reports_failure_when_no_channel_took_it(book_app):
    said: list[str] = []
    code = run_digest(
        book_app.settings,
        book_app.backend,
        NOW,
        send_to=FakeNotifier(refuse="HTTP 500"),
        out=lambda _: None,
        err=said.append,
    )
    assert code == 1
    assert any("slack#1: HTTP 500" in s for s in said)


def test_the_worker_sends_a_days_digest_once_per_channel(journal):
    fake = FakeNotifier()
    d = digest_of(SNAP, NOW, Settings())
    assert len(send_digest(d, fake, journal=journal)) == 2
    again = digest_of(SNAP, NOW + timedelta(minutes=1), Settings())
    assert send_digest(again, fake, journal=journal) == []
    tomorrow = digest_of(SNAP, NOW + timedelta(days=1), Settings())
    assert len(send_digest(tomorrow, fake, journal=journal)) == 2
    assert len(fake.sent) == 2


def test_a_digest_piped_to_no_terminal_keeps_its_lines(monkeypatch):
    """cron mails what `movebot digest` prints: a mail reader wraps by itself, so lines are
    wrapped only for a terminal (or when COLUMNS says how wide)."""
    from bot.report import fitted

    line = "  - 행 33 정*진 010-****-1301 (" + "한결이사에 전달된 DB를 중복 종결 " * 3 + ")"
    monkeypatch.delenv("COLUMNS", raising=False)
    assert fitted(line) == line  # pytest's stdout is no terminal
    monkeypatch.setenv("COLUMNS", "80")
    assert fitted(line) != line and all(len(part) <= 80 for part in fitted(line).split("\n"))
