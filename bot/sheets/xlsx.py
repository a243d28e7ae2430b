"""The .xlsx package's sheet XML, patched in place by the workbook backend's writer.

No library writes one cell without rewriting the whole package (openpyxl's load and save of a
100k-row desk takes ~100 s and 1 GB, and drops every formula's cached result), so the writer
works on the raw XML; the rows themselves are read with python-calamine:

- `Package` finds the tabs and their sheet XML parts as openpyxl's package reader does (which
  knows the odd ways producers lay a package out), and the error cells (`#N/A`, ...) that
  python-calamine reads as empty;
- `SheetXml.locate` finds the cells of the rows to be written (and which hold a formula),
  `SheetXml.patched` replaces only those cells (as inline strings, never formulas; a new cell
  with its row's or column's style, text of several lines with a wrapping copy of its style
  from `Styles`) and updates the sheet's dimension and a new column's width,
  `full_calc_on_load` asks for a recalculation on open, and `rezip` copies every other part of
  the package as it is, so formats, widths, filters, validations, drawings, other tabs and
  every formula with its cached result survive.

The XML may use a namespace prefix (`<x:row>`), store rows and cells in any order, and leave
out a row's or cell's `r=` (the next one after the previous). Anything else the patcher does
not fully understand (a comment or CDATA inside the sheet, UTF-16, a row or cell twice, an
unknown element shape in a row it writes, ...) raises `Unsupported`: the backend then writes
that workbook with openpyxl instead, slower, same cells.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import time as time_of_day
from datetime import timedelta
from typing import IO, Any
from xml.etree import ElementTree

from bot.sheets import column_letter, column_number
from rules.model import CellValue

__all__ = [
    "Package",
    "SheetXml",
    "Styles",
    "Unsupported",
    "filter_over_new_column",
    "full_calc_on_load",
    "in_merged",
    "plain_value",
    "rezip",
    "with_cell_style_xfs",
]


class Unsupported(Exception):
    """Sheet XML the patcher does not fully understand: openpyxl writes it instead."""


class Package:
    """An .xlsx package's tabs and their sheet XML parts, found as openpyxl's package reader
    finds them (which knows the odd ways producers lay a package out), without importing
    openpyxl: that costs a preview ~0.2 s (DESIGN.md, "One composition root"). The workbook part
    is the one `[Content_Types].xml` names (else `xl/workbook.xml` when a default type says
    it is a workbook); each `<sheet>` of it leads through its `r:id` to a part."""

    def __init__(self, data: bytes) -> None:
        self.archive = zipfile.ZipFile(io.BytesIO(data))
        types = _children(ElementTree.fromstring(self.archive.read("[Content_Types].xml")))
        overrides = {t.get("ContentType"): t.get("PartName", "") for t in types["Override"]}
        defaults = {t.get("ContentType") for t in types["Default"]}
        found = [overrides[t] for t in _WORKBOOK_TYPES if t in overrides]
        if found:
            self.workbook_part: str = found[0].removeprefix("/")
        elif defaults & set(_WORKBOOK_TYPES):
            self.workbook_part = "xl/workbook.xml"
        else:
            raise ValueError("the package holds no workbook part")
        rels = self._relationships(self.workbook_part)
        styles = [target for kind, target in rels.values() if kind.endswith("/styles")]
        self.styles_part: str | None = styles[0] if styles else None
        self.titles: list[str] = []
        self.parts: dict[str, str] = {}  # worksheet title -> XML part
        names = set(self.archive.namelist())
        workbook = _children(ElementTree.fromstring(self.archive.read(self.workbook_part)))
        for sheets in workbook["sheets"]:
            for sheet in _children(sheets)["sheet"]:
                rel = sheet.get(_REL_ID)
                if not rel:
                    continue  # openpyxl drops such a sheet too
                kind, target = rels[rel]
                if target not in names:
                    continue
                self.titles.append(sheet.get("name", ""))
                if "chartsheet" not in kind:
                    self.parts[self.titles[-1]] = target

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """The part's relationships: id -> (type, target part, from the package's root)."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{name}.rels")
        found: dict[str, tuple[str, str]] = {}
        for rel in _children(ElementTree.fromstring(self.archive.read(rels)))["Relationship"]:
            target = rel.get("Target", "")
            if rel.get("TargetMode") != "External":
                if target.startswith("/"):
                    target = target[1:]
                else:
                    target = posixpath.normpath(posixpath.join(folder, target))
            found[rel.get("Id", "")] = (rel.get("Type", ""), target)
        return found

    def cell_facts(self, title: str) -> tuple[dict[int, dict[int, str]], set[tuple[int, int]]]:
        """What python-calamine does not tell of the tab's cells, from one read of its XML:
        the error cells (`#N/A`, `#REF!`, ..., which it reads as empty: 1-based row -> 0-based
        column -> the error as the cell shows it), and the cells holding a formula (1-based
        row, 0-based column; it reads their last result)."""
        part = self.parts[title]
        if not self._may_hold_facts(part):
            return {}, set()
        xml = self.archive.read(part)
        return _error_cells(xml), _formula_cells(xml)

    def _may_hold_facts(self, part: str) -> bool:
        """Whether the part's XML may hold an error cell (`t="e"`) or a formula (`<f`, `<x:f`),
        read a piece at a time: a 100k-row sheet is ~70 MB of XML, not to be held at once
        only to find neither in it; a piece of 256 KiB is still in the CPU's cache when it is
        searched (measured at 100k: 0.14 s, 1 MiB pieces 0.20 s). (A `<formula>` of a
        validation also counts: then the XML is read whole, as always before.)"""
        tail = b""
        with self.archive.open(part) as xml:
            while piece := xml.read(1 << 18):
                window = tail + piece
                if _ERROR_TYPE.search(window):
                    return True
                if b"f" in window and (b"<f" in window or b":f" in window):
                    return True  # (one byte is found fastest: most pieces hold no f at all)
                tail = window[-4:]  # a marker split between two pieces
        return False


