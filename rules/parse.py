"""Raw tabs -> typed rows. A value that does not read becomes a `ValueProblem`, never an error.

Sheets of 100k rows are read here on every run, so the loops below read cells by column index,
take the common cell kinds (text, sheet serials) without a detour, and remember within a run
what repeats (dates, phones, statuses).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from rules import values
from rules.blocked import TYPED
from rules.duplicates import REGIONS, address_words
from rules.model import (
    CellValue,
    Desk,
    Lead,
    ObCall,
    Phone,
    Snapshot,
    Tab,
    ValueProblem,
    Vendor,
)

# The cells that identify a row when staff move it (DESIGN.md "A run" step 1).
FINGERPRINT_FIELDS = {"leads": ("intake_at", "phone"), "ob": ("ob_date", "phone")}

_EPOCH = datetime(1899, 12, 30)


def _fingerprint_part(value: CellValue) -> str:
    """The same for a date read by openpyxl (datetime) and by the Sheets API (serial)."""
    if type(value) is str:
        return value.strip()
    if type(value) is float and math.isfinite(value):  # a serial: the same as further down
        return str(int(value)) if value.is_integer() else f"{value:.6f}".rstrip("0")
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


def _blank(value: CellValue) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _blocked(
    remarks: CellValue,
    alt_phones: CellValue,
    tab_blocked: Mapping[tuple[int, int], str],
    sheet_row: int,
    writable: Sequence[tuple[str, int]],
) -> tuple[tuple[str, str], ...]:
    """The row's cells the bot may not write (see `Lead.blocked`): what the backend found
    (merged, formula, protected), and a 비고 / 예비번호 holding a date, number or boolean."""
    if (
        (remarks is None or type(remarks) is str)
        and (alt_phones is None or type(alt_phones) is str)
        and not tab_blocked
    ):
        return ()
    found = {f: why for f, col in writable if (why := tab_blocked.get((sheet_row, col)))}
    for f, v in (("remarks", remarks), ("alt_phones", alt_phones)):
        if v is not None and not isinstance(v, str):
            found.setdefault(f, TYPED)
    return tuple(found.items())


def _unreadable_phone(text: str) -> Phone:
    return Phone(text=text, key=None, display=text, problem="번호로 읽을 수 없음")


def _text(value: CellValue) -> str:
    return values.cell_text(value).strip()


_NOT_A_PHONE = Phone(text="", key=None, display="")  # marks text parse_phone refused
_UNSEEN = Phone(text="", key=None, display="")  # marks text not read yet
_NUMBER_TYPES = (int, float)  # exactly: bool is no number here


class _Reader:
    """Reads the rows of one tab by column index, collecting the cells that do not parse.

    `phones` may be shared by the readers of one snapshot: a customer's number stands on
    several leads and on their OB rows.
    """

    def __init__(
        self, tab: Tab, wanted: Sequence[str], phones: dict[str, Phone | None] | None = None
    ) -> None:
        self.tab = tab
        cols = tab.columns
        # A field without a column reads the None that `rows` puts after the widest one used.
        self.width = max((cols[f] for f in wanted if f in cols), default=-1) + 1
        self.col = {f: cols.get(f, self.width) for f in wanted}
        self.fingerprint_cols = [self.col[f] for f in FINGERPRINT_FIELDS[tab.key]]
        # number cell -> (moment, has time), None when it is no date; a number always has its
        # year, so this does not depend on the resolving rule or its anchor.
        self.serials: dict[int | float, tuple[datetime, bool] | None] = {}
        self.phones: dict[str, Phone | None] = {} if phones is None else phones
        self.problems: list[ValueProblem] = []

    def rows(self) -> list[tuple[int, tuple[CellValue, ...]]]:
        """(sheet row, cells) of each row that is not blank, the cells cut or padded so that
        every wanted column is there and the one after them is None."""
        out = []
        first = self.tab.header_row + 1
        width = self.width
        note = self.tab.columns.get("bot_note", -1)  # the bot's own note does not make a row
        for i, row in enumerate(self.tab.rows):
            for j, v in enumerate(row):
                if v is not None and not (type(v) is str and not v.strip()) and j != note:
                    break
            else:
                continue  # a blank row
            if type(row) is not tuple:  # a backend's rows are tuples; anything else is made one
                row = tuple(row)
            n = len(row)
            if n <= width:
                row = row + (None,) * (width + 1 - n)
            elif row[width] is not None:
                row = row[:width] + (None,)
            out.append((first + i, row))
        return out

    def problem(self, field: str, value: CellValue, expected: str) -> None:
        header = str(self.tab.headers[self.tab.columns[field]]).strip()
        self.problems.append(ValueProblem(field, header, _text(value), expected))

    def take_problems(self) -> tuple[ValueProblem, ...]:
        found = tuple(self.problems)
        self.problems.clear()
        return found

    def date(
        self,
        field: str,
        value: CellValue,
        resolve: Callable[[values.DateText, date], datetime],
        anchor: date,
    ) -> tuple[datetime | None, bool]:
        """The cell's moment and whether it has a time of day; (None, False) when empty or
        unreadable (then a value problem)."""
        if value is None:
            return None, False
        if type(value) in _NUMBER_TYPES:
            number: int | float = value  # type: ignore[assignment]
            if number in self.serials:
                hit = self.serials[number]
            else:
                try:
                    hit = values.read_serial(number)
                except ValueError:
                    hit = None
                self.serials[number] = hit
            if hit is None:
                self.problem(field, value, "날짜")
                return None, False
            return hit
        if type(value) is str and not value.strip():
            return None, False
        try:
            d = values.read_date(value)
            return resolve(d, anchor), d.time is not None
        except ValueError:
            self.problem(field, value, "날짜")
            return None, False

    def phone(self, field: str, value: CellValue, report: bool) -> Phone | None:
        """The cell's phone. Text that is no phone at all becomes a keyless Phone (so
        phone.invalid sees it on leads) and, where `report`, a value problem."""
        if type(value) is str:
            phone = self.phones.get(value, _UNSEEN)
            if phone is _UNSEEN:
                try:
                    phone = values.parse_phone(value)
                except ValueError:
                    phone = _NOT_A_PHONE
                self.phones[value] = phone
            if phone is not _NOT_A_PHONE:
                return phone
        else:
            try:
                return values.parse_phone(value)
            except ValueError:
                pass
        if report:
            self.problem(field, value, "전화번호")
        return _unreadable_phone(_text(value))

    def number(
        self, field: str, value: CellValue, read: Callable[[CellValue], float], expected: str
    ) -> float | None:
        if value is None or _text(value) == "":
            return None
        try:
            return read(value)
        except ValueError:
            self.problem(field, value, expected)
            return None


_WRITABLE = ("status", "remarks", "alt_phones")  # the lead cells change rules write
_LEAD_CELLS = (
    "intake_at", "call_due", "status", "remarks", "name", "phone", "alt_phones", "move_date",
    "origin", "destination", "move_type", "vendor", "manager", "bot_note",
)  # fmt: skip


def parse_leads(
    tab: Tab, today: date, phones: dict[str, Phone | None] | None = None
) -> tuple[Lead, ...]:
    """The lead rows of `tab`; `phones` is a cache of read numbers the caller may share."""
    r = _Reader(tab, _LEAD_CELLS, phones)
    c = r.col
    c_intake, c_due, c_status, c_remarks = c["intake_at"], c["call_due"], c["status"], c["remarks"]
    c_name, c_phone, c_alt, c_move = c["name"], c["phone"], c["alt_phones"], c["move_date"]
    c_origin, c_dest, c_type = c["origin"], c["destination"], c["move_type"]
    c_vendor, c_manager, c_note = c["vendor"], c["manager"], c["bot_note"]
    c_fp1, c_fp2 = r.fingerprint_cols
    tab_blocked = tab.blocked
    writable = [(f, tab.columns[f]) for f in _WRITABLE if f in tab.columns]
    fp, cell_text, read_date = _fingerprint_part, values.cell_text, r.date
    read_serial = values.read_serial
    resolve_after, resolve_not_after = values.resolve_after, values.resolve_not_after
    statuses: dict[str, str] = {}
    leads = []
    phones = r.phones
    for sheet_row, row in r.rows():
        v = row[c_intake]
        intake_at: datetime | None
        if type(v) is float:  # a serial, as the Sheets API gives a date with a time
            try:
                intake_at, intake_has_time = read_serial(v)
            except ValueError:
                intake_at, intake_has_time = read_date("intake_at", v, resolve_not_after, today)
        else:
            intake_at, intake_has_time = read_date("intake_at", v, resolve_not_after, today)
        anchor = intake_at.date() if intake_at else today
        v = row[c_due]
        call_due = None if v is None else read_date("call_due", v, resolve_after, anchor)[0]
        v = row[c_move]
        undecided = type(v) is str and v.strip().replace(" ", "") == "미정"
        move_at = None
        if v is not None and not undecided:
            move_at = read_date("move_date", v, resolve_after, anchor)[0]
        status_text = v if type(v := row[c_status]) is str else cell_text(v)
        status = statuses.get(status_text)
        if status is None:
            status = values.canonical_status(status_text) or status_text.strip()
            statuses[status_text] = status
        v = row[c_phone]
        phone = phones.get(v, _UNSEEN) if type(v) is str else _UNSEEN
        if phone is _UNSEEN or phone is _NOT_A_PHONE:
            phone = r.phone("phone", v, report=False)
        alt_raw = row[c_alt]
        alt_phones: tuple[Phone, ...] = ()
        if alt_raw is not None:
            alt_phones, unreadable = values.parse_phones(alt_raw)
            if unreadable:
                alt_phones += tuple(_unreadable_phone(part) for part in unreadable)
        if (
            intake_at is None
            and not status_text.strip()
            and _blank(row[c_phone])
            and _blank(alt_raw)
        ):
            r.problems.clear()  # a divider staff typed between blocks (`▼ 3월 인입분`): no lead
            continue
        leads.append(
            Lead(
                row=sheet_row,
                fingerprint=fp(row[c_fp1]) + "|" + fp(row[c_fp2]),
                intake_at=intake_at,
                intake_has_time=intake_has_time,
                call_due=call_due.date() if call_due else None,
                status=status,
                status_text=status_text,
                remarks=v if type(v := row[c_remarks]) is str else cell_text(v),
                name=v.strip() if type(v := row[c_name]) is str else _text(v),
                phone=phone,
                alt_phones=alt_phones,
                alt_phones_text=cell_text(alt_raw),
                move_date=move_at.date() if move_at else None,
                move_date_undecided=undecided,
                origin=v.strip() if type(v := row[c_origin]) is str else _text(v),
                destination=v.strip() if type(v := row[c_dest]) is str else _text(v),
                move_type=v.strip() if type(v := row[c_type]) is str else _text(v),
                vendor=v.strip() if type(v := row[c_vendor]) is str else _text(v),
                manager=v.strip() if type(v := row[c_manager]) is str else _text(v),
                bot_note=v if type(v := row[c_note]) is str else cell_text(v),
                problems=r.take_problems() if r.problems else (),
                blocked=_blocked(row[c_remarks], alt_raw, tab_blocked, sheet_row, writable),
            )
        )
    return tuple(leads)


_OB_CELLS = (
    "ob_date", "phone", "detail", "cancel_reason", "vendor", "load_tons", "quote_amount",
    "bot_note",
)  # fmt: skip


def parse_obs(
    tab: Tab, today: date, phones: dict[str, Phone | None] | None = None
) -> tuple[ObCall, ...]:
    """The OB rows of `tab`; `phones` is a cache of read numbers the caller may share."""
    r = _Reader(tab, _OB_CELLS, phones)
    c = r.col
    c_date, c_phone, c_detail, c_reason = c["ob_date"], c["phone"], c["detail"], c["cancel_reason"]
    c_vendor, c_tons, c_quote, c_note = (
        c["vendor"],
        c["load_tons"],
        c["quote_amount"],
        c["bot_note"],
    )
    c_fp1, c_fp2 = r.fingerprint_cols
    fp, cell_text, phones = _fingerprint_part, values.cell_text, r.phones
    read_serial, resolve_not_after = values.read_serial, values.resolve_not_after
    obs = []
    for sheet_row, row in r.rows():
        v = row[c_date]
        ob_at: datetime | None
        if type(v) is float:  # a serial, as the Sheets API gives a date with a time
            try:
                ob_at, ob_has_time = read_serial(v)
            except ValueError:
                ob_at, ob_has_time = r.date("ob_date", v, resolve_not_after, today)
        else:
            ob_at, ob_has_time = r.date("ob_date", v, resolve_not_after, today)
        tons = quote = None
        if row[c_tons] is not None:
            tons = r.number("load_tons", row[c_tons], values.parse_tons, "톤 수")
        if row[c_quote] is not None:
            quote = r.number("quote_amount", row[c_quote], values.parse_money, "금액")
        v = row[c_phone]
        phone = phones.get(v, _UNSEEN) if type(v) is str else _UNSEEN
        if phone is _UNSEEN or phone is _NOT_A_PHONE:
            phone = r.phone("phone", v, report=True)
        obs.append(
            ObCall(
                row=sheet_row,
                fingerprint=fp(row[c_fp1]) + "|" + fp(row[c_fp2]),
                ob_at=ob_at,
                ob_has_time=ob_has_time,
                phone=phone,
                detail=cell_text(row[c_detail]).strip(),
                cancel_reason=v.strip() if type(v := row[c_reason]) is str else _text(v),
                vendor=v.strip() if type(v := row[c_vendor]) is str else _text(v),
                load_tons=tons,
                load_text=_text(row[c_tons]),
                quote_amount=int(quote) if quote is not None else None,
                quote_text=_text(row[c_quote]),
                bot_note=v if type(v := row[c_note]) is str else cell_text(v),
                problems=r.take_problems() if r.problems else (),
            )
        )
    return tuple(obs)


_AREA_SEPARATORS = re.compile(r"[,/\n]")
_AREA_EXPECTED = "시·도로 시작하는 지역 (예: 서울 강남구, 경기 성남시)"


def _areas(tab: Tab, index: int, field: str, problems: list[ValueProblem]) -> tuple[str, ...]:
    """An area cell: region prefixes separated by `,` `/` or newlines. A cell that is not text,
    or a part that does not start with a 시·도 (`강남구`), becomes a problem: it would match
    no 출발지 as staff meant it."""
    value = tab.cell(index, field)
    if value is None:
        return ()
    header = str(tab.headers[tab.columns[field]]).strip()
    if not isinstance(value, str):
        problems.append(ValueProblem(field, header, _text(value), _AREA_EXPECTED))
        return ()
    areas = []
    for part in _AREA_SEPARATORS.split(value):
        area = " ".join(part.split())
        if not area:
            continue
        words = address_words(area)
        if not words or words[0] not in REGIONS:
            problems.append(ValueProblem(field, header, area, _AREA_EXPECTED))
        areas.append(area)
    return tuple(areas)


def parse_vendors(tab: Tab) -> tuple[Vendor, ...]:
    """The rows of 장기고객 업체 리스트 that name a vendor (RULES.md `longterm.match`)."""
    vendors = []
    for i in range(len(tab.rows)):
        name = _text(tab.cell(i, "name"))
        if not name:
            continue  # a blank row, or a note between blocks
        problems: list[ValueProblem] = []
        regular = _areas(tab, i, "regular_areas", problems)
        outside = _areas(tab, i, "outside_areas", problems)
        vendors.append(
            Vendor(
                row=tab.sheet_row(i),
                name=name,
                regular=regular,
                outside=outside,
                problems=tuple(problems),
            )
        )
    return tuple(vendors)


def parse_desk(snapshot: Snapshot, today: date) -> Desk:
    phones: dict[str, Phone | None] = {}
    vendors = snapshot.vendors_tab
    return Desk(
        leads=parse_leads(snapshot.leads_tab, today, phones),
        obs=parse_obs(snapshot.ob_tab, today, phones),
        vendors=None if vendors is None else parse_vendors(vendors),
    )


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
