"""Logs: one chain for movebot and the libraries; no phone, name, key or token ever logged."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from pydantic import SecretStr

from bot.logs import configure_logging, redact
from bot.masking import register_secret

PHONE = "010-5373-4269"
SECRET_URL = "tgram://123456789:ABCdefGHIjklMNOpqrSTUvwxYZ/-1001234"
APP_KEY = "kakao-app-key-0123456789abcdef"


pytestmark = pytest.mark.usefixtures("restore_logging")


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_movebot_and_library_lines_share_one_chain_and_carry_the_run_id():
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.contextvars.bind_contextvars(run_id="r20241203-101500-3f2a")
    structlog.get_logger("bot.engine").info(
        "rule done", rule="longterm.promote", changes=2, findings=0
    )
    logging.getLogger("apscheduler.executors.default").info("Running job %s", "poll")
    logging.getLogger("gspread.http_client").warning("retrying after %s", "429")

    lines = json_lines(out)
    assert [line["event"] for line in lines] == [
        "rule done",
        "Running job poll",
        "retrying after 429",
    ]
    for line in lines:
        assert line["run_id"] == "r20241203-101500-3f2a"
        assert line["timestamp"].endswith("+09:00")  # KST, with its offset
        assert line["level"] in ("info", "warning")
    assert lines[0]["logger"] == "bot.engine" and lines[0]["changes"] == 2
    assert lines[1]["logger"] == "apscheduler.executors.default"


def test_a_secret_and_a_phone_never_reach_the_output_of_the_stdlib_handler():
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    register_secret(SecretStr(APP_KEY))
    log = structlog.get_logger("bot.alerts")

    log.info(f"calling {PHONE}", url=SECRET_URL, app_key=APP_KEY, password="hunter22")
    log.info("settings", kakaowork={"app_key": SecretStr(APP_KEY), "conversation_id": "12"})
    log.info("sent", text=f"header sent with {APP_KEY}", phone=1053734269, customer="김민수")
    logging.getLogger("apprise").error("Unparseable URL %s", SECRET_URL)
    logging.getLogger("gspread").warning("row with %s could not be read", "01053734269")
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        log.exception("run failed")
    try:
        raise KeyError("01071815385")
    except KeyError:
        logging.getLogger("apscheduler.executors.default").exception("Job raised")

    text = out.getvalue()
    for leaked in (
        PHONE,
        "01053734269",
        "1053734269",
        "01071815385",
        "ABCdefGHIjklMNO",
        APP_KEY,
        "hunter22",
        "김민수",
    ):
        assert leaked not in text, leaked
    lines = json_lines(out)
    assert lines[0]["event"] == "calling 010-****-4269"
    assert lines[0]["url"] == "tgram://***"
    assert lines[0]["app_key"] == "[redacted]" and lines[0]["password"] == "[redacted]"
    assert lines[1]["kakaowork"] == {"app_key": "[redacted]", "conversation_id": "12"}
    assert lines[2]["phone"] == "010-****-4269" and lines[2]["customer"] == "김*수"
    assert lines[3]["event"] == "Unparseable URL tgram://***"
    assert "010-****-4269" in lines[5]["exception"]
    assert "010-****-5385" in lines[6]["exception"]


def test_library_chatter_below_warning_is_not_logged_even_at_debug():
    out = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=out)
    logging.getLogger("apprise").debug("Slack POST URL: https://hooks.slack.com/services/T/B/X")
    logging.getLogger("urllib3.connectionpool").debug("POST /bot123:abc/sendMessage")
    structlog.get_logger("movebot").debug("planned", rows=3)
    assert [line["event"] for line in json_lines(out)] == ["planned"]


def test_a_terminal_gets_the_console_renderer_with_the_same_redaction():
    out = io.StringIO()
    configure_logging(json=False, stream=out)
    log = structlog.get_logger("bot.cli")
    log.info("reading", phone=PHONE, token="abc123456789")
    try:
        raise RuntimeError(f"cell {PHONE}")
    except RuntimeError:
        log.exception("failed")
    text = out.getvalue()
    assert "reading" in text and "010-****-4269" in text
    assert PHONE not in text and "abc123456789" not in text
    assert not text.lstrip().startswith("{")


def test_json_is_picked_when_the_stream_is_not_a_terminal():
    out = io.StringIO()  # isatty() is False
    configure_logging(stream=out)
    structlog.get_logger().info("hello")
    assert json_lines(out)[0]["event"] == "hello"


def test_configuring_twice_keeps_one_handler():
    configure_logging(json=True, stream=io.StringIO())
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.get_logger().info("once")
    assert len(json_lines(out)) == 1
    assert sum(type(h).__name__ == "_MovebotHandler" for h in logging.getLogger().handlers) == 1


def test_what_movebot_logs_is_redacted_by_the_chain(capsys):
    """capture_logs shows what a call site hands structlog; `redact` is what the chain makes of
    it before any renderer sees it."""
    register_secret(SecretStr(APP_KEY))
    with structlog.testing.capture_logs() as captured:
        structlog.get_logger().warning(
            "channel failed", channel="kakaowork", error=f"401 for {APP_KEY}", detail=PHONE
        )
    assert captured[0]["channel"] == "kakaowork"
    cleaned = redact(None, "warning", dict(captured[0]))
    assert APP_KEY not in json.dumps(cleaned) and PHONE not in json.dumps(cleaned)
    assert cleaned["detail"] == "010-****-4269"
