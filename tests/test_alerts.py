"""Manager alerts: Korean, counted, masked, not repeated, and a failing channel fails nothing."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta

import pytest
import responses
import structlog
from pydantic import SecretStr

from bot.alerts import (
    Notifier,
    compose_failure_alert,
    compose_run_alert,
    repeat_key,
    send_failure_alert,
    send_run_alert,
)
from bot.app import App
from bot.config import AlertsConfig, Settings
from bot.journal import Journal
from bot.kakaowork import SEND_URL as KAKAOWORK_SEND_URL
from bot.masking import RowLabels
from rules.model import CellWrite, Desk, Finding, Lead, ObCall, Phone, Severity
from rules.values import KST

NOW = datetime(2024, 12, 3, 10, 15, tzinfo=KST)
DAY = timedelta(hours=24)

SLACK = "slack://T000/B000/XXXXSLACKSECRET"
SLACK_POST = "https://hooks.slack.com/services/T000/B000/XXXXSLACKSECRET"
TG_TOKEN = "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ"
TELEGRAM = f"tgram://{TG_TOKEN}/-1001234"
TELEGRAM_POST = f"https://api.telegram.org/bot{TG_TOKEN}/sendMessage"
GCHAT = "gchat://SPACEID/GCHATKEY123/GCHATTOKEN456"
GCHAT_POST = "https://chat.googleapis.com/v1/spaces/SPACEID/messages"
KAKAO_KEY = "kakao-app-key-0123456789abcdef"
KAKAOWORK = f"kakaowork://{KAKAO_KEY}@12345"

RAW = ("010-5373-4269", "01053734269", "5373", "김민수", "010-7181-5385", "7181", "이영희")


def phone(text: str) -> Phone:
    digits = text.replace("-", "")
    return Phone(text=text, key="+82" + digits[1:], display=text)


DESK = Desk(
    leads=(
        Lead(row=41, fingerprint="fp41", name="김민수", phone=phone("010-5373-4269")),
        Lead(row=57, fingerprint="fp57", name="이영희", phone=phone("010-7181-5385")),
    ),
    obs=(ObCall(row=7, fingerprint="ob7", phone=phone("010-7181-5385")),),
)
LABELS = RowLabels.from_desk(DESK)

WRITTEN = (
    CellWrite("leads", 41, 2, "status", "장기요청", "상담요청", "fp41", ("longterm.promote",)),
    CellWrite(
        "leads",
        41,
        3,
        "remarks",
        "",
        "장기요청→상담요청 (이사 D-60)",
        "fp41",
        ("longterm.promote",),
    ),
    CellWrite("leads", 57, 2, "status", "상담요청", "종결(중복)", "fp57", ("dup.multi_number",)),
)
FINDINGS = (
    Finding(
        "leads",
        57,
        "phone.invalid",
        "010-7181-5385 접수 내용 동일, 이영희 고객",
        fingerprint="fp57",
    ),
    Finding("ob", 7, "ob.orphan", "OB 상세 번호의 DB 없음", fingerprint="ob7"),
    Finding("leads", 41, "dup.name_match", "같은 고객일 수 있음, 행 57", Severity.INFO, "fp41"),
)


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ok_channels(http: responses.RequestsMock) -> None:
    http.add(responses.POST, SLACK_POST, body="ok")
    http.add(responses.POST, TELEGRAM_POST, json={"ok": True, "result": {}})
    http.add(responses.POST, GCHAT_POST, json={})
    http.add(responses.POST, KAKAOWORK_SEND_URL, json={"success": True, "message": {}})


def text_of(call) -> str:
    """The request's body as a person would read it (JSON unescaped, markdown escapes gone)."""
    body = call.request.body or b""
    body = body.decode("utf-8") if isinstance(body, bytes) else body
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), ensure_ascii=False)
    return body.replace("\\\\", "").replace("\\", "")


def assert_nothing_raw(calls) -> None:
    for call in calls:
        text = text_of(call)
        for raw in RAW:
            assert raw not in text, (call.request.url.split("?")[0], raw)


def new_run(journal: Journal, now: datetime = NOW) -> str:
    return journal.start_run("reconcile", "desk.xlsx", now)


# --- composing -------------------------------------------------------------------------------


