"""A run: backend -> plan -> write -> journal -> alerts, and the undo of one.

The command and the scheduled worker call these with the parts `bot/app.py` built. A preview
touches nothing: not the sheet, not the journal, no channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from bot.alerts import send_failure_alert, send_run_alert
from bot.collector import paused
from bot.config import Settings
from bot.engine import plan
from bot.errors import BadInput, MovebotError, UserError
from bot.journal import JournaledWrite, Outcome, new_run_id
from bot.masking import RowLabels, scrub
from bot.ports import Journal, Notifier, SheetBackend
from bot.settlement import record_snapshot, snapshot_due
from bot.sheets import column_letter
from rules.model import LEADS, OB, CellWrite, Plan, Snapshot, WriteResult
from rules.settle import (
    SUSPECT_TITLE,
    WRITE_SUSPECT,
    found_landed,
    settle,
    suspect_finding,
)
from rules.settlement import Month
from rules.text import FIELD_LABELS

log = structlog.get_logger("movebot.run")


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    plan: Plan
    applied: bool
    result: WriteResult | None = None
    alerted: int = 0  # channels an alert went to
    snapshot_due: Month | None = None  # a preview: the month an applied run would snapshot
    snapshot_taken: Month | None = None  # applied: the month whose snapshot this run took


@dataclass(frozen=True)
class UndoOutcome:
    run_id: str  # the undo's own id (journaled only when applied)
    undo_of: str
    snapshot: Snapshot
    restores: tuple[CellWrite, ...]  # cells that still hold the run's value
    kept: tuple[tuple[CellWrite, str], ...] = field(default_factory=tuple)  # and why not
    headings: int = 0  # 봇 확인 headers the run added: they stay (their column is emptied)
    applied: bool = False
    result: WriteResult | None = None


def source_name(settings: Settings) -> str:
    """What the journal records a run's source as: the spreadsheet id, or the workbook's
    resolved path."""
    if settings.source.kind == "google":
        return _spreadsheet_id(settings.source.spreadsheet or "")
    path = settings.resolve(settings.source.path)
    return str(path.resolve()) if path else ""


def _spreadsheet_id(text: str) -> str:
    from bot.sheets.google import spreadsheet_id  # here: a workbook run needs no gspread

    try:
        return spreadsheet_id(text)
    except UserError:
        return text


def _same_source(recorded: str, settings: Settings) -> bool:
    """Whether a journaled run's source is the one `settings` name (an older journal may
    hold a path not yet resolved, or a sheet's whole URL)."""
    if settings.source.kind == "google":
        return _spreadsheet_id(recorded) == source_name(settings)
    return str(Path(recorded).resolve()) == source_name(settings)


def _counts(p: Plan, result: WriteResult) -> dict[str, object]:
    return {
        **p.summary,
        "written": len(result.written),
        "skipped": len(result.skipped),
    }


def _later(now: datetime, started: float) -> datetime:
    return now + timedelta(seconds=time.monotonic() - started)


Progress = Callable[[str], None]


def _quiet(step: str) -> None:
    pass


def _read_and_plan(
    settings: Settings,
    backend: SheetBackend,
    now: datetime,
    only_rules: frozenset[str] | None,
    progress: Progress,
) -> tuple[Snapshot, Plan]:
    progress("reading the sheet")
    snapshot = backend.read()
    progress(
        f"planning {len(snapshot.leads_tab.rows):,} leads, {len(snapshot.ob_tab.rows):,} OB rows"
    )
    p = plan(snapshot, now, settings.rule_settings(only_rules), settings.sheets.bot_note_header)
    _log_plan(p)
    return snapshot, p


def preview(
    settings: Settings,
    backend: SheetBackend,
    now: datetime,
    *,
    only_rules: frozenset[str] | None = None,
    progress: Progress = _quiet,
) -> RunOutcome:
    """Read and plan; nothing is written, journaled or sent. `progress` is told each step
    (the CLI shows it on a terminal). `snapshot_due` says whether an applied run would take
    the settlement snapshot (read without touching the journal)."""
    with paused():  # one run's objects: the sheet's rows and the plan
        _, p = _read_and_plan(settings, backend, now, only_rules, progress)
    return RunOutcome(new_run_id(now), p, applied=False, snapshot_due=snapshot_due(settings, now))


