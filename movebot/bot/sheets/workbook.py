"""The local .xlsx backend: the desk's two tabs in one workbook file (DESIGN.md "Local workbook").

`read` parses the file and remembers the SHA-256 of the bytes it parsed. `write` takes an
exclusive lock beside the file, refuses to write when the bytes changed since that read, lands
the settled cells as plain values (text that starts with `=` stays text), saves to a temporary
file in the same directory and renames it over the original, so a crash leaves either the old
file or the new one.

openpyxl alone is too slow for the desk's size (100k rows: ~30 s to read, ~100 s and 1 GB to
load and save), so both directions have a fast path on the raw sheet XML:

- reading scans each sheet's `<row>`/`<c>` elements with a few byte patterns and decodes the
  cells the way openpyxl's read-only reader does (shared and inline strings, numbers, booleans,
  dates by their number format, formulas by their last result);
- writing patches only the written cells into the sheet XML and copies every other part of the
  package as it is, so formats, widths, filters, validations, drawings and other tabs survive.

Any sheet the fast path does not fully understand (a comment inside the rows, UTF-16, ...) is
read and written with openpyxl instead: slower, same results.

A formula cell reads as the result Excel or Google Sheets last computed for it (what a person
sees, and what the Google backend's UNFORMATTED_VALUE gives); the bot never writes over a cell
that holds a formula, so the fast writer keeps every formula and its result. (openpyxl's writer,
the fallback, drops the results: it asks Excel to recompute them on open.)
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import stat
import tempfile
import time
import warnings
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import IO, Any

import openpyxl
import structlog
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell, WriteOnlyCell
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH as _WINDOWS_EPOCH
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.xml.constants import SHARED_STRINGS

from movebot.bot.errors import BadInput, MissingHeader, MissingTab, SourceChanged
from movebot.bot.lock import SheetLock
from movebot.bot.sheets.layout import TabSpec, find_columns
from movebot.bot.sheets.verify import settle
from movebot.rules.model import (
    LEADS,
    OB,
    CellValue,
    CellWrite,
    SheetKey,
    Skipped,
    Snapshot,
    Tab,
    WriteResult,
)
from movebot.rules.values import cell_text

__all__ = [
    "CHANGED_SINCE_READ",
    "TabSpec",
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
_NOTE_COLUMN_WIDTH = 40
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
# What openpyxl or a broken package raises while being read; all mean "not a usable workbook".
_BROKEN = (
    zipfile.BadZipFile,
    InvalidFileException,
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Parsed:
    """One parse of the file's bytes: both tabs, and where each came from."""

    tabs: dict[SheetKey, Tab]
    parts: dict[SheetKey, str]  # the sheet XML part inside the package
    fast: bool  # both tabs read by the fast path (so they can be written by it)


