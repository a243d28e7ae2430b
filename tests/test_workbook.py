"""The local .xlsx backend: what a desk manager sees in the file after `read` and `write`."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import warnings
import zipfile
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path

import openpyxl
import pytest
from filelock import FileLock
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from producers import PRODUCERS, build

from bot.errors import BadInput, MissingHeader, MissingTab, UserError
from bot.sheets import column_letter, column_number, workbook, xlsx
from bot.sheets.workbook import (
    CHANGED_SINCE_READ,
    WorkbookBackend,
    WorkbookBusy,
    create_workbook,
)
from rules.columns import TabSpec
from rules.model import CellValue, CellWrite, Snapshot
from rules.parse import fingerprint
from rules.settle import settle
from rules.values import cell_text

# Headers in the desk's own order, with a staff column and the 인입일↓ / 비고 spellings.
LEAD_HEADERS = ["연락처", "메모(직원)", "인입일↓", "진행상황", "비고", "고객명", "예비번호"]
LEAD_ROWS = [
    ["010-5373-4269", "VIP", datetime(2024, 12, 2, 15, 19), "상담요청", None, "김민수"],
    [1053734270, None, datetime(2024, 12, 3), "부재", "12.3 부재", "이지은", "010-1111-2222"],
    ["010-2000-1001", None, datetime(2024, 12, 4, 9, 30), "견적진행", "=고객 요청", "박서준"],
]
# OB 상세 keeps a title and a blank row above its headers (header row 3).
OB_TOP = [["OB 상세 — 12월"], []]
OB_HEADERS = ["고객 연락처", "OB 날짜", "상세내용", "담당 업체", "직원 메모"]
OB_ROWS: list[list[CellValue]] = [
    ["010-5373-4269", datetime(2024, 12, 3, 10, 0), "견적 안내", "한빛이사"],
    [],  # a blank row staff left between calls
    [1053734270, date(2024, 12, 4), "부재", None, "재통화"],
]
LEADS_XML = "xl/worksheets/sheet1.xml"  # create_workbook writes the tabs in order


def make_desk(path: Path, leads=None, headers=None) -> Path:
    create_workbook(
        path,
        {
            "이사 관리자": [headers or LEAD_HEADERS, *(leads or LEAD_ROWS)],
            "OB 상세": [*OB_TOP, OB_HEADERS, *OB_ROWS],
            "메모": [["직원 메모"], ["월요일 회의 10시"]],
        },
    )
    return path


def backend(path: Path, **options) -> WorkbookBackend:
    return WorkbookBackend(
        path, TabSpec("이사 관리자"), TabSpec("OB 상세", header_row=3), **options
    )


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    return make_desk(tmp_path / "desk.xlsx")


def change(snap: Snapshot, row: int, field: str, new: str, old: str | None = None) -> CellWrite:
    """A planned write of `field` on sheet row `row` of 이사 관리자, from `snap`."""
    tab = snap.leads_tab
    i = row - tab.header_row - 1
    if old is None:
        old = cell_text(tab.cell(i, field))
    return CellWrite("leads", row, tab.columns[field], field, old, new, fingerprint(tab, i), ("t",))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def count_formats(files: dict[str, bytes]) -> int:
    """How many cell formats (`cellXfs`) the styles part holds."""
    xfs = re.search(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", files["xl/styles.xml"], re.S)
    assert xfs is not None
    return len(re.findall(rb"<xf\b", xfs.group(1)))


def cells(path: Path, title: str) -> dict[str, object]:
    """Every non-empty cell of a tab as openpyxl (not the backend) sees it."""
    wb = openpyxl.load_workbook(path)
    return {
        c.coordinate: c.value for row in wb[title].iter_rows() for c in row if c.value is not None
    }


def slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every write go through openpyxl, as one to a sheet the patcher does not understand
    would."""

    def unsupported(self, rows):
        raise xlsx.Unsupported("test")

    monkeypatch.setattr(xlsx.SheetXml, "locate", unsupported)


