"""`movebot settlement`: the month's snapshot at its cut-off and the vendor statement
(docs/SETTLEMENT.md). The pure parts (months, cut-offs, the statement) are rules/settlement.py;
here are the clock, the sheet, the journal, the files and the channels.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from bot.alerts import delivery_code, require_channels, send_once
from bot.config import Settings
from bot.errors import BadInput
from bot.journal import SettlementRecord, new_run_id, settlement_recorded
from bot.ports import ChannelResult, Journal, Notifier, SheetBackend
from bot.sheets.workbook import create_workbook
from rules.model import Lead
from rules.parse import parse_desk
from rules.settlement import (
    Month,
    Statement,
    VendorLine,
    build_statement,
    settled_month,
    settled_rows,
    settlement_cutoff,
)
from rules.text import clip, pad, width
from rules.values import KST

log = structlog.get_logger("movebot.settlement")

VENDOR_WIDTH = 16  # a longer vendor name is cut with … on the terminal (so it fits 80 columns)


def _wall(now: datetime) -> datetime:
    """The KST wall-clock time the rules compare with the sheet's dates."""
    return now.astimezone(KST).replace(tzinfo=None)


def last_settled(settings: Settings, now: datetime) -> Month:
    """The latest month whose cut-off has passed at `now`."""
    return settled_month(_wall(now), settings.rule_settings())


def cutoff_of(settings: Settings, month: Month) -> datetime:
    """The month's cut-off as an aware time in Asia/Seoul."""
    return settlement_cutoff(month, settings.rule_settings()).replace(tzinfo=KST)


def snapshot_due(settings: Settings, now: datetime) -> Month | None:
    """The month an applied run at `now` would snapshot (None: already recorded). Reads the
    journal without creating or changing it: a preview asks this."""
    month = last_settled(settings, now)
    return None if settlement_recorded(settings.journal_path, month) else month


def record_snapshot(
    journal: Journal,
    settings: Settings,
    now: datetime,
    leads: Iterable[Lead],
    *,
    run_id: str,
    source: str,
    month: Month | None = None,
    replace: bool = False,
) -> SettlementRecord | None:
    """Record `month`'s rows of `leads` (as read at `now`) unless the month has a snapshot
    (`replace`: beside it). Default month: the last settled one. None when one existed."""
    month = month or last_settled(settings, now)
    if not replace and settlement_recorded(journal.path, month):
        return None  # the usual case, every applied run: no rows gathered, no write transaction
    cutoff = cutoff_of(settings, month)
    record = journal.record_settlement(
        month,
        settled_rows(leads, month),
        cutoff=cutoff,
        taken_at=now,
        late=now - cutoff > settings.settlement.late_after,
        run_id=run_id,
        source=source,
        replace=replace,
    )
    if record is not None:
        log.info(
            "settlement.snapshot",
            month=str(month),
            rows=len(record.rows),
            late=record.late,
            replaces=record.replaces,
        )
    return record


def _read_leads(backend: SheetBackend, now: datetime) -> tuple[Lead, ...]:
    return parse_desk(backend.read(), _wall(now).date()).leads


def take(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    now: datetime,
    month: Month | None,
    *,
    source: str,
    replace: bool = False,
) -> SettlementRecord:
    """`movebot settlement take`: snapshot the month now (default: the last settled one)."""
    month = month or last_settled(settings, now)
    cutoff = cutoff_of(settings, month)
    if now < cutoff:
        raise BadInput(
            f"{month} is settled on {cutoff:%Y-%m-%d %H:%M} KST; its snapshot cannot be taken "
            "before then."
        )
    existing = journal.settlement(month)
    if existing is not None and not replace:
        raise BadInput(
            f"The journal {journal.path} already holds the snapshot of {month} (taken "
            f"{existing.taken_at:%Y-%m-%d %H:%M} KST by {existing.run_id}). Add --replace "
            "to take a new one; the old one stays in the journal."
        )
    record = _snapshot_now(settings, backend, journal, now, month, source, replace)
    if record is None:  # another run took it meanwhile
        raise BadInput(f"Another run took the snapshot of {month} meanwhile; try again.")
    return record


def _snapshot_now(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    now: datetime,
    month: Month,
    source: str,
    replace: bool = False,
) -> SettlementRecord | None:
    """Read the sheet now and record `month`'s snapshot under a run id of its own."""
    return record_snapshot(
        journal,
        settings,
        now,
        _read_leads(backend, now),
        run_id=new_run_id(now),
        source=source,
        month=month,
        replace=replace,
    )


