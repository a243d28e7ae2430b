"""Review: a mistyped phone never reaches an alert or a log unmasked (RULES.md §6), while dates,
times, amounts, tons and run ids stay readable."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import structlog

from bot.alerts import compose_failure_alert, compose_run_alert
from bot.logs import configure_logging, redact
from bot.masking import RowLabels, mask_digit_run, scrub
from rules.model import Lead, Phone

from desk import desk, lead, run

NOW = datetime(2024, 12, 3, 10, 15, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # the reviewer's examples: phone.invalid messages quote the malformed number
        (
            "연락처 확인 필요: 010-5373-426 (010 번호 자리수 오류 (10자리))",
            "연락처 확인 필요: 010-****-3426 (010 번호 자리수 오류 (10자리))",
        ),
        ("연락처 확인 필요: 010-53734-269", "연락처 확인 필요: 010-****-4269"),
        ("연락처 확인 필요: 010-5373-42699 (…)", "연락처 확인 필요: 010-****-2699 (…)"),
        ("연락처 확인 필요: 01053734 (…)", "연락처 확인 필요: *** (…)"),
        ("연락처 확인 필요: 1053734269 (…)", "연락처 확인 필요: 010-****-4269 (…)"),
        ("연락처 확인 필요: 10537342 (번호 일부 누락)", "연락처 확인 필요: *** (번호 일부 누락)"),
        # the other separators staff type
        ("010.5373.426", "010-****-3426"),
        ("010 5373 426", "010-****-3426"),
        ("(010) 5373-426", "010-****-3426"),
        ("010 - 5373 - 4269", "010-****-4269"),
        ("010-53734", "010-****"),
        ("5373-4269-11", "****-6911"),
        ("1234567", "***"),
        ("010-5373-4269abc", "010-****-4269abc"),
        # several numbers in one text
        ("010-1111-2222 010-3333-444", "010-****-2222 010-****-3444"),
        ("2024-12-02 15:13 010-5373-426", "2024-12-02 15:13 010-****-3426"),
    ],
)
def test_scrub_masks_any_run_of_seven_or_more_digits(text, masked):
    assert scrub(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "인입 2024-12-02",
        "인입 2024-12-02 15:19",
        "행 41 2024-12-02",
        "이사예정일 '2024. 12. 2 오후 3:19:00'",
        "이사예정일 '2024. 12. 2.'",
        "이사예정일 20241202",
        "2024/12/02 15:19:00",
        "2024-12-03T10:15:00.123456+09:00",
        "중복: 최초 접수 12.2 15:13",
        "15:19",
        "견적금액 1,500,000",
        "견적금액 120만원",
        "견적금액 120000000원, 1,200,000원",
        "짐 양 2.5톤",
        "실행 r20241203-101500-3f2a",
        "실행 r20241203-101500-1234",  # the random part may be all digits
        "실행 r20241203-101500-0123",
        "행 41 김*수 010-****-4269",
        "010-****-4269 010-****-1234",
        "변경 2건 · 확인 필요 3건",
    ],
)
def test_scrub_leaves_dates_times_amounts_tons_and_run_ids_readable(text):
    assert scrub(text) == text


def test_a_digit_run_keeps_only_what_the_masking_convention_keeps():
    assert mask_digit_run("010-5373-4269") == "010-****-4269"
    assert mask_digit_run("010-5373-426") == "010-****-3426"
    assert mask_digit_run("0101-234") == "0101-****"
    assert mask_digit_run("01012-345") == "***"  # a first group of 5 is no area code
    assert mask_digit_run("123456") == "123456"  # too short to be a phone


def _mistyped_lead_alert(phone_text: str) -> str:
    after = run(desk(leads=[lead(phone=phone_text, status="견적진행")]))
    findings = [f for f in after.plan.findings if f.rule == "phone.invalid"]
    assert findings, after.findings(2)
    assert phone_text in findings[0].message  # the rule quotes the cell as typed
    labels = RowLabels(
        [Lead(row=2, fingerprint="fp", name="김민수", phone=Phone(phone_text, None, phone_text))]
    )
    alert = compose_run_alert(
        run_id="r20241203-101500-1234",
        now=NOW,
        written=(),
        skipped=0,
        findings=findings,
        labels=labels,
    )
    assert alert is not None
    return alert.body


@pytest.mark.parametrize(
    ("phone_text", "shown"),
    [
        ("010-5373-426", "010-****-3426"),
        ("010-5373-42699", "010-****-2699"),
        ("01053734", "***"),
        ("10537342", "***"),
    ],
)
def test_a_mistyped_phone_reaches_the_alert_masked(phone_text, shown):
    body = _mistyped_lead_alert(phone_text)
    assert phone_text not in body
    assert "5373" not in body and "김민수" not in body
    assert f"연락처 확인 필요: {shown} (" in body
    assert "실행 r20241203-101500-1234" in body


def test_a_failure_alert_masks_a_mistyped_phone_in_its_error():
    alert = compose_failure_alert(
        run_id="r20241203-101500-3f2a",
        now=NOW,
        source="desk.xlsx",
        error="cell D41 '010-5373-426' rejected on 2024-12-02",
    )
    assert "010-5373-426" not in alert.body
    assert "010-****-3426" in alert.body and "2024-12-02" in alert.body


@pytest.mark.usefixtures("restore_logging")
def test_a_mistyped_phone_never_reaches_a_log_line_and_the_run_id_stays():
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.contextvars.bind_contextvars(run_id="r20241203-101500-1234")
    structlog.get_logger("bot.engine").warning(
        "finding", message="연락처 확인 필요: 010-5373-426 (…)", rows=[41, 42], at="15:19"
    )
    logging.getLogger("gspread.http_client").warning("bad value %s on %s", "01053734", "12.2")

    text = out.getvalue()
    assert "010-5373-426" not in text and "01053734" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines[0]["message"] == "연락처 확인 필요: 010-****-3426 (…)"
    assert lines[0]["run_id"] == "r20241203-101500-1234" and lines[0]["at"] == "15:19"
    assert lines[1]["event"] == "bad value *** on 12.2"


def test_redact_masks_a_mistyped_phone_under_any_key():
    cleaned = redact(None, "info", {"event": "sync 010-53734-269", "detail": "010-5373-42699"})
    assert cleaned == {"event": "sync 010-****-4269", "detail": "010-****-2699"}