def openpyxl_rows(path: Path, title: str, header_row: int = 1) -> list[tuple[CellValue, ...]]:
    """A tab's rows from its header row on as openpyxl's reader gives them, trailing empty
    cells and rows dropped, time-only and duration values as plain values: what the backend
    must read."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb[title]
    ws.reset_dimensions()  # a stored dimension can be wrong; read every row
    rows = []
    for values in ws.iter_rows(min_row=header_row, values_only=True):
        row = list(values)
        while row and row[-1] is None:
            row.pop()
        rows.append(tuple(xlsx.plain_value(v) for v in row))
    wb.close()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def assert_reads_as_openpyxl(snap: Snapshot, path: Path) -> None:
    for tab in (snap.leads_tab, snap.ob_tab):
        rows = openpyxl_rows(path, tab.title, tab.header_row)
        assert tab.headers == tuple(cell_text(v) for v in rows[0])
        assert tab.rows == tuple(rows[1:])


# --- reading ------------------------------------------------------------------------------------


def test_headers_are_found_by_name_in_any_order_and_rows_keep_their_sheet_row(desk):
    snap = backend(desk).read()

    leads = snap.leads_tab
    assert leads.title == "이사 관리자" and leads.header_row == 1
    assert leads.headers == tuple(LEAD_HEADERS)
    assert leads.columns == {
        "phone": 0,
        "intake_at": 2,
        "status": 3,
        "remarks": 4,
        "name": 5,
        "alt_phones": 6,
    }
    assert leads.sheet_row(0) == 2 and leads.cell(0, "name") == "김민수"
    assert leads.cell(2, "remarks") == "=고객 요청"  # text that starts with "=" is text

    ob = snap.ob_tab
    assert ob.header_row == 3
    assert ob.columns == {"phone": 0, "ob_date": 1, "detail": 2, "vendor": 3}
    assert ob.sheet_row(0) == 4 and ob.cell(0, "detail") == "견적 안내"
    assert ob.rows[1] == ()  # the blank sheet row 5 stays in place
    assert ob.sheet_row(2) == 6 and ob.cell(2, "detail") == "부재"

    assert snap.source == str(desk)
    assert snap.version == hashlib.sha256(desk.read_bytes()).hexdigest()
    assert snap.leads_tab.grid_columns is None


def test_header_names_from_the_config_are_accepted(tmp_path):
    headers = ["인입일시", "진행상황", "실패사유/비고", "휴대폰"]
    path = make_desk(tmp_path / "desk.xlsx", [[datetime(2024, 12, 2), "부재", "", "010"]], headers)
    leads = TabSpec("이사 관리자", aliases={"phone": ["휴대폰"]})

    snap = WorkbookBackend(path, leads, TabSpec("OB 상세", header_row=3)).read()

    assert snap.leads_tab.columns == {"intake_at": 0, "status": 1, "remarks": 2, "phone": 3}


def test_values_come_back_typed_dates_as_datetimes_and_phones_stored_as_numbers_as_numbers(desk):
    snap = backend(desk).read()

    assert snap.leads_tab.cell(0, "intake_at") == datetime(2024, 12, 2, 15, 19)
    assert snap.leads_tab.cell(1, "intake_at") == datetime(2024, 12, 3)
    assert snap.leads_tab.cell(1, "phone") == 1053734270  # the leading 0 is for parse to restore
    assert snap.ob_tab.cell(2, "ob_date") == datetime(2024, 12, 4)
    assert snap.ob_tab.cell(2, "phone") == 1053734270


def test_a_missing_required_header_names_the_sheet_the_header_and_what_was_found(tmp_path):
    headers = ["인입일", "상태", "비고", "연락처"]  # 진행상황 was renamed
    path = make_desk(tmp_path / "desk.xlsx", [[datetime(2024, 12, 2), "부재", "", "010"]], headers)
    before = path.read_bytes()

    with pytest.raises(MissingHeader) as e:
        backend(path).read()

    message = str(e.value)
    assert "'이사 관리자'" in message and "'진행상황'" in message
    assert "인입일, 상태, 비고, 연락처" in message
    assert str(path) in message
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["desk.xlsx"]


def test_a_missing_tab_names_the_tabs_that_exist(tmp_path):
    path = tmp_path / "desk.xlsx"
    create_workbook(path, {"리드": [LEAD_HEADERS], "OB 상세": [*OB_TOP, OB_HEADERS]})

    with pytest.raises(MissingTab) as e:
        backend(path).read()

    message = str(e.value)
    assert "no tab '이사 관리자'" in message
    assert "Tabs found: '리드', 'OB 상세'" in message
    assert str(path) in message and "sheets.leads.title" in message


def test_a_tab_title_with_stray_spaces_is_still_found(tmp_path):
    path = tmp_path / "desk.xlsx"
    create_workbook(path, {" 이사 관리자 ": [LEAD_HEADERS], "OB 상세": [*OB_TOP, OB_HEADERS]})

    assert backend(path).read().leads_tab.title == " 이사 관리자 "


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "does not exist"),
        (b"name,phone\n", "not a valid .xlsx file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-style .xls"),
        (b"PK\x03\x04broken", "not a valid .xlsx file"),
    ],
)
def test_a_file_that_is_no_workbook_is_a_clear_user_error(tmp_path, content, expected):
    path = tmp_path / "desk.xlsx"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(BadInput) as e:
        backend(path).read()

    assert expected in str(e.value) and str(path) in str(e.value)
    assert isinstance(e.value, UserError)  # exit 2, one paragraph, no traceback


def _cache_results(path: Path, results: dict[str, bytes]) -> None:
    """Store a formula's last result in its cell, as Excel and Google Sheets do on save
    (openpyxl, which wrote the file, leaves it empty)."""

    def cached(m: re.Match[bytes]) -> bytes:
        result = results[m.group(1).decode()]
        kind = b"" if re.fullmatch(rb"[-0-9.E]+", result) else b' t="str"'
        return b'<c r="%s"%s%s><f>%s</f><v>%s</v>' % (
            m.group(1),
            m.group(2),
            kind,
            m.group(3),
            result,
        )

    files = parts(path)
    refs = "|".join(results).encode()
    files[LEADS_XML] = re.sub(
        rb'<c r="(%s)"([^>]*)><f>(.*?)</f><v ?/>' % refs, cached, files[LEADS_XML]
    )
    _write_parts(path, files)


def test_time_only_and_formula_cells_read_as_a_person_would_see_them(tmp_path):
    path = tmp_path / "desk.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "이사 관리자"
    ws.append(["인입일", "진행상황", "비고", "연락처", "통화예정일", "담당자"])
    ws.append([datetime(2024, 12, 2, 15, 19), "부재", '=B2&" 확인"', "010", time_of_day(15, 19)])
    ws["F2"] = "=VLOOKUP(D2,담당!A:B,2,0)"
    wb.create_sheet("OB 상세").append(["OB 날짜", "고객 연락처", "상세내용"])
    wb.save(path)
    _cache_results(path, {"C2": "부재 확인".encode()})

    snap = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세")).read()

    assert snap.leads_tab.rows[0] == (
        datetime(2024, 12, 2, 15, 19),
        "부재",
        "부재 확인",  # a formula reads as its last result, as in Google Sheets
        "010",
        "15:19",
        # F2's formula was never computed: nothing to show
    )


def _varied_workbook(path: Path) -> None:
    """Every kind of cell the desk's files hold, written by openpyxl (inline strings)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one tab; the stubs allow None
    ws.title = "이사 관리자"
    ws.append(["인입일", "진행상황", "비고", "연락처", "금액", "확인", "합계"])
    ws.append([datetime(2024, 12, 2, 15, 19, 7), "부재", "a & b <c>\n둘째 줄", 1053734269, 2.5])
    ws.append([date(2024, 12, 3), " 견적진행 ", None, "010-1234-5678", 1_200_000, True, "=E3*2"])
    ws.append([])
    ws.append(["12.4", "#N/A", "", None, -3.25e-5, False, "=SUM(E2:E3)"])
    ws["H5"] = "추가"
    ws["B6"] = CellRichText(TextBlock(InlineFont(b=True), "굵게"), " 보통")
    ws["A7"] = datetime(1900, 1, 1, 12, 0)
    ws.merge_cells("C6:D7")
    ob = wb.create_sheet("OB 상세")
    ob.append(["OB 날짜", "고객 연락처", "상세내용"])
    ob.append([datetime(2024, 12, 3, 10, 0), "010-1234-5678", "견적 안내"])
    wb.save(path)
    _cache_results(path, {"G3": b"2400000", "G5": b"1200002.5"})


