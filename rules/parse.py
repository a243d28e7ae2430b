"""Raw tabs -> typed rows. A value that does not read becomes a `ValueProblem`, never an error.

Sheets of 100k rows are read here on every run, so a tab is read a column at a time: each
field's cells are turned into values in one pass (the common cell kinds, text, datetimes and
sheet serials, without a detour; what repeats, serials, phones and statuses, remembered within
a run), and the rows are built from those columns (`_build`).
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime
from itertools import repeat, zip_longest
from operator import attrgetter
from typing import Any, TypeVar

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


def _serial_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else f"{number:.6f}".rstrip("0")


def _fingerprint_part(value: CellValue) -> str:
    """The same for a date read by openpyxl (datetime) and by the Sheets API (serial)."""
    if type(value) is str:
        return value.strip()
    if type(value) is float and math.isfinite(value):  # a serial: the same as further down
        return _serial_text(value)
    if type(value) is datetime and value.tzinfo is None:  # a date read from an .xlsx
        delta = value - _EPOCH
        return _serial_text(delta.days + delta.seconds / 86400)
    if isinstance(value, datetime | date):
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        delta = value.replace(tzinfo=None) - _EPOCH
        value = delta.days + delta.seconds / 86400
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return _serial_text(value) if math.isfinite(value) else str(value)
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
_NO_DATE: tuple[datetime | None, bool] = (None, False)
_Row = TypeVar("_Row")


class _Reader:
    """Reads one tab a column at a time: the rows that are not blank, each wanted field's cells
    on them, and the cells that do not parse, by row.

    `phones` may be shared by the readers of one snapshot: a customer's number stands on
    several leads and on their OB rows.
    """

    def __init__(
        self, tab: Tab, wanted: Sequence[str], phones: dict[str, Phone | None] | None = None
    ) -> None:
        self.tab = tab
        self.cols = {f: tab.columns[f] for f in wanted if f in tab.columns}
        # number cell -> (moment, has time), None when it is no date; a number always has its
        # year, so this does not depend on the resolving rule or its anchor.
        self.serials: dict[int | float, tuple[datetime, bool] | None] = {}
        self.phones: dict[str, Phone | None] = {} if phones is None else phones
        self.problems: dict[int, list[ValueProblem]] = {}  # by index into `rows`
        self.numbers: list[int] = []  # the sheet row of each row read
        rows: list[Sequence[CellValue]] = []  # the tab's own rows: not copied
        first = tab.header_row + 1
        note = tab.columns.get("bot_note", -1)  # the bot's own note does not make a row
        for i, row in enumerate(tab.rows):
            for j, v in enumerate(row):
                if v is not None and not (type(v) is str and not v.strip()) and j != note:
                    self.numbers.append(first + i)
                    rows.append(row)
                    break
        # the rows turned into columns in one pass (None past a row's end); only references
        self.columns: list[tuple[CellValue, ...]] = list(zip_longest(*rows))
        self.size = len(rows)

    def drop(self, indexes: Collection[int]) -> list[int]:
        """Forget the rows at `indexes` and their problems; the indexes the kept rows had."""
        gone = set(indexes)
        kept = [i for i in range(self.size) if i not in gone]
        self.numbers = [self.numbers[i] for i in kept]
        self.columns = [tuple(column[i] for i in kept) for column in self.columns]
        found = self.problems
        self.problems = {new: found[old] for new, old in enumerate(kept) if old in found}
        self.size = len(kept)
        return kept

    def column(self, field: str) -> Sequence[CellValue]:
        """The field's cell on each row (None past a row's end, or when no column has it)."""
        c = self.cols.get(field)
        if c is None or c >= len(self.columns):
            return (None,) * self.size
        return self.columns[c]

    def fingerprints(self) -> list[str]:
        first, second = (self.column(f) for f in FINGERPRINT_FIELDS[self.tab.key])
        fp = _fingerprint_part
        return [fp(a) + "|" + fp(b) for a, b in zip(first, second, strict=True)]

    def problem(self, i: int, field: str, value: CellValue, expected: str) -> None:
        header = str(self.tab.headers[self.tab.columns[field]]).strip()
        self.problems.setdefault(i, []).append(ValueProblem(field, header, _text(value), expected))

    def problems_by_row(self) -> list[tuple[ValueProblem, ...]]:
        found = self.problems
        return [tuple(found[i]) if i in found else () for i in range(self.size)]

    def dates(
        self,
        field: str,
        cells: Sequence[CellValue],
        resolve: Callable[[values.DateText, date], datetime],
        anchors: Iterable[date],
    ) -> list[tuple[datetime | None, bool]]:
        """Each cell's moment and whether it has a time of day, a year-less date resolved
        against its row's anchor; (None, False) when empty or unreadable (then a value
        problem of its row)."""
        date_of = self.date
        return [
            _NO_DATE if v is None else date_of(i, field, v, resolve, anchor)
            for i, (v, anchor) in enumerate(
                zip(cells, anchors, strict=False)
            )  # anchors: repeat(today) too
        ]

    def date(
        self,
        i: int,
        field: str,
        value: CellValue,
        resolve: Callable[[values.DateText, date], datetime],
        anchor: date,
    ) -> tuple[datetime | None, bool]:
        kind = type(value)
        if kind is datetime:
            return values.read_datetime(value)  # type: ignore[arg-type]
        if kind in _NUMBER_TYPES:
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
                self.problem(i, field, value, "날짜")
                return _NO_DATE
            return hit
        if kind is str and not value.strip():  # type: ignore[union-attr]
            return _NO_DATE
        try:
            d = values.read_date(value)
            return resolve(d, anchor), d.time is not None
        except ValueError:
            self.problem(i, field, value, "날짜")
            return _NO_DATE

    def phone(self, i: int, field: str, value: CellValue, report: bool) -> Phone | None:
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
            self.problem(i, field, value, "전화번호")
        return _unreadable_phone(_text(value))

    def build(self, cls: type[_Row], **columns: Sequence[Any]) -> tuple[_Row, ...]:
        """The rows read as `cls` rows (`_build`): their sheet rows, fingerprints and value
        problems, and the given fields' columns."""
        return _build(
            cls,
            row=self.numbers,
            fingerprint=self.fingerprints(),
            problems=self.problems_by_row(),
            **columns,
        )

    def phones_in(self, field: str, report: bool) -> list[Phone | None]:
        return [self.phone(i, field, v, report) for i, v in enumerate(self.column(field))]

    def numbers_in(
        self, field: str, read: Callable[[CellValue], float], expected: str
    ) -> list[float | None]:
        out: list[float | None] = []
        for i, value in enumerate(self.column(field)):
            number = None
            if value is not None and _text(value) != "":
                try:
                    number = read(value)
                except ValueError:
                    self.problem(i, field, value, expected)
            out.append(number)
        return out