def apply(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    notifier: Notifier,
    now: datetime,
    *,
    only_rules: frozenset[str] | None = None,
    progress: Progress = _quiet,
) -> RunOutcome:
    """Read, plan, write, journal and alert (a failure too, once)."""
    clock = time.monotonic()
    run_id = journal.start_run("reconcile", source_name(settings), now)
    structlog.contextvars.bind_contextvars(run_id=run_id)
    with paused():  # the whole run: see bot/collector.py
        try:
            snapshot, p = _read_and_plan(settings, backend, now, only_rules, progress)
            _settle_pending(journal, source_name(settings), snapshot)
            assert p.desk is not None
            settled = record_snapshot(  # the rows as read, before this run's changes
                journal, settings, now, p.desk.leads, run_id=run_id, source=source_name(settings)
            )
            writes = p.cell_writes()
            if writes:
                progress(f"checking and writing {len(writes):,} cells")
            result = _write(backend, snapshot, writes, journal, run_id)
            p = _with_suspects(p, result)
            journal.record_findings(run_id, p.findings)
            journal.finish_run(run_id, _later(now, clock), "ok", _counts(p, result))
            log.info("run.applied", written=len(result.written), skipped=len(result.skipped))
            progress("alerting")
            sent = _alert_run(settings, journal, notifier, run_id, now, p, result)
            return RunOutcome(
                run_id,
                p,
                applied=True,
                result=result,
                alerted=sent,
                snapshot_taken=settled.month if settled else None,
            )
        except BaseException as error:
            outcome: Outcome = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            message = scrub(str(error)) or type(error).__name__
            journal.finish_run(run_id, _later(now, clock), outcome, error=message)
            if isinstance(error, Exception):
                _alert_failure(settings, journal, notifier, run_id, now, error)
            raise
        finally:
            structlog.contextvars.unbind_contextvars("run_id")


def _write(
    backend: SheetBackend,
    snapshot: Snapshot,
    writes: Sequence[CellWrite],
    journal: Journal,
    run_id: str,
) -> WriteResult:
    """Write and journal every cell that landed, even when a split write fails half-way.

    The journal is written ahead: each request's cells are pending before it goes out; cells
    whose request never answered stay pending for the next run to settle."""
    try:
        result = backend.write(
            snapshot, writes, ahead=lambda cells: journal.record_pending(run_id, cells)
        )
    except MovebotError as error:
        partial = getattr(error, "result", None)
        if isinstance(partial, WriteResult):
            journal.record_writes(run_id, partial, answered=False)
        raise
    journal.record_writes(run_id, result)
    return result


def _with_suspects(p: Plan, result: WriteResult) -> Plan:
    """The plan's findings and one per suspect cell (the read-back found its row moved), so
    the alert tells staff which cell to check and the journal keeps it."""
    if not result.suspect:
        return p
    found = [suspect_finding(w, column_letter(w.column + 1)) for w in result.suspect]
    return replace(p, findings=(*p.findings, *found))


def _landed_pending(journal: Journal, source: str, snapshot: Snapshot) -> list[JournaledWrite]:
    """The cells earlier runs on `source` sent without an answer that the sheet shows landed."""
    pending = journal.pending(source)
    tabs = {key: snapshot.tab(key) for key in (LEADS, OB)}
    return [pending[i] for i in found_landed([w.forward() for w in pending], tabs)]


def _settle_pending(journal: Journal, source: str, snapshot: Snapshot) -> None:
    """Finish what a killed or cut-off run left pending: the cells that landed join its
    journaled changes (so undo restores them), the others are dropped."""
    if not journal.pending(source):
        return
    landed = _landed_pending(journal, source, snapshot)
    journal.settle_pending(landed, source)
    log.info("journal.pending_settled", landed=len(landed))


def _log_plan(p: Plan) -> None:
    summary = p.summary
    for rule in sorted(set(summary["changes"]) | set(summary["findings"])):
        log.info(
            "rule",
            rule=rule,
            changes=summary["changes"].get(rule, 0),
            findings=summary["findings"].get(rule, 0),
        )


def _alert_run(
    settings: Settings,
    journal: Journal,
    notifier: Notifier,
    run_id: str,
    now: datetime,
    p: Plan,
    result: WriteResult,
) -> int:
    if not notifier.channels:
        return 0
    labels = RowLabels.from_desk(p.desk) if p.desk else {}
    sent = send_run_alert(
        journal,
        notifier,
        run_id=run_id,
        now=now,
        written=result.written,
        skipped=len(result.skipped),
        findings=p.findings,
        labels=labels,
        repeat_after=settings.alerts.repeat_after,
        titles={WRITE_SUSPECT: SUSPECT_TITLE},
    )
    return sum(r.ok for r in sent)