class WorkbookBackend:
    """A `SheetBackend` over one local .xlsx file."""

    def __init__(
        self,
        path: Path,
        leads: TabSpec,
        ob: TabSpec,
        bot_note_header: str = "봇 확인",
        lock_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.specs: dict[SheetKey, TabSpec] = {LEADS: leads, OB: ob}
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
        )
        log.info(
            "workbook.read",
            path=str(self.path),
            leads=len(snapshot.leads_tab.rows),
            ob=len(snapshot.ob_tab.rows),
            fast=parsed.fast,
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
        try:
            package = _Package(data)
        except _BROKEN as e:
            raise self._not_a_workbook(data, e) from None
        titles = self._check_tabs(package)
        tabs: dict[SheetKey, Tab] = {}
        fast = True
        for key in (LEADS, OB):
            spec = self.specs[key]
            try:
                rows = package.rows(titles[key], spec.header_row)
            except _Unsupported as why:
                log.info("workbook.slow_path", path=str(self.path), tab=titles[key], why=str(why))
                fast = False
                rows = self._openpyxl_rows(data, titles[key], spec.header_row)
            except _BROKEN as e:
                raise self._not_a_workbook(data, e) from None
            tabs[key] = self._tab(key, titles[key], rows)
        return _Parsed(tabs=tabs, parts={k: package.parts[titles[k]] for k in titles}, fast=fast)

    def _check_tabs(self, package: _Package) -> dict[SheetKey, str]:
        """The workbook's title of each tab: exact, else the one equal ignoring whitespace."""
        found: dict[SheetKey, str] = {}
        for key in (LEADS, OB):
            want = self.specs[key].title
            if want in package.titles:
                found[key] = want
                continue
            loose = [t for t in package.titles if "".join(t.split()) == "".join(want.split())]
            if len(loose) == 1:
                found[key] = loose[0]
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

    def _openpyxl_rows(
        self, data: bytes, title: str, header_row: int
    ) -> list[tuple[CellValue, ...]]:
        """The slow path: openpyxl's read-only reader, from the header row on."""
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                ws = wb[title]
                ws.reset_dimensions()  # a stored dimension can be wrong; read every row
                return [_clean_row(r) for r in ws.iter_rows(min_row=header_row, values_only=True)]
            finally:
                wb.close()
        except _BROKEN as e:
            raise self._not_a_workbook(data, e) from None

    def _tab(self, key: SheetKey, title: str, rows: list[tuple[CellValue, ...]]) -> Tab:
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
        except MissingHeader as e:
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
        )

    # -- writing -------------------------------------------------------------------------

    def write(self, snapshot: Snapshot, writes: Sequence[CellWrite]) -> WriteResult:
        writes = list(writes)
        if not writes:
            return WriteResult()
        started = time.perf_counter()
        with self._locked():
            data = self._load_bytes()
            version = _digest(data)
            if version != snapshot.version:
                log.warning("workbook.changed_since_read", path=str(self.path), writes=len(writes))
                return _all_skipped(writes)
            parsed = self._parse(data)
            planned = {key: snapshot.tab(key) for key in parsed.tabs}
            landing, skipped = settle(writes, parsed.tabs, planned)
            groups, refused = self._checked_groups(parsed.tabs, landing)
            skipped.extend(refused)
            where = {
                key: _Where(tab.title, parsed.parts[key], tab.header_row, "bot_note" in tab.columns)
                for key, tab in parsed.tabs.items()
            }
            fast = parsed.fast
            del parsed, landing  # free the fresh rows before the sheet XML is loaded to be patched
            if fast:
                written, refused, added, save = self._patch(data, where, groups)
            else:
                written, refused, added, save = self._edit(data, where, groups)
            skipped.extend(refused)
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
        return WriteResult(
            written=tuple(written), skipped=tuple(skipped), added_columns=tuple(added)
        )

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
        where: Mapping[SheetKey, _Where],
        groups: Mapping[tuple[SheetKey, int], Sequence[CellWrite]],
    ) -> tuple[list[CellWrite], list[Skipped], list[tuple[SheetKey, int]], _Saver]:
        """The fast writer: patch the written cells into the sheet XML; copy every other part."""
        written: list[CellWrite] = []
        skipped: list[Skipped] = []
        added: list[tuple[SheetKey, int]] = []
        replaced: dict[str, bytes] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for key in (LEADS, OB):
                tab, part = where[key], where[key].part
                mine = {row: g for (k, row), g in groups.items() if k == key}
                if not mine:
                    continue
                sheet = _SheetXml(archive.read(part))
                cells = sheet.locate(set(mine))
                merged = sheet.merged_ranges()
                rows_found = sheet.rows_found
                edits: dict[int, dict[int, str]] = defaultdict(dict)
                new_column: int | None = None
                for row, group in mine.items():
                    reason = None if row in rows_found else _NO_ROW
                    for w in group:
                        if cells.get((row, w.column), _NO_CELL).has_formula:
                            reason = _FORMULA_CELL
                        elif _in_merged(merged, row, w.column):
                            reason = _MERGED_CELL
                    if reason:
                        skipped.extend(Skipped(w, reason) for w in group)
                        continue
                    for w in group:
                        edits[row][w.column] = w.new
                        if tab.creates_note_column(w):
                            new_column = w.column
                            added.append((key, w.column))
                        written.append(w)
                if edits:
                    replaced[part] = sheet.patched(edits, new_column, tab.header_row)
        return written, skipped, added, functools.partial(_rezip, data, replaced)

    def _edit(
        self,
        data: bytes,
        where: Mapping[SheetKey, _Where],
        groups: Mapping[tuple[SheetKey, int], Sequence[CellWrite]],
    ) -> tuple[list[CellWrite], list[Skipped], list[tuple[SheetKey, int]], _Saver]:
        """The slow writer: openpyxl loads the whole workbook, sets the cells, saves it."""
        written: list[CellWrite] = []
        skipped: list[Skipped] = []
        added: list[tuple[SheetKey, int]] = []
        if not groups:
            return written, skipped, added, _nothing
        try:
            # rich_text keeps staff's partly-bold text as it is
            wb = openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
        except _BROKEN as e:
            raise self._not_a_workbook(data, e) from None
        for (key, row), group in groups.items():
            tab = where[key]
            ws = wb[tab.title]
            reason = None
            for w in group:
                cell = ws.cell(row=row, column=w.column + 1)
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
                cell = ws.cell(row=w.row, column=w.column + 1)
                cell.value = w.new if w.new != "" else None
                if w.new != "":
                    cell.data_type = "s"  # text, never a formula or an error code
                if tab.creates_note_column(w):
                    _style_new_header(ws, w.row, w.column + 1)
                    added.append((key, w.column))
                written.append(w)
        wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached formula results
        return written, skipped, added, wb.save


