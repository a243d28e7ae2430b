"""Build a desk in a line or two and read a plan the way staff would read the sheet after it.

snap = desk(leads=[lead(intake="2024-11-29 17:54", status="견적진행"), lead(intake="12.2")])
after = run(snap, now="2024-12-03 09:00")
assert after.status(3) == "종결(중복)"
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.engine import plan
from rules.columns import LEAD_HEADERS, OB_HEADERS, VENDOR_HEADERS, find_columns
from rules.model import CellValue, Plan, Snapshot, Tab
from rules.settings import RuleSettings
from rules.values import KST

LEAD_FIELDS = list(LEAD_HEADERS) + ["bot_note"]
OB_FIELDS = list(OB_HEADERS) + ["bot_note"]
VENDOR_FIELDS = list(VENDOR_HEADERS) + ["bot_note"]

# A customer moving from Gangnam to Bundang; tests change what they are about.
LEAD_DEFAULTS: dict[str, CellValue] = {
    "intake_at": "2024-12-02 15:13",
    "status": "",
    "remarks": "",
    "name": "김민수",
    "phone": "010-2000-1001",
    "move_date": "2024-12-20",
    "origin": "서울 강남구 역삼동",
    "destination": "경기 성남시 분당구",
    "move_type": "가정이사",
}
OB_DEFAULTS: dict[str, CellValue] = {
    "ob_date": "2024-12-02",
    "phone": "010-2000-1001",
    "detail": "고객 통화 완료",
}


def lead(**cells: CellValue) -> dict[str, CellValue]:
    """A lead row: the defaults above, with `cells` (field names of RULES.md §1) over them."""
    row = dict(LEAD_DEFAULTS)
    row.update({("intake_at" if k == "intake" else k): v for k, v in cells.items()})
    return row


def ob(**cells: CellValue) -> dict[str, CellValue]:
    row = dict(OB_DEFAULTS)
    row.update(cells)
    return row


def _tab(key: str, title: str, fields: list[str], headers: Mapping[str, tuple[str, ...]],
         rows: list[dict[str, CellValue]]) -> Tab:  # fmt: skip
    names = [headers[f][0] if f in headers else "봇 확인" for f in fields]
    with_note = any(r.get("bot_note") for r in rows)
    if not with_note:
        fields, names = fields[:-1], names[:-1]
    cols = find_columns(key, title, 1, names)  # type: ignore[arg-type]
    data = tuple(tuple(r.get(f) for f in fields) for r in rows)
    return Tab(key, title, 1, tuple(names), cols, data)  # type: ignore[arg-type]


def vendor(name: str, regular: CellValue = None, outside: CellValue = None) -> dict[str, CellValue]:
    """A row of 장기고객 업체 리스트: 업체명, 기존 영업지역, 영업 외 지역."""
    return {"name": name, "regular_areas": regular, "outside_areas": outside}


def desk(leads: list[dict[str, CellValue]] = (), obs: list[dict[str, CellValue]] = (),  # type: ignore[assignment]
         vendors: list[dict[str, CellValue]] | None = None) -> Snapshot:  # fmt: skip
    """A snapshot whose lead rows start at sheet row 2, in the order given (same for OB and,
    when given, the vendor list; without it the desk has no such tab)."""
    return Snapshot(
        "test",
        _tab("leads", "이사 관리자", LEAD_FIELDS, LEAD_HEADERS, list(leads)),
        _tab("ob", "OB 상세", OB_FIELDS, OB_HEADERS, list(obs)),
        vendors_tab=None
        if vendors is None
        else _tab("vendors", "장기고객 업체 리스트", VENDOR_FIELDS, VENDOR_HEADERS, vendors),
    )


class After:
    """The sheet as it will read once the plan's changes land."""

    def __init__(self, p: Plan) -> None:
        self.plan = p
        self.cells: dict[tuple[str, int, str], str] = {}
        for c in p.changes:
            self.cells[(c.sheet, c.row, c.field)] = c.new

    def _cell(self, sheet: str, row: int, field: str) -> str:
        if (sheet, row, field) in self.cells:
            return self.cells[(sheet, row, field)]
        tab = self.plan.snapshot.tab(sheet)  # type: ignore[arg-type]
        value = tab.cell(row - 2, field)
        return "" if value is None else str(value)

    def status(self, row: int) -> str:
        return self._cell("leads", row, "status")

    def remarks(self, row: int) -> str:
        return self._cell("leads", row, "remarks")

    def alt_phones(self, row: int) -> str:
        return self._cell("leads", row, "alt_phones")

    def note(self, row: int, sheet: str = "leads") -> str:
        return self._cell(sheet, row, "bot_note")

    def findings(self, row: int, sheet: str = "leads") -> list[str]:
        return [
            f"{f.rule}: {f.message}"
            for f in self.plan.findings
            if f.sheet == sheet and f.row == row
        ]

    def rules_found(self, row: int, sheet: str = "leads") -> set[str]:
        return {f.rule for f in self.plan.findings if f.sheet == sheet and f.row == row}

    def changed_rows(self, field: str = "status") -> set[int]:
        return {c.row for c in self.plan.changes if c.field == field}

    @property
    def rules_changed(self) -> set[str]:
        return {c.rule for c in self.plan.changes}


def at(text: str) -> datetime:
    """A KST time: `at("2024-12-03 09:00")`."""
    return datetime.fromisoformat(text).replace(tzinfo=KST)


def run(snap: Snapshot, now: str = "2024-12-04 18:00", **settings: Any) -> After:
    return After(plan(snap, at(now), RuleSettings(**settings)))


def applied(after: After) -> Snapshot:
    """The snapshot as the sheet reads once every planned change has landed."""
    p = after.plan
    tabs = {}
    for key in ("leads", "ob"):
        tab = p.snapshot.tab(key)
        headers = list(tab.headers)
        columns = dict(tab.columns)
        rows = [list(r) for r in tab.rows]
        for w in p.cell_writes():
            if w.sheet != key:
                continue
            if w.row == tab.header_row:
                headers += [""] * (w.column + 1 - len(headers))  # as a reader sees blanks
                headers[w.column] = w.new
                columns[w.field] = w.column
                continue
            row = rows[w.row - tab.header_row - 1]
            row += [None] * (w.column + 1 - len(row))
            row[w.column] = w.new
        tabs[key] = Tab(
            tab.key, tab.title, tab.header_row, tuple(headers), columns, tuple(map(tuple, rows))
        )
    return Snapshot(
        p.snapshot.source, tabs["leads"], tabs["ob"], vendors_tab=p.snapshot.vendors_tab
    )
