"""The fast path for .xlsx packages: sheet rows read, and cells patched, on the raw XML.

openpyxl alone is too slow for the desk's size (100k rows: ~30 s to read, ~100 s and 1 GB to
load and save), so the workbook backend reads and writes the sheet XML itself:

- `Package` finds the tabs, shared strings and date styles through openpyxl's package reader
  (which knows the odd ways producers lay a package out), and `Package.rows` scans a sheet's
  `<row>`/`<c>` elements with a few byte patterns, decoding the cells the way openpyxl's
  read-only reader does with `data_only`: shared and inline strings (rich text as its runs
  joined, phonetic hints left out), numbers, booleans, errors, dates by their number format,
  formulas by their last result;
- `SheetXml.locate` finds the cells of the rows to be written (and which hold a formula),
  `SheetXml.patched` replaces only those cells (as inline strings, never formulas) and updates
  the sheet's dimension and a new column's width, and `rezip` copies every other part of the
  package as it is, so formats, widths, filters, validations, drawings, other tabs and every
  formula with its cached result survive.

The sheet XML may use a namespace prefix (`<x:row>`). Anything else the fast path does not
fully understand (a comment or CDATA inside the sheet, UTF-16, cells or rows out of order,
an unknown cell type or element shape, ...) raises `Unsupported`: the backend then reads and
writes that sheet with openpyxl instead, slower, same results.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import time as time_of_day
from datetime import timedelta
from typing import IO, Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH as _WINDOWS_EPOCH
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS

from rules.model import CellValue

__all__ = [
    "Package",
    "SheetXml",
    "Unsupported",
    "in_merged",
    "plain_value",
    "rezip",
]


class Unsupported(Exception):
    """A sheet the fast path does not fully understand: openpyxl handles it instead."""


class Package:
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
        # Private Workbook attributes that types-openpyxl does not declare.
        self.dates = frozenset(reader.wb._date_formats)  # type: ignore[attr-defined]
        self.durations = frozenset(reader.wb._timedelta_formats)  # type: ignore[attr-defined]
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
            return SheetXml(self.archive.read(self.parts[title])).rows(header_row, self)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError) as e:
            raise Unsupported(f"{type(e).__name__}: {e}") from None


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
            raise Unsupported("UTF-16 XML")
        raise Unsupported("no worksheet root element")
    return m.group(1) or b""


def _row_number(attrs: bytes, previous: int) -> int:
    r = _ROW_NUMBER.search(attrs)
    return int(r.group(1)) if r else previous + 1


def plain_value(value: Any) -> CellValue:
    """A value as a `Tab` holds it: openpyxl's `time` (a time-only format) as text, its
    `timedelta` (a duration format) as the sheet's serial in days."""
    if isinstance(value, time_of_day):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400  # the sheet's own serial: days
    return value


def _date(serial: int | float, style: bytes, package: Package) -> CellValue:
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
    return plain_value(moment)


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
        raise Unsupported("shared strings of a shape the fast reader does not know")
    return out


@dataclass(frozen=True, slots=True)
class _CellAt:
    """Where an existing cell element is in the sheet XML, for the writer."""

    start: int
    end: int
    style: bytes | None
    has_formula: bool


@dataclass(slots=True)
class _RowAt:
    start: int
    end: int
    attrs: bytes
    cells: dict[int, _CellAt]
    order: list[int]  # columns in document order


class SheetXml:
    """One worksheet part's XML: its rows read fast, or some cells patched."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.prefix = _prefix(xml)
        self.tags = _tags(self.prefix)
        if b"<!--" in xml or b"<![CDATA[" in xml:
            raise Unsupported("comments or CDATA in the sheet XML")
        m = self.tags["sheet_data"].search(xml)
        if m is None:
            raise Unsupported("no sheetData")
        self.empty = bool(m.group(1))
        self.data_start = self.data_end = m.end()
        if not self.empty:
            self.data_end = xml.find(b"</" + self.prefix + b"sheetData", m.end())
            if self.data_end < 0:
                raise Unsupported("sheetData not closed")

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
                raise Unsupported(f"unexpected content in a row near byte {offset + pos}")
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
                raise Unsupported("cells out of order")
            col = number
            yield col, c, style, kind
        if content[pos:].strip():
            raise Unsupported(f"unexpected content at the end of a row near byte {offset + pos}")

    # reading

    def rows(self, first: int, package: Package) -> list[tuple[CellValue, ...]]:
        """The rows from row `first` on (`[0]` is row `first`), a missing row as `()`.

        The rows are scanned in chunks with one pattern whose common case (a cell holding a
        plain value) needs no further parsing; any other cell is parsed on its own. Every
        `<c>` and `<row>` in a chunk must be one of the tokens found, else `Unsupported`.
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
                        raise Unsupported(f"cell {letters.decode()}{rnum.decode()} in row {number}")
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
                        value = plain_value(from_ISO8601(v.decode()))
                    else:
                        raise Unsupported(f"cell type {kind.decode(errors='replace')}")
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
                        raise Unsupported("rows out of order")
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
                    raise Unsupported(f"cells out of order in row {number}")
            cells = chunk.count(cell_open) - sum(chunk.count(o) for o in not_cells)
            if seen_cells != cells or seen_rows != chunk.count(row_open):
                raise Unsupported("cells or rows of a shape the fast reader does not know")
        if row is not None:
            emit(row, number)
        return out

    def _cell(self, element: bytes, last_col: int) -> tuple[int, bytes | None, bytes, bytes | None]:
        """(0-based column, style, type, content) of one <c> element."""
        m = self.tags["cell"].fullmatch(element)
        if m is None:
            raise Unsupported("a cell element the fast reader cannot split")
        attrs = m.group(1) if m.group(1) is not None else m.group(2)
        found = _attrs(attrs)
        ref = found.get(b"r")
        r = _REF.fullmatch(ref.decode()) if ref else None
        col = _column(r.group(1).encode()) if r else last_col + 1
        if col <= last_col:
            raise Unsupported("cells out of order")
        return col, found.get(b"s"), found.get(b"t") or b"n", m.group(3)

    def _value(
        self, kind: bytes, style: bytes | None, content: bytes | None, package: Package
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
            return plain_value(from_ISO8601(raw.decode()))
        raise Unsupported(f"cell type {kind.decode(errors='replace')}")

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
                    raise Unsupported(f"row {number} not closed")
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
        self,
        edits: Mapping[int, Mapping[int, str]],
        new_column: int | None,
        header_row: int,
        new_column_width: int,
    ) -> bytes:
        """The XML with `edits` (row -> 0-based column -> text; "" empties the cell) applied.
        `new_column` is a 봇 확인 column being created: its header copies its left neighbour's
        style and the column gets `new_column_width`."""
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
            head = self._width(head, new_column, new_column_width)
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

    def _width(self, head: bytes, column: int, width: int) -> bytes:
        """Give a new column a width, unless a <col> already covers it."""
        p = self.prefix
        number = column + 1
        template = b'<~col min="%d" max="%d" width="%d" customWidth="1"/>'
        element = template.replace(b"~", p) % (number, number, width)
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


def in_merged(ranges: Sequence[tuple[int, int, int, int]], row: int, col: int) -> bool:
    """Inside a merged range but not its top-left cell (the one that holds the value)."""
    return any(
        r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1) for r1, c1, r2, c2 in ranges
    )


def rezip(data: bytes, replaced: Mapping[str, bytes], out: IO[bytes]) -> None:
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
