"""Settings: the example file documents the defaults; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog.testing

from bot.config import Settings, load_settings
from bot.errors import BadConfig

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_holds_every_default():
    example = load_settings(ROOT / "config.example.yaml")
    skip = {"source", "journal", "base_dir"}
    assert example.model_dump(exclude=skip) == Settings().model_dump(exclude=skip)
    assert example.source.kind == "workbook"


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "desk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("alerts:\n  repeat_afer: 2h\n", "alerts.repeat_afer"),  # a misspelt key
        ("alerts:\n  repeat_after: soon\n", "alerts.repeat_after"),  # not a duration
        ("rules:\n  dup.same: maybe\n", "rules.dup.same"),  # not apply / suggest / off
        ("rules:\n  no.rule: apply\n", "no.rule"),  # no such rule
        ("settlement:\n  time: noon\n", "settlement.time"),  # not a time of day
        ("settlement:\n  late_after: later\n", "settlement.late_after"),  # not a duration
        ("settlement:\n  fees:\n    견적진행: -5\n", "settlement.fees"),  # a negative fee
    ],
)
def test_a_mistake_in_the_file_is_named(tmp_path, text, named):
    with pytest.raises(BadConfig, match=named):
        load_settings(config_file(tmp_path, text))


def test_secret_comes_from_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "desk.yaml"
    config.write_text("alerts:\n  urls: ['slack://${SLACK_TOKEN}']\n")
    monkeypatch.setenv("SLACK_TOKEN", "T000/B000/XXXX")
    settings = load_settings(config)
    assert settings.alerts.urls[0].get_secret_value() == "slack://T000/B000/XXXX"
    assert "XXXX" not in repr(settings)


def test_missing_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    config = tmp_path / "desk.yaml"
    config.write_text("alerts:\n  urls: ['slack://${NOPE_TOKEN}']\n")
    with pytest.raises(BadConfig, match="NOPE_TOKEN"):
        load_settings(config)


def test_a_bare_off_in_yaml_means_off(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("rules:\n  ob.status_hint: off\n")
    assert load_settings(config).rules == {"ob.status_hint": "off"}


def test_a_tab_section_without_its_title_keeps_the_default_title(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("sheets:\n  leads:\n    header_row: 2\n")
    settings = load_settings(config)
    assert (settings.sheets.leads.title, settings.sheets.leads.header_row) == ("이사 관리자", 2)


def test_an_environment_value_that_is_not_json_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVEBOT_ALERTS__URLS", "json://127.0.0.1:9/")
    with pytest.raises(BadConfig, match="JSON"):
        load_settings(None)


def test_a_fee_for_a_status_the_desk_does_not_have_names_it_and_the_twenty(tmp_path):
    config = config_file(tmp_path, "settlement:\n  fees:\n    견적중: 30000\n    계약완료: 30000\n")
    with pytest.raises(BadConfig) as error:
        load_settings(config)
    message = str(error.value)
    assert "settlement.fees" in message and "unknown status 견적중" in message
    assert "상담요청, 견적진행, 청소문의" in message and "종결(기타)" in message


def test_fees_in_the_file_replace_the_desks_defaults(tmp_path):
    config = config_file(tmp_path, "settlement:\n  fees:\n    계약완료: 50000\n")
    assert load_settings(config).settlement.fees == {"계약완료": 50000}
    assert Settings().settlement.fees == {
        "견적진행": 30000, "계약완료": 30000, "장기견적": 15000, "장기무료": 0,
    }  # fmt: skip


def test_the_old_kakaowork_section_is_read_as_its_url_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("KAKAOWORK_APP_KEY", "key/with@odd:chars-0123")
    config = config_file(
        tmp_path,
        "alerts:\n  urls: ['slack://T000/B000/XXXX']\n"
        "  kakaowork: {app_key: '${KAKAOWORK_APP_KEY}', conversation_id: '12345'}\n",
    )
    with structlog.testing.capture_logs() as logs:
        settings = load_settings(config)
    urls = [u.get_secret_value() for u in settings.alerts.channel_urls]
    assert urls == ["slack://T000/B000/XXXX", "kakaowork://key%2Fwith%40odd%3Achars-0123@12345"]
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"].startswith("alerts.kakaowork is deprecated")
    assert "kakaowork://APP_KEY@CONVERSATION_ID" in warning["fix"]
    assert "odd" not in str(logs)