# The workbook part's content types, in the order openpyxl looks for them.
_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _children(element: ElementTree.Element) -> defaultdict[str, list[ElementTree.Element]]:
    """An element's children by their name without namespace (as openpyxl reads them)."""
    found: defaultdict[str, list[ElementTree.Element]] = defaultdict(list)
    for child in element:
        found[child.tag.rpartition("}")[2]].append(child)
    return found


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
        "cell": element(b"c"),
        # 1: the attributes, 2: the content of a cell of type `e` (an error: #N/A, ...)
        "error_cell": pattern(rb"""<~c\b([^>]*\st=["']e["'][^>/]*)>(.*?)</~c\s*>"""),
        "f": element(b"f"),
        "v": text(b"v"),
        "dimension": pattern(rb"<~dimension\b([^>]*?)/?>"),
        "auto_filter": pattern(rb"<~autoFilter\b([^>]*?)/?>"),
        "cols": pattern(rb"<~cols\b[^>]*>(.*?)</~cols\s*>"),
        "col": pattern(rb"<~col\b([^>]*?)/?>"),
        "calc_pr": element(b"calcPr"),
        # what follows calcPr in a workbook (ECMA-376 CT_Workbook), or its end
        "after_calc_pr": pattern(
            rb"<~(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|"
            rb"webPublishing|fileRecoveryPr|webPublishObjects|extLst)\b|</~workbook\s*>"
        ),
        "cell_xfs": pattern(rb"<~cellXfs\b([^>]*)>(.*?)</~cellXfs\s*>"),
        "xf": element(b"xf"),
        "alignment": element(b"alignment"),
    }