# --- the statement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementView:
    """A statement and what it was built from: the snapshot, or (None) the sheet as it is."""

    statement: Statement
    snapshot: SettlementRecord | None
    cutoff: datetime
    settled: bool = True  # False: asked before the month's cut-off, a running count

    @property
    def final(self) -> bool:
        return self.snapshot is not None


def statement_of(
    settings: Settings,
    backend: SheetBackend,
    now: datetime,
    month: Month | None,
    journal: Journal | None,
) -> StatementView:
    """The month's statement (default: the last settled month): from its snapshot in
    `journal`, or from the sheet as it stands when there is none (or no journal)."""
    month = month or last_settled(settings, now)
    snapshot = journal.settlement(month) if journal is not None else None
    rows = snapshot.rows if snapshot else settled_rows(_read_leads(backend, now), month)
    statement = build_statement(month, rows, settings.settlement.fees)
    cutoff = cutoff_of(settings, month)
    return StatementView(statement, snapshot, cutoff, settled=now >= cutoff)


def _won(amount: int) -> str:
    return f"{amount:,}"


def _month_label(month: Month) -> str:
    return f"{month.year}년 {month.month}월"


def _delay(late: datetime, on_time: datetime) -> str:
    minutes = int((late - on_time).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ((days, "일"), (hours, "시간"), (minutes, "분"))
    return " ".join(f"{n}{unit}" for n, unit in parts if n) or "1분 미만"


def heading(view: StatementView) -> list[str]:
    """What the statement stands on, in Korean: the snapshot (late or not), or 미확정."""
    s = view.statement
    title = f"{_month_label(s.month)} 정산 (정산 시점 {view.cutoff:%Y-%m-%d %H:%M})"
    snap = view.snapshot
    if snap is None and not view.settled:
        return [
            title,
            "정산 전: 아직 정산 시점이 되지 않아 지금 시트의 상태로 계산한 중간 집계입니다.",
        ]
    if snap is None:
        return [title, "미확정 (정산 시점 스냅샷 없음): 지금 시트의 상태로 계산한 금액입니다."]
    taken = f"{snap.taken_at.astimezone(KST):%Y-%m-%d %H:%M}"
    if snap.late:
        return [
            title,
            f"늦은 스냅샷: {taken}에 기록됨 (정산 시점보다 {_delay(snap.taken_at, view.cutoff)} 늦음)",
            "정산 시점 이후 바뀐 상태가 섞였을 수 있습니다.",
        ]
    return [title, f"정산 시점 스냅샷 기준 ({taken} 기록, DB {len(snap.rows):,}건)"]


def _line_cells(line: VendorLine, billed_statuses: Sequence[str], bill: bool) -> list[str]:
    others = sum(n for status, n in line.by_status.items() if status not in billed_statuses)
    return [
        clip(line.vendor, VENDOR_WIDTH),
        f"{line.rows:,}",
        *(f"{line.by_status.get(s, 0):,}" for s in billed_statuses),
        f"{others:,}",
        f"{line.billed:,}" if bill else "-",
        _won(line.amount) if bill else "-",
    ]


def render_statement(view: StatementView) -> str:
    """The statement as a table for a terminal: Korean column names, amounts with commas.
    A column per status with a fee; the month's other rows add up in 기타 (so it fits 80
    columns; --json and --out give every status)."""
    s = view.statement
    statuses = list(s.fees)
    header = ["업체", "DB", *statuses, "기타", "청구", "금액(원)"]
    body = [_line_cells(v, statuses, True) for v in s.vendors]
    body.append(_line_cells(s.unassigned, statuses, False))
    total = _line_cells(s.total, statuses, True)
    table = [header, *body, total]
    widths = [max(width(r[i]) for r in table) for i in range(len(header))]

    def row(cells: list[str]) -> str:
        first = pad(cells[0], widths[0])
        rest = (" " * (w - width(c)) + c for c, w in zip(cells[1:], widths[1:], strict=True))
        return first + "  " + " ".join(rest)

    rule = "-" * width(row(header))
    fees = ", ".join(f"{status} {_won(fee)}원" for status, fee in s.fees.items())
    lines = [*heading(view), f"오더비: {fees}", "기타: 오더비가 없는 상태 (청구하지 않음)", ""]
    lines += [row(header), rule, *(row(r) for r in body), rule, row(total)]
    if not s.vendors and not s.unassigned.rows:
        lines.append(f"{_month_label(s.month)} 인입 DB가 없습니다.")
    return "\n".join(lines)


def _line_json(line: VendorLine) -> dict[str, Any]:
    return {
        "vendor": line.vendor,
        "rows": line.rows,
        "by_status": dict(line.by_status),
        "billed": line.billed,
        "amount": line.amount,
    }


def statement_json(view: StatementView) -> dict[str, Any]:
    s, snap = view.statement, view.snapshot
    total = s.total
    return {
        "month": str(s.month),
        "final": view.final,
        "snapshot": {
            "taken_at": snap.taken_at.isoformat(),
            "late": snap.late,
            "run_id": snap.run_id,
            "rows": len(snap.rows),
        }
        if snap
        else None,
        "fees": dict(s.fees),
        "vendors": [_line_json(v) for v in s.vendors],
        "unassigned": {"rows": s.unassigned.rows, "by_status": dict(s.unassigned.by_status)},
        "total": {"rows": total.rows, "billed": total.billed, "amount": total.amount},
    }


def _sheets(view: StatementView) -> dict[str, list[list[Any]]]:
    """The statement file's sheets: the overview, the bill per vendor, and every billed row
    (no name, no phone)."""
    s = view.statement
    statuses = list(s.statuses)

    def line(v: VendorLine, bill: bool) -> list[Any]:
        counts = [v.by_status.get(status, 0) for status in statuses]
        return [v.vendor, v.rows, *counts, v.billed if bill else None, v.amount if bill else None]

    bill = [
        ["업체", "DB", *statuses, "청구", "금액(원)"],
        *(line(v, True) for v in s.vendors),
        line(s.unassigned, False),
        line(s.total, True),
    ]
    rows: list[list[Any]] = [["행", "인입일", "진행상황", "배정업체", "오더비(원)"]]
    rows += [[b.row, b.intake_at, b.status, b.vendor, b.fee] for b in s.billed_rows]
    title = "정산" if view.final else "정산(미확정)"
    return {"개요": [[text] for text in _overview(view)], title: bill, "청구 내역": rows}


def _overview(view: StatementView) -> list[str]:
    """The statement file's first sheet: what it covers and stands on, as the terminal says."""
    s = view.statement
    fees = ", ".join(f"{status} {_won(fee)}원" for status, fee in s.fees.items())
    total = s.total
    return [
        *heading(view),
        f"오더비: {fees}",
        f"청구 합계: 업체 {len(s.vendors)}곳, {total.billed:,}건, {_won(total.amount)}원",
        "배정업체가 없는 DB는 (미배정)에 세고 청구하지 않습니다.",
        "업체별 집계는 다음 시트, 청구한 DB는 '청구 내역' 시트에 있습니다 (이름·연락처 없음).",
    ]


def _check_out_file(path: Path) -> None:
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise BadInput(f"--out {path}: write the statement to a .xlsx or a .csv file.")
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise BadInput(f"--out {path}: there is no folder {folder}; create it or name another.")


def write_statement(view: StatementView, path: Path) -> list[Path]:
    """`--out FILE.xlsx` (개요, the bill, the billed rows) or `FILE.csv` (the bill; the billed
    rows beside it in `FILE.rows.csv`). Returns the files written."""
    _check_out_file(path)
    sheets = _sheets(view)
    if path.suffix.lower() == ".xlsx":
        create_workbook(path, sheets)
        return [path]
    _, bill, rows = sheets.values()
    # plain numbers for scripts: (미배정)'s 청구 and 금액, empty in the .xlsx, stay 0 here
    bill = [[0 if v is None else v for v in r] for r in bill]
    written = []
    for target, data in ((path, bill), (path.with_suffix(".rows.csv"), rows)):
        with target.open("w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream).writerows(
                [f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else v for v in r] for r in data
            )
        written.append(target)
    return written


def summary(view: StatementView) -> tuple[str, str]:
    """The title and the Korean summary sent to the channels: the figures in one line, then
    what they stand on (the snapshot, late, or 미확정)."""
    s = view.statement
    total = s.total
    line = (
        f"{s.month.month}월 정산: 업체 {len(s.vendors)}곳, 청구 {total.billed:,}건, "
        f"{_won(total.amount)}원"
    )
    return f"{_month_label(s.month)} 정산", "\n".join([line, *heading(view)[1:]])


def _statement_file(view: StatementView, attach: Path | None, folder: str) -> Path:
    """The .xlsx to attach: `attach` when it is one, else the statement written in `folder`."""
    if attach is not None and attach.suffix.lower() == ".xlsx":
        return attach
    path = Path(folder) / f"정산_{view.statement.month}.xlsx"
    write_statement(view, path)
    return path


def send_statement(
    view: StatementView, notifier: Notifier, attach: Path | None = None
) -> list[ChannelResult]:
    """Send the summary, with the statement file attached where the channel takes files."""
    title, body = summary(view)
    with tempfile.TemporaryDirectory() as tmp:
        return notifier.send(title, body, attach=(_statement_file(view, attach, tmp),))


def settlement_job(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    notifier: Notifier,
    now: datetime,
    *,
    source: str,
) -> StatementView:
    """The worker's job at the cut-off: snapshot the month just settled (unless a run took it
    first) and send its statement summary, once per channel (journaled, so a second worker
    or a restart does not send it again)."""
    month = last_settled(settings, now)
    if not settlement_recorded(journal.path, month):
        _snapshot_now(settings, backend, journal, now, month, source)
    view = statement_of(settings, backend, now, month, journal)
    if not notifier.channels:
        return view
    title, body = summary(view)
    with tempfile.TemporaryDirectory() as tmp:
        send_once(
            notifier,
            journal,
            f"settlement:{source}:{month}",
            title,
            body,
            now=now,
            since=view.cutoff - timedelta(microseconds=1),
            attach=(_statement_file(view, None, tmp),),
        )
    return view


# --- the command -----------------------------------------------------------------------------


def parse_month(text: str | None) -> Month | None:
    if text is None:
        return None
    try:
        return Month.parse(text)
    except ValueError:
        raise BadInput(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2024-11.") from None


def settlement_command(
    settings: Settings,
    backend: SheetBackend,
    open_journal: Callable[[], Journal],
    now: datetime,
    words: Sequence[str],
    *,
    source: str,
    replace: bool = False,
    as_json: bool = False,
    out_file: str | None = None,
    send_to: Notifier | None = None,
    out: Callable[[str], object] = print,
) -> int:
    """`movebot settlement [YYYY-MM]` prints (or writes, or sends through `send_to`) the
    statement; `movebot settlement take [YYYY-MM] [--replace]` takes the snapshot now. The
    journal is opened (`open_journal`) only to take a snapshot or to read one it holds:
    stating a month writes nothing."""
    words = list(words)
    taking = bool(words) and words[0] == "take"
    if taking:
        words.pop(0)
    if len(words) > 1:
        raise BadInput(
            f"settlement: unexpected {' '.join(words[1:])!r}; write `movebot settlement "
            "[YYYY-MM]` or `movebot settlement take [YYYY-MM] [--replace]`."
        )
    month = parse_month(words[0] if words else None)
    if replace and not taking:
        raise BadInput("--replace goes with `movebot settlement take`.")
    if taking and (as_json or out_file or send_to is not None):
        raise BadInput("--json, --out and --send go with the statement, not with `take`.")
    if taking:
        record = take(settings, backend, open_journal(), now, month, source=source, replace=replace)
        late = " (late)" if record.late else ""
        replaced = f", replacing snapshot #{record.replaces}" if record.replaces else ""
        out(
            f"Took the settlement snapshot of {record.month}{late}: {len(record.rows):,} rows "
            f"as read at {record.taken_at:%Y-%m-%d %H:%M} KST{replaced}."
        )
        return 0
    if out_file:
        _check_out_file(Path(out_file))  # before the sheet is read
    if send_to is not None:
        require_channels(send_to, "settlement")
    month = month or last_settled(settings, now)
    recorded = settlement_recorded(settings.journal_path, month)
    view = statement_of(settings, backend, now, month, open_journal() if recorded else None)
    out(
        json.dumps(statement_json(view), ensure_ascii=False, indent=2)
        if as_json
        else render_statement(view)
    )
    written = write_statement(view, Path(out_file)) if out_file else []
    for path in written:
        log.info("settlement.written", path=str(path))
        print(f"Wrote {path}", file=sys.stderr)  # stdout stays the statement (or its JSON)
    if send_to is None:
        return 0
    results = send_statement(view, send_to, written[0] if written else None)
    return delivery_code(results, "statement")