def _texts(cells: Iterable[CellValue]) -> list[str]:
    return [v if type(v) is str else values.cell_text(v) for v in cells]


def _stripped(cells: Iterable[CellValue]) -> list[str]:
    return [v.strip() if type(v) is str else _text(v) for v in cells]


def _moments(
    dates: Sequence[tuple[datetime | None, bool]],
) -> tuple[list[datetime | None], list[bool]]:
    """`_Reader.dates` as two columns: the moments, and whether each has a time of day."""
    return [at for at, _ in dates], [has_time for _, has_time in dates]


def _phones_in(value: CellValue) -> tuple[Phone, ...]:
    """A 예비번호 cell's phones, the parts that are no phone as keyless ones."""
    phones, unreadable = values.parse_phones(value)
    return phones + tuple(_unreadable_phone(part) for part in unreadable)


def _build(cls: type[_Row], **columns: Sequence[Any]) -> tuple[_Row, ...]:
    """Rows of the frozen slotted dataclass `cls` from one list per field, every field given,
    set a field at a time through its slot: a frozen dataclass's __init__ sets each field of
    each row with its own `object.__setattr__` call, ~0.4 s of a 100k-lead run (issue 15)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if sorted(names) != sorted(columns) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: give exactly its fields {names}")
    rows = [object.__new__(cls) for _ in range(len(columns[names[0]]))]
    for name in names:
        cells = columns[name]
        if len(cells) != len(rows):
            raise ValueError(f"{cls.__name__}.{name}: {len(cells)} cells for {len(rows)} rows")
        deque(map(cls.__dict__[name].__set__, rows, cells), maxlen=0)
    return tuple(rows)


_WRITABLE = ("status", "remarks", "alt_phones")  # the lead cells change rules write
_LEAD_CELLS = (
    "intake_at", "call_due", "status", "remarks", "name", "phone", "alt_phones", "move_date",
    "origin", "destination", "move_type", "vendor", "manager", "bot_note",
)  # fmt: skip


def parse_leads(
    tab: Tab, today: date, phones: dict[str, Phone | None] | None = None
) -> tuple[Lead, ...]:
    """The lead rows of `tab`; `phones` is a cache of read numbers the caller may share.

    Read a column at a time (each cell's problems kept in its row's order: 인입일, 통화예정일,
    이사예정일)."""
    r = _Reader(tab, _LEAD_CELLS, phones)
    resolve_after = values.resolve_after
    intake = r.dates("intake_at", r.column("intake_at"), values.resolve_not_after, repeat(today))
    status_texts = _texts(r.column("status"))
    phone_cells, alt = r.column("phone"), r.column("alt_phones")
    dividers = [
        i
        for i, (at, _) in enumerate(intake)
        if at is None and not status_texts[i].strip() and _blank(phone_cells[i]) and _blank(alt[i])
    ]
    if dividers:  # rows staff typed between blocks (`▼ 3월 인입분`): no leads
        kept = r.drop(dividers)
        intake, status_texts = [intake[i] for i in kept], [status_texts[i] for i in kept]
    anchors = [at.date() if at else today for at, _ in intake]
    call_due = r.dates("call_due", r.column("call_due"), resolve_after, anchors)
    move_cells = r.column("move_date")
    undecided = [type(v) is str and v.strip().replace(" ", "") == "미정" for v in move_cells]
    move = r.dates(
        "move_date",
        [None if u else v for v, u in zip(move_cells, undecided, strict=True)],
        resolve_after,
        anchors,
    )
    canonical = {t: values.canonical_status(t) or t.strip() for t in set(status_texts)}
    remarks, alt = r.column("remarks"), r.column("alt_phones")
    writable = [(f, tab.columns[f]) for f in _WRITABLE if f in tab.columns]
    intake_at, intake_has_time = _moments(intake)
    return r.build(
        Lead,
        intake_at=intake_at,
        intake_has_time=intake_has_time,
        call_due=[at.date() if at else None for at, _ in call_due],
        status=[canonical[t] for t in status_texts],
        status_text=status_texts,
        remarks=_texts(remarks),
        name=_stripped(r.column("name")),
        phone=r.phones_in("phone", report=False),
        alt_phones=[() if v is None else _phones_in(v) for v in alt],
        alt_phones_text=_texts(alt),
        move_date=[at.date() if at else None for at, _ in move],
        move_date_undecided=undecided,
        origin=_stripped(r.column("origin")),
        destination=_stripped(r.column("destination")),
        move_type=_stripped(r.column("move_type")),
        vendor=_stripped(r.column("vendor")),
        manager=_stripped(r.column("manager")),
        bot_note=_texts(r.column("bot_note")),
        blocked=[
            _blocked(v, a, tab.blocked, row, writable)
            for v, a, row in zip(remarks, alt, r.numbers, strict=True)
        ],
    )


_OB_CELLS = (
    "ob_date", "phone", "detail", "cancel_reason", "vendor", "load_tons", "quote_amount",
    "bot_note",
)  # fmt: skip


def parse_obs(
    tab: Tab, today: date, phones: dict[str, Phone | None] | None = None
) -> tuple[ObCall, ...]:
    """The OB rows of `tab`; `phones` is a cache of read numbers the caller may share.

    Read a column at a time (each cell's problems kept in its row's order: OB 날짜, 짐 양,
    견적금액, 고객 연락처)."""
    r = _Reader(tab, _OB_CELLS, phones)
    ob = r.dates("ob_date", r.column("ob_date"), values.resolve_not_after, repeat(today))
    tons = r.numbers_in("load_tons", values.parse_tons, "톤 수")
    quotes = r.numbers_in("quote_amount", values.parse_money, "금액")
    ob_at, ob_has_time = _moments(ob)
    return r.build(
        ObCall,
        ob_at=ob_at,
        ob_has_time=ob_has_time,
        phone=r.phones_in("phone", report=True),
        detail=_stripped(r.column("detail")),
        cancel_reason=_stripped(r.column("cancel_reason")),
        vendor=_stripped(r.column("vendor")),
        load_tons=tons,
        load_text=_stripped(r.column("load_tons")),
        quote_amount=[None if q is None else int(q) for q in quotes],
        quote_text=_stripped(r.column("quote_amount")),
        bot_note=_texts(r.column("bot_note")),
    )


_AREA_SEPARATORS = re.compile(r"[,;/\n]")
_AREA_EXPECTED = "시·도로 시작하는 지역 (예: 서울 강남구, 경기 성남시)"


def _areas(tab: Tab, index: int, field: str, problems: list[ValueProblem]) -> tuple[str, ...]:
    """An area cell: region prefixes separated by `,` `;` `/` or newlines. A cell that is not text,
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


