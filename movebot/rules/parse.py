"""Raw tabs -> typed rows. A value that does not read becomes a `ValueProblem`, never an error."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from movebot.rules import values
from movebot.rules.model import CellValue, Desk, Lead, ObCall, Phone, Snapshot, Tab, ValueProblem

# The cells that identify a row when staff move it (DESIGN.md "A run" step 1).
FINGERPRINT_FIELDS = {"leads": ("intake_at", "phone"), "ob": ("ob_date", "phone")}

_EPOCH = datetime(1899, 12, 30)


def _fingerprint_part(value: CellValue) -> str:
    """The same for a date read by openpyxl (datetime) and by the Sheets API (serial)."""
    if isinstance(value, datetime | date):
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        delta = value.replace(tzinfo=None) - _EPOCH
        value = delta.days + delta.seconds / 86400
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0")
    if value is None:
        return ""
    return str(value).strip()


def fingerprint(tab: Tab, index: int) -> str:
    return "|".join(_fingerprint_part(tab.cell(index, f)) for f in FINGERPRINT_FIELDS[tab.key])


def _unreadable_phone(text: str) -> Phone:
    return Phone(text=text, key=None, display=text, problem="번호로 읽을 수 없음")


def _text(value: CellValue) -> str:
    return values.cell_text(value).strip()


class _RowReader:
    """Reads one row's cells, collecting the ones that do not parse."""

    def __init__(self, tab: Tab, index: int) -> None:
        self.tab = tab
        self.index = index
        self.problems: list[ValueProblem] = []

    def raw(self, field: str) -> CellValue:
        return self.tab.cell(self.index, field)

    def text(self, field: str) -> str:
        return _text(self.raw(field))

    def problem(self, field: str, value: CellValue, expected: str) -> None:
        header = str(self.tab.headers[self.tab.columns[field]]).strip()
        self.problems.append(ValueProblem(field, header, _text(value), expected))

    def date(
        self, field: str, resolve: Callable[[values.DateText, date], datetime], anchor: date
    ) -> tuple[datetime | None, bool]:
        value = self.raw(field)
        if value is None or _text(value) == "":
            return None, False
        try:
            d = values.read_date(value)
            return resolve(d, anchor), d.time is not None
        except ValueError:
            self.problem(field, value, "날짜")
            return None, False

    def phone(self, field: str, report: bool) -> Phone | None:
        """The cell's phone. Text that is no phone at all becomes a keyless Phone (so
        phone.invalid sees it on leads) and, where `report`, a value problem."""
        value = self.raw(field)
        try:
            return values.parse_phone(value)
        except ValueError:
            if report:
                self.problem(field, value, "전화번호")
            return _unreadable_phone(_text(value))

    def number(self, field: str, read: Callable[[CellValue], float], expected: str) -> float | None:
        value = self.raw(field)
        if value is None or _text(value) == "":
            return None
        try:
            return read(value)
        except ValueError:
            self.problem(field, value, expected)
            return None


def _is_blank(row: tuple[CellValue, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def parse_leads(tab: Tab, today: date) -> tuple[Lead, ...]:
    leads = []
    for i, row in enumerate(tab.rows):
        if _is_blank(row):
            continue
        r = _RowReader(tab, i)
        intake_at, intake_has_time = r.date("intake_at", values.resolve_not_after, today)
        anchor = intake_at.date() if intake_at else today
        call_due, _ = r.date("call_due", values.resolve_after, anchor)
        move_text = r.text("move_date")
        undecided = move_text.replace(" ", "") == "미정"
        move_at: datetime | None = None
        if not undecided:
            move_at, _ = r.date("move_date", values.resolve_after, anchor)
        status_text = values.cell_text(r.raw("status"))
        alt_raw = r.raw("alt_phones")
        alt_phones, unreadable = values.parse_phones(alt_raw)
        alt_phones += tuple(_unreadable_phone(part) for part in unreadable)
        leads.append(
            Lead(
                row=tab.sheet_row(i),
                fingerprint=fingerprint(tab, i),
                intake_at=intake_at,
                intake_has_time=intake_has_time,
                call_due=call_due.date() if call_due else None,
                status=values.canonical_status(status_text) or status_text.strip(),
                status_text=status_text,
                remarks=values.cell_text(r.raw("remarks")),
                name=r.text("name"),
                phone=r.phone("phone", report=False),
                alt_phones=alt_phones,
                alt_phones_text=values.cell_text(alt_raw),
                move_date=move_at.date() if move_at else None,
                move_date_undecided=undecided,
                origin=r.text("origin"),
                destination=r.text("destination"),
                move_type=r.text("move_type"),
                vendor=r.text("vendor"),
                manager=r.text("manager"),
                bot_note=values.cell_text(r.raw("bot_note")),
                problems=tuple(r.problems),
            )
        )
    return tuple(leads)


def parse_obs(tab: Tab, today: date) -> tuple[ObCall, ...]:
    obs = []
    for i, row in enumerate(tab.rows):
        if _is_blank(row):
            continue
        r = _RowReader(tab, i)
        ob_at, ob_has_time = r.date("ob_date", values.resolve_not_after, today)
        tons = r.number("load_tons", values.parse_tons, "톤 수")
        quote = r.number("quote_amount", values.parse_money, "금액")
        obs.append(
            ObCall(
                row=tab.sheet_row(i),
                fingerprint=fingerprint(tab, i),
                ob_at=ob_at,
                ob_has_time=ob_has_time,
                phone=r.phone("phone", report=True),
                detail=values.cell_text(r.raw("detail")).strip(),
                cancel_reason=r.text("cancel_reason"),
                vendor=r.text("vendor"),
                load_tons=tons,
                load_text=r.text("load_tons"),
                quote_amount=int(quote) if quote is not None else None,
                quote_text=r.text("quote_amount"),
                bot_note=values.cell_text(r.raw("bot_note")),
                problems=tuple(r.problems),
            )
        )
    return tuple(obs)


def parse_desk(snapshot: Snapshot, today: date) -> Desk:
    return Desk(leads=parse_leads(snapshot.leads_tab, today), obs=parse_obs(snapshot.ob_tab, today))


def with_cell(lead: Lead, field: str, text: str) -> Lead:
    """The lead as it reads once `text` is written to one of the cells the bot writes."""
    if field == "status":
        return replace(lead, status=values.canonical_status(text) or text.strip(), status_text=text)
    if field == "remarks":
        return replace(lead, remarks=text)
    if field == "alt_phones":
        phones, unreadable = values.parse_phones(text)
        phones += tuple(_unreadable_phone(part) for part in unreadable)
        return replace(lead, alt_phones=phones, alt_phones_text=text)
    if field == "bot_note":
        return replace(lead, bot_note=text)
    raise ValueError(f"the bot does not write {field}")
