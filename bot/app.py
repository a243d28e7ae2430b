"""The composition root: every part of a run, built once from the settings.

The command (`bot/cli.py`) and the worker (`bot/schedule.py`) get the sheet backend, the
journal, the alert channels, the sheet lock and the clock here; every other module takes them
as parameters (`bot/ports.py`). Each part is built when first asked for, so a preview never
opens the journal and `history` never needs a sheet.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from types import TracebackType

from bot.alerts import Notifier
from bot.config import Settings
from bot.errors import BadConfig
from bot.journal import Journal
from bot.lock import SheetLock
from bot.ports import Clock, SheetBackend
from bot.sheets.workbook import WorkbookBackend
from rules.columns import TabSpec
from rules.values import KST


def kst_now() -> datetime:
    """The real clock, in Asia/Seoul."""
    return datetime.now(KST)


class App:
    """The parts of one command or one worker, each built on first use and kept. Use as a
    context manager: leaving it closes the journal, when one was opened."""

    def __init__(self, settings: Settings, clock: Clock = kst_now) -> None:
        self.settings = settings
        self.clock = clock

    @cached_property
    def backend(self) -> SheetBackend:
        """The sheet the settings name: a local workbook or a Google Sheet. BadConfig when
        the source does not name one."""
        s, source = self.settings.sheets, self.settings.source
        leads = TabSpec(s.leads.title, s.leads.header_row, s.leads.headers)
        ob = TabSpec(s.ob.title, s.ob.header_row, s.ob.headers)
        vendors = TabSpec(s.vendors.title, s.vendors.header_row, s.vendors.headers)
        if source.kind == "workbook":
            path = self.settings.resolve(source.path)
            if path is None:
                raise BadConfig("Setting source.path is empty: name the .xlsx workbook to use.")
            return WorkbookBackend(path, leads, ob, s.bot_note_header, vendors=vendors)
        if not source.spreadsheet:
            raise BadConfig(
                "Setting source.spreadsheet is empty: give the Google Sheet's id or its full URL."
            )
        from bot.sheets.google import GoogleBackend  # here: a workbook run needs no gspread

        return GoogleBackend(
            source.spreadsheet,
            leads,
            ob,
            s.bot_note_header,
            credentials=self.settings.resolve(source.credentials),
            vendors=vendors,
        )

    @cached_property
    def journal(self) -> Journal:
        """Opening it creates the file: only applied runs, undos and the worker ask for it."""
        return Journal(self.settings.journal_path)

    @cached_property
    def notifier(self) -> Notifier:
        """Every alert channel: `alerts.urls`, then the deprecated `alerts.kakaowork` section
        as its kakaowork:// URL."""
        return Notifier(self.settings.alerts.channel_urls)

    @cached_property
    def lock(self) -> SheetLock:
        """The sheet's lock, `<journal>.worker.lock` (one journal per sheet, so one lock per
        sheet): a run that writes and each worker tick hold it."""
        journal = self.settings.journal_path
        return SheetLock(journal.with_name(journal.name + ".worker.lock"))

    def close(self) -> None:
        if "journal" in self.__dict__:
            self.journal.close()

    def __enter__(self) -> App:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