def _alert_failure(
    settings: Settings,
    journal: Journal,
    notifier: Notifier,
    run_id: str,
    now: datetime,
    error: Exception,
) -> None:
    """Tell managers once that runs on this sheet fail; never let the alert hide the error."""
    try:
        if notifier.channels:
            send_failure_alert(
                journal,
                notifier,
                run_id=run_id,
                now=now,
                source=source_name(settings),
                # our own errors are written for users; anything else may carry sheet text
                error=str(error) if isinstance(error, MovebotError) else type(error).__name__,
                repeat_after=settings.alerts.repeat_after,
            )
    except Exception as alert_error:  # noqa: BLE001 - the run's own error matters more
        log.warning("alert.failed", error=type(alert_error).__name__)


UNDO_EDITED = "실행 뒤 직원이 바꾼 값이라 그대로 둠 ({fields})"


def plan_undo(backend: SheetBackend, journal: Journal, undo_of: str, now: datetime) -> UndoOutcome:
    """The cells run `undo_of` wrote that the undo would restore — those that still hold the
    value it left, found as the write finds them — and the ones it keeps, with why. A 봇 확인
    header the run created stays (its cells are emptied)."""
    snapshot = backend.read()
    restores: list[CellWrite] = []
    kept: list[tuple[CellWrite, str]] = []
    headings = 0
    source = journal.require_run(undo_of).source
    landed = [w for w in _landed_pending(journal, source, snapshot) if w.run_id == undo_of]
    for w in journal.writes_of(undo_of) + landed:
        tab = snapshot.tab(w.sheet)
        if w.row == tab.header_row:
            headings += 1  # the 봇 확인 header stays
            continue
        column = tab.columns.get(w.field)
        if column is None:
            kept.append((w.reverse(), f"'{FIELD_LABELS[w.field]}' 열이 시트에 없음"))
            continue
        restores.append(replace(w.reverse(), column=column))  # where the column is now
    tabs = {key: snapshot.tab(key) for key in (LEADS, OB)}
    landing, skipped = settle(restores, tabs, edited=UNDO_EDITED)
    kept += [(s.write, s.reason) for s in skipped]
    return UndoOutcome(
        new_run_id(now), undo_of, snapshot, tuple(landing), tuple(kept), headings=headings
    )


def undo(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    undo_of: str,
    now: datetime,
    *,
    apply: bool = False,
) -> UndoOutcome:
    """Preview, or with `apply` restore, the cells run `undo_of` wrote — only where a cell
    still holds the value the run left, through the same conflict-safe write as a run. An undo
    is journaled as a run of its own (so it can be undone) and sends no alert. A run of another
    source (workbook or spreadsheet) is refused."""
    record = journal.require_run(undo_of)
    if not _same_source(record.source, settings):
        raise BadInput(
            f"Run {undo_of} wrote {record.source}, not {source_name(settings)}: an undo "
            "restores only the source its run wrote. Give that workbook or spreadsheet "
            "(--workbook or --config). Nothing was written."
        )
    # an undo that was itself undone put the run's cells back: that run may be undone again
    standing = [u for u in journal.undone_by(undo_of) if not journal.undone_by(u)]
    if standing:
        raise BadInput(
            f"Run {undo_of} was already undone by run {standing[-1]}: its cells hold what "
            f"they held before it. To put back what that undo changed, undo {standing[-1]}. "
            "Nothing was written."
        )
    preview = plan_undo(backend, journal, undo_of, now)
    if not apply:
        return preview
    clock = time.monotonic()
    run_id = journal.start_run("undo", source_name(settings), now, undo_of=undo_of)
    try:
        _settle_pending(journal, source_name(settings), preview.snapshot)
        result = _write(backend, preview.snapshot, preview.restores, journal, run_id)
    except BaseException as error:
        message = scrub(str(error)) or type(error).__name__
        journal.finish_run(run_id, _later(now, clock), "failed", error=message)
        raise
    counts = {"written": len(result.written), "skipped": len(result.skipped)}
    journal.finish_run(run_id, _later(now, clock), "ok", counts)
    return replace(preview, run_id=run_id, applied=True, result=result)