_Saver = Callable[[IO[bytes]], None]


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

    def creates_note_column(self, w: CellWrite) -> bool:
        return w.row == self.header_row and w.field == "bot_note" and not self.has_note_column


def _refusal(group: Sequence[CellWrite]) -> str | None:
    """Why this row's writes must not land whatever the cells hold (text no cell can hold)."""
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


def _clean_row(row: Sequence[Any]) -> tuple[CellValue, ...]:
    """A row of raw values as a `Tab` holds them: trailing empty cells dropped, and what
    openpyxl gives for time-only and duration formats turned into plain values."""
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return tuple(_plain(v) for v in row[:end])


def _plain(value: Any) -> CellValue:
    if isinstance(value, time_of_day):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400  # the sheet's own serial: days
    return value


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
    ws.column_dimensions[get_column_letter(column)].width = _NOTE_COLUMN_WIDTH


# -- saving --------------------------------------------------------------------------------


def _atomic_save(save: _Saver, path: Path, expect: str | None = None) -> bool:
    """Write a temporary file beside `path` with `save`, fsync it, and rename it over `path`.

    With `expect`, the rename happens only while `path` still has that SHA-256; False when it
    no longer does (and nothing was replaced)."""
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rezip(data: bytes, replaced: Mapping[str, bytes], out: IO[bytes]) -> None:
    """The package `data` with some parts replaced, every part in its original order."""
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = replaced[info.filename] if info.filename in replaced else src.read(info)
            copy_info = zipfile.ZipInfo(info.filename, info.date_time)
            copy_info.compress_type = info.compress_type
            copy_info.external_attr = info.external_attr
            copy_info.create_system = info.create_system
            copy_info.comment = info.comment
            dst.writestr(copy_info, body)
        dst.comment = src.comment


# -- the package and its sheet XML ---------------------------------------------------------


class _Unsupported(Exception):
    """A sheet the fast path does not fully understand: openpyxl handles it instead."""


class _Package:
    """An .xlsx package's tabs, shared strings and date styles, found through openpyxl's
    package reader (which knows the odd ways producers lay a package out)."""

    def __init__(self, data: bytes) -> None:
        reader = ExcelReader(io.BytesIO(data), read_only=True)
        with warnings.catch_warnings():  # openpyxl warns about parts it does not need here
            warnings.simplefilter("ignore")
            reader.read_manifest()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
        self.archive = reader.archive
        self.titles: list[str] = []
        self.parts: dict[str, str] = {}  # worksheet title -> XML part
        names = set(reader.valid_files)
        for sheet, rel in reader.parser.find_sheets():
            if rel.target not in names:
                continue
            self.titles.append(sheet.name)
            if "chartsheet" not in rel.Type:
                self.parts[sheet.name] = rel.target
        strings = reader.package.find(SHARED_STRINGS)
        self._strings_part = strings.PartName[1:] if strings is not None else None
        self._strings: list[str] | None = None
        self.dates = frozenset(reader.wb._date_formats)
        self.durations = frozenset(reader.wb._timedelta_formats)
        self.epoch = reader.wb.epoch

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = (
                _shared_strings(self.archive.read(self._strings_part)) if self._strings_part else []
            )
        return self._strings

    def rows(self, title: str, header_row: int) -> list[tuple[CellValue, ...]]:
        """The tab's rows from `header_row` on (`[0]` is the header row), gaps as `()`."""
        try:
            return _SheetXml(self.archive.read(self.parts[title])).rows(header_row, self)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError) as e:
            raise _Unsupported(f"{type(e).__name__}: {e}") from None


