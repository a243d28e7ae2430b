"""The desk's data as the rules see it: typed rows in, changes and findings out.

Nothing here reads a sheet, a clock or a config file. A backend turns a tab into a `Tab` of raw
cell values; `rules.parse` turns tabs into `Lead` and `ObCall` rows; the rules return
`Change` and `Finding` objects that the engine gathers into a `Plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from rules.text import XLSX_CELL_LIMIT

SheetKey = Literal["leads", "ob"]
TabKey = Literal["leads", "ob", "vendors"]  # the two sheets the bot writes, and one it only reads
LEADS: SheetKey = "leads"
OB: SheetKey = "ob"
VENDORS: TabKey = "vendors"

# A raw cell value as a backend hands it over: text, a number (Google serials included),
# a datetime (openpyxl), a bool, or None for an empty cell.
CellValue = str | int | float | bool | datetime | date | None


class Severity(StrEnum):
    ACTION = "action"  # a person must act
    INFO = "info"  # a suggestion


@dataclass(frozen=True, slots=True)
class Phone:
    """One phone number as typed, with the key used to compare it.

    `key` is E.164 (`+821053734269`) when the number links rows, else None: a suspected typo or
    an invalid number links nothing (RULES.md "Who is the same customer").
    """

    text: str
    key: str | None
    display: str  # 010-5373-4269, the desk's own way of writing it
    problem: str | None = None  # Korean, e.g. "010 번호는 11자리여야 함 (10자리)"


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """A cell whose text could not be read as the kind of value its header holds."""

    field: str
    header: str
    text: str
    expected: str  # Korean: "날짜", "전화번호", "금액", "톤 수"


@dataclass(frozen=True, slots=True)
class Lead:
    """One row of 이사 관리자: one inquiry ("DB")."""

    row: int  # 1-based sheet row
    fingerprint: str
    intake_at: datetime | None = None  # 인입일
    intake_has_time: bool = False
    call_due: date | None = None  # 통화예정일
    status: str = ""  # 진행상황: the canonical status when it is a known one, else the text
    status_text: str = ""  # 진행상황 exactly as the cell holds it
    remarks: str = ""  # 실패사유/비고
    name: str = ""  # 고객명
    phone: Phone | None = None  # 연락처
    alt_phones: tuple[Phone, ...] = ()  # 예비번호
    alt_phones_text: str = ""
    move_date: date | None = None  # 이사예정일
    move_date_undecided: bool = False  # 이사예정일 = 미정
    origin: str = ""  # 출발지
    destination: str = ""  # 도착지
    move_type: str = ""  # 이사종류
    vendor: str = ""  # 배정업체
    manager: str = ""  # 담당자
    bot_note: str = ""  # 봇 확인
    problems: tuple[ValueProblem, ...] = ()
    # the cells of this row the bot may not write: (field, why) (rules/blocked.py: merged,
    # formula, a 비고 / 예비번호 holding a date or number, protected)
    blocked: tuple[tuple[str, str], ...] = ()

    @property
    def phones(self) -> tuple[Phone, ...]:
        """연락처 first, then every 예비번호."""
        return ((self.phone,) if self.phone else ()) + self.alt_phones

    @property
    def phone_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.phones if p.key)

    @property
    def intake_day(self) -> date | None:
        return self.intake_at.date() if self.intake_at else None


@dataclass(frozen=True, slots=True)
class ObCall:
    """One row of OB 상세: one outbound call made to a customer."""

    row: int
    fingerprint: str
    ob_at: datetime | None = None  # OB 날짜
    ob_has_time: bool = False
    phone: Phone | None = None  # 고객 연락처
    detail: str = ""  # 상세내용
    cancel_reason: str = ""  # 취소 사유
    vendor: str = ""  # 담당 업체
    load_tons: float | None = None  # 짐 양
    load_text: str = ""
    quote_amount: int | None = None  # 견적금액
    quote_text: str = ""
    bot_note: str = ""
    problems: tuple[ValueProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class Vendor:
    """One row of the optional tab 장기고객 업체 리스트: a partner and where it takes long-term
    DBs (seed §2). Areas are region prefixes as written (`서울 강남구`, `경기 성남시`)."""

    row: int
    name: str  # 업체명
    regular: tuple[str, ...] = ()  # 기존 영업지역: 장기견적
    outside: tuple[str, ...] = ()  # 영업 외 지역: 장기무료
    problems: tuple[ValueProblem, ...] = ()  # area cells that cannot be matched


@dataclass(frozen=True, slots=True)
class Tab:
    """One tab as a backend read it: its header row and raw cell values.

    `rows[i]` is sheet row `header_row + 1 + i`; rows may be ragged (trailing empty cells
    dropped). `columns` maps a field name of RULES.md §1 to its 0-based column; `bot_note`
    may be absent until the bot adds the column.
    """

    key: TabKey
    title: str
    header_row: int
    headers: tuple[str, ...]
    columns: dict[str, int]
    rows: tuple[tuple[CellValue, ...], ...]
    grid_columns: int | None = None  # the sheet grid's column count, where the backend knows it
    # the merged blocks at or below the header row: (first row, first column, last row, last
    # column), sheet rows 1-based, columns 0-based; a block counts as used (`used_width`)
    merges: tuple[tuple[int, int, int, int], ...] = ()
    # cells the bot may not write, as the backend read them: (sheet row, 0-based column) ->
    # why (rules/blocked.py: merged, formula, protected)
    blocked: Mapping[tuple[int, int], str] = field(default_factory=dict)
    cell_limit: int = XLSX_CELL_LIMIT  # the characters one cell holds (Google: 50,000)

    def sheet_row(self, index: int) -> int:
        return self.header_row + 1 + index

    def cell(self, index: int, field_name: str) -> CellValue:
        col = self.columns.get(field_name)
        if col is None:
            return None
        row = self.rows[index]
        return row[col] if col < len(row) else None

    @property
    def used_width(self) -> int:
        """How many columns are in use: the header row, any data row or merged block (whose
        cells right of its first are empty but not free)."""
        width = len(self.headers)
        while width and not str(self.headers[width - 1] or "").strip():
            width -= 1
        for row in self.rows:
            for col in range(len(row) - 1, width - 1, -1):
                if row[col] not in (None, ""):
                    width = col + 1
                    break
        return max([width, *(last + 1 for _, _, _, last in self.merges)])


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Both tabs as a backend read them (raw cells). `rules.parse.parse_desk` types them."""

    source: str  # a path or a spreadsheet id, for messages and the journal
    leads_tab: Tab
    ob_tab: Tab
    version: str = ""  # what the backend needs to detect that the source changed since read
    vendors_tab: Tab | None = None  # 장기고객 업체 리스트, when the source has that tab

    def tab(self, key: TabKey) -> Tab:
        if key == VENDORS and self.vendors_tab is not None:
            return self.vendors_tab
        return self.leads_tab if key == LEADS else self.ob_tab


