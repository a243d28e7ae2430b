"""Settings: the example file documents the defaults; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from movebot.bot.config import Settings, load_settings
from movebot.bot.errors import BadConfig

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_holds_every_default():
    example = load_settings(ROOT / "config.example.yaml")
    skip = {"source", "journal", "base_dir"}
    assert example.model_dump(exclude=skip) == Settings().model_dump(exclude=skip)
    assert example.source.kind == "workbook"


def test_misspelt_key_is_named(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("alerts:\n  repeat_afer: 2h\n")
    with pytest.raises(BadConfig, match="alerts.repeat_afer"):
        load_settings(config)


def test_bad_duration_is_named(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("alerts:\n  repeat_after: soon\n")
    with pytest.raises(BadConfig, match="alerts.repeat_after"):
        load_settings(config)


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


def test_rule_mode_must_be_apply_suggest_or_off(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("rules:\n  dup.same: maybe\n")
    with pytest.raises(BadConfig, match="rules.dup.same"):
        load_settings(config)


def test_a_bare_off_in_yaml_means_off(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("rules:\n  ob.status_hint: off\n")
    assert load_settings(config).rules == {"ob.status_hint": "off"}


def test_an_unknown_rule_id_is_named(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("rules:\n  no.rule: apply\n")
    with pytest.raises(BadConfig, match="no.rule"):
        load_settings(config)


def test_a_tab_section_without_its_title_keeps_the_default_title(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text("sheets:\n  leads:\n    header_row: 2\n")
    settings = load_settings(config)
    assert (settings.sheets.leads.title, settings.sheets.leads.header_row) == ("이사 관리자", 2)


def test_an_environment_value_that_is_not_json_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVEBOT_ALERTS__URLS", "json://127.0.0.1:9/")
    with pytest.raises(BadConfig, match="JSON"):
        load_settings(None)