def test_the_alert_counts_changes_per_rule_and_lists_new_findings_with_masked_rows():
    alert = compose_run_alert(
        run_id="r1", now=NOW, written=WRITTEN, skipped=1, findings=FINDINGS, labels=LABELS
    )
    assert alert is not None
    assert alert.title == "movebot 점검 결과 (12.3 10:15)"
    lines = alert.body.splitlines()
    assert lines[0] == "변경 2건 · 확인 필요 2건 · 참고 1건 · 반영 보류 1건"
    body = alert.body
    assert "장기요청→상담요청 승격 1건\n  - 행 41 김*수 010-****-4269" in body
    assert "여러 번호 문의 정리 (중복 종결·번호 메모) 1건\n  - 행 57 이*희 010-****-5385" in body
    assert "  - 행 57 이*희 010-****-5385: 010-****-5385 접수 내용 동일, 이*희 고객" in body
    assert "OB 상세 번호의 DB 없음 1건\n  - OB 상세 행 7 010-****-5385\n" in body
    assert body.index("[확인 필요]") < body.index("[참고]")
    assert "반영하지 않았습니다" in body and "실행 r1" in body
    for raw in RAW:
        assert raw not in body


def test_at_most_ten_rows_per_rule_then_the_rest_counted():
    findings = [
        Finding("leads", row, "phone.invalid", "연락처 확인", fingerprint=f"fp{row}")
        for row in range(2, 27)
    ]
    alert = compose_run_alert(
        run_id="r1", now=NOW, written=(), skipped=0, findings=findings, labels={}
    )
    assert alert is not None
    assert "연락처 확인 필요 25건" in alert.body
    listed = [line for line in alert.body.splitlines() if line.startswith("  - 행 ")]
    assert len(listed) == 10 and listed[0].startswith("  - 행 2:")
    assert "  - 외 15건" in alert.body


def test_a_long_alert_lists_fewer_rows_to_stay_readable():
    findings = [
        Finding("leads", row, rule, "가" * 60, fingerprint=f"fp{row}")
        for row in range(2, 40)
        for rule in ("phone.invalid", "lead.required", "longterm.window", "status.unknown")
    ]
    alert = compose_run_alert(
        run_id="r1", now=NOW, written=(), skipped=0, findings=findings, labels={}
    )
    assert alert is not None
    assert len(alert.body) <= 3500
    assert "상담요청 필수 정보 누락 38건" in alert.body


def test_a_run_that_wrote_nothing_and_found_nothing_new_composes_nothing():
    alert = compose_run_alert(run_id="r1", now=NOW, written=(), skipped=2, findings=(), labels={})
    assert alert is None


def test_the_repeat_key_is_sheet_fingerprint_and_rule():
    a = Finding("leads", 41, "phone.invalid", "x", fingerprint="fp41")
    moved = Finding("leads", 45, "phone.invalid", "other words", fingerprint="fp41")
    assert repeat_key(a) == repeat_key(moved)
    assert repeat_key(a) != repeat_key(
        Finding("leads", 41, "lead.required", "x", fingerprint="fp41")
    )
    assert repeat_key(a) != repeat_key(Finding("ob", 41, "phone.invalid", "x", fingerprint="fp41"))


def test_a_failure_alert_is_korean_and_scrubbed():
    alert = compose_failure_alert(
        run_id="r1", now=NOW, source="1AbC", error="bad row 010-5373-4269 in slack://T/B/SECRET"
    )
    assert "실행이 실패했습니다" in alert.body
    assert "010-5373-4269" not in alert.body and "SECRET" not in alert.body


# --- channels --------------------------------------------------------------------------------


