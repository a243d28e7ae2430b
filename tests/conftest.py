"""The test doubles of movebot's parts (`bot/ports.py`), and fixtures every test file shares.

The sheet is a real workbook (`book`) or the fake Sheets API (`fake_sheets.py`); the journal is
a real SQLite file in the test's directory; the alert channels and the clock are fakes that
record what they were asked. apprise sends without its throttle.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pytest
import structlog
from apprise.manager_plugins import NotificationManager

from bot import demo
from bot.journal import Journal
from bot.logs import QUIET_LOGGERS
from bot.masking import forget_secrets
from bot.ports import ChannelResult


class Sent(NamedTuple):
    title: str
    body: str
    channels: tuple[str, ...]  # the channels it went to


class FakeNotifier:
    """Alert channels that record each message; every channel accepts it, or with `refuse`
    every channel refuses it with that error."""

    def __init__(
        self, channels: tuple[str, ...] = ("slack#1", "kakaowork#1"), refuse: str | None = None
    ) -> None:
        self.channels = channels
        self.refuse = refuse
        self.sent: list[Sent] = []
        self.attached: list[tuple[str, ...]] = []  # per message, the names of its files

    def send(
        self,
        title: str,
        body: str,
        channels: Collection[str] | None = None,
        attach: Sequence[Path] = (),
    ) -> list[ChannelResult]:
        targets = tuple(c for c in self.channels if channels is None or c in channels)
        self.sent.append(Sent(title, body, targets))
        self.attached.append(tuple(p.name for p in attach))
        return [ChannelResult(c, self.refuse is None, self.refuse) for c in targets]


class FakeClock:
    """A clock that says `now` (set it to move time) and counts how often it was read."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        return self.now


@pytest.fixture(autouse=True, scope="session")
def _apprise_without_throttle() -> None:
    """apprise waits between two messages to one service (`request_rate_per_sec`: Slack 1.2 s,
    5.5 s for most services); tests send many, to `responses`, so they do not wait."""
    for plugin in NotificationManager().plugins():
        plugin.request_rate_per_sec = 0


@pytest.fixture(autouse=True)
def _no_secrets() -> Iterator[None]:
    """Each test starts and ends with no registered secret (alert URLs register theirs)."""
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that configure logging: the root logger and structlog as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "movebot.db") as j:
        yield j


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """The demo workbook (the desk's own cases) in the test's directory."""
    path = tmp_path / "desk.xlsx"
    demo.write_demo_workbook(path)
    return path