def _shared_strings(path: Path) -> None:
    """Store the text as Excel and Google Sheets do: in one shared-strings table."""
    inline = re.compile(
        rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="inlineStr"><is>(<t(?: xml:space="preserve")?>'
        rb"[^<]*</t>)</is></c>"
    )
    table: list[bytes] = []

    def shared(m: re.Match[bytes]) -> bytes:
        table.append(m.group(3))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (m.group(1), m.group(2) or b"", len(table) - 1)

    files = parts(path)
    for name in files:
        if name.startswith("xl/worksheets/"):
            files[name] = inline.sub(shared, files[name])
    ns = b"http://schemas.openxmlformats.org/"
    files["xl/sharedStrings.xml"] = (
        b'<sst xmlns="'
        + ns
        + b'spreadsheetml/2006/main">'
        + b"".join(b"<si>%s</si>" % t for t in table)
        + '<si><r><rPr><b/></rPr><t>굵게</t></r><r><t xml:space="preserve"> 보통</t></r>'.encode()
        + '<rPh sb="0" eb="1"><t>ふり</t></rPh></si></sst>'.encode()
    )
    files["[Content_Types].xml"] = files["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    files["xl/_rels/workbook.xml.rels"] = files["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="'
        + ns
        + b'officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    # a shared formula, as Excel writes a formula filled down
    sheet = files[LEADS_XML]
    sheet = sheet.replace(b"<f>E3*2</f>", b'<f t="shared" ref="G3:G5" si="0">E3*2</f>')
    sheet = sheet.replace(b"<f>SUM(E2:E3)</f><v>1200002.5", b'<f t="shared" si="0"/><v>-6.5E-5')
    # the rich text cell points at the last shared string
    rich = b'<c r="B6" t="s"><v>%d</v></c>' % len(table)
    sheet = re.sub(rb'<c r="B6"([^>]*) t="inlineStr">.*?</c>', rich, sheet, flags=re.S)
    files[LEADS_XML] = sheet
    _write_parts(path, files)


def _prefixed(path: Path) -> None:
    """Write the sheet XML with an `x:` namespace prefix, as some .NET producers do."""
    files = parts(path)
    sheet = re.sub(rb"<(/?)([A-Za-z])", rb"<\1x:\2", files[LEADS_XML])
    files[LEADS_XML] = sheet.replace(b'xmlns="', b'xmlns:x="', 1)
    _write_parts(path, files)


def _write_parts(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)


@pytest.mark.parametrize("variant", [None, _shared_strings, _prefixed])
def test_the_backend_reads_what_openpyxl_reads(tmp_path, variant):
    path = tmp_path / "desk.xlsx"
    _varied_workbook(path)
    if variant:
        variant(path)

    snap = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세")).read()

    assert_reads_as_openpyxl(snap, path)
    rows = snap.leads_tab.rows
    assert rows[0][:5] == (
        datetime(2024, 12, 2, 15, 19, 7),
        "부재",
        "a & b <c>\n둘째 줄",
        1053734269,
        2.5,
    )
    assert rows[1][:2] == (datetime(2024, 12, 3), " 견적진행 ")  # a date-only cell: a datetime
    assert rows[1][6] == 2400000  # a formula's last result
    assert rows[2] == ()
    assert rows[3][:2] == ("12.4", "#N/A")  # an error cell reads as the error it shows
    assert rows[3][6] == (-6.5e-5 if variant is _shared_strings else 1200002.5)
    assert rows[4][1] == "굵게 보통"


def test_a_tab_whose_cells_start_below_and_right_of_a1_keeps_its_rows_and_columns(tmp_path):
    path = tmp_path / "desk.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "이사 관리자"
    wb.active.append(["인입일", "진행상황", "비고", "연락처"])
    ob = wb.create_sheet("OB 상세")  # nothing in column A, nor above the header row 3
    for ref, value in {"B3": "OB 날짜", "C3": "고객 연락처", "D3": "상세내용"}.items():
        ob[ref] = value
    ob["B5"], ob["C5"], ob["D5"] = datetime(2024, 12, 3, 10, 0), "010-1234-5678", "견적 안내"
    wb.save(path)

    snap = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세", header_row=3)).read()

    assert snap.ob_tab.columns == {"ob_date": 1, "phone": 2, "detail": 3}
    assert snap.ob_tab.rows == (
        (),
        (None, datetime(2024, 12, 3, 10, 0), "010-1234-5678", "견적 안내"),
    )
    assert_reads_as_openpyxl(snap, path)


def test_sheet_xml_the_patcher_does_not_know_is_read_and_written_by_openpyxl(desk):
    files = parts(desk)
    files[LEADS_XML] = files[LEADS_XML].replace(b"<sheetData>", b"<sheetData><!-- staff -->")
    before = backend(desk).read()
    _write_parts(desk, files)

    with pytest.raises(xlsx.Unsupported):
        xlsx.SheetXml(files[LEADS_XML])
    after = backend(desk).read()
    result = backend(desk).write(after, [change(after, 2, "remarks", "12.4 OB")])

    assert after.leads_tab == before.leads_tab
    assert len(result.written) == 1
    assert cells(desk, "이사 관리자")["E2"] == "12.4 OB"


def test_rows_out_of_order_in_the_sheet_xml_are_written_in_place_to_the_right_row(
    desk, monkeypatch
):
    files = parts(desk)
    rows = re.findall(rb"<row\b.*?</row>", files[LEADS_XML], re.S)
    files[LEADS_XML] = files[LEADS_XML].replace(rows[2] + rows[3], rows[3] + rows[2])
    _write_parts(desk, files)
    snap = backend(desk).read()
    monkeypatch.setattr(WorkbookBackend, "_edit", None)  # the in-place writer copes alone

    result = backend(desk).write(snap, [change(snap, 3, "remarks", "12.4 OB")])

    assert len(result.written) == 1
    assert cells(desk, "이사 관리자")["E3"] == "12.4 OB"
    assert backend(desk).read().leads_tab.cell(1, "remarks") == "12.4 OB"


@pytest.mark.parametrize("variant", [None, _shared_strings, _prefixed])
def test_the_fast_writer_writes_what_openpyxl_then_reads(tmp_path, variant):
    path = tmp_path / "desk.xlsx"
    _varied_workbook(path)
    if variant:
        variant(path)
    one = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세"))
    snap = one.read()
    assert snap.leads_tab.used_width == 8  # H5 holds staff text under no header
    writes = [
        CellWrite("leads", 1, 8, "bot_note", "", "봇 확인", "", ("bot.note",)),
        change(snap, 2, "remarks", "a & b <c>\n둘째 줄\n12.4 OB"),
        CellWrite("leads", 2, 8, "bot_note", "", "=확인", fingerprint(snap.leads_tab, 0), ("n",)),
        change(snap, 5, "status", "부재"),  # over an error cell
    ]

    result = one.write(snap, writes)

    assert result.written == tuple(writes)
    ws = openpyxl.load_workbook(path)["이사 관리자"]
    assert [ws[c].value for c in ("I1", "C2", "I2", "B5")] == [
        "봇 확인",
        "a & b <c>\n둘째 줄\n12.4 OB",
        "=확인",
        "부재",
    ]
    assert ws["G3"].value == "=E3*2"
    assert [r.coord for r in ws.merged_cells.ranges] == ["C6:D7"]
    after = one.read()
    assert after.leads_tab.rows[1][6] == 2400000  # formulas keep their results
    assert_reads_as_openpyxl(after, path)


# --- writing ------------------------------------------------------------------------------------


def test_a_write_lands_only_the_cells_it_was_given(desk):
    snap = backend(desk).read()
    before_cells = cells(desk, "이사 관리자")
    before_parts = parts(desk)
    writes = [
        change(snap, 2, "status", "견적진행"),
        change(snap, 3, "remarks", "12.3 부재\n12.4 OB 부재"),
        change(snap, 3, "alt_phones", "010-1111-2222\n010-3333-4444"),
    ]

    result = backend(desk).write(snap, writes)

    assert result.written == tuple(writes) and result.skipped == ()
    after = cells(desk, "이사 관리자")
    assert after == {
        **before_cells,
        "D2": "견적진행",
        "E3": "12.3 부재\n12.4 OB 부재",
        "G3": "010-1111-2222\n010-3333-4444",
    }
    after_parts = parts(desk)
    assert list(after_parts) == list(before_parts)
    # the other tabs, the workbook itself (openpyxl's file already asks for a recalculation on
    # open), every other part: byte for byte as they were; the styles gained one format, the
    # two cells' own but wrapping
    touched = (LEADS_XML, "xl/styles.xml")
    assert {n: b for n, b in after_parts.items() if n not in touched} == {
        n: b for n, b in before_parts.items() if n not in touched
    }
    ws = openpyxl.load_workbook(desk)["이사 관리자"]
    assert ws["E3"].alignment.wrap_text and ws["G3"].alignment.wrap_text
    assert not ws["D2"].alignment.wrap_text
    assert count_formats(after_parts) == count_formats(before_parts) + 1
    reread = backend(desk).read()
    assert reread.leads_tab.cell(0, "status") == "견적진행"
    assert reread.ob_tab == snap.ob_tab


def test_text_that_starts_with_equals_is_written_as_text_not_a_formula(desk):
    snap = backend(desk).read()
    writes = [change(snap, 2, "remarks", "=SUM(A1:A3)"), change(snap, 3, "status", "#N/A")]

    backend(desk).write(snap, writes)

    ws = openpyxl.load_workbook(desk)["이사 관리자"]
    assert (ws["E2"].value, ws["E2"].data_type) == ("=SUM(A1:A3)", "s")
    assert (ws["D3"].value, ws["D3"].data_type) == ("#N/A", "s")
    xml = parts(desk)[LEADS_XML]
    e2 = re.search(rb'<c r="E2".*?</c>', xml, re.S)
    assert e2 is not None and b"<f" not in e2.group(0)
    assert backend(desk).read().leads_tab.cell(0, "remarks") == "=SUM(A1:A3)"


def test_text_with_markup_line_breaks_and_escapes_reads_back_as_written(desk):
    snap = backend(desk).read()
    text = "a & b <c> \"q\" 's'\r\n둘째 줄\t탭 _x0041_ 끝 "

    backend(desk).write(snap, [change(snap, 2, "remarks", text)])

    assert backend(desk).read().leads_tab.cell(0, "remarks") == text


def test_a_staff_edit_after_the_read_refuses_every_write_and_keeps_the_file(desk):
    snap = backend(desk).read()
    wb = openpyxl.load_workbook(desk)
    wb["이사 관리자"]["E2"] = "직원이 방금 쓴 메모"  # a person saves the file meanwhile
    wb.save(desk)
    staff_version = desk.read_bytes()
    writes = [change(snap, 2, "status", "견적진행"), change(snap, 4, "status", "종결(중복)")]

    result = backend(desk).write(snap, writes)

    assert result.written == ()
    assert [(s.write, s.reason) for s in result.skipped] == [
        (w, CHANGED_SINCE_READ) for w in writes
    ]
    assert desk.read_bytes() == staff_version


def test_a_row_whose_cell_no_longer_holds_the_planned_from_value_is_skipped_whole(desk):
    snap = backend(desk).read()
    stale = [
        change(snap, 2, "status", "종결(중복)", old="견적진행"),  # the sheet says 상담요청
        change(snap, 2, "remarks", "중복: 최초 접수 12.1"),
    ]
    fine = change(snap, 3, "status", "견적진행")

    result = backend(desk).write(snap, [*stale, fine])

    assert result.written == (fine,)
    assert {(s.write.row, s.reason) for s in result.skipped} == {
        (2, "읽은 뒤 직원이 셀을 수정함 (진행상황)")
    }
    reread = backend(desk).read().leads_tab
    assert (reread.cell(0, "status"), reread.cell(0, "remarks")) == ("상담요청", None)
    assert reread.cell(1, "status") == "견적진행"


def test_settle_finds_a_row_staff_moved_by_its_fingerprint_in_tabs_read_from_workbooks(tmp_path):
    # The workbook backend refuses a file that changed since the read, so a moved row never
    # reaches its settle; this checks settle on tabs as this backend reads them.
    planned = backend(make_desk(tmp_path / "a.xlsx")).read()
    inserted = [["010-9999-0000", None, datetime(2024, 12, 5, 11, 0), "", None, "새 고객"]]
    moved = backend(make_desk(tmp_path / "b.xlsx", inserted + LEAD_ROWS)).read()
    writes = [change(planned, 3, "status", "견적진행"), change(planned, 3, "remarks", "메모")]

    landing, skipped = settle(writes, {"leads": moved.leads_tab, "ob": moved.ob_tab})

    assert [(w.row, w.field) for w in landing] == [(4, "status"), (4, "remarks")]
    assert skipped == []


@pytest.mark.parametrize("fast", [True, False])
def test_a_new_bot_note_column_gets_its_header_after_the_last_used_column(
    tmp_path, monkeypatch, fast
):
    path = tmp_path / "desk.xlsx"
    make_desk(path)
    wb = openpyxl.load_workbook(path)
    for cell in wb["이사 관리자"][1]:
        cell.font = Font(bold=True)
    wb.save(path)
    if not fast:
        slow(monkeypatch)
    snap = backend(path).read()
    column = snap.leads_tab.used_width
    assert column == 7 and "bot_note" not in snap.leads_tab.columns
    header = CellWrite("leads", 1, column, "bot_note", "", "봇 확인", "", ("bot.note",))
    fp = fingerprint(snap.leads_tab, 1)
    note = CellWrite("leads", 3, column, "bot_note", "", "번호 확인", fp, ("bot.note",))

    result = backend(path).write(snap, [header, note])

    assert result.written == (header, note)
    after = backend(path).read().leads_tab
    assert after.columns["bot_note"] == 7 and after.headers[7] == "봇 확인"
    assert after.cell(1, "bot_note") == "번호 확인"
    ws = openpyxl.load_workbook(path)["이사 관리자"]
    assert ws["H1"].font.bold  # looks like the headers next to it
    assert ws.column_dimensions["H"].width == 40


@pytest.mark.parametrize("fast", [True, False])
def test_the_autofilter_is_extended_over_a_new_bot_note_column(tmp_path, monkeypatch, fast):
    path = tmp_path / "desk.xlsx"
    make_desk(path)
    wb = openpyxl.load_workbook(path)
    wb["이사 관리자"].auto_filter.ref = "A1:G4"  # staff filter every column they use
    wb.save(path)
    if not fast:
        slow(monkeypatch)
    snap = backend(path).read()
    header = CellWrite("leads", 1, 7, "bot_note", "", "봇 확인", "", ("bot.note",))

    backend(path).write(snap, [header])

    assert openpyxl.load_workbook(path)["이사 관리자"].auto_filter.ref == "A1:H4"


def test_a_bot_note_header_over_a_column_staff_use_is_refused_with_its_notes(desk):
    snap = backend(desk).read()  # a plan putting 봇 확인 over 고객명 (column F), full of names
    header = CellWrite("leads", 1, 5, "bot_note", "고객명", "봇 확인", "", ("bot.note",))
    fp = fingerprint(snap.leads_tab, 1)
    note = CellWrite("leads", 3, 5, "bot_note", "이지은", "번호 확인", fp, ("bot.note",))
    before = desk.read_bytes()

    result = backend(desk).write(snap, [header, note])

    assert result.written == ()
    assert {s.reason for s in result.skipped} == {"봇 확인 열을 만들 자리에 이미 값이 있음"}
    assert desk.read_bytes() == before


def test_a_write_to_a_column_that_does_not_hold_its_field_is_refused(desk):
    snap = backend(desk).read()
    wrong = CellWrite(
        "leads", 2, 1, "remarks", "VIP", "메모", fingerprint(snap.leads_tab, 0), ("t",)
    )

    result = backend(desk).write(snap, [wrong])

    assert [s.reason for s in result.skipped] == [
        "열 위치가 계획과 다름 (비고) — 다음 실행에서 다시 시도"
    ]


def test_clearing_a_bot_note_empties_the_cell(tmp_path):
    leads = [[*LEAD_ROWS[0], None, "번호 확인"]]
    path = make_desk(tmp_path / "desk.xlsx", leads, [*LEAD_HEADERS, "봇 확인"])
    snap = backend(path).read()

    result = backend(path).write(snap, [change(snap, 2, "bot_note", "")])

    assert len(result.written) == 1
    assert backend(path).read().leads_tab.cell(0, "bot_note") is None
    assert "H2" not in cells(path, "이사 관리자")


def _formula_and_merged_desk(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one tab; the stubs allow None
    ws.title = "이사 관리자"
    ws.append(["인입일", "진행상황", "비고", "연락처"])
    ws.append([datetime(2024, 12, 2, 9, 0), "부재", '=B2&" 재통화"', "010-1000-0001"])
    ws.append([datetime(2024, 12, 2, 10, 0), "부재", "메모", "010-1000-0002"])
    ws.append([datetime(2024, 12, 2, 11, 0), "부재", None, "010-1000-0003"])
    ws.merge_cells("C3:C4")
    wb.create_sheet("OB 상세").append(["OB 날짜", "고객 연락처", "상세내용"])
    wb.save(path)


@pytest.mark.parametrize("fast", [True, False])
def test_the_bot_never_writes_over_a_formula_or_into_a_merged_cell(tmp_path, monkeypatch, fast):
    path = tmp_path / "desk.xlsx"
    _formula_and_merged_desk(path)
    if not fast:
        slow(monkeypatch)
    one = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세"))
    snap = one.read()
    before = path.read_bytes()
    formula = change(snap, 2, "remarks", '=B2&" 재통화"\n12.4 OB')
    merged = change(snap, 4, "remarks", "12.4 OB")

    result = one.write(snap, [formula, merged])

    assert result.written == ()
    assert {(s.write.row, s.reason) for s in result.skipped} == {
        (2, "셀에 수식이 있어 봇이 덮어쓰지 않음"),
        (4, "병합된 셀이라 쓸 수 없음"),
    }
    assert path.read_bytes() == before  # nothing landed, so the file was not rewritten


def test_a_sheet_the_fast_writer_does_not_know_is_written_by_openpyxl(desk, monkeypatch):
    slow(monkeypatch)
    snap = backend(desk).read()

    result = backend(desk).write(snap, [change(snap, 2, "remarks", "=메모")])

    assert len(result.written) == 1
    ws = openpyxl.load_workbook(desk)["이사 관리자"]
    assert (ws["E2"].value, ws["E2"].data_type) == ("=메모", "s")
    assert openpyxl.load_workbook(desk)["메모"]["A2"].value == "월요일 회의 10시"


def test_the_file_is_replaced_atomically_keeping_its_permissions_and_leaving_no_temp_file(desk):
    desk.chmod(0o640)
    inode = desk.stat().st_ino
    snap = backend(desk).read()

    backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])

    assert desk.stat().st_ino != inode  # a new file renamed over the old one
    assert desk.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(desk.parent)) == ["desk.xlsx", "desk.xlsx.lock"]


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp_file(desk, monkeypatch):
    snap = backend(desk).read()
    before = desk.read_bytes()

    def disk_full(data, replaced, out):
        out.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workbook, "rezip", disk_full)
    with pytest.raises(OSError):
        backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])

    assert desk.read_bytes() == before
    assert sorted(os.listdir(desk.parent)) == ["desk.xlsx", "desk.xlsx.lock"]