@functools.cache
def _tags(prefix: bytes) -> dict[str, re.Pattern[bytes]]:
    """The byte patterns for one namespace prefix (b"" or e.g. b"x:"), written with `~` for it.

    `element` patterns: group 1 holds the attributes of an empty element, groups 2 and 3 the
    attributes and content of a full one. `text` patterns: group 1 holds the content.
    """

    def pattern(template: bytes) -> re.Pattern[bytes]:
        return re.compile(template.replace(b"~", re.escape(prefix)), re.DOTALL)

    def element(name: bytes) -> re.Pattern[bytes]:
        return pattern(rb"<~%s\b([^>]*?)/>|<~%s\b([^>]*)>(.*?)</~%s\s*>" % (name, name, name))

    def text(name: bytes) -> re.Pattern[bytes]:
        return pattern(rb"<~%s\b[^>]*?(?:/>|>(.*?)</~%s\s*>)" % (name, name))

    return {
        "sheet_data": pattern(rb"<~sheetData\b[^>]*?(/?)>"),
        "row_open": pattern(rb"<~row\b([^>]*)>"),
        "row_close": pattern(rb"</~row\s*>"),
        # 1-6: a cell holding a plain value; 7: any other cell; 8: a row's start tag
        "tokens": pattern(
            rb'<~c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*'
            rb"(?:/>|>(?:<~v>([^<]*)</~v>"
            rb'|<~is><~t(?: xml:space="preserve")?>([^<]*)</~t></~is>)?</~c>)'
            rb"|(<~c\b[^>]*?/>|<~c\b[^>]*>.*?</~c\s*>)"
            rb"|<~row\b([^>]*)>"
        ),
        # 1: a plain shared string; 2: any other
        "strings": pattern(
            rb'<~si><~t(?: xml:space="preserve")?>([^<]*)</~t></~si>'
            rb"|(<~si\b[^>]*?/>|<~si\b[^>]*>.*?</~si\s*>)"
        ),
        "cell": element(b"c"),
        "f": element(b"f"),
        "v": text(b"v"),
        "is": text(b"is"),
        "t": text(b"t"),
        "si": text(b"si"),
        "rph": pattern(rb"<~rPh\b.*?</~rPh\s*>"),
        "merge": pattern(rb"<~mergeCell\b([^>]*?)/?>"),
        "dimension": pattern(rb"<~dimension\b([^>]*?)/?>"),
        "cols": pattern(rb"<~cols\b[^>]*>(.*?)</~cols\s*>"),
        "col": pattern(rb"<~col\b([^>]*?)/?>"),
    }


