"""The small interfaces a command and the worker meet their parts through: the sheet
(`SheetBackend`), the run journal, the alert channels and the clock.

`bot/app.py` builds the real parts from the settings; `tests/conftest.py` holds the fakes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.journal import JournaledWrite, Outcome, RunKind, RunRecord, SettlementRecord
from bot.sheets import SheetBackend
from rules.figures import BotActivity
from rules.model import CellWrite, Finding, WriteResult
from rules.settlement import Month, SettledRow

__all__ = ["ChannelResult", "Clock", "Journal", "Notifier", "SheetBackend"]


class Clock(Protocol):
    def __call__(self) -> datetime:
        """Now, aware (Asia/Seoul)."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """How one channel took one alert. `channel` is a label safe to log (`slack#1`,
    `kakaowork#1`): the URL's scheme and its position among the configured URLs, never a token."""

    channel: str
    ok: bool
    error: str | None = None


class Notifier(Protocol):
    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel's label, in config order."""
        ...

    def send(
        self,
        title: str,
        body: str,
        channels: Collection[str] | None = None,
        attach: Sequence[Path] = (),
    ) -> list[ChannelResult]:
        """Deliver to every channel (or those labelled in `channels`), with the `attach` files
        where a channel takes files; never raises for a channel's failure."""
        ...


class Journal(Protocol):
    """What runs, undos, alerts and the digest record and look up (`bot.journal.Journal`)."""

    @property
    def path(self) -> Path: ...

    def start_run(
        self, kind: RunKind, source: str, started: datetime, undo_of: str | None = None
    ) -> str: ...

    def finish_run(
        self,
        run_id: str,
        finished: datetime,
        outcome: Outcome,
        counts: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...

    def record_pending(self, run_id: str, writes: Iterable[CellWrite]) -> None: ...

    def record_writes(self, run_id: str, result: WriteResult, answered: bool = True) -> None: ...

    def pending(self, source: str) -> list[JournaledWrite]: ...

    def settle_pending(self, landed: Iterable[JournaledWrite], source: str) -> None: ...

    def record_findings(self, run_id: str, findings: Iterable[Finding]) -> None: ...

    def require_run(self, run_id: str) -> RunRecord: ...

    def writes_of(self, run_id: str) -> list[JournaledWrite]: ...

    def undone_by(self, run_id: str) -> list[str]: ...

    def recently_alerted(
        self, keys: Iterable[str], since: datetime, channel: str | None = None
    ) -> set[str]: ...

    def record_alerts(
        self, run_id: str | None, keys: Iterable[str], channel: str, sent_at: datetime, ok: bool
    ) -> None: ...

    def record_settlement(
        self,
        month: Month,
        rows: Sequence[SettledRow],
        *,
        cutoff: datetime,
        taken_at: datetime,
        late: bool,
        run_id: str,
        source: str,
        replace: bool = False,
    ) -> SettlementRecord | None: ...

    def settlement(self, month: Month) -> SettlementRecord | None: ...

    def activity(self, start: datetime, end: datetime) -> BotActivity: ...
