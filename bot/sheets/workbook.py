"""The local .xlsx backend: the desk's two tabs in one workbook file (DESIGN.md "Local workbook").

`read` parses the file and remembers the SHA-256 of the bytes it parsed. `write` takes an
exclusive lock beside the file, refuses to write when the bytes changed since that read, lands
the settled cells as plain values (text that starts with `=` stays text), saves to a temporary
file in the same directory and renames it over the original, so a crash leaves either the old
file or the new one.

python-calamine reads the rows; the writer patches the written cells into the raw sheet XML
(`xlsx`) and copies every other part as it is. A sheet whose XML the patcher does not fully
understand is written with openpyxl instead: slower, same cells.

A formula cell reads as the result Excel or Google Sheets last computed for it (what a person
sees, and what the Google backend's UNFORMATTED_VALUE gives); the bot never writes over a cell
that holds a formula, so the patcher keeps every formula and its result. (openpyxl's writer,
the fallback, drops the results: it asks Excel to recompute them on open.)
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import stat
import sys
import tempfile
import time
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout, suppress
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from sys import intern
from typing import IO, Any

import structlog
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from bot.errors import BadInput, MissingHeader, MissingTab, SourceChanged
from bot.lock import SheetLock
from bot.sheets import Ahead, column_letter
from bot.sheets.xlsx import (
    Package,
    SheetXml,
    Styles,
    Unsupported,
    filter_over_new_column,
    full_calc_on_load,
    in_merged,
    plain_value,
    rezip,
    with_cell_style_xfs,
)
from rules.blocked import with_blocked
from rules.columns import HeaderMismatch, TabSpec, find_columns
from rules.model import (
    LEADS,
    OB,
    VENDORS,
    CellValue,
    CellWrite,
    SheetKey,
    Skipped,
    Snapshot,
    Tab,
    TabKey,
    WriteResult,
)
from rules.settle import settle
from rules.values import cell_text

__all__ = [
    "CHANGED_SINCE_READ",
    "WorkbookBackend",
    "WorkbookBusy",
    "create_workbook",
]

log = structlog.get_logger(__name__)

# Skipped reasons (Korean: desk staff read them in reports).
CHANGED_SINCE_READ = "파일이 읽은 뒤 변경됨 — 다음 실행에서 다시 시도"
_FORMULA_CELL = "셀에 수식이 있어 봇이 덮어쓰지 않음"
_MERGED_CELL = "병합된 셀이라 쓸 수 없음"
_NO_ROW = "시트에 그 행이 없음"
_ILLEGAL_TEXT = "엑셀 셀에 넣을 수 없는 문자가 있음"
_TOO_LONG = "엑셀 셀 글자 수 한도(32,767자)를 넘음"

_MAX_CELL_TEXT = 32_767  # Excel's limit on the characters in one cell
_EXACT_INTEGERS = 2**53  # a float holds every whole number below this exactly
_NOTE_COLUMN_WIDTH = 40
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
# What python-calamine, the package's XML or a broken package raises while being read; all mean
# "not a usable workbook".
_BROKEN = (
    CalamineError,
    zipfile.BadZipFile,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    SyntaxError,  # xml.etree's ParseError
    EOFError,
    OSError,
    zlib.error,
)


class WorkbookBusy(SourceChanged):
    """Another process holds the workbook's lock for longer than the backend waits."""


class WorkbookOpen(SourceChanged):
    """Excel or LibreOffice has the workbook open: their next save would undo the bot's."""


class WorkbookReadOnly(BadInput):
    """The workbook file, or its folder, must not be written."""


def _open_elsewhere(path: Path) -> Path | None:
    """The owner file Excel (`~$desk.xlsx`, or `~$sk.xlsx` for longer names) or LibreOffice
    (`.~lock.desk.xlsx#`) keeps beside a workbook it has open, if there is one."""
    name = path.name
    for owner in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"):
        candidate = path.with_name(owner)
        if candidate.exists():
            return candidate
    return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_Range = tuple[int, int, int, int]  # a merged range: first row, first col, last row, last col