def test_each_channel_gets_its_payload_with_phones_and_names_masked(http, journal):
    ok_channels(http)
    notifier = Notifier([SLACK, TELEGRAM, GCHAT, SecretStr(KAKAOWORK)])
    assert notifier.channels == ("slack#1", "tgram#1", "gchat#1", "kakaowork#1")
    run_id = new_run(journal)
    results = send_run_alert(
        journal,
        notifier,
        run_id=run_id,
        now=NOW,
        written=WRITTEN,
        skipped=0,
        findings=FINDINGS,
        labels=LABELS,
        repeat_after=DAY,
    )
    assert [(r.channel, r.ok) for r in results] == [
        ("slack#1", True),
        ("tgram#1", True),
        ("gchat#1", True),
        ("kakaowork#1", True),
    ]
    calls = {call.request.url.split("?")[0]: call for call in http.calls}
    assert set(calls) == {SLACK_POST, TELEGRAM_POST, GCHAT_POST, KAKAOWORK_SEND_URL}

    slack = json.loads(calls[SLACK_POST].request.body)
    assert slack["attachments"][0]["title"] == "movebot 점검 결과 (12.3 10:15)"
    assert "행 41 김*수 010-****-4269" in slack["attachments"][0]["text"]

    telegram = json.loads(calls[TELEGRAM_POST].request.body)
    assert telegram["chat_id"] in (-1001234, "-1001234")
    assert "행 41 김*수 010-****-4269" in telegram["text"]

    gchat = calls[GCHAT_POST]
    assert "key=GCHATKEY123" in gchat.request.url and "token=GCHATTOKEN456" in gchat.request.url
    assert "행 41 김*수 010-****-4269" in text_of(gchat)

    kakao = calls[KAKAOWORK_SEND_URL]
    assert kakao.request.headers["Authorization"] == f"Bearer {KAKAO_KEY}"
    payload = json.loads(kakao.request.body)
    assert payload["conversation_id"] == "12345"
    assert payload["text"].startswith("movebot 점검 결과 (12.3 10:15)\n\n변경 2건")
    assert "행 41 김*수 010-****-4269" in payload["text"]

    assert_nothing_raw(http.calls)


def test_a_finding_is_not_alerted_again_within_repeat_after(http, journal):
    ok_channels(http)
    notifier = Notifier([SLACK])
    args = dict(written=(), skipped=0, findings=FINDINGS, labels=LABELS, repeat_after=DAY)

    first = send_run_alert(journal, notifier, run_id=new_run(journal), now=NOW, **args)
    assert [r.ok for r in first] == [True]

    later = NOW + timedelta(hours=23)
    again = send_run_alert(journal, notifier, run_id=new_run(journal, later), now=later, **args)
    assert again == [] and len(http.calls) == 1

    one_new = FINDINGS + (
        Finding("leads", 41, "lead.required", "이사예정일 없음", fingerprint="fp41"),
    )
    args["findings"] = one_new
    third = send_run_alert(journal, notifier, run_id=new_run(journal, later), now=later, **args)
    assert [r.ok for r in third] == [True]
    text = text_of(http.calls[-1])
    assert "상담요청 필수 정보 누락 1건" in text and "연락처 확인 필요" not in text

    next_day = NOW + timedelta(hours=24)
    args["findings"] = FINDINGS
    fourth = send_run_alert(
        journal, notifier, run_id=new_run(journal, next_day), now=next_day, **args
    )
    assert [r.ok for r in fourth] == [True]
    assert "연락처 확인 필요 1건" in text_of(http.calls[-1])


def test_changes_are_alerted_even_when_every_finding_was_already_sent(http, journal):
    ok_channels(http)
    notifier = Notifier([SLACK])
    common = dict(skipped=0, findings=FINDINGS, labels=LABELS, repeat_after=DAY)
    send_run_alert(journal, notifier, run_id=new_run(journal), now=NOW, written=(), **common)
    later = NOW + timedelta(hours=1)
    results = send_run_alert(
        journal, notifier, run_id=new_run(journal, later), now=later, written=WRITTEN, **common
    )
    assert [r.ok for r in results] == [True]
    text = text_of(http.calls[-1])
    assert "장기요청→상담요청 승격 1건" in text and "[확인 필요]" not in text


def test_an_applied_run_with_nothing_to_tell_sends_nothing(http, journal):
    ok_channels(http)
    results = send_run_alert(
        journal,
        Notifier([SLACK, TELEGRAM, KAKAOWORK]),
        run_id=new_run(journal),
        now=NOW,
        written=(),
        skipped=3,
        findings=(),
        labels=LABELS,
        repeat_after=DAY,
    )
    assert results == [] and len(http.calls) == 0


