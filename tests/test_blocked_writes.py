"""RULES.md `write.blocked`: a write the bot may not make is shown in 봇 확인, never retried."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook

from bot.cli import main

NOW = "2024-12-04T18:00:00+09:00"
LATER = "2024-12-04T19:00:00+09:00"


def _desk(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.worksheets[0]
    ws.title = "이사 관리자"
    ws.append(["인입일", "진행상황", "비고", "연락처"])
    ws.append([datetime(2024, 12, 2, 9, 0), "견적 진행", "메모", "010-2000-0001"])
    ws.append([datetime(2024, 12, 2, 10, 0), "견적진행", None, "010-2000-0002"])
    ws.append([datetime(2024, 12, 2, 11, 0), '=IF(1,"견적 진행","")', None, "010-2000-0003"])
    ws.merge_cells("C2:C3")  # staff merged row 3's 비고 into row 2's
    ob = wb.create_sheet("OB 상세")
    ob.append(["OB 날짜", "고객 연락처", "상세내용"])
    ob.append([datetime(2024, 12, 3), "010-2000-0002", "재통화 요청"])
    wb.save(path)
    # openpyxl saves no cached result; give the formula the one Excel would have saved
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = (
        parts[sheet]
        .replace(b'<c r="B4"><f>', b'<c r="B4" t="str"><f>')
        .replace(b"</f><v />", "</f><v>견적 진행</v>".encode())
    )
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def _run(capsys, book: Path, now: str) -> dict:
    code = main(["reconcile", "--workbook", str(book), "--now", now, "--apply", "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _bot_notes(book: Path) -> dict[int, str]:
    ws = openpyxl.load_workbook(book)["이사 관리자"]
    col = [c.value for c in ws[1]].index("봇 확인") + 1
    return {r: str(ws.cell(row=r, column=col).value or "") for r in range(2, ws.max_row + 1)}


def test_a_merged_remarks_and_a_formula_status_are_shown_in_the_bot_note_not_retried(
    tmp_path, capsys
):
    book = _desk(tmp_path / "desk.xlsx")

    first = _run(capsys, book, NOW)

    notes = _bot_notes(book)
    assert "비고가 병합된 셀이라 봇이 쓸 수 없음" in notes[3]
    assert "12.3 OB 재통화 요청" in notes[3]
    assert "진행상황이 수식이 든 셀이라 봇이 쓸 수 없음" in notes[4]
    ws = openpyxl.load_workbook(book)["이사 관리자"]
    assert ws["B4"].value == '=IF(1,"견적 진행","")'  # the formula stays
    assert ws["B2"].value == "견적진행"  # the row that may be written is
    assert first["skipped"] == []

    second = _run(capsys, book, LATER)

    assert second["changes"] == [] and second["skipped"] == []  # nothing planned nor retried
    assert {f["rule"] for f in second["findings"]} >= {"write.blocked"}


def _desk_with_text(path: Path, remarks: dict[int, str]) -> Path:
    """A desk whose rows 2-4 each have an OB 재통화 요청 to append to 비고; `remarks` puts raw
    sheet XML text (`_x000B_` is a vertical tab) in the given rows' 비고."""
    wb = openpyxl.Workbook()
    ws = wb.worksheets[0]
    ws.title = "이사 관리자"
    ws.append(["인입일", "진행상황", "비고", "연락처"])
    ob = wb.create_sheet("OB 상세")
    ob.append(["OB 날짜", "고객 연락처", "상세내용"])
    for row in (2, 3, 4):
        phone = f"010-2000-000{row}"
        ws.append([datetime(2024, 12, 2, row, 0), "견적진행", f"PLACE{row}", phone])
        ob.append([datetime(2024, 12, 3), phone, "재통화 요청"])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        for row in (2, 3, 4):
            data = data.replace(f"PLACE{row}".encode(), remarks.get(row, "메모").encode())
        parts[name] = data
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_a_control_character_or_a_full_cell_is_a_finding_on_its_row_and_the_rest_lands(
    tmp_path, capsys
):
    book = _desk_with_text(tmp_path / "desk.xlsx", {2: "고객 메모_x000B_다음 줄", 4: "가" * 32_760})

    first = _run(capsys, book, NOW)

    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("이사 관리자").to_python()
    assert rows[2][2] == "메모\n12.3 OB 재통화 요청"  # the clean row is written
    assert rows[1][2] == "고객 메모\x0b다음 줄" and rows[3][2] == "가" * 32_760  # left alone
    notes = _bot_notes(book)
    assert "쓸 수 없는 글자" in notes[2]
    assert "글자 수 한도" in notes[4]
    assert not any(ch in notes[2] for ch in "\x0b")
    assert first["skipped"] == []

    second = _run(capsys, book, LATER)

    assert second["changes"] == [] and second["skipped"] == []  # nothing held back, ever


def test_a_report_and_its_json_print_half_an_emoji_a_cell_holds(book, capsys, monkeypatch):
    from dataclasses import replace

    from bot.sheets.workbook import WorkbookBackend

    read = WorkbookBackend.read

    def read_with_half_an_emoji(self):  # as the Google backend can read a cell
        snap = read(self)
        tab = snap.leads_tab
        first = (*tab.rows[0][:2], "견적\ud83d진행", *tab.rows[0][3:])
        return replace(snap, leads_tab=replace(tab, rows=(first, *tab.rows[1:])))

    monkeypatch.setattr(WorkbookBackend, "read", read_with_half_an_emoji)

    assert main(["reconcile", "--workbook", str(book), "--now", NOW, "--json"]) == 0
    out = capsys.readouterr().out
    assert "\\ud83d" in out  # the half emoji, as JSON writes it
    json.loads(out)  # valid JSON
    assert main(["reconcile", "--workbook", str(book), "--now", NOW]) == 0