def test_a_workbook_locked_by_another_run_is_reported_busy_and_left_alone(desk):
    snap = backend(desk).read()
    before = desk.read_bytes()
    other_run = FileLock(desk.parent / "desk.xlsx.lock")
    other_run.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(WorkbookBusy) as e:
            backend(desk, lock_timeout=0.2).write(snap, [change(snap, 2, "status", "견적진행")])
        waited = time.monotonic() - started
    finally:
        other_run.release()

    assert f"Workbook {desk} is busy" in str(e.value) and "Nothing was written" in str(e.value)
    assert isinstance(e.value, UserError)
    assert 0.2 <= waited < 2
    assert desk.read_bytes() == before
    # once the other run is done, the same write goes through
    assert len(backend(desk).write(snap, [change(snap, 2, "status", "견적진행")]).written) == 1


def test_reading_and_an_empty_write_touch_nothing(desk):
    before = desk.read_bytes()
    snap = backend(desk).read()

    assert backend(desk).write(snap, []).written == ()

    assert desk.read_bytes() == before
    assert sorted(os.listdir(desk.parent)) == ["desk.xlsx"]


def test_a_second_write_reads_what_the_first_wrote(desk):
    one = backend(desk)
    first = one.read()
    one.write(first, [change(first, 2, "status", "견적진행")])
    second = one.read()

    assert second.version != first.version
    result = one.write(second, [change(second, 2, "remarks", "12.4 OB 견적 안내")])

    assert len(result.written) == 1
    after = one.read().leads_tab
    assert (after.cell(0, "status"), after.cell(0, "remarks")) == ("견적진행", "12.4 OB 견적 안내")


