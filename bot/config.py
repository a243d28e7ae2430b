"""Settings: one YAML file, any key overridable by a MOVEBOT_* environment variable.

`load_settings(path)` reads the file (relative paths in it are relative to the file), expands
`${VAR}` in string values from the environment, and validates it. An unknown or misspelt key is
a `BadConfig` that names it.
"""

from __future__ import annotations

import os
import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import structlog
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from bot.errors import BadConfig
from rules import RULE_IDS
from rules.figures import ReportSettings
from rules.settings import (
    DEFAULT_NO_ANSWER_WORDS,
    DEFAULT_PRICE_REASONS,
    DEFAULT_STATUS_HINTS,
    Mode,
    RuleSettings,
)
from rules.settlement import DEFAULT_FEES, check_fees

log = structlog.get_logger(__name__)

KAKAOWORK_FIX = (
    "write it as one of alerts.urls: kakaowork://APP_KEY@CONVERSATION_ID "
    "(e.g. kakaowork://${KAKAOWORK_APP_KEY}@12345) and delete the alerts.kakaowork section"
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    """`24h`, `30m`, `90s`, `1d` or a number of seconds -> timedelta."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError(f"not a duration: {value!r} (write e.g. 24h, 30m, 90s)")
        return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    return value


def _clock(value: Any) -> Any:
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
        if not m:
            raise ValueError(f"not a time of day: {value!r} (write e.g. 10:00)")
        return time(int(m.group(1)), int(m.group(2)))
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads 10:00 as the sexagesimal number 600
        return time(value // 60, value % 60)
    return value


def _mode(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as false (and `on` as true)
    if value is False:
        return "off"
    return value


def _clock_or_off(value: Any) -> Any:
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None
    return _clock(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
RuleMode = Annotated[Mode, BeforeValidator(_mode)]
Clock = Annotated[time, BeforeValidator(_clock)]
ClockOrOff = Annotated[time | None, BeforeValidator(_clock_or_off)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(Section):
    kind: Literal["workbook", "google"] = "workbook"
    path: Path | None = None  # workbook: the .xlsx file
    spreadsheet: str | None = None  # google: the id or the full URL
    credentials: Path | None = None  # google: service-account JSON; else env / ADC


class TabConfig(Section):
    title: str
    header_row: int = Field(1, ge=1)
    headers: dict[str, list[str]] = {}  # field -> extra header names accepted for it


class LeadsTabConfig(TabConfig):
    title: str = "이사 관리자"


class ObTabConfig(TabConfig):
    title: str = "OB 상세"


class VendorsTabConfig(TabConfig):
    title: str = "장기고객 업체 리스트"  # optional: longterm.match reads it when it is there


class SheetsConfig(Section):
    leads: LeadsTabConfig = LeadsTabConfig()
    ob: ObTabConfig = ObTabConfig()
    vendors: VendorsTabConfig = VendorsTabConfig()
    bot_note_header: str = "봇 확인"


class LongtermConfig(Section):
    promote_within_days: int = Field(60, ge=0)
    window_days: tuple[int, int] = (60, 90)


class SettlementConfig(Section):
    day: int = Field(3, ge=1, le=28)
    time: Clock = time(10, 0)
    late_after: Duration = timedelta(minutes=30)  # a later snapshot is marked late
    fees: dict[str, Annotated[int, Field(ge=0)]] = dict(DEFAULT_FEES)  # status -> won

    @field_validator("fees")
    @classmethod
    def _known_statuses(cls, value: dict[str, int]) -> dict[str, int]:
        check_fees(value)
        return value


class ObConfig(Section):
    price_reasons: list[str] = list(DEFAULT_PRICE_REASONS)
    status_hints: dict[str, str] = dict(DEFAULT_STATUS_HINTS)


class ReturnsConfig(Section):
    pending_after_hours: int = Field(24, ge=0)


class ContactConfig(Section):
    no_answer_words: list[str] = list(DEFAULT_NO_ANSWER_WORDS)


class ReportsConfig(Section):
    dir: Path | None = None  # default: reports/ beside the journal
    price_window_days: int = Field(90, ge=1)
    price_min_samples: int = Field(5, ge=1)
    price_outlier_ratio: float = Field(1.5, gt=1)


class FollowupConfig(Section):
    after_days: int = Field(3, ge=0)
    until_days: int = Field(30, ge=0)
    due_days: int = Field(7, ge=0)

    @model_validator(mode="after")
    def _in_order(self) -> FollowupConfig:
        if not self.after_days <= self.due_days <= self.until_days:
            raise ValueError(
                f"followup days must run after_days <= due_days <= until_days, not "
                f"{self.after_days}, {self.due_days}, {self.until_days}"
            )
        return self


class ScheduleConfig(Section):
    poll_minutes: int = Field(15, ge=1, le=720)
    hours: str = "09:00-19:00"  # office hours, KST
    working_days: str = "mon-fri"
    nightly: Clock = time(2, 0)  # full sync
    digest: Clock = time(8, 30)  # morning digest
    report_weekly: ClockOrOff = time(9, 0)  # the weekly report on Mondays; off: none
    report_monthly: bool = True  # the monthly report on settlement day
    misfire_grace_seconds: int = Field(300, ge=1)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", value):
            raise ValueError(f"not a range of hours: {value!r} (write e.g. 09:00-19:00)")
        return value


class KakaoWorkConfig(Section):
    """Deprecated: KakaoWork is the apprise URL kakaowork://APP_KEY@CONVERSATION_ID now."""

    app_key: SecretStr
    conversation_id: str

    @property
    def url(self) -> SecretStr:
        key, conversation = (
            quote(v, safe="") for v in (self.app_key.get_secret_value(), self.conversation_id)
        )
        return SecretStr(f"kakaowork://{key}@{conversation}")


class AlertsConfig(Section):
    urls: list[SecretStr] = []  # apprise URLs; they carry tokens, so never logged
    kakaowork: KakaoWorkConfig | None = None  # deprecated: read as one more URL
    repeat_after: Duration = timedelta(hours=24)

    @property
    def channel_urls(self) -> list[SecretStr]:
        """Every channel: `urls`, then the deprecated `kakaowork` section as its URL."""
        return self.urls + ([self.kakaowork.url] if self.kakaowork else [])


class JournalConfig(Section):
    path: Path | None = None  # default: see `Settings.journal_path`


class Settings(BaseSettings):
    """The whole config. Environment variables MOVEBOT_<SECTION>__<KEY> override the file."""

    model_config = SettingsConfigDict(
        env_prefix="MOVEBOT_", env_nested_delimiter="__", extra="forbid"
    )

    source: SourceConfig = SourceConfig()
    sheets: SheetsConfig = SheetsConfig()
    rules: dict[str, RuleMode] = {}  # rule id -> apply / suggest / off
    longterm: LongtermConfig = LongtermConfig()
    settlement: SettlementConfig = SettlementConfig()
    ob: ObConfig = ObConfig()
    returns: ReturnsConfig = ReturnsConfig()
    contact: ContactConfig = ContactConfig()
    reports: ReportsConfig = ReportsConfig()
    followup: FollowupConfig = FollowupConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    alerts: AlertsConfig = AlertsConfig()
    journal: JournalConfig = JournalConfig()
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment wins over the file.
        return (env_settings, init_settings)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, Mode]) -> dict[str, Mode]:
        unknown = sorted(set(value) - set(RULE_IDS))
        if unknown:
            raise ValueError(f"unknown rule {', '.join(unknown)} (rules: {', '.join(RULE_IDS)})")
        return value

    def rule_settings(self, only_rules: frozenset[str] | None = None) -> RuleSettings:
        return RuleSettings(
            modes=dict(self.rules),
            promote_within_days=self.longterm.promote_within_days,
            window_min_days=self.longterm.window_days[0],
            window_max_days=self.longterm.window_days[1],
            settlement_day=self.settlement.day,
            settlement_time=self.settlement.time,
            price_reasons=tuple(self.ob.price_reasons),
            status_hints=dict(self.ob.status_hints),
            return_pending_hours=self.returns.pending_after_hours,
            no_answer_words=tuple(self.contact.no_answer_words),
            followup_after_days=self.followup.after_days,
            followup_until_days=self.followup.until_days,
            followup_due_days=self.followup.due_days,
            only_rules=only_rules,
        )

    def report_settings(self) -> ReportSettings:
        r = self.reports
        return ReportSettings(r.price_window_days, r.price_min_samples, r.price_outlier_ratio)

    def resolve(self, path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def journal_path(self) -> Path:
        """`journal.path`; else one journal per workbook, `<stem>.movebot.db` beside it (a
        Google source: `movebot.db` beside the config). A `movebot.db` of an older movebot
        in the config's folder is kept while the workbook has no journal of its own."""
        explicit = self.resolve(self.journal.path)
        if explicit is not None:
            return explicit
        shared = self.base_dir / "movebot.db"
        workbook = self.resolve(self.source.path) if self.source.kind == "workbook" else None
        if workbook is None:
            return shared
        own = workbook.with_name(f"{workbook.stem}.movebot.db")
        return shared if shared.exists() and not own.exists() else own

    @property
    def reports_dir(self) -> Path:
        return self.resolve(self.reports.dir) or self.journal_path.parent / "reports"


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: Any, where: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise BadConfig(f"Setting {where}: environment variable {name} is not set.")
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value


def _explain(error: ValidationError, origin: str) -> BadConfig:
    lines = []
    for e in error.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown setting '{key}'")
        else:
            lines.append(f"setting '{key}': {e['msg']}")
    return BadConfig(f"{origin}: " + "; ".join(lines) + ". See config.example.yaml.")


def build_settings(data: dict[str, Any], base_dir: Path, origin: str) -> Settings:
    try:
        settings = Settings(**data, base_dir=base_dir)
    except ValidationError as e:
        raise _explain(e, f"{origin} (or a MOVEBOT_* environment variable)") from None
    except SettingsError as e:
        raise BadConfig(
            f"A MOVEBOT_* environment variable cannot be read: {e}. Lists and maps are "
            """written as JSON, e.g. MOVEBOT_ALERTS__URLS='["slack://T000/B000/XXXX"]'."""
        ) from None
    if settings.alerts.kakaowork:
        log.warning(
            "alerts.kakaowork is deprecated; read as a kakaowork:// URL",
            origin=origin,
            fix=KAKAOWORK_FIX,
        )
    return settings


def load_settings(path: Path | None) -> Settings:
    """The settings of a YAML file, or the defaults (plus environment) when `path` is None."""
    if path is None:
        return build_settings({}, Path.cwd(), "settings")
    try:
        with path.open(encoding="utf-8") as stream:  # a stream: YAML errors name the file
            data = yaml.safe_load(stream) or {}
    except FileNotFoundError:
        raise BadConfig(f"Config file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadConfig(f"Config file {path} cannot be read: {e}.") from None
    except yaml.YAMLError as e:
        raise BadConfig(f"Config file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise BadConfig(f"Config file {path} must be a mapping of sections (source, sheets, ...).")
    return build_settings(_expand_env(data), path.resolve().parent, str(path))


def workbook_settings(workbook: Path, config: Path | None) -> Settings:
    """`--workbook FILE` (with or without `--config`): that config, or the defaults, on FILE."""
    settings = load_settings(config)
    source = SourceConfig(kind="workbook", path=workbook.resolve())
    update: dict[str, Any] = {"source": source}
    if config is None:
        update["base_dir"] = workbook.resolve().parent
    return settings.model_copy(update=update)
