"""Seed §4 and §2: the monthly settlement (docs/SETTLEMENT.md), as plain values.

Times here are KST wall-clock times without a zone, like every time the rules see.

Intake month M is settled on day 3 of month M+1 at 10:00 KST (configurable), by the status
each of its DBs holds at that moment; each vendor pays the fee of the status (seed §2:
30,000원, 장기견적 15,000원, 장기무료 free). Which month is settled at a moment, the cut-off
itself, the rows a snapshot records and the statement built from them live here; reading the
clock, the sheet and the journal is the shell's (bot/settlement.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from rules.model import Lead
from rules.settings import RuleSettings
from rules.text import squash
from rules.values import STATUSES

UNASSIGNED = "(미배정)"
NO_STATUS = "(빈칸)"  # a row of the month whose 진행상황 is empty
# seed §2: the order fee is 30,000원, 장기견적 half of it, 장기무료 free
DEFAULT_FEES: Mapping[str, int] = MappingProxyType(
    {"견적진행": 30000, "계약완료": 30000, "장기견적": 15000, "장기무료": 0}
)


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """An intake month: `2024-11`."""

    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2024-11` -> Month(2024, 11); ValueError for anything else."""
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"not a month: {text!r} (write e.g. 2024-11)")
        return cls(int(m.group(1)), int(m.group(2)))

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def settlement_cutoff(month: Month, settings: RuleSettings) -> datetime:
    """When `month` is settled: day `settlement_day` of the next month at `settlement_time`
    (KST wall-clock time, as the rules see every time)."""
    following = month.next()
    day = date(following.year, following.month, settings.settlement_day)
    return datetime.combine(day, settings.settlement_time)


def is_settled(month: Month, now: datetime, settings: RuleSettings) -> bool:
    """Whether `month` has been settled once the clock reads `now` (the cut-off included)."""
    return now >= settlement_cutoff(month, settings)


def settled_month(now: datetime, settings: RuleSettings) -> Month:
    """The latest month whose cut-off has passed at `now` (on 12-03 at 10:00: 2024-11)."""
    last = Month.of(now).previous()
    return last if is_settled(last, now, settings) else last.previous()


@dataclass(frozen=True, slots=True)
class SettledRow:
    """One lead row of the settled month as the snapshot read it (no name, no phone)."""

    row: int
    fingerprint: str
    status: str
    vendor: str  # 배정업체 as typed, trimmed
    move_type: str
    intake_at: datetime


def settled_rows(leads: Iterable[Lead], month: Month) -> tuple[SettledRow, ...]:
    """The rows whose 인입일 falls in `month`, as read."""
    year, number = month.year, month.month
    return tuple(
        SettledRow(
            row=lead.row,
            fingerprint=lead.fingerprint,
            status=lead.status,
            vendor=lead.vendor.strip(),
            move_type=lead.move_type,
            intake_at=lead.intake_at,
        )
        for lead in leads
        if lead.intake_at is not None
        and lead.intake_at.month == number
        and lead.intake_at.year == year
    )


def check_fees(fees: Mapping[str, int]) -> None:
    """ValueError naming a fee key that is none of the 20 statuses."""
    unknown = [s for s in fees if s not in STATUSES]
    if unknown:
        raise ValueError(f"unknown status {', '.join(unknown)} (statuses: {', '.join(STATUSES)})")


@dataclass(frozen=True, slots=True)
class VendorLine:
    vendor: str  # as first typed; `(미배정)` for the rows no vendor was assigned
    rows: int
    by_status: Mapping[str, int]  # status -> rows, in the desk's order of statuses
    billed: int  # rows whose status has a fee
    amount: int  # won


@dataclass(frozen=True, slots=True)
class BilledRow:
    row: int
    intake_at: datetime
    status: str
    vendor: str
    fee: int


@dataclass(frozen=True, slots=True)
class Statement:
    """A month's bill per vendor from the rows as they stood at the cut-off."""

    month: Month
    fees: Mapping[str, int]
    vendors: tuple[VendorLine, ...]  # amount, highest first, then by name
    unassigned: VendorLine
    billed_rows: tuple[BilledRow, ...]  # in sheet order

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses that occur, in the desk's order (unknown texts last)."""
        seen = {s for line in (*self.vendors, self.unassigned) for s in line.by_status}
        order = {s: i for i, s in enumerate(STATUSES)}
        return tuple(sorted(seen, key=lambda s: (order.get(s, len(order)), s)))

    @property
    def total(self) -> VendorLine:
        lines = (*self.vendors, self.unassigned)
        by_status: Counter[str] = Counter()
        for line in lines:
            by_status.update(line.by_status)
        return VendorLine(
            "합계",
            sum(line.rows for line in lines),
            _ordered(by_status),
            sum(line.billed for line in lines),
            sum(line.amount for line in lines),
        )


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    order = {s: i for i, s in enumerate(STATUSES)}
    return {s: counts[s] for s in sorted(counts, key=lambda s: (order.get(s, len(order)), s))}


def build_statement(month: Month, rows: Iterable[SettledRow], fees: Mapping[str, int]) -> Statement:
    """Per vendor (spaces inside a name ignored), the rows by status, the billed rows (status
    in `fees`) and their amount; rows with no vendor are `(미배정)` and never billed."""
    names: dict[str, str] = {}
    grouped: dict[str, list[SettledRow]] = {}
    unassigned: list[SettledRow] = []
    billed: list[BilledRow] = []
    for r in sorted(rows, key=lambda r: r.row):
        key = squash(r.vendor)
        if not key:
            unassigned.append(r)
            continue
        names.setdefault(key, r.vendor)
        grouped.setdefault(key, []).append(r)
        if r.status in fees:
            billed.append(BilledRow(r.row, r.intake_at, r.status, r.vendor, fees[r.status]))

    def line(vendor: str, members: list[SettledRow], bill: bool) -> VendorLine:
        charged = [fees[r.status] for r in members if bill and r.status in fees]
        counts = _ordered(Counter(r.status or NO_STATUS for r in members))
        return VendorLine(vendor, len(members), counts, len(charged), sum(charged))

    vendors = sorted(
        (line(names[key], members, True) for key, members in grouped.items()),
        key=lambda v: (-v.amount, v.vendor),
    )
    return Statement(
        month, dict(fees), tuple(vendors), line(UNASSIGNED, unassigned, False), tuple(billed)
    )