# --- creating workbooks -------------------------------------------------------------------------


def test_create_workbook_stores_dates_with_a_date_format_and_equals_text_as_text(tmp_path):
    path = tmp_path / "new.xlsx"
    create_workbook(
        path,
        {
            "이사 관리자": [
                ["인입일", "이사예정일", "비고", "긴 주소"],
                [datetime(2024, 12, 2, 15, 19), date(2024, 12, 20), "=SUM(A1)", "서울" * 20],
            ]
        },
    )

    ws = openpyxl.load_workbook(path)["이사 관리자"]
    assert (ws["A2"].value, ws["A2"].number_format) == (
        datetime(2024, 12, 2, 15, 19),
        "yyyy-mm-dd hh:mm",
    )
    assert (ws["B2"].value, ws["B2"].number_format) == (datetime(2024, 12, 20), "yyyy-mm-dd")
    assert (ws["C2"].value, ws["C2"].data_type) == ("=SUM(A1)", "s")
    assert ws.column_dimensions["D"].width == 60  # wide, within reason


@pytest.mark.parametrize("owner", ["~$desk.xlsx", "~$sk.xlsx", ".~lock.desk.xlsx#"])
def test_a_workbook_open_in_excel_or_libreoffice_is_not_written(desk, owner):
    from bot.sheets.workbook import WorkbookOpen

    snap = backend(desk).read()
    (desk.parent / owner).write_bytes(b"someone")
    before = desk.read_bytes()
    with pytest.raises(WorkbookOpen, match="Close the file"):
        backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])
    assert desk.read_bytes() == before