def test_a_failing_channel_is_reported_logged_and_retried_next_run(http, journal):
    http.add(responses.POST, SLACK_POST, status=500, body="internal error")
    http.add(responses.POST, TELEGRAM_POST, json={"ok": True, "result": {}})
    http.add(
        responses.POST,
        KAKAOWORK_SEND_URL,
        status=401,
        json={"success": False, "error": {"code": "invalid_token", "message": "bad key"}},
    )
    notifier = Notifier([SecretStr(SLACK), SecretStr(TELEGRAM), SecretStr(KAKAOWORK)])
    args = dict(written=(), skipped=0, findings=FINDINGS, labels=LABELS, repeat_after=DAY)

    with structlog.testing.capture_logs() as logs:
        results = send_run_alert(journal, notifier, run_id=new_run(journal), now=NOW, **args)
    assert {r.channel: r.ok for r in results} == {
        "slack#1": False,
        "tgram#1": True,
        "kakaowork#1": False,
    }
    kakao = next(r for r in results if r.channel == "kakaowork#1")
    assert kakao.error == "HTTP 401 invalid_token"
    failed = [e for e in logs if e["log_level"] == "warning"]
    assert {e["channel"] for e in failed} == {"slack#1", "kakaowork#1"}
    logged = json.dumps(logs, ensure_ascii=False, default=str)
    for secret in ("XXXXSLACKSECRET", "ABCdefGHIjklMNO", KAKAO_KEY, "hooks.slack.com"):
        assert secret not in logged
    for raw in RAW:
        assert raw not in logged

    # next run, same findings: the failed channels get them again, telegram does not
    http.replace(responses.POST, SLACK_POST, body="ok")
    http.replace(responses.POST, KAKAOWORK_SEND_URL, json={"success": True})
    later = NOW + timedelta(minutes=15)
    retried = send_run_alert(journal, notifier, run_id=new_run(journal, later), now=later, **args)
    assert sorted((r.channel, r.ok) for r in retried) == [("kakaowork#1", True), ("slack#1", True)]


def test_the_old_kakaowork_section_sends_with_its_app_key_as_written(http, tmp_path):
    http.add(responses.POST, KAKAOWORK_SEND_URL, json={"success": True})
    key = "key/with@odd:chars-0123"
    alerts = AlertsConfig(kakaowork={"app_key": key, "conversation_id": "777"})
    notifier = App(Settings(alerts=alerts, base_dir=tmp_path)).notifier
    assert [(r.channel, r.ok) for r in notifier.send("제목", "본문")] == [("kakaowork#1", True)]
    sent = http.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {key}"
    assert json.loads(sent.body) == {"conversation_id": "777", "text": "제목\n\n본문"}


def test_a_channel_that_cannot_be_reached_does_not_raise(http):
    # nothing registered: the connection itself fails
    notifier = Notifier([SLACK, f"kakaowork://{'k' * 20}@1"])
    results = notifier.send("제목", "본문")
    assert [(r.channel, r.ok) for r in results] == [("slack#1", False), ("kakaowork#1", False)]
    assert results[1].error == "ConnectionError"


def test_an_url_apprise_cannot_read_is_a_failed_channel_not_a_crash(http):
    with structlog.testing.capture_logs() as logs:
        notifier = Notifier(["slak://T000/B000/TYPOSECRET1"])
    assert notifier.check()[0].ok is False
    assert notifier.send("제목", "본문")[0].ok is False
    assert "TYPOSECRET1" not in json.dumps(logs, default=str)
    assert logs[0]["channel"] == "slak#1"


def test_a_failure_is_alerted_once_while_runs_keep_failing(http, journal):
    ok_channels(http)
    notifier = Notifier([SLACK])
    first = send_failure_alert(
        journal,
        notifier,
        run_id=new_run(journal),
        now=NOW,
        source="1AbC",
        error="ServiceFailure: Sheets API kept answering 503",
        repeat_after=DAY,
    )
    assert [r.ok for r in first] == [True]
    later = NOW + timedelta(minutes=15)
    second = send_failure_alert(
        journal,
        notifier,
        run_id=new_run(journal, later),
        now=later,
        source="1AbC",
        error="ServiceFailure: Sheets API kept answering 503",
        repeat_after=DAY,
    )
    assert second == [] and len(http.calls) == 1
    assert "실행 실패" in text_of(http.calls[0])


def test_no_channels_configured_sends_nothing(journal):
    notifier = Notifier()
    assert not notifier and notifier.channels == ()
    results = send_run_alert(
        journal,
        notifier,
        run_id=new_run(journal),
        now=NOW,
        written=WRITTEN,
        skipped=0,
        findings=FINDINGS,
        labels=LABELS,
        repeat_after=DAY,
    )
    assert results == []


def test_a_finding_quoting_another_leads_name_shows_it_masked():
    findings = [
        Finding("leads", 41, "dup.same", "이영희 고객과 같은 이사로 보임", fingerprint="fp41")
    ]

    alert = compose_run_alert(
        run_id="r1", now=NOW, written=(), skipped=0, findings=findings, labels=LABELS
    )

    assert alert is not None
    assert "이영희" not in alert.body and "이*희 고객과 같은 이사로 보임" in alert.body