_ERROR_TYPE = re.compile(rb"""t=["']e["']""")  # either quote in one pass
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?(worksheet|workbook|styleSheet)\b")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CELL_ATTRS = re.compile(
    rb"\s*r=\"([A-Z]{1,3})([0-9]+)\"(?:\s+s=\"([0-9]+)\")?(?:\s+t=\"\w+\")?\s*"
)
_ROW_NUMBER = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([0-9]+)[\"']")
_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")
_SPANS = re.compile(rb"\s+spans\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _prefix(xml: bytes, root: bytes = b"worksheet") -> bytes:
    """The namespace prefix of the part's root element (b"" or e.g. b"x:")."""
    m = _ROOT.search(xml, 0, 65536)
    if m is None or m.group(2) != root:
        if xml[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise Unsupported("UTF-16 XML")
        raise Unsupported(f"no {root.decode()} root element")
    return m.group(1) or b""


def _with_attr(attrs: bytes, name: bytes, value: bytes) -> bytes:
    """Start-tag attributes with `name` set to `value` (replaced, or added at the end)."""
    kept = re.sub(rb"\s+%s\s*=\s*(?:\"[^\"]*\"|'[^']*')" % re.escape(name), b"", attrs)
    return kept.rstrip() + b' %s="%s"' % (name, value)


def _set_attr(m: re.Match[bytes], tag: bytes, name: bytes, value: bytes) -> bytes:
    """An element matched by an `element` pattern with one attribute set; content kept."""
    if m.group(1) is not None:
        return b"<%s%s/>" % (tag, _with_attr(m.group(1), name, value))
    return b"<%s%s>%s</%s>" % (tag, _with_attr(m.group(2), name, value), m.group(3), tag)


def full_calc_on_load(xml: bytes) -> bytes:
    """The workbook part with `<calcPr fullCalcOnLoad="1"/>`: Excel recomputes every formula
    on open, so one over a written cell (a COUNTIF over 진행상황) shows its new result, not the
    one cached before the write. (LibreOffice 7.4 ignores the flag: it recomputes shared
    formulas on open but shows a plain formula's cached result until recalculated.)"""
    prefix = _prefix(xml, b"workbook")
    tags = _tags(prefix)
    calc = tags["calc_pr"].search(xml)
    if calc is not None:
        if re.search(rb"""\sfullCalcOnLoad\s*=\s*["'](?:1|true)["']""", calc.group(0)):
            return xml
        element = _set_attr(calc, prefix + b"calcPr", b"fullCalcOnLoad", b"1")
        return xml[: calc.start()] + element + xml[calc.end() :]
    sheets = xml.find(b"<" + prefix + b"sheets")
    at = tags["after_calc_pr"].search(xml, max(sheets, 0))
    if at is None:
        raise Unsupported("workbook part not closed")
    element = b'<%scalcPr fullCalcOnLoad="1"/>' % prefix
    return xml[: at.start()] + element + xml[at.start() :]


def with_cell_style_xfs(xml: bytes) -> bytes:
    """A styles part that lacks `cellStyleXfs` (node xlsx-stream writes none) with the default
    one, which openpyxl needs to load the workbook; any other styles part as it is."""
    prefix = _prefix(xml, b"styleSheet")
    if b"<" + prefix + b"cellStyleXfs" in xml:
        return xml
    cell_xfs = _tags(prefix)["cell_xfs"].search(xml)
    if cell_xfs is None:
        return xml
    default = b'<~cellStyleXfs count="1"><~xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    default += b"</~cellStyleXfs>"
    return xml[: cell_xfs.start()] + default.replace(b"~", prefix) + xml[cell_xfs.start() :]


_WRAPS = re.compile(rb"""\swrapText\s*=\s*["'](?:1|true)["']""")


class Styles:
    """The styles part's cell formats (`cellXfs`), to give cells the bot writes with several
    lines wrap text: each format they use gets one wrapping copy, added once."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.prefix = _prefix(xml, b"styleSheet")
        self.tags = _tags(self.prefix)
        m = self.tags["cell_xfs"].search(xml)
        if m is None:
            raise Unsupported("no cellXfs in the styles part")
        self.cell_xfs = m
        self.xfs = [x for x in self.tags["xf"].finditer(xml, m.start(2), m.end(2))]
        self.added: list[bytes] = []
        self.wrapping: dict[int, int] = {}  # a format -> its wrapping copy (or itself)

    def wrapped(self, style: bytes | None) -> bytes:
        """The format like `style` (None: the default, 0) but wrapping text."""
        base = int(style or 0)
        if base not in self.wrapping:
            if base >= len(self.xfs):
                raise Unsupported(f"a cell's style {base} is not in cellXfs")
            xf = self.xfs[base]
            alignment = self.tags["alignment"].search(xf.group(0))
            if alignment is not None and _WRAPS.search(alignment.group(0)):
                self.wrapping[base] = base
            else:
                self.added.append(self._wrap(xf))
                self.wrapping[base] = len(self.xfs) + len(self.added) - 1
        return b"%d" % self.wrapping[base]

    def _wrap(self, xf: re.Match[bytes]) -> bytes:
        p = self.prefix
        tag = p + b"xf"
        wrap = b'<%salignment wrapText="1"/>' % p
        if xf.group(1) is not None:
            attrs, content = xf.group(1), b""
        else:
            attrs, content = xf.group(2), xf.group(3)
        attrs = _with_attr(attrs, b"applyAlignment", b"1")
        alignment = self.tags["alignment"].search(content)
        if alignment is None:
            content = wrap + content  # alignment comes first in an xf (ECMA-376 CT_Xf)
        else:
            new = _set_attr(alignment, p + b"alignment", b"wrapText", b"1")
            content = content[: alignment.start()] + new + content[alignment.end() :]
        return b"<%s%s>%s</%s>" % (tag, attrs, content, tag)

    def patched(self) -> bytes | None:
        """The styles part with the added formats, or None when none was added."""
        if not self.added:
            return None
        m = self.cell_xfs
        count = str(len(self.xfs) + len(self.added)).encode()
        attrs = _with_attr(m.group(1), b"count", count)
        tag = self.prefix + b"cellXfs"
        element = b"<%s%s>%s%s</%s>" % (tag, attrs, m.group(2), b"".join(self.added), tag)
        return self.xml[: m.start()] + element + self.xml[m.end() :]


def _row_number(attrs: bytes, previous: int) -> int:
    r = _ROW_NUMBER.search(attrs)
    return int(r.group(1)) if r else previous + 1


def plain_value(value: Any) -> CellValue:
    """A value as a `Tab` holds it: a `time` (a time-only format) as text, a `timedelta` (a
    duration format) as the sheet's serial in days."""
    if isinstance(value, time_of_day):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400  # the sheet's own serial: days
    return value


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(raw)
    }


@functools.cache
def _column(letters: bytes) -> int:
    """0-based column of `b"AB"`."""
    return column_number(letters.decode()) - 1


def _xml_text(s: str) -> bytes:
    """Text as XML character data: the inverse of `_text`."""
    if "_x" in s:
        s = _OOXML_ESCAPE.sub(lambda m: "_x005F" + m.group(0), s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return s.encode("utf-8")


def _error_cells(xml: bytes) -> dict[int, dict[int, str]]:
    """1-based row -> 0-based column -> text of each cell of type `e` in the sheet XML."""
    found: dict[int, dict[int, str]] = {}
    if b"#" not in xml or (b't="e"' not in xml and b"t='e'" not in xml):
        return found  # (every error starts with a #: #N/A, #REF!, #VALUE!, ...)
    tags = _tags(_prefix(xml))
    for m in tags["error_cell"].finditer(xml):
        ref = _REF.fullmatch(_attrs(m.group(1)).get(b"r", b"").decode())
        if ref is None:  # a cell without r= (a streaming writer's): its place needs a walk
            return _walked_error_cells(xml)
        value = tags["v"].search(m.group(2))
        if value and value.group(1):
            row = found.setdefault(int(ref.group(2)), {})
            row[_column(ref.group(1).encode())] = value.group(1).decode()
    return found


def _formula_cells(xml: bytes) -> set[tuple[int, int]]:
    """(1-based row, 0-based column) of each cell holding a formula (`<f>`) in the sheet XML."""
    found: set[tuple[int, int]] = set()
    prefix = _prefix(xml)
    f_open, c_open = b"<" + prefix + b"f", b"<" + prefix + b"c"
    at = xml.find(f_open)
    while at >= 0:
        if xml[at + len(f_open) : at + len(f_open) + 1] in (b">", b"/", b" ", b"\t", b"\n"):
            start = xml.rfind(c_open, 0, at)
            end = xml.find(b">", start)
            ref = _REF.fullmatch(_attrs(xml[start + len(c_open) : end]).get(b"r", b"").decode())
            if start < 0 or ref is None:  # a cell without r= (a streaming writer's)
                return {cell for cell, c in _walked_cells(xml).items() if c.has_formula}
            found.add((int(ref.group(2)), _column(ref.group(1).encode())))
        at = xml.find(f_open, at + 1)
    return found


def _walked_error_cells(xml: bytes) -> dict[int, dict[int, str]]:
    """`_error_cells` by walking every row and cell, for a sheet whose cells lack r=."""
    found: dict[int, dict[int, str]] = {}
    tags = _tags(_prefix(xml))
    for (row, col), at in _walked_cells(xml).items():
        m = tags["error_cell"].fullmatch(xml, at.start, at.end)
        value = m and tags["v"].search(m.group(2))
        if value and value.group(1):
            found.setdefault(row, {})[col] = value.group(1).decode()
    return found


def _walked_cells(xml: bytes) -> dict[tuple[int, int], _CellAt]:
    """Every cell of the sheet by walking its rows (for cells without r=); none for a sheet
    the patcher cannot walk."""
    try:
        sheet = SheetXml(xml)
        return sheet.locate({number for number, _ in sheet._row_starts()})
    except Unsupported:
        return {}


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
    """One worksheet part's XML, to patch some of its cells."""

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
        seen: set[int] = set()
        for m in self.tags["row_open"].finditer(self.xml, self.data_start, self.data_end):
            number = _row_number(m.group(1), number)
            if number in seen:
                raise Unsupported(f"row {number} twice in the sheet XML")
            seen.add(number)
            yield number, m

    def _cells(
        self, row: int, content: bytes, offset: int
    ) -> Iterator[tuple[int, re.Match[bytes], bytes | None]]:
        """(0-based column, match, style) for every <c> of row `row`'s content."""
        pos, col = 0, -1
        seen: set[int] = set()
        for c in self.tags["cell"].finditer(content):
            if c.start() != pos and content[pos : c.start()].strip():
                raise Unsupported(f"unexpected content in a row near byte {offset + pos}")
            pos = c.end()
            attrs = c.group(1) if c.group(1) is not None else c.group(2)
            fast = _CELL_ATTRS.fullmatch(attrs)
            if fast is not None:
                letters, in_row, style = fast.group(1), fast.group(2), fast.group(3)
            else:
                found = _attrs(attrs)
                m = _REF.fullmatch(found.get(b"r", b"").decode())
                letters, in_row = (m.group(1).encode(), m.group(2).encode()) if m else (None, None)
                style = found.get(b"s")
            col = _column(letters) if letters else col + 1
            if col in seen or (in_row is not None and int(in_row) != row):
                raise Unsupported(f"a cell twice, or of another row, in row {row}")
            seen.add(col)
            yield col, c, style
        if content[pos:].strip():
            raise Unsupported(f"unexpected content at the end of a row near byte {offset + pos}")

    # writing

    def locate(self, rows: set[int]) -> dict[tuple[int, int], _CellAt]:
        """The existing cells of `rows`, by (row, 0-based column)."""
        self._rows_at: dict[int, _RowAt] = {}
        found: dict[tuple[int, int], _CellAt] = {}
        if self.empty or not rows:
            return found
        xml, formula = self.xml, self.tags["f"]
        for number, m in self._row_starts():  # every row: `Unsupported` when out of order
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
            for col, c, style in self._cells(number, content, base):
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

    def patched(
        self,
        edits: Mapping[int, Mapping[int, str]],
        new_column: int | None,
        header_row: int,
        new_column_width: int,
        styles: Styles | None,
    ) -> bytes:
        """The XML with `edits` (row -> 0-based column -> text; "" empties the cell) applied.

        A cell the bot creates takes its row's style (a row formatted as a whole), else its
        column's; the header of `new_column`, a 봇 확인 column being created, its left
        neighbour's, and the column gets `new_column_width`. A text of several lines gets a
        wrapping copy of its style from `styles` (None: `Unsupported`), so every line shows."""
        xml = self.xml
        pieces = [b""]  # the head, filled in below
        pos = self.data_start
        # the writer only edits rows `locate` found; in document order, whatever their numbers
        for number in sorted(edits, key=lambda n: self._rows_at[n].start):
            at = self._rows_at[number]
            pieces.append(xml[pos : at.start])
            pieces.append(self._row(number, at, edits[number], new_column, header_row, styles))
            pos = at.end
        pieces.append(xml[pos:])
        head = self._dimension(xml[: self.data_start], edits)
        if new_column is not None:
            head = self._width(head, new_column, new_column_width)
            pieces[-1] = self._filter(pieces[-1], new_column, header_row)
        pieces[0] = head
        return b"".join(pieces)

    def _row(
        self,
        number: int,
        at: _RowAt,
        edit: Mapping[int, str],
        new_column: int | None,
        header_row: int,
        styles: Styles | None,
    ) -> bytes:
        xml, p = self.xml, self.prefix
        cells: list[bytes] = []
        columns = sorted(set(at.order) | set(edit))
        row_attrs = _attrs(at.attrs)
        row_style = (
            row_attrs.get(b"s") if row_attrs.get(b"customFormat") in (b"1", b"true") else None
        )
        for col in columns:
            cell = at.cells.get(col)
            text = edit.get(col)
            if text is None:
                assert cell is not None
                cells.append(xml[cell.start : cell.end])
                continue
            if cell is not None:
                style = cell.style
            elif number == header_row and col == new_column and col - 1 in at.cells:
                style = at.cells[col - 1].style
            elif text:
                style = row_style or self._column_style(col)
            else:
                style = None
            if "\n" in text:
                if styles is None:
                    raise Unsupported("no styles part (or no cellXfs) to give a cell wrap text")
                style = styles.wrapped(style)
            cells.append(_cell_xml(p, col, number, style, text))
        attrs = _SPANS.sub(b"", at.attrs).rstrip()
        return b"<" + p + b"row" + attrs + b">" + b"".join(cells) + b"</" + p + b"row>"

    def _column_style(self, col: int) -> bytes | None:
        """The style the `<col>` element over 0-based column `col` gives it, if any."""
        cols = self.tags["cols"].search(self.xml, 0, self.data_start)
        if cols is None:
            return None
        for c in self.tags["col"].finditer(self.xml, cols.start(1), cols.end(1)):
            a = _attrs(c.group(1))
            if int(a.get(b"min", b"0")) <= col + 1 <= int(a.get(b"max", b"0")):
                return a.get(b"style")
        return None

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
        ref = f"{first.group(1)}{first.group(2)}:{column_letter(max_col + 1)}{max_row}"
        new = b"<" + self.prefix + b'dimension ref="' + ref.encode() + b'"/>'
        return head[: m.start()] + new + head[m.end() :]

    def _filter(self, tail: bytes, column: int, header_row: int) -> bytes:
        """The sheet's autofilter extended over a new 봇 확인 column it ends next to."""
        m = self.tags["auto_filter"].search(tail)
        if m is None:
            return tail
        ref = _attrs(m.group(1)).get(b"ref", b"").decode()
        wider = filter_over_new_column(ref, header_row, column)
        if wider is None:
            return tail
        tag = m.group(0).replace(f'"{ref}"'.encode(), f'"{wider}"'.encode(), 1)
        return tail[: m.start()] + tag + tail[m.end() :]

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
    ref = f"{column_letter(col + 1)}{row}".encode()
    s = b' s="%s"' % style if style else b""
    if text == "":
        return (b'<~c r="%s"%s/>' % (ref, s)).replace(b"~", prefix) if style else b""
    template = b'<~c r="%s"%s t="inlineStr"><~is><~t xml:space="preserve">%s</~t></~is></~c>'
    return template.replace(b"~", prefix) % (ref, s, _xml_text(text))


def filter_over_new_column(ref: str, header_row: int, column: int) -> str | None:
    """An autofilter range (`A1:E40`) extended to 0-based `column` when it filters the header
    row and ends just left of it; None when it is to stay as it is."""
    ends = [_REF.fullmatch(part) for part in ref.split(":")]
    if len(ends) != 2 or not all(ends):
        return None
    first, last = ends
    assert first is not None and last is not None
    if int(first.group(2)) != header_row or _column(last.group(1).encode()) != column - 1:
        return None
    return f"{first.group(1)}{first.group(2)}:{column_letter(column + 1)}{last.group(2)}"


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
