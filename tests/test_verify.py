"""Which planned writes may land once staff have worked in the sheet (rules.settle)."""

from __future__ import annotations

from rules.model import CellWrite, Tab
from rules.settle import settle

COLUMNS = {"intake_at": 0, "status": 1, "remarks": 2, "phone": 3}


def tab(*rows: tuple) -> Tab:
    return Tab("leads", "이사 관리자", 1, ("인입일", "진행상황", "비고", "연락처"), COLUMNS, rows)


def write(row: int, field: str, old: str, new: str, fp: str) -> CellWrite:
    return CellWrite("leads", row, COLUMNS[field], field, old, new, fp, ("dup.same",))


def test_identical_rows_found_again_on_one_row_are_both_skipped():
    # two identical submissions were planned on rows 2 and 3; staff deleted row 2, and a new
    # row was inserted on top, so neither planned row holds its fingerprint any more
    fresh = {"leads": tab(("x", "", "", "010"), ("d", "", "", "010-1"))}
    writes = [
        write(2, "status", "", "종결(중복)", "d|010-1"),
        write(3, "status", "", "종결(중복)", "d|010-1"),
    ]
    landing, skipped = settle(writes, fresh)
    assert landing == []
    assert {s.write.row for s in skipped} == {2, 3}


def test_a_row_moved_down_is_written_where_it_now_stands():
    fresh = {"leads": tab(("new", "", "", "010-9"), ("d", "", "", "010-1"))}
    landing, skipped = settle([write(2, "status", "", "종결(중복)", "d|010-1")], fresh)
    assert [(w.row, w.new) for w in landing] == [(3, "종결(중복)")]
    assert skipped == []


def test_a_row_whose_cell_staff_changed_keeps_the_staff_value():
    fresh = {"leads": tab(("d", "견적진행", "메모", "010-1"))}
    writes = [
        write(2, "status", "", "종결(중복)", "d|010-1"),
        write(2, "remarks", "메모", "메모\n중복: 최초 접수 12.1", "d|010-1"),
    ]
    landing, skipped = settle(writes, fresh)
    assert landing == []
    assert [s.reason for s in skipped] == ["읽은 뒤 직원이 셀을 수정함 (진행상황)"] * 2


def test_of_two_identical_rows_the_survivor_is_never_closed_as_its_own_duplicate():
    # rows 2 and 3 were identical when read; the bot closes row 3 as row 2's duplicate, and
    # staff delete row 2 meanwhile: row 3's fingerprint now stands once, on row 2
    planned = {"leads": tab(("d", "", "", "010-1"), ("d", "", "", "010-1"))}
    fresh = {"leads": tab(("d", "", "", "010-1"))}

    landing, skipped = settle([write(3, "status", "", "종결(중복)", "d|010-1")], fresh, planned)

    assert landing == []
    assert [s.reason for s in skipped] == ["행이 이동했고 같은 값의 행이 여럿임"]