# --- the optional vendor list ------------------------------------------------------------------


def test_the_vendor_list_tab_is_read_when_the_workbook_has_it(tmp_path):
    path = tmp_path / "desk.xlsx"
    create_workbook(
        path,
        {
            "이사 관리자": [LEAD_HEADERS, *LEAD_ROWS],
            "OB 상세": [*OB_TOP, OB_HEADERS, *OB_ROWS],
            "장기고객 업체 리스트": [
                ["업체명", "메모", "기존 영업지역", "영업 외 지역"],
                ["한결이사", "", "서울 강남구, 서울 서초구", "경기 성남시"],
            ],
        },
    )
    asked = backend(path, vendors=TabSpec("장기고객 업체 리스트")).read()
    assert asked.vendors_tab is not None
    assert asked.vendors_tab.columns == {"name": 0, "regular_areas": 2, "outside_areas": 3}
    assert asked.vendors_tab.rows == (
        ("한결이사", None, "서울 강남구, 서울 서초구", "경기 성남시"),
    )
    assert backend(path).read().vendors_tab is None  # not asked for: not read


def test_a_workbook_without_the_vendor_list_reads_as_before(desk):
    assert backend(desk, vendors=TabSpec("장기고객 업체 리스트")).read().vendors_tab is None


# --- read-only workbooks, owners, libraries' output ---------------------------------------------