@dataclass
class _Parsed:
    """One parse of the file's bytes: both tabs (and the vendors' tab)."""

    tabs: dict[SheetKey, Tab]
    vendors: Tab | None = None  # 장기고객 업체 리스트, when asked for and there


class WorkbookBackend:
    """A `SheetBackend` over one local .xlsx file."""

    def __init__(
        self,
        path: Path,
        leads: TabSpec,
        ob: TabSpec,
        bot_note_header: str = "봇 확인",
        lock_timeout: float = 10.0,
        vendors: TabSpec | None = None,
    ) -> None:
        self.path = Path(path)
        self.specs: dict[TabKey, TabSpec] = {LEADS: leads, OB: ob}
        if vendors is not None:  # the optional 장기고객 업체 리스트: read when the tab is there
            self.specs[VENDORS] = vendors
        self.bot_note_header = bot_note_header
        self.lock_timeout = lock_timeout

    # -- reading -------------------------------------------------------------------------

    def read(self) -> Snapshot:
        started = time.perf_counter()
        data = self._load_bytes()
        parsed = self._parse(data)
        snapshot = Snapshot(
            source=str(self.path),
            leads_tab=parsed.tabs[LEADS],
            ob_tab=parsed.tabs[OB],
            version=_digest(data),
            vendors_tab=parsed.vendors,
        )
        log.info(
            "workbook.read",
            path=str(self.path),
            leads=len(snapshot.leads_tab.rows),
            ob=len(snapshot.ob_tab.rows),
            seconds=round(time.perf_counter() - started, 3),
        )
        return snapshot

    def _load_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise BadInput(
                f"Workbook {self.path} does not exist. Check the path "
                f"(--workbook, or source.path in the config)."
            ) from None
        except IsADirectoryError:
            raise BadInput(f"{self.path} is a folder, not an .xlsx workbook file.") from None
        except OSError as e:
            raise BadInput(f"Workbook {self.path} cannot be read: {e.strerror or e}.") from None

    def _not_a_workbook(self, data: bytes, reason: object) -> BadInput:
        if data.startswith(_OLE_MAGIC):
            why = "it looks like an old-style .xls file or a password-protected workbook"
        else:
            why = f"it is not a valid .xlsx file ({reason or type(reason).__name__})"
        return BadInput(
            f"{self.path} cannot be opened as a workbook: {why}. "
            f"Save it from Excel or Google Sheets as an Excel workbook (.xlsx) without a password."
        )

    def _parse(self, data: bytes) -> _Parsed:
        with _library_output_to_stderr():
            return self._parse_quietly(data)

    def _parse_quietly(self, data: bytes) -> _Parsed:
        try:
            package = Package(data)
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except _BROKEN as e:
            raise self._not_a_workbook(data, e) from None
        titles = self._check_tabs(package)
        read: dict[TabKey, str] = {key: title for key, title in titles.items()}
        vendors = self.specs.get(VENDORS)
        vendors_title = vendors and self._title(package, vendors.title)
        if vendors_title in package.parts:  # a chart tab of that name holds no vendors
            read[VENDORS] = vendors_title
        tabs: dict[TabKey, Tab] = {}
        with book:
            for key, title in read.items():
                try:
                    # the XML is freed before the sheet loads
                    errors, formulas = package.cell_facts(title)
                    sheet = book.get_sheet_by_name(title)
                    rows = _rows(sheet, errors, self.specs[key].header_row)
                except _BROKEN as e:
                    raise self._not_a_workbook(data, e) from None
                merged = [
                    (r1 + 1, c1, r2 + 1, c2)
                    for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or ()
                ]
                del sheet  # python-calamine's copy of the cells, before the next tab is loaded
                tab = self._tab(key, title, rows, merged)
                if key != VENDORS:
                    tab = with_blocked(tab, formulas)
                tabs[key] = tab
        return _Parsed(
            tabs={k: tabs[k] for k in titles},
            vendors=tabs.get(VENDORS),
        )

    @staticmethod
    def _title(package: Package, want: str) -> str | None:
        """The workbook's title of a tab: exact, else the one equal ignoring whitespace."""
        if want in package.titles:
            return want
        loose = [t for t in package.titles if "".join(t.split()) == "".join(want.split())]
        return loose[0] if len(loose) == 1 else None

    def _check_tabs(self, package: Package) -> dict[SheetKey, str]:
        """The workbook's title of each tab: exact, else the one equal ignoring whitespace."""
        found: dict[SheetKey, str] = {}
        for key in (LEADS, OB):
            title = self._title(package, self.specs[key].title)
            if title is not None:
                found[key] = title
        missing = [k for k in (LEADS, OB) if k not in found]
        if missing:
            wanted = " or ".join(f"'{self.specs[k].title}'" for k in missing)
            tabs = ", ".join(f"'{t}'" for t in package.titles) or "(none)"
            settings = " and ".join(f"sheets.{k}.title" for k in missing)
            raise MissingTab(
                f"Workbook {self.path} has no tab {wanted}. Tabs found: {tabs}. "
                f"Rename the tab, or set {settings} in the config."
            )
        for key, title in found.items():
            if title not in package.parts:
                raise MissingTab(
                    f"Workbook {self.path}: tab '{title}' is a chart, not a sheet of rows. "
                    f"Set sheets.{key}.title in the config to the tab that holds the rows."
                )
        return found

    def _tab(
        self, key: TabKey, title: str, rows: list[tuple[CellValue, ...]], merged: list[_Range]
    ) -> Tab:
        spec = self.specs[key]
        headers = tuple(cell_text(v) for v in (rows[0] if rows else ()))
        try:
            columns = find_columns(
                key,
                title,
                spec.header_row,
                headers,
                extra_aliases=spec.aliases,
                bot_note_header=self.bot_note_header,
            )
        except HeaderMismatch as e:
            raise MissingHeader(f"Workbook {self.path}: {e}") from None
        body = rows[1:]
        while body and not body[-1]:
            body.pop()
        return Tab(
            key=key,
            title=title,
            header_row=spec.header_row,
            headers=headers,
            columns=columns,
            rows=tuple(body),
            grid_columns=None,
            merges=tuple(m for m in merged if m[2] >= spec.header_row),
        )

    # -- writing -------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise `WorkbookReadOnly` when the bot must not replace the file: it is read-only
        (no write permission for anyone, as `chmod 444` or Windows' read-only flag leave it,
        or none for this user), or its folder does not let the bot put the new file there."""
        target = Path(os.path.realpath(self.path))
        try:
            mode = target.stat().st_mode
        except OSError:
            return  # reading it says what is wrong
        why = None
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            why = "the file is read-only (no one may write it)"
        elif not os.access(target, os.W_OK):
            why = "this user may not write the file"
        elif not os.access(target.parent, os.W_OK | os.X_OK):
            why = f"this user may not create files in its folder {target.parent}"
        if why:
            raise WorkbookReadOnly(
                f"Workbook {self.path} cannot be written: {why}. Nothing was written. Make it "
                "writable (or run as a user who may write it), or run without --apply to "
                "preview."
            )

    def write(
        self, snapshot: Snapshot, writes: Sequence[CellWrite], ahead: Ahead | None = None
    ) -> WriteResult:
        writes = list(writes)
        if not writes:
            return WriteResult()
        started = time.perf_counter()
        self.check_writable()
        owner = _open_elsewhere(self.path)
        if owner is not None:
            raise WorkbookOpen(
                f"Workbook {self.path} is open in Excel or LibreOffice ({owner.name} is beside "
                "it): their next save would overwrite what the bot writes. Close the file and "
                "run again. Nothing was written."
            )
        with self._locked():
            data = self._load_bytes()
            version = _digest(data)
            if version != snapshot.version:
                log.warning("workbook.changed_since_read", path=str(self.path), writes=len(writes))
                return _all_skipped(writes)
            # the very bytes the snapshot was read from: its tabs are what a new parse would give
            tabs = {key: snapshot.tab(key) for key in (LEADS, OB)}
            landing, skipped = settle(writes, tabs, tabs)
            groups, refused = self._checked_groups(tabs, landing)
            skipped.extend(refused)
            package = Package(data)
            where = {
                key: _Where(
                    tab.title,
                    package.parts[tab.title],
                    tab.header_row,
                    "bot_note" in tab.columns,
                    tab.merges,
                )
                for key, tab in tabs.items()
            }
            book = (package.workbook_part, package.styles_part)
            del package, landing
            fast = True
            try:
                written, refused, save = self._patch(data, book, where, groups)
            except Unsupported as why:
                log.info("workbook.slow_path", path=str(self.path), why=str(why))
                fast = False
                written, refused, save = self._edit(data, book, where, groups)
            skipped.extend(refused)
            if written and ahead is not None:
                ahead(written)
            if written and not _atomic_save(save, self.path, expect=version):
                log.warning("workbook.changed_while_writing", path=str(self.path))
                return _all_skipped(writes)
        log.info(
            "workbook.write",
            path=str(self.path),
            written=len(written),
            skipped=len(skipped),
            fast=fast,
            seconds=round(time.perf_counter() - started, 3),
        )
        return WriteResult(written=tuple(written), skipped=tuple(skipped))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        real = Path(os.path.realpath(self.path))
        lock = SheetLock(real.with_name(real.name + ".lock"))
        with lock.hold(wait=self.lock_timeout) as held:
            if not held:
                raise WorkbookBusy(
                    f"Workbook {self.path} is busy: another process (pid {lock.holder() or '?'}) "
                    f"has held its lock ({lock.path}) for over {self.lock_timeout:g} s. Nothing "
                    "was written; try again when the other movebot run has finished."
                )
            yield

    def _checked_groups(
        self, tabs: Mapping[SheetKey, Tab], landing: Sequence[CellWrite]
    ) -> tuple[dict[tuple[SheetKey, int], list[CellWrite]], list[Skipped]]:
        """The settled writes by row, without the rows that must not land whatever the file
        holds: a column that is not the field's column, text no cell can hold."""
        groups: dict[tuple[SheetKey, int], list[CellWrite]] = defaultdict(list)
        for w in landing:
            groups[(w.sheet, w.row)].append(w)
        kept: dict[tuple[SheetKey, int], list[CellWrite]] = {}
        skipped: list[Skipped] = []
        for (key, row), group in groups.items():
            reason = _refusal(group)
            if reason:
                skipped.extend(Skipped(w, reason) for w in group)
            else:
                kept[(key, row)] = group
        return kept, skipped

    def _patch(
        self,
        data: bytes,
        book: tuple[str, str | None],
        where: Mapping[SheetKey, _Where],
        groups: Mapping[tuple[SheetKey, int], Sequence[CellWrite]],
    ) -> tuple[list[CellWrite], list[Skipped], _Saver]:
        """The fast writer: patch the written cells into the sheet XML (and a wrapping style
        into the styles part, `fullCalcOnLoad` into the workbook part); copy every other part.
        `book` names the workbook part and the styles part (None when there is none)."""
        written: list[CellWrite] = []
        skipped: list[Skipped] = []
        replaced: dict[str, bytes] = {}
        workbook_part, styles_part = book
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            styles = None
            if styles_part:
                with suppress(Unsupported):  # needed only for a text of several lines
                    styles = Styles(archive.read(styles_part))
            for key in (LEADS, OB):
                tab, part = where[key], where[key].part
                mine = {row: g for (k, row), g in groups.items() if k == key}
                if not mine:
                    continue
                sheet = SheetXml(archive.read(part))
                cells = sheet.locate(set(mine))
                rows_found = sheet.rows_found
                edits: dict[int, dict[int, str]] = defaultdict(dict)
                new_column: int | None = None
                for row, group in mine.items():
                    reason = None if row in rows_found else _NO_ROW
                    for w in group:
                        cell = cells.get((row, w.column))
                        if cell is not None and cell.has_formula:
                            reason = _FORMULA_CELL
                        elif in_merged(tab.merged, row, w.column):
                            reason = _MERGED_CELL
                    if reason:
                        skipped.extend(Skipped(w, reason) for w in group)
                        continue
                    for w in group:
                        edits[row][w.column] = w.new
                        if tab.creates_note_column(w):
                            new_column = w.column
                        written.append(w)
                if edits:
                    replaced[part] = sheet.patched(
                        edits, new_column, tab.header_row, _NOTE_COLUMN_WIDTH, styles
                    )
            if replaced:
                replaced[workbook_part] = full_calc_on_load(archive.read(workbook_part))
                new_styles = styles and styles.patched()
                if styles_part and new_styles:
                    replaced[styles_part] = new_styles
        return written, skipped, functools.partial(rezip, data, replaced)

    def _edit(
        self,
        data: bytes,
        book: tuple[str, str | None],
        where: Mapping[SheetKey, _Where],
        groups: Mapping[tuple[SheetKey, int], Sequence[CellWrite]],
    ) -> tuple[list[CellWrite], list[Skipped], _Saver]:
        """The slow writer: openpyxl loads the whole workbook, sets the cells, saves it."""
        import openpyxl  # here: a preview needs no openpyxl (DESIGN.md)
        from openpyxl.cell.cell import MergedCell
        from openpyxl.utils.exceptions import InvalidFileException
        from openpyxl.workbook.properties import CalcProperties
        from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

        written: list[CellWrite] = []
        skipped: list[Skipped] = []
        if not groups:
            return written, skipped, _nothing
        _, styles_part = book
        try:
            if styles_part:  # openpyxl cannot load styles without cellStyleXfs
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    styles = with_cell_style_xfs(archive.read(styles_part))
                fixed = io.BytesIO()
                rezip(data, {styles_part: styles}, fixed)
                data = fixed.getvalue()
            # rich_text keeps staff's partly-bold text as it is
            with _library_output_to_stderr():
                wb = openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
        except (*_BROKEN, InvalidFileException, Unsupported) as e:
            raise self._not_a_workbook(data, e) from None
        for (key, row), group in groups.items():
            tab = where[key]
            ws = wb[tab.title]
            reason = None
            for w in group:
                cell = ws._cells.get((row, w.column + 1))  # None: no such cell (yet)
                if cell is None:
                    continue
                if isinstance(cell, MergedCell):
                    reason = _MERGED_CELL
                elif cell.data_type == "f" or isinstance(
                    cell.value, ArrayFormula | DataTableFormula
                ):
                    reason = _FORMULA_CELL
            if reason:
                skipped.extend(Skipped(w, reason) for w in group)
                continue
            for w in group:
                created = (w.row, w.column + 1) not in ws._cells
                cell = ws.cell(row=w.row, column=w.column + 1)
                cell.value = w.new if w.new != "" else None
                if w.new != "":
                    cell.data_type = "s"  # text, never a formula or an error code
                    if created:
                        _take_line_style(ws, cell)
                if "\n" in w.new:
                    alignment = copy(cell.alignment)
                    alignment.wrap_text = True
                    # copy() of a StyleProxy is its Alignment; the stubs say StyleProxy.
                    cell.alignment = alignment  # type: ignore[assignment]
                if tab.creates_note_column(w):
                    _style_new_header(ws, w.row, w.column + 1)
                    wider = ws.auto_filter.ref and filter_over_new_column(
                        ws.auto_filter.ref, w.row, w.column
                    )
                    if wider:
                        ws.auto_filter.ref = wider
                written.append(w)
        if wb.calculation is None:  # the file had no calcPr
            wb.calculation = CalcProperties()
        wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached formula results
        return written, skipped, functools.partial(_quietly, wb.save)


