"""Seed §4 (재접수고객 관리): a closed customer asks again; settlement decides which row lives.

The desk settles each intake month on day 3 of the next month at 10:00, on the statuses the
DBs have then. Before that cut-off the old (closed) row can simply be reopened; after it, the
old row is settled history and the new row is the one to work. Which side of the cut-off is
the moment the bot handles the re-registration (the run's `now`), not the new row's 인입일.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rules.context import DUPLICATE, Context, is_closed, is_open
from rules.duplicates import closed_as_duplicate_of, moves_of
from rules.edits import Edits
from rules.model import Lead
from rules.registry import rule
from rules.settings import RuleSettings
from rules.settlement import Month, is_settled
from rules.text import md, stands_in

REUSED_NEW_ROW_NOTE = "재접수: 기존 DB 사용"
KEPT_NEW_ROW_NOTE = "재접수 (정산 후 신규 DB)"
REOPENED_MARK = "(정산 전 기존 DB 활용)"  # ends the note on an old row the bot reopened


@dataclass(frozen=True)
class Reregistration:
    old: Lead  # the latest closed row of the move
    new: Lead  # the open row that arrived after it
    reuse: bool  # the old row's month not yet settled when the bot handles it: reopen it


def reregistrations(
    customer: list[Lead], now: datetime, settings: RuleSettings
) -> list[Reregistration]:
    """The customer's re-registrations, each decided at the moment the bot handles it: `now`,
    or the new row's 인입일 if that is later (a row is not handled before it arrives)."""
    found: list[Reregistration] = []
    if not any(is_closed(e) and e.status != DUPLICATE and e.intake_at for e in customer):
        return found  # no row of theirs that a new one could re-register
    for move in moves_of(customer):
        for i, new in enumerate(move):
            if not is_open(new) or new.status == "계약완료" or new.intake_at is None:
                continue
            if stands_in(REOPENED_MARK, new.remarks):
                continue  # an old row the bot reopened for a re-registration is not new

            earlier = move[:i]
            if any(is_open(e) or closed_as_duplicate_of(e, new) for e in earlier):
                continue  # an earlier open row (kept open, or closed for this one): dup.same's
            closed = [e for e in earlier if is_closed(e) and e.status != DUPLICATE and e.intake_at]
            if not closed:
                continue
            old = closed[-1]
            assert old.intake_at is not None
            handled = max(now, new.intake_at)
            reuse = not is_settled(Month.of(old.intake_at), handled, settings)
            found.append(Reregistration(old, new, reuse))
    return found


@rule(
    "rereg.reuse",
    mode="apply",
    changes=True,
    title="재접수 처리 (정산 전, 기존 DB 활용)",
    scope="customer",
    settings=("settlement.day", "settlement.time"),
)
def reuse_before_settlement(customer: list[Lead], ctx: Context, edits: Edits) -> None:
    """rereg.reuse — a closed customer asks again before the old row's month is settled: the
    old row goes back to 상담요청 and the new row becomes 종결(중복).

    Why: seed §4 example A — "11월 인입이고, 정산 전 재접수이기 때문에 종결 DB를
    '상담요청'으로 변경". Decided when the bot handles it: only while the old row's month is not
    yet settled (day 3, 10:00 of the next month) at the run's `now`, or at the new row's 인입일
    when that is later (a row is not handled before it arrives) — a row of a settled month
    reopened afterwards would be billed in neither month (a 12.3 09:59 row handled at 09:59
    reuses; handled at 10:00 or later it does not).

    Example: 11-20 인입 종결(고객취소); new row 12-02 → old row: 진행상황 `상담요청`, 비고 +
    `재접수 12.2 (정산 전 기존 DB 활용)`; new row: `종결(중복)`, 비고 + `재접수: 기존 DB 사용`.
    """
    for r in reregistrations(customer, ctx.now, ctx.settings):
        if not r.reuse:
            continue
        assert r.new.intake_at is not None
        reason = f"정산 전 재접수 (행 {r.new.row})"
        edits.set_status(r.old, "상담요청", reason)
        on = r.new.intake_at.date()
        edits.append(r.old, "remarks", f"재접수 {md(on)} {REOPENED_MARK}", reason, on)
        edits.set_status(r.new, DUPLICATE, f"기존 행 {r.old.row} 다시 사용")
        edits.append(r.new, "remarks", REUSED_NEW_ROW_NOTE, f"기존 행 {r.old.row} 다시 사용", on)


@rule(
    "rereg.new",
    mode="apply",
    changes=True,
    title="재접수 처리 (정산 후, 신규 DB)",
    scope="customer",
    settings=("settlement.day", "settlement.time"),
)
def new_row_after_settlement(customer: list[Lead], ctx: Context, edits: Edits) -> None:
    """rereg.new — a closed customer asks again after the old row's month was settled (or from
    an older month): the new row is the one to work.

    Why: seed §4 examples B and C — "이미 11월 정산이 끝났기 때문에, 새로 DB 생성 후
    '상담요청'으로 변경"; "10월 인입 DB이기 때문에, 무조건 DB 재생성".

    Example: 11-20 인입 종결(고객취소); new row 12-04 with no status → new row: 진행상황
    `상담요청`, 비고 + `재접수 (정산 후 신규 DB)`; the old row stays closed.
    """
    for r in reregistrations(customer, ctx.now, ctx.settings):
        if r.reuse:
            continue
        reason = f"정산 후 재접수 (이전 행 {r.old.row})"
        if stands_in(KEPT_NEW_ROW_NOTE, edits.value(r.new, "remarks")):
            continue  # handled by an earlier run; staff may have moved it on since
        if r.new.status == "":
            edits.set_status(r.new, "상담요청", reason)
        edits.append(r.new, "remarks", KEPT_NEW_ROW_NOTE, reason, r.new.intake_day)