_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?(worksheet|sst)\b")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CELL_ATTRS = re.compile(
    rb"\s*r=\"([A-Z]{1,3})([0-9]+)\"(?:\s+s=\"([0-9]+)\")?(?:\s+t=\"(\w+)\")?\s*"
)
_ROW_NUMBER = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([0-9]+)[\"']")
_CHUNK = 4 << 20  # bytes of sheet XML scanned at once
_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")
_SPANS = re.compile(rb"\s+spans\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _prefix(xml: bytes) -> bytes:
    m = _ROOT.search(xml, 0, 65536)
    if m is None:
        if xml[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise _Unsupported("UTF-16 XML")
        raise _Unsupported("no worksheet root element")
    return m.group(1) or b""


def _row_number(attrs: bytes, previous: int) -> int:
    r = _ROW_NUMBER.search(attrs)
    return int(r.group(1)) if r else previous + 1


def _date(serial: int | float, style: bytes, package: _Package) -> CellValue:
    """A serial in a date-formatted cell, as openpyxl's `from_excel` converts it."""
    if serial >= 61 and package.epoch == _WINDOWS_EPOCH and int(style) not in package.durations:
        # from_excel's common case, inlined: whole days, then the fraction to the millisecond
        days = int(serial)
        try:
            return _WINDOWS_EPOCH + timedelta(
                days=days, milliseconds=round((serial - days) * 86_400_000)
            )
        except OverflowError:
            return "#VALUE!"
    try:
        moment = from_excel(serial, package.epoch, timedelta=int(style) in package.durations)
    except (OverflowError, ValueError):
        return "#VALUE!"
    return _plain(moment)


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(raw)
    }


@functools.cache
def _column(letters: bytes) -> int:
    """0-based column of `b"AB"`."""
    return column_index_from_string(letters.decode()) - 1


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    return _ENTITIES[name]


def _text(raw: bytes) -> str:
    """XML character data as the text it stands for (entities, line ends, Excel's `_xHHHH_`)."""
    s = raw.decode("utf-8")
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in s:
        s = _ENTITY.sub(_entity, s)
    if "_x" in s:
        s = _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    return s


def _xml_text(s: str) -> bytes:
    """Text as XML character data: the inverse of `_text`."""
    if "_x" in s:
        s = _OOXML_ESCAPE.sub(lambda m: "_x005F" + m.group(0), s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return s.encode("utf-8")


def _rich_text(content: bytes | None, tags: Mapping[str, re.Pattern[bytes]], rph: bytes) -> str:
    """The text of a shared or inline string: its runs joined, phonetic hints left out."""
    if not content:
        return ""
    if rph in content:
        content = tags["rph"].sub(b"", content)
    return _text(b"".join(tags["t"].findall(content)))


def _shared_strings(xml: bytes) -> list[str]:
    prefix = _prefix(xml)
    tags = _tags(prefix)
    rph = b"<" + prefix + b"rPh"
    out = []
    for plain, other in tags["strings"].findall(xml):
        if other:
            m = tags["si"].fullmatch(other)
            out.append(_rich_text(m.group(1) if m else None, tags, rph))
        else:
            out.append(_text(plain))
    opens = sum(xml.count(b"<" + prefix + b"si" + x) for x in (b" ", b">", b"/"))
    if opens != len(out):
        raise _Unsupported("shared strings of a shape the fast reader does not know")
    return out


@dataclass(frozen=True, slots=True)
class _CellAt:
    """Where an existing cell element is in the sheet XML, for the writer."""

    start: int
    end: int
    style: bytes | None
    has_formula: bool


_NO_CELL = _CellAt(0, 0, None, False)


@dataclass(slots=True)
class _RowAt:
    start: int
    end: int
    attrs: bytes
    cells: dict[int, _CellAt]
    order: list[int]  # columns in document order


class _SheetXml:
    """One worksheet part's XML: its rows read fast, or some cells patched."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.prefix = _prefix(xml)
        self.tags = _tags(self.prefix)
        if b"<!--" in xml or b"<![CDATA[" in xml:
            raise _Unsupported("comments or CDATA in the sheet XML")
        m = self.tags["sheet_data"].search(xml)
        if m is None:
            raise _Unsupported("no sheetData")
        self.empty = bool(m.group(1))
        self.data_start = self.data_end = m.end()
        if not self.empty:
            self.data_end = xml.find(b"</" + self.prefix + b"sheetData", m.end())
            if self.data_end < 0:
                raise _Unsupported("sheetData not closed")

    def _row_starts(self) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(1-based row number, match of the row's start tag) for every <row>."""
        number = 0
        for m in self.tags["row_open"].finditer(self.xml, self.data_start, self.data_end):
            number = _row_number(m.group(1), number)
            yield number, m

    def _cells(
        self, content: bytes, offset: int
    ) -> Iterator[tuple[int, re.Match[bytes], bytes | None, bytes]]:
        """(0-based column, match, style, type) for every <c> of a row's content."""
        pos, col = 0, -1
        for c in self.tags["cell"].finditer(content):
            if c.start() != pos and content[pos : c.start()].strip():
                raise _Unsupported(f"unexpected content in a row near byte {offset + pos}")
            pos = c.end()
            attrs = c.group(1) if c.group(1) is not None else c.group(2)
            fast = _CELL_ATTRS.fullmatch(attrs)
            if fast is not None:
                number = _column(fast.group(1))
                style, kind = fast.group(3), fast.group(4) or b"n"
            else:
                found = _attrs(attrs)
                ref = found.get(b"r")
                m = _REF.fullmatch(ref.decode()) if ref else None
                number = _column(m.group(1).encode()) if m else col + 1
                style, kind = found.get(b"s"), found.get(b"t") or b"n"
            if number <= col:
                raise _Unsupported("cells out of order")
            col = number
            yield col, c, style, kind
        if content[pos:].strip():
            raise _Unsupported(f"unexpected content at the end of a row near byte {offset + pos}")

    # reading

    def rows(self, first: int, package: _Package) -> list[tuple[CellValue, ...]]:
        """The rows from row `first` on (`[0]` is row `first`), a missing row as `()`.

        The rows are scanned in chunks with one pattern whose common case (a cell holding a
        plain value) needs no further parsing; any other cell is parsed on its own. Every
        `<c>` and `<row>` in a chunk must be one of the tokens found, else `_Unsupported`.
        """
        out: list[tuple[CellValue, ...]] = []
        if self.empty:
            return out
        xml, p = self.xml, self.prefix
        tokens = self.tags["tokens"].findall
        # in sheetData only <c>, <color>, <charset> and <condense> start with "c"
        cell_open, not_cells = b"<" + p + b"c", (b"<" + p + b"co", b"<" + p + b"ch")
        row_open = b"<" + p + b"row"
        row_close = b"</" + p + b"row>"
        dates = {str(i).encode() for i in package.dates}
        columns: dict[bytes, int] = {}
        texts: dict[bytes, str] = {}
        strings: list[str] | None = None
        number, number_text, last_col = 0, b"", -1
        row: list[CellValue] | None = None

        def emit(cells: list[CellValue], at: int) -> None:
            while first + len(out) < at:
                out.append(())
            while cells and cells[-1] is None:
                cells.pop()
            out.append(tuple(cells))

        pos, end = self.data_start, self.data_end
        while pos < end:
            stop = end
            if end - pos > _CHUNK:
                k = xml.find(row_close, pos + _CHUNK, end)
                if k >= 0:
                    stop = k + len(row_close)
            chunk = xml[pos:stop]
            pos = stop
            seen_cells = seen_rows = 0
            for letters, rnum, style, kind, v, text, generic, row_attrs in tokens(chunk):
                value: CellValue
                if letters:  # <c r="B7" s="3" t="s"><v>12</v></c> and the like
                    seen_cells += 1
                    if row is None:
                        continue
                    if rnum != number_text:
                        raise _Unsupported(
                            f"cell {letters.decode()}{rnum.decode()} in row {number}"
                        )
                    col = columns.get(letters)
                    if col is None:
                        col = columns[letters] = _column(letters)
                    last_col = col
                    if not v and not text:
                        continue
                    if not kind or kind == b"n":
                        value = float(v) if (b"." in v or b"E" in v or b"e" in v) else int(v)
                        if style in dates:
                            value = _date(value, style, package)
                    elif kind == b"s":
                        if strings is None:
                            strings = package.strings
                        value = strings[int(v)]
                    elif kind == b"inlineStr":
                        if not text:
                            continue
                        value = texts.get(text)  # one str for the many cells of one value
                        if value is None:
                            value = _text(text)
                            if len(text) <= 48:
                                texts[text] = value
                    elif not v:
                        continue
                    elif kind == b"str" or kind == b"e":
                        value = _text(v)
                    elif kind == b"b":
                        value = bool(int(v))
                    elif kind == b"d":
                        value = _plain(from_ISO8601(v.decode()))
                    else:
                        raise _Unsupported(f"cell type {kind.decode(errors='replace')}")
                elif generic:  # any other cell: a formula (its result), rich text, ...
                    seen_cells += 1
                    if row is None:
                        continue
                    col, style_, kind_, content = self._cell(generic, last_col)
                    last_col = col
                    value = self._value(kind_, style_, content, package)
                    if value is None:
                        continue
                else:  # <row ...>
                    seen_rows += 1
                    if row is not None:
                        emit(row, number)
                    new = _row_number(row_attrs, number)
                    if new <= number:
                        raise _Unsupported("rows out of order")
                    number, number_text, last_col = new, str(new).encode(), -1
                    row = [] if number >= first else None
                    continue
                n = len(row)
                if col == n:
                    row.append(value)
                elif col > n:
                    row.extend([None] * (col - n))
                    row.append(value)
                else:
                    raise _Unsupported(f"cells out of order in row {number}")
            cells = chunk.count(cell_open) - sum(chunk.count(o) for o in not_cells)
            if seen_cells != cells or seen_rows != chunk.count(row_open):
                raise _Unsupported("cells or rows of a shape the fast reader does not know")
        if row is not None:
            emit(row, number)
        return out

    def _cell(self, element: bytes, last_col: int) -> tuple[int, bytes | None, bytes, bytes | None]:
        """(0-based column, style, type, content) of one <c> element."""
        m = self.tags["cell"].fullmatch(element)
        if m is None:
            raise _Unsupported("a cell element the fast reader cannot split")
        attrs = m.group(1) if m.group(1) is not None else m.group(2)
        found = _attrs(attrs)
        ref = found.get(b"r")
        r = _REF.fullmatch(ref.decode()) if ref else None
        col = _column(r.group(1).encode()) if r else last_col + 1
        if col <= last_col:
            raise _Unsupported("cells out of order")
        return col, found.get(b"s"), found.get(b"t") or b"n", m.group(3)

    def _value(
        self, kind: bytes, style: bytes | None, content: bytes | None, package: _Package
    ) -> CellValue:
        """A cell's value as openpyxl's read-only reader gives it with `data_only`: a formula
        cell's cached result, typed by the cell's `t`."""
        if not content:
            return None
        tags = self.tags
        if kind == b"inlineStr":
            inline = tags["is"].search(content)
            return (
                _rich_text(inline.group(1), tags, b"<" + self.prefix + b"rPh") if inline else None
            )
        v = tags["v"].search(content)
        raw = v.group(1) if v else None
        if not raw:
            return None
        if kind == b"n":
            number: int | float = (
                float(raw) if (b"." in raw or b"E" in raw or b"e" in raw) else int(raw)
            )
            if style is not None and int(style) in package.dates:
                return _date(number, style, package)
            return number
        if kind == b"s":
            return package.strings[int(raw)]
        if kind == b"b":
            return bool(int(raw))
        if kind in (b"str", b"e"):
            return _text(raw)
        if kind == b"d":
            return _plain(from_ISO8601(raw.decode()))
        raise _Unsupported(f"cell type {kind.decode(errors='replace')}")

    # writing

    def locate(self, rows: set[int]) -> dict[tuple[int, int], _CellAt]:
        """The existing cells of `rows`, by (row, 0-based column)."""
        self._rows_at: dict[int, _RowAt] = {}
        found: dict[tuple[int, int], _CellAt] = {}
        if self.empty or not rows:
            return found
        xml, last = self.xml, max(rows)
        formula = self.tags["f"]
        for number, m in self._row_starts():
            if number > last:
                break
            if number not in rows:
                continue
            attrs = m.group(1)
            if attrs.endswith(b"/"):  # <row r="7"/>
                attrs, end, content, base = attrs[:-1], m.end(), b"", m.end()
            else:
                close = self.tags["row_close"].search(xml, m.end(), self.data_end)
                if close is None:
                    raise _Unsupported(f"row {number} not closed")
                end, content, base = close.end(), xml[m.end() : close.start()], m.end()
            at = _RowAt(m.start(), end, attrs, {}, [])
            for col, c, style, _kind in self._cells(content, base):
                body = c.group(3) or b""
                cell = _CellAt(
                    base + c.start(), base + c.end(), style, formula.search(body) is not None
                )
                at.cells[col] = cell
                at.order.append(col)
                found[(number, col)] = cell
            self._rows_at[number] = at
        return found

    @property
    def rows_found(self) -> Mapping[int, object]:
        return self._rows_at

    def merged_ranges(self) -> list[tuple[int, int, int, int]]:
        """(first row, first col, last row, last col) of each merged range; 0-based columns."""
        out = []
        for m in self.tags["merge"].finditer(self.xml, self.data_end):
            ref = _attrs(m.group(1)).get(b"ref", b"").decode()
            ends = [_REF.fullmatch(part) for part in ref.split(":")]
            if len(ends) == 2 and ends[0] and ends[1]:
                (c1, r1), (c2, r2) = (e.groups() for e in ends)  # type: ignore[union-attr]
                out.append((int(r1), _column(c1.encode()), int(r2), _column(c2.encode())))
        return out

    def patched(
        self, edits: Mapping[int, Mapping[int, str]], new_column: int | None, header_row: int
    ) -> bytes:
        """The XML with `edits` (row -> 0-based column -> text; "" empties the cell) applied.
        `new_column` is a 봇 확인 column being created: its header copies its left neighbour's
        style and the column gets a width."""
        xml = self.xml
        pieces = [b""]  # the head, filled in below
        pos = self.data_start
        for number in sorted(edits):
            at = self._rows_at[number]  # the writer only edits rows `locate` found
            pieces.append(xml[pos : at.start])
            pieces.append(self._row(number, at, edits[number], new_column, header_row))
            pos = at.end
        pieces.append(xml[pos:])
        head = self._dimension(xml[: self.data_start], edits)
        if new_column is not None:
            head = self._width(head, new_column)
        pieces[0] = head
        return b"".join(pieces)

    def _row(
        self,
        number: int,
        at: _RowAt,
        edit: Mapping[int, str],
        new_column: int | None,
        header_row: int,
    ) -> bytes:
        xml, p = self.xml, self.prefix
        cells: list[bytes] = []
        columns = sorted(set(at.order) | set(edit))
        for col in columns:
            cell = at.cells.get(col)
            if col not in edit:
                assert cell is not None
                cells.append(xml[cell.start : cell.end])
                continue
            style = cell.style if cell is not None else None
            if style is None and number == header_row and col == new_column and col - 1 in at.cells:
                style = at.cells[col - 1].style
            cells.append(_cell_xml(p, col, number, style, edit[col]))
        attrs = _SPANS.sub(b"", at.attrs).rstrip()
        return b"<" + p + b"row" + attrs + b">" + b"".join(cells) + b"</" + p + b"row>"

    def _dimension(self, head: bytes, edits: Mapping[int, Mapping[int, str]]) -> bytes:
        m = self.tags["dimension"].search(head)
        if m is None:
            return head
        attrs = _attrs(m.group(1))
        ends = [_REF.fullmatch(part) for part in attrs.get(b"ref", b"").decode().split(":")]
        if not ends or not all(ends):
            return head
        first, last = ends[0], ends[-1]
        assert first is not None and last is not None
        max_row = max(int(last.group(2)), max(edits))
        max_col = max(_column(last.group(1).encode()), max(max(e) for e in edits.values()))
        ref = f"{first.group(1)}{first.group(2)}:{get_column_letter(max_col + 1)}{max_row}"
        new = b"<" + self.prefix + b'dimension ref="' + ref.encode() + b'"/>'
        return head[: m.start()] + new + head[m.end() :]

    def _width(self, head: bytes, column: int) -> bytes:
        """Give a new column a width, unless a <col> already covers it."""
        p = self.prefix
        number = column + 1
        template = b'<~col min="%d" max="%d" width="%d" customWidth="1"/>'
        element = template.replace(b"~", p) % (number, number, _NOTE_COLUMN_WIDTH)
        cols = self.tags["cols"].search(head)
        if cols is None:
            at = head.rfind(b"<" + p + b"sheetData")
            return head[:at] + b"<" + p + b"cols>" + element + b"</" + p + b"cols>" + head[at:]
        insert = cols.end(1)
        for c in self.tags["col"].finditer(head, cols.start(1), cols.end(1)):
            a = _attrs(c.group(1))
            lo, hi = int(a.get(b"min", b"0")), int(a.get(b"max", b"0"))
            if lo <= number <= hi:
                return head
            if lo > number:
                insert = c.start()
                break
        return head[:insert] + element + head[insert:]


def _cell_xml(prefix: bytes, col: int, row: int, style: bytes | None, text: str) -> bytes:
    """A cell holding `text` as an inline string (never a formula); "" leaves it empty."""
    ref = f"{get_column_letter(col + 1)}{row}".encode()
    s = b' s="%s"' % style if style else b""
    if text == "":
        return (b'<~c r="%s"%s/>' % (ref, s)).replace(b"~", prefix) if style else b""
    template = b'<~c r="%s"%s t="inlineStr"><~is><~t xml:space="preserve">%s</~t></~is></~c>'
    return template.replace(b"~", prefix) % (ref, s, _xml_text(text))


def _in_merged(ranges: Sequence[tuple[int, int, int, int]], row: int, col: int) -> bool:
    """Inside a merged range but not its top-left cell (the one that holds the value)."""
    return any(
        r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1) for r1, c1, r2, c2 in ranges
    )


# -- creating workbooks (demo, tests, benchmarks) ------------------------------------------

_DATE_FORMAT = "yyyy-mm-dd"
_MINUTE_FORMAT = "yyyy-mm-dd hh:mm"
_SECOND_FORMAT = "yyyy-mm-dd hh:mm:ss"


def create_workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[CellValue]]]) -> None:
    """Write a new .xlsx with one tab per entry, rows as given (the first is the header row).

    Text is stored as text (a leading `=` makes no formula), dates and datetimes with a date
    format (`yyyy-mm-dd`, or `yyyy-mm-dd hh:mm` when they have a time of day). An existing file
    is replaced atomically.
    """
    wb = openpyxl.Workbook(write_only=True)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title=title)
        for col, width in _column_widths(rows).items():
            ws.column_dimensions[get_column_letter(col + 1)].width = width
        for row in rows:
            ws.append([_write_only_cell(ws, v) for v in row])
    _atomic_save(wb.save, Path(path))


def _write_only_cell(ws: Any, value: CellValue) -> Any:
    if isinstance(value, str):
        if value[:1] in ("=", "#"):  # would become a formula or an error code
            cell = WriteOnlyCell(ws, value)
            cell.data_type = "s"
            return cell
        return value
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value.replace(tzinfo=None))
        if value.second or value.microsecond:
            cell.number_format = _SECOND_FORMAT
        elif value.hour or value.minute:
            cell.number_format = _MINUTE_FORMAT
        else:
            cell.number_format = _DATE_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value)
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