_Saver = Callable[[IO[bytes]], None]


@contextmanager
def _library_output_to_stderr() -> Iterator[None]:
    """Send what a library prints (openpyxl prints some problems) to stderr: stdout carries
    `--json` and must hold nothing else. Both Python's `sys.stdout` and file descriptor 1
    (python-calamine's Rust code would write there) are redirected while inside."""
    sys.stdout.flush()
    saved: int | None = None
    with suppress(OSError):  # no descriptor 1 or 2 (a daemon): nothing to guard at that level
        saved = os.dup(1)
        os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _quietly(save: _Saver, f: IO[bytes]) -> None:
    with _library_output_to_stderr():
        save(f)


def _nothing(f: IO[bytes]) -> None:
    raise AssertionError("nothing to save")


def _all_skipped(writes: Sequence[CellWrite]) -> WriteResult:
    return WriteResult(skipped=tuple(Skipped(w, CHANGED_SINCE_READ) for w in writes))


@dataclass(frozen=True, slots=True)
class _Where:
    """What the writers need to know of a tab once its rows are checked."""

    title: str
    part: str  # the sheet XML part inside the package
    header_row: int
    has_note_column: bool
    merged: Sequence[_Range]  # Tab.merges: 1-based rows, 0-based columns

    def creates_note_column(self, w: CellWrite) -> bool:
        return w.row == self.header_row and w.field == "bot_note" and not self.has_note_column