def test_a_read_only_workbook_is_refused_naming_the_file_and_left_as_it_is(desk):
    snap = backend(desk).read()
    desk.chmod(0o444)
    before = desk.read_bytes()

    with pytest.raises(UserError) as e:
        backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])

    assert str(desk) in str(e.value) and "the file is read-only" in str(e.value)
    assert "Nothing was written" in str(e.value)
    assert desk.read_bytes() == before and desk.stat().st_mode & 0o777 == 0o444
    assert sorted(os.listdir(desk.parent)) == ["desk.xlsx"]


@pytest.mark.skipif(not hasattr(os, "chown") or os.geteuid() != 0, reason="needs root to chown")
def test_a_replaced_workbook_keeps_its_owner_and_group(desk):
    os.chown(desk, 4242, 4343)
    snap = backend(desk).read()

    backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])

    assert (desk.stat().st_uid, desk.stat().st_gid) == (4242, 4343)


def test_what_openpyxl_prints_while_loading_goes_to_stderr_not_stdout(desk, monkeypatch, capfd):
    slow(monkeypatch)
    real_load = openpyxl.load_workbook

    def chatty_load(*args, **kwargs):
        print("0 is out of range")  # as openpyxl does for a style it cannot find
        os.write(1, b"from native code\n")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", chatty_load)
    snap = backend(desk).read()
    capfd.readouterr()

    backend(desk).write(snap, [change(snap, 2, "status", "견적진행")])

    out, err = capfd.readouterr()
    assert "out of range" not in out and "native" not in out
    assert "0 is out of range" in err and "from native code" in err