_LEAD_FIELDS = tuple(f.name for f in fields(Lead))
_LEAD_VALUES = attrgetter(*_LEAD_FIELDS)
_LEAD_SLOTS = tuple(Lead.__dict__[name].__set__ for name in _LEAD_FIELDS)
if hasattr(Lead, "__post_init__"):  # _replaced sets the slots without it (as _build refuses)
    raise TypeError("Lead.__post_init__ would be skipped by parse._replaced")


def _replaced(lead: Lead, **cells: Any) -> Lead:
    """`dataclasses.replace` for a Lead, a slot at a time as `_build` sets them: replace goes
    through the frozen __init__, a third of the plan's applying of ~20k changes at 100k."""
    new = object.__new__(Lead)
    for name, set_slot, value in zip(_LEAD_FIELDS, _LEAD_SLOTS, _LEAD_VALUES(lead), strict=True):
        set_slot(new, cells.get(name, value))
    return new


def with_cell(lead: Lead, field: str, text: str) -> Lead:
    """The lead as it reads once `text` is written to one of the cells the bot writes."""
    if field == "status":
        status = values.canonical_status(text) or text.strip()
        return _replaced(lead, status=status, status_text=text)
    if field == "remarks":
        return _replaced(lead, remarks=text)
    if field == "alt_phones":
        return _replaced(lead, alt_phones=_phones_in(text), alt_phones_text=text)
    if field == "bot_note":
        return _replaced(lead, bot_note=text)
    raise ValueError(f"the bot does not write {field}")