def _refusal(group: Sequence[CellWrite]) -> str | None:
    """Why this row's writes must not land whatever the cells hold (text no cell can hold)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # here: a preview needs no openpyxl

    for w in group:
        if len(w.new) > _MAX_CELL_TEXT:
            return _TOO_LONG
        if ILLEGAL_CHARACTERS_RE.search(w.new) or not _encodable(w.new):
            return _ILLEGAL_TEXT
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _rows(
    sheet: CalamineSheet, errors: Mapping[int, Mapping[int, str]], header_row: int
) -> list[tuple[CellValue, ...]]:
    """The sheet's rows from `header_row` on, as a `Tab` holds them (what openpyxl's reader
    gives): no "" for an empty cell, trailing empty cells dropped, whole numbers as `int`, a
    date as a `datetime`, time-only and duration formats as plain values, and the error cells
    (which python-calamine reads as empty) as their text."""
    if sheet.start is None:  # no cell at all
        return []
    out: list[tuple[CellValue, ...]] = []
    before = [""] * sheet.start[1]
    # iter_rows gives every row from the sheet's first, each from the first used column
    rows = enumerate(sheet.iter_rows(), 1)
    for number, cells in islice(rows, header_row - 1, None):
        if before:
            cells = before + cells
        if number in errors:
            for column, text in errors[number].items():
                cells[column] = text
        out.append(_row(cells))
    return out


def _row(cells: list[Any]) -> tuple[CellValue, ...]:
    """One row of `_rows` (`cells` is python-calamine's list, trimmed in place)."""
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    del cells[end:]
    # interned: one str for the many cells of one text (statuses, vendors, places), less memory;
    # a datetime (a date cell) is already what a Tab holds
    return tuple(
        [
            (intern(v) if v else None)
            if type(v) is str
            else v
            if type(v) is datetime
            else _value(v)
            for v in cells
        ]
    )


def _value(v: Any) -> CellValue:
    kind = type(v)
    if kind is float:
        return int(v) if v.is_integer() and abs(v) < _EXACT_INTEGERS else v
    if kind is date:
        return _midnight(v)
    return plain_value(v)


@functools.lru_cache(maxsize=4096)
def _midnight(day: date) -> datetime:
    """A date cell as a `Tab` holds it; one object for the many cells of one day."""
    return datetime(day.year, day.month, day.day)


def _take_line_style(ws: Any, cell: Any) -> None:
    """Give a new cell its row's style (a row formatted as a whole), else its column's."""
    row = ws.row_dimensions.get(cell.row)
    if row is not None and row.has_style:
        cell._style = copy(row._style)
        return
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= cell.column <= dim.max and dim.has_style:
            cell._style = copy(dim._style)
            return


def _style_new_header(ws: Any, row: int, column: int) -> None:
    """Make a new header cell look like its neighbour and give the column room for notes."""
    cell = ws.cell(row=row, column=column)
    if column > 1:
        left = ws.cell(row=row, column=column - 1)
        if left.has_style and not cell.has_style:
            cell._style = copy(left._style)
    # a <col> element may cover a range of columns; never add one that overlaps it
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= column <= dim.max:
            return
    ws.column_dimensions[column_letter(column)].width = _NOTE_COLUMN_WIDTH


# -- saving --------------------------------------------------------------------------------


def _atomic_save(save: _Saver, path: Path, expect: str | None = None) -> bool:
    """Write a temporary file beside `path` with `save`, fsync it, and rename it over `path`.

    With `expect`, the rename happens only while `path` still has that SHA-256; False when it
    no longer does (and nothing was replaced)."""
    target = Path(os.path.realpath(path))
    try:
        before: os.stat_result | None = target.stat()
    except FileNotFoundError:
        before = None
    mode = stat.S_IMODE(before.st_mode) if before else 0o666 & ~_umask()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        if before is not None:
            _keep_owner(tmp, before)
        os.chmod(tmp, mode)
        if expect is not None and _digest(target.read_bytes()) != expect:
            tmp.unlink()
            return False
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return True


def _keep_owner(path: Path, before: os.stat_result) -> None:
    """Give the new file the old one's owner and group, as far as this user may (root may
    both; an owner may keep a group it belongs to; anyone else keeps their own)."""
    if not hasattr(os, "chown"):
        return  # Windows: a replaced file's owner is not a mode bit
    for uid in (before.st_uid, -1):
        try:
            os.chown(path, uid, before.st_gid)
            return
        except PermissionError:
            continue


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":
        return  # Windows cannot open a directory; NTFS journals the rename itself
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- creating workbooks (demo, tests, benchmarks) ------------------------------------------

_DATE_FORMAT = "yyyy-mm-dd"
_MONEY_FORMAT = "#,##0"  # 11,460,000: an amount in won
_MINUTE_FORMAT = "yyyy-mm-dd hh:mm"
_SECOND_FORMAT = "yyyy-mm-dd hh:mm:ss"


def create_workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[CellValue]]]) -> None:
    """Write a new .xlsx with one tab per entry, rows as given (the first is the header row).

    Text is stored as text (a leading `=` makes no formula), dates and datetimes with a date
    format (`yyyy-mm-dd`, or `yyyy-mm-dd hh:mm` when they have a time of day), numbers under a
    header ending in `(원)` with thousands separators (`11,460,000`). An existing file is
    replaced atomically.
    """
    from openpyxl import Workbook  # here: a preview needs no openpyxl (DESIGN.md)
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title=title)
        for col, width in _column_widths(rows).items():
            ws.column_dimensions[column_letter(col + 1)].width = width
        cell = functools.partial(_write_only_cell, WriteOnlyCell, ws)
        money = {i for i, v in enumerate(rows[0]) if str(v).endswith("(원)")} if rows else set()
        for number, row in enumerate(rows):
            ws.append([cell(v, number > 0 and i in money) for i, v in enumerate(row)])
    _atomic_save(wb.save, Path(path))