@pytest.mark.parametrize("fast", [True, False])
def test_a_new_cell_takes_its_columns_look_and_a_note_of_several_lines_wraps(
    tmp_path, monkeypatch, fast
):
    path = make_desk(tmp_path / "desk.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["이사 관리자"]
    ws.column_dimensions["E"].fill = PatternFill("solid", fgColor="FFFFF2CC")  # 비고, coloured
    ws.column_dimensions["G"].alignment = Alignment(wrap_text=True)  # 예비번호, wrapping
    wb.save(path)
    if not fast:
        slow(monkeypatch)
    snap = backend(path).read()
    writes = [
        change(snap, 2, "remarks", "12.4 OB 부재\n12.5 재통화"),  # E2 was empty
        change(snap, 2, "alt_phones", "010-3333-4444"),  # G2 was empty
        change(snap, 3, "status", "견적진행"),
    ]

    backend(path).write(snap, writes)

    ws = openpyxl.load_workbook(path)["이사 관리자"]
    assert ws["E2"].fill.fgColor.rgb == "FFFFF2CC" and ws["E2"].alignment.wrap_text
    assert ws["G2"].alignment.wrap_text
    assert not ws["D3"].alignment.wrap_text and ws["D3"].fill.fgColor.rgb != "FFFFF2CC"


def test_an_error_cell_stored_without_its_reference_reads_as_the_error_it_shows(desk):
    files = parts(desk)
    row = re.search(rb'<row r="3".*?</row>', files[LEADS_XML], re.S)
    assert row is not None
    streamed = re.sub(rb' r="[D-G]3"', b"", row.group(0))  # C3 keeps its r=, D3 on follow it
    streamed = re.sub(rb'<c( t="\w+")?>.*?</c>', b'<c t="e"><v>#N/A</v></c>', streamed, count=1)
    files[LEADS_XML] = files[LEADS_XML].replace(row.group(0), streamed)
    _write_parts(desk, files)

    tab = backend(desk).read().leads_tab

    assert tab.rows[1][2:5] == (datetime(2024, 12, 3), "#N/A", "12.3 부재")


# --- finding the tabs in the package ------------------------------------------------------

_SHEET_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_RELS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _relative_targets(files: dict[str, bytes]) -> None:
    """Targets relative to the workbook part (openpyxl writes `/xl/worksheets/...`)."""
    rels = files["xl/_rels/workbook.xml.rels"]
    files["xl/_rels/workbook.xml.rels"] = rels.replace(b'Target="/xl/', b'Target="../xl/')


def _workbook_type_only_as_default(files: dict[str, bytes]) -> None:
    types = re.sub(rb'<Override PartName="/xl/workbook.xml"[^>]*/>', b"", files[TYPES_XML])
    default = b'<Default Extension="xml" ContentType="%s"/>' % _SHEET_TYPE
    files[TYPES_XML] = re.sub(rb'<Default Extension="xml"[^>]*/>', default, types)


def _chart_tab(files: dict[str, bytes]) -> None:
    """A chart tab (차트) after the two tabs."""
    files["xl/chartsheets/sheet1.xml"] = b'<chartsheet xmlns="%s"/>' % MAIN_NS
    files["xl/_rels/workbook.xml.rels"] = files["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdC" Type="%s/chartsheet" Target="chartsheets/sheet1.xml"/>'
        b"</Relationships>" % _RELS,
    )
    files["xl/workbook.xml"] = files["xl/workbook.xml"].replace(
        b"</sheets>", '<sheet name="차트" sheetId="7" r:id="rIdC"/></sheets>'.encode()
    )


def _more_tabs(files: dict[str, bytes]) -> None:
    """A chart tab, a tab whose part is missing and a tab without r:id, after the two tabs."""
    _chart_tab(files)
    files["xl/_rels/workbook.xml.rels"] = files["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdM" Type="%s/worksheet" Target="worksheets/gone.xml"/>'
        b"</Relationships>" % _RELS,
    )
    files["xl/workbook.xml"] = files["xl/workbook.xml"].replace(
        b"</sheets>",
        '<sheet name="없음" sheetId="8" r:id="rIdM"/><sheet name="번호 없음" sheetId="9"/>'
        "</sheets>".encode(),
    )


TYPES_XML = "[Content_Types].xml"


def _openpyxl_finds(data: bytes) -> tuple[str, str | None, list[str], dict[str, str]]:
    """The workbook part, styles part, tab titles and worksheet parts as openpyxl's package
    reader finds them (what `xlsx.Package` used before it stopped importing openpyxl)."""
    reader = ExcelReader(io.BytesIO(data), read_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader.read_manifest()
        reader.read_workbook()
        sheets = list(reader.parser.find_sheets())
    rels = reader.parser.rels.values()  # type: ignore[attr-defined]  # a dict; stubs: a list
    styles = [r.target for r in rels if r.Type.endswith("/styles")]
    names = set(reader.valid_files)
    found = [(sheet.name, rel) for sheet, rel in sheets if rel.target in names]
    parts = {title: rel.target for title, rel in found if "chartsheet" not in rel.Type}
    titles = [title for title, _ in found]
    return reader.parser.workbook_part_name, styles[0] if styles else None, titles, parts


def assert_finds_as_openpyxl(data: bytes) -> xlsx.Package:
    package = xlsx.Package(data)
    found = (package.workbook_part, package.styles_part, package.titles, package.parts)
    assert found == _openpyxl_finds(data)
    return package


@pytest.mark.parametrize(
    "variant", [None, _relative_targets, _workbook_type_only_as_default, _more_tabs]
)
def test_the_package_finds_the_tabs_where_openpyxl_finds_them(tmp_path, variant):
    path = tmp_path / "desk.xlsx"
    _varied_workbook(path)
    files = parts(path)
    if variant:
        variant(files)
        _write_parts(path, files)

    package = assert_finds_as_openpyxl(path.read_bytes())

    assert package.parts["이사 관리자"] == LEADS_XML


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_the_package_finds_each_producers_tabs_where_openpyxl_finds_them(tmp_path, name):
    sheets = {"이사 관리자": [LEAD_HEADERS, ["010-1234-5678"]], "OB 상세": [OB_HEADERS]}
    path = build(tmp_path / "desk.xlsx", sheets, PRODUCERS[name])

    package = assert_finds_as_openpyxl(path.read_bytes())

    assert package.titles[:2] == ["이사 관리자", "OB 상세"]


def test_a_chart_tab_named_as_the_leads_tab_is_a_clear_user_error(tmp_path):
    path = tmp_path / "desk.xlsx"
    _varied_workbook(path)
    files = parts(path)
    _chart_tab(files)
    files["xl/workbook.xml"] = (
        files["xl/workbook.xml"]
        .replace("이사 관리자".encode(), "리드".encode())
        .replace("차트".encode(), "이사 관리자".encode())
    )
    _write_parts(path, files)

    with pytest.raises(MissingTab) as e:
        WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세")).read()

    assert "tab '이사 관리자' is a chart, not a sheet of rows" in str(e.value)


def test_column_letters_are_openpyxls_for_every_column_excel_has():
    for number in range(1, 16_385):
        letters = column_letter(number)
        assert letters == get_column_letter(number)
        assert column_number(letters) == column_index_from_string(letters) == number