@dataclass(frozen=True, slots=True)
class Desk:
    """The typed rows of one snapshot, as of one run's `now`."""

    leads: tuple[Lead, ...]
    obs: tuple[ObCall, ...]
    vendors: tuple[Vendor, ...] | None = None  # None: the source has no vendor-list tab


@dataclass(frozen=True, slots=True)
class Change:
    """One cell write a rule proposes.

    `old` is the cell's value as the rule saw it (after earlier rules of the same run);
    the writer checks the sheet still holds the value the plan was made from.
    """

    sheet: SheetKey
    row: int
    field: str  # status, remarks, alt_phones, bot_note
    old: str
    new: str
    rule: str
    reason: str  # Korean, one line
    fingerprint: str = ""
    group: int = 0  # changes one rule made in one go (on one or several rows) share a group
    on: date | None = None  # an appended line: the day of what it records (None: the run's)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem a person must look at (or a suggestion), shown in 봇 확인 and in alerts."""

    sheet: TabKey  # the vendor list too: longterm.match flags its unreadable cells
    row: int
    rule: str
    message: str  # Korean, one line
    severity: Severity = Severity.ACTION
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class CellWrite:
    """What lands in one cell: the value the plan was made from and the final value."""

    sheet: SheetKey
    row: int
    column: int  # 0-based
    field: str
    old: str
    new: str
    fingerprint: str
    rules: tuple[str, ...]
    groups: tuple[int, ...] = ()  # the change groups it belongs to: they land together or not


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run would do: the cell changes in rule order, the findings, and a summary."""

    snapshot: Snapshot
    now: datetime
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    new_columns: tuple[tuple[SheetKey, int], ...] = ()  # (sheet, 0-based column) of added 봇 확인
    desk: Desk | None = None  # the rows as read (before the changes), for labels and reports

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        changes: dict[str, int] = {}
        for c in self.changes:
            changes[c.rule] = changes.get(c.rule, 0) + 1
        findings: dict[str, int] = {}
        for f in self.findings:
            findings[f.rule] = findings.get(f.rule, 0) + 1
        return {"changes": changes, "findings": findings}

    def column_of(self, sheet: SheetKey, field_name: str) -> int:
        tab = self.snapshot.tab(sheet)
        if field_name in tab.columns:
            return tab.columns[field_name]
        for key, col in self.new_columns:
            if key == sheet and field_name == "bot_note":
                return col
        raise KeyError(f"{tab.title}: no column for {field_name}")

    def cell_writes(self) -> tuple[CellWrite, ...]:
        """The changes folded per cell: the first change's old, the last change's new."""
        merged: dict[tuple[str, int, str], CellWrite] = {}
        for c in self.changes:
            key = (c.sheet, c.row, c.field)
            prev = merged.get(key)
            if prev is None:
                merged[key] = CellWrite(
                    sheet=c.sheet,
                    row=c.row,
                    column=self.column_of(c.sheet, c.field),
                    field=c.field,
                    old=c.old,
                    new=c.new,
                    fingerprint=c.fingerprint,
                    rules=(c.rule,),
                    groups=(c.group,) if c.group else (),
                )
            else:
                rules = prev.rules if c.rule in prev.rules else prev.rules + (c.rule,)
                groups = prev.groups + ((c.group,) if c.group not in prev.groups + (0,) else ())
                merged[key] = CellWrite(
                    sheet=prev.sheet,
                    row=prev.row,
                    column=prev.column,
                    field=prev.field,
                    old=prev.old,
                    new=c.new,
                    fingerprint=prev.fingerprint,
                    rules=rules,
                    groups=groups,
                )
        return tuple(w for w in merged.values() if w.old != w.new)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A cell write that did not land, and why (Korean). It is retried by the next run."""

    write: CellWrite
    reason: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a backend's write did: the cells that landed (with the row they landed on) and
    the ones it skipped."""

    written: tuple[CellWrite, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    # written cells the read-back found on a row that no longer holds their fingerprint: the
    # row moved inside the window between the verify read and the write (rules.settle.moved)
    suspect: tuple[CellWrite, ...] = ()
