"""Workbooks as other programs write them, built part by part with no library in between.

Each producer in `PRODUCERS` is a set of `Quirks` seen in desk files: the .NET OpenXML SDK's
`x:`-prefixed parts, node xlsx-stream's cells without `r=` and styles without `cellStyleXfs`,
Excel for Mac's 1904 dates, rich and inline strings, rows and header cells stored out of order,
a table over the leads, merged blocks, wrap-text and coloured columns, and a tab whose formulas
count 진행상황 (one of them shared, its copies written as `<f t="shared" si="0"/>`).
`build(path, sheets, quirks)` writes the tabs' rows (the first row of each is its header row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl.utils import get_column_letter

from rules.model import CellValue

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# cellXfs, in this order
DEFAULT, DATE, WRAP, HEADER, COLOURED = range(5)
SUMMARY = "집계"  # the tab counting 진행상황
COUNTED = ("종결(중복)", "상담요청", "계약완료")


@dataclass(frozen=True)
class Quirks:
    prefix: str = ""  # "x:": every SpreadsheetML element prefixed, as the .NET OpenXML SDK does
    strings: str = "shared"  # "shared", "inline" (inlineStr cells) or "rich" (shared, in runs)
    refs: bool = True  # cells carry r= (node xlsx-stream leaves it out)
    date1904: bool = False  # Excel for Mac's old date system
    reversed_rows: bool = False  # data rows stored last to first
    reversed_header: bool = False  # the header row's cells stored right to left
    cell_style_xfs: bool = True  # node xlsx-stream writes cellStyles without cellStyleXfs
    calc_pr: bool = True
    table: bool = False  # a table (ListObject) over the leads
    merged: tuple[str, ...] = ()  # merged blocks on the leads tab (A1 ranges)
    wrap: tuple[str, ...] = ()  # leads headers whose <col> wraps text
    coloured: tuple[str, ...] = ()  # leads headers whose <col> has a fill
    summary: bool = False  # the 집계 tab, its COUNTIFs over 진행상황 cached as of the build


PRODUCERS: dict[str, Quirks] = {
    "excel": Quirks(
        table=True, wrap=("실패사유/비고",), coloured=("예비번호",), summary=True, merged=("O3:Q4",)
    ),
    "excel_mac_1904": Quirks(date1904=True, strings="rich", wrap=("실패사유/비고",)),
    "openxml_sdk": Quirks(prefix="x:", strings="inline", calc_pr=False, summary=True),
    "xlsx_stream": Quirks(strings="inline", refs=False, cell_style_xfs=False, calc_pr=False),
    "out_of_order": Quirks(reversed_rows=True, reversed_header=True, summary=True),
    "libreoffice": Quirks(coloured=("예비번호", "실패사유/비고"), merged=("O3:Q4",)),
}


def serial(value: datetime, date1904: bool) -> float:
    epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    return (value - epoch).total_seconds() / 86400


class _Strings:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.table: dict[str, int] = {}

    def cell(self, ref: str, text: str, style: str, p: str) -> str:
        if self.kind == "inline":
            t = f'<{p}is><{p}t xml:space="preserve">{escape(text)}</{p}t></{p}is>'
            return f'<{p}c{ref}{style} t="inlineStr">{t}</{p}c>'
        index = self.table.setdefault(text, len(self.table))
        return f'<{p}c{ref}{style} t="s"><{p}v>{index}</{p}v></{p}c>'

    def part(self, p: str) -> str:
        items = []
        for text in self.table:
            if self.kind == "rich" and len(text) > 1:
                half = len(text) // 2
                runs = (
                    f'<{p}r><{p}t xml:space="preserve">{escape(text[:half])}</{p}t></{p}r>'
                    f'<{p}r><{p}rPr><{p}b/></{p}rPr><{p}t xml:space="preserve">'
                    f"{escape(text[half:])}</{p}t></{p}r>"
                )
            else:
                runs = f'<{p}t xml:space="preserve">{escape(text)}</{p}t>'
            items.append(f"<{p}si>{runs}</{p}si>")
        count = len(self.table)
        return (
            f'<{p}sst xmlns{":" + p[:-1] if p else ""}="{MAIN}" count="{count}" '
            f'uniqueCount="{count}">{"".join(items)}</{p}sst>'
        )


def _cell(value: CellValue, row: int, col: int, style: int, q: Quirks, strings: _Strings) -> str:
    p = q.prefix
    ref = f' r="{get_column_letter(col + 1)}{row}"' if q.refs else ""
    if isinstance(value, datetime):
        style = DATE if style == DEFAULT else style
    s = f' s="{style}"' if style else ""
    if value is None:
        return f"<{p}c{ref}{s}/>" if not q.refs or style else ""
    if isinstance(value, str):
        return strings.cell(ref, value, s, p)
    number = serial(value, q.date1904) if isinstance(value, datetime) else value
    return f"<{p}c{ref}{s}><{p}v>{number!r}</{p}v></{p}c>"


def _sheet(
    rows: Sequence[Sequence[CellValue]],
    q: Quirks,
    strings: _Strings,
    leads: bool,
    formulas: Mapping[str, str] = {},
) -> str:
    p = q.prefix
    headers = [str(h) for h in rows[0]] if rows else []
    col_styles = {h: WRAP for h in q.wrap} | {h: COLOURED for h in q.coloured} if leads else {}
    styled = {headers.index(h): s for h, s in col_styles.items() if h in headers}
    out: list[str] = []
    for number, values in enumerate(rows, 1):
        cells = [
            formulas.get(f"{get_column_letter(c + 1)}{number}")
            or _cell(v, number, c, HEADER if number == 1 and leads else DEFAULT, q, strings)
            for c, v in enumerate(values)
        ]
        if number == 1 and q.reversed_header:
            cells.reverse()
        attrs = f' r="{number}"' if q.refs else ""
        if number == 1 and leads:
            attrs += f' s="{HEADER}" customFormat="1"'
        out.append(f"<{p}row{attrs}>{''.join(cells)}</{p}row>")
    if q.reversed_rows:
        out[1:] = reversed(out[1:])
    cols = "".join(
        f'<{p}col min="{c + 1}" max="{c + 1}" width="30" style="{s}" customWidth="1"/>'
        for c, s in sorted(styled.items())
    )
    width = max((len(r) for r in rows), default=1)
    parts = [
        f'<{p}worksheet xmlns{":" + p[:-1] if p else ""}="{MAIN}" xmlns:r="{RELS}">',
        f'<{p}dimension ref="A1:{get_column_letter(width)}{len(rows)}"/>',
        f"<{p}cols>{cols}</{p}cols>" if cols else "",
        f"<{p}sheetData>{''.join(out)}</{p}sheetData>",
    ]
    if leads and q.merged:
        merges = "".join(f'<{p}mergeCell ref="{m}"/>' for m in q.merged)
        parts.append(f'<{p}mergeCells count="{len(q.merged)}">{merges}</{p}mergeCells>')
    if leads and q.table:
        parts.append(f'<{p}tableParts count="1"><{p}tablePart r:id="rIdT"/></{p}tableParts>')
    parts.append(f"</{p}worksheet>")
    return "".join(parts)


def _summary(leads: Sequence[Sequence[CellValue]], q: Quirks) -> tuple[list[list[CellValue]], dict]:
    """The 집계 tab: each status in A, its COUNTIF over 진행상황 in B (the first a formula of
    its own, the others one shared formula)."""
    p = q.prefix
    column = list(leads[0]).index("진행상황")
    status = get_column_letter(column + 1)
    rows: list[list[CellValue]] = [[s, None] for s in COUNTED]
    formulas = {}
    for i, text in enumerate(COUNTED):
        n = i + 1
        cached = sum(1 for r in leads[1:] if column < len(r) and r[column] == text)
        ref = f' r="B{n}"' if q.refs else ""
        count = f"COUNTIF('이사 관리자'!${status}:${status},A{n})"
        if i == 0:  # a formula of its own
            f = f"<{p}f>{count}</{p}f>"
        elif i == 1:  # a shared formula, filled down
            f = f'<{p}f t="shared" ref="B2:B{len(COUNTED)}" si="0">{count}</{p}f>'
        else:
            f = f'<{p}f t="shared" si="0"/>'
        formulas[f"B{n}"] = f"<{p}c{ref}>{f}<{p}v>{cached}</{p}v></{p}c>"
    return rows, formulas


def _styles(q: Quirks) -> str:
    p = q.prefix
    xf = f'<{p}xf numFmtId="%s" fontId="%s" fillId="%s" borderId="0"%s%s>%s</{p}xf>'
    xf_id = ' xfId="0"' if q.cell_style_xfs else ""
    xfs = [
        xf % (0, 0, 0, xf_id, "", ""),
        xf % (164, 0, 0, xf_id, ' applyNumberFormat="1"', ""),
        xf
        % (0, 0, 0, xf_id, ' applyAlignment="1"', f'<{p}alignment vertical="top" wrapText="1"/>'),
        xf % (0, 1, 2, xf_id, ' applyFont="1" applyFill="1"', ""),
        xf % (0, 0, 2, xf_id, ' applyFill="1"', f'<{p}alignment vertical="top"/>'),
    ]
    style_xfs = (
        f'<{p}cellStyleXfs count="1"><{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f"</{p}cellStyleXfs>"
    )
    return "".join(
        [
            f'<{p}styleSheet xmlns{":" + p[:-1] if p else ""}="{MAIN}">',
            f'<{p}numFmts count="1"><{p}numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>',
            f"</{p}numFmts>",
            f'<{p}fonts count="2"><{p}font><{p}sz val="11"/><{p}name val="맑은 고딕"/></{p}font>',
            f'<{p}font><{p}b/><{p}sz val="11"/><{p}name val="맑은 고딕"/></{p}font></{p}fonts>',
            f'<{p}fills count="3"><{p}fill><{p}patternFill patternType="none"/></{p}fill>',
            f'<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>',
            f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="FFFFF2CC"/>',
            f"</{p}patternFill></{p}fill></{p}fills>",
            f'<{p}borders count="1"><{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/>',
            f"<{p}diagonal/></{p}border></{p}borders>",
            style_xfs if q.cell_style_xfs else "",
            f'<{p}cellXfs count="{len(xfs)}">{"".join(xfs)}</{p}cellXfs>',
            f'<{p}cellStyles count="1"><{p}cellStyle name="Normal" xfId="0" builtinId="0"/>',
            f"</{p}cellStyles></{p}styleSheet>",
        ]
    )


def _table(headers: Sequence[CellValue], height: int) -> str:
    ref = f"A1:{get_column_letter(len(headers))}{height}"
    columns = "".join(
        f'<tableColumn id="{i + 1}" name="{escape(str(h))}"/>' for i, h in enumerate(headers)
    )
    return (
        f'<table xmlns="{MAIN}" id="1" name="Leads" displayName="Leads" ref="{ref}" '
        f'totalsRowShown="0"><autoFilter ref="{ref}"/><tableColumns count="{len(headers)}">'
        f'{columns}</tableColumns><tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" '
        'showLastColumn="0" showRowStripes="1" showColumnStripes="0"/></table>'
    )


def build(path: Path, sheets: Mapping[str, Sequence[Sequence[CellValue]]], q: Quirks) -> Path:
    """Write `sheets` (title -> rows, the first the header row) as the producer `q` would;
    the first tab is the leads tab the quirks about merges, tables and columns apply to."""
    p = q.prefix
    strings = _Strings(q.strings)
    tabs = dict(sheets)
    formulas: dict[str, str] = {}
    leads_title = next(iter(tabs))
    if q.summary:
        tabs[SUMMARY], formulas = _summary(tabs[leads_title], q)
    files: dict[str, str] = {}
    overrides = [("/xl/workbook.xml", f"{TYPES}.sheet.main+xml")]
    sheet_elements, rels = [], []
    for i, (title, rows) in enumerate(tabs.items(), 1):
        leads = title == leads_title
        files[f"xl/worksheets/sheet{i}.xml"] = _sheet(
            rows, q, strings, leads, formulas if title == SUMMARY else {}
        )
        overrides.append((f"/xl/worksheets/sheet{i}.xml", f"{TYPES}.worksheet+xml"))
        sheet_elements.append(f'<{p}sheet name="{escape(title)}" sheetId="{i}" r:id="rId{i}"/>')
        rels.append((f"rId{i}", "worksheet", f"worksheets/sheet{i}.xml"))
        if leads and q.table:
            files["xl/tables/table1.xml"] = _table(rows[0], len(rows))
            overrides.append(("/xl/tables/table1.xml", f"{TYPES}.table+xml"))
            files[f"xl/worksheets/_rels/sheet{i}.xml.rels"] = (
                f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rIdT" '
                f'Type="{RELS}/table" Target="../tables/table1.xml"/></Relationships>'
            )
    files["xl/styles.xml"] = _styles(q)
    overrides.append(("/xl/styles.xml", f"{TYPES}.styles+xml"))
    rels.append(("rIdS", "styles", "styles.xml"))
    if strings.table:
        files["xl/sharedStrings.xml"] = strings.part(p)
        overrides.append(("/xl/sharedStrings.xml", f"{TYPES}.sharedStrings+xml"))
        rels.append(("rIdSS", "sharedStrings", "sharedStrings.xml"))
    ns = f'xmlns{":" + p[:-1] if p else ""}="{MAIN}" xmlns:r="{RELS}"'
    date1904 = ' date1904="1"' if q.date1904 else ""
    files["xl/workbook.xml"] = (
        f"<{p}workbook {ns}><{p}workbookPr{date1904}/>"
        f"<{p}bookViews><{p}workbookView/></{p}bookViews>"
        f"<{p}sheets>{''.join(sheet_elements)}</{p}sheets>"
        + (f'<{p}calcPr calcId="191029"/>' if q.calc_pr else "")
        + f"</{p}workbook>"
    )
    files["xl/_rels/workbook.xml.rels"] = (
        f'<Relationships xmlns="{PACKAGE_RELS}">'
        + "".join(
            f'<Relationship Id="{rid}" Type="{RELS}/{kind}" Target="{target}"/>'
            for rid, kind, target in rels
        )
        + "</Relationships>"
    )
    files["_rels/.rels"] = (
        f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" '
        f'Type="{RELS}/extended-properties" Target="docProps/app.xml"/></Relationships>'
    )
    # LibreOffice trusts the cached formula results of a file Excel saved (and recomputes
    # those of any other program's): every producer here says it is Excel, so a stale result
    # shows unless the workbook asks for a recalculation on open
    files["docProps/app.xml"] = (
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties"><Application>Microsoft Excel</Application>'
        "<AppVersion>16.0300</AppVersion></Properties>"
    )
    overrides.append(
        (
            "/docProps/app.xml",
            "application/vnd.openxmlformats-officedocument.extended-properties+xml",
        )
    )
    files["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in overrides)
        + "</Types>"
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    with ZipFile(path, "w", ZIP_DEFLATED) as z:
        for name in sorted(files, key=lambda n: (not n.startswith(("[", "_")), n)):
            z.writestr(name, head + files[name])
    return path
