"""The composition root: settings -> backend -> plan -> (write). The CLI and the scheduled
worker both run reconciles through here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from movebot.bot.config import Settings
from movebot.bot.engine import KST, plan
from movebot.bot.errors import BadConfig
from movebot.bot.sheets import SheetBackend
from movebot.bot.sheets.layout import TabSpec
from movebot.rules.model import Plan, WriteResult


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    plan: Plan
    applied: bool
    result: WriteResult | None = None


def new_run_id(now: datetime) -> str:
    return f"r{now.astimezone(KST):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def tab_specs(settings: Settings) -> tuple[TabSpec, TabSpec]:
    s = settings.sheets
    return (
        TabSpec(s.leads.title, s.leads.header_row, s.leads.headers),
        TabSpec(s.ob.title, s.ob.header_row, s.ob.headers),
    )


def backend_for(settings: Settings) -> SheetBackend:
    leads, ob = tab_specs(settings)
    header = settings.sheets.bot_note_header
    source = settings.source
    if source.kind == "workbook":
        from movebot.bot.sheets.workbook import WorkbookBackend

        path = settings.resolve(source.path)
        if path is None:
            raise BadConfig("Setting source.path is empty: name the .xlsx workbook to use.")
        return WorkbookBackend(path, leads, ob, header)
    from movebot.bot.sheets.google import GoogleBackend

    if not source.spreadsheet:
        raise BadConfig(
            "Setting source.spreadsheet is empty: give the Google Sheet's id or its full URL."
        )
    return GoogleBackend(
        source.spreadsheet, leads, ob, header, credentials=settings.resolve(source.credentials)
    )


def reconcile(
    settings: Settings,
    now: datetime,
    *,
    apply: bool = False,
    only_rules: frozenset[str] | None = None,
    backend: SheetBackend | None = None,
) -> RunOutcome:
    """Read, plan and, with `apply`, write. A preview writes nothing anywhere."""
    backend = backend or backend_for(settings)
    snapshot = backend.read()
    p = plan(snapshot, now, settings.rule_settings(only_rules), settings.sheets.bot_note_header)
    run_id = new_run_id(now)
    if not apply:
        return RunOutcome(run_id, p, applied=False)
    result = backend.write(snapshot, p.cell_writes())
    return RunOutcome(run_id, p, applied=True, result=result)
