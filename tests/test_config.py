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