def _write_only_cell(new_cell: Any, ws: Any, value: CellValue, money: bool = False) -> Any:
    """`value` as `create_workbook` writes it (`money`: an amount in won, `#,##0`):
    `new_cell` is openpyxl's `WriteOnlyCell`."""
    if money and (type(value) is int or type(value) is float):
        cell = new_cell(ws, value)
        cell.number_format = _MONEY_FORMAT
        return cell
    if isinstance(value, str):
        if value[:1] in ("=", "#"):  # would become a formula or an error code
            cell = new_cell(ws, value)
            cell.data_type = "s"
            return cell
        return value
    if isinstance(value, datetime):
        cell = new_cell(ws, value.replace(tzinfo=None))
        if value.second or value.microsecond:
            cell.number_format = _SECOND_FORMAT
        elif value.hour or value.minute:
            cell.number_format = _MINUTE_FORMAT
        else:
            cell.number_format = _DATE_FORMAT
        return cell
    if isinstance(value, date):
        # openpyxl takes dates (cell.TIME_TYPES)
        cell = new_cell(ws, value)
        cell.number_format = _DATE_FORMAT
        return cell
    return value


def _column_widths(rows: Sequence[Sequence[CellValue]], sample: int = 200) -> dict[int, float]:
    """Column widths that fit the header and the first rows (Hangul counts double)."""
    widths: dict[int, float] = {}
    for row in rows[:sample]:
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime | date):
                n = 17 if isinstance(value, datetime) else 11
            else:
                line = max(str(value).split("\n"), key=len)
                n = sum(2 if ord(ch) > 0x2E7F else 1 for ch in line)
            widths[col] = max(widths.get(col, 0), n)
    return {col: float(min(max(n + 2, 8), 60)) for col, n in widths.items()}
