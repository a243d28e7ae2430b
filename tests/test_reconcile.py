"""`movebot reconcile` and `movebot demo` end to end on workbooks, as a user runs them."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import demo
from bot.cli import main
from bot.engine import plan
from bot.sheets.workbook import create_workbook
from rules.settings import RuleSettings

from desk import at, desk, lead

NOW = "2024-12-04T18:00:00+09:00"


def reconcile(capsys, *args: str) -> tuple[int, dict]:
    code = main(["reconcile", *args, "--now", NOW, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def sheet_rows(path: Path, title: str) -> list[list[object]]:
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[title].iter_rows(values_only=True)]


def column(path: Path, title: str, header: str) -> list[object]:
    rows = sheet_rows(path, title)
    i = rows[0].index(header)
    return [r[i] if i < len(r) else None for r in rows]


def test_preview_leaves_the_file_bytes_unchanged(book, capsys):
    before = book.read_bytes()
    code, out = reconcile(capsys, "--workbook", str(book))
    assert code == 0
    assert out["applied"] is False and out["changes"]
    assert book.read_bytes() == before
    assert not list(book.parent.glob("*.db"))  # no journal either


def test_apply_writes_the_desks_outcomes_and_a_second_run_plans_nothing(book, capsys):
    code, out = reconcile(capsys, "--workbook", str(book), "--apply")
    assert code == 0 and out["applied"] is True and out["skipped"] == []
    status = column(book, "이사 관리자", "진행상황")
    remarks = column(book, "이사 관리자", "실패사유/비고")
    # §3: the two 12.2 rows close; the 합가이사 rows stay; §2 D-60 promoted; §4 A, first
    # handled on 12.4 (after November's 12.3 10:00 settlement), is a new DB: its old row stays
    assert status[2:4] == ["종결(중복)", "종결(중복)"]
    assert status[4:6] == ["계약완료", "계약완료"]
    assert status[8] == "상담요청" and "장기요청→상담요청 (이사 D-60)" in remarks[8]
    assert status[12:14] == ["종결(고객취소)", "상담요청"]
    # staff text starting with "=" stays text after the bot appended to it
    assert remarks[6].startswith("=견적 재확인 필요\n")
    wb = openpyxl.load_workbook(book)
    assert wb["이사 관리자"].cell(row=7, column=4).data_type == "s"
    # the 봇 확인 column sits after the staff's own last column
    header = sheet_rows(book, "이사 관리자")[0]
    assert header[-2:] == ["메모(직원)", "봇 확인"]

    code, again = reconcile(capsys, "--workbook", str(book), "--apply")
    assert code == 0 and again["changes"] == []
    assert again["findings"] == out["findings"]


def test_json_output_has_the_documented_shape(book, capsys):
    _, out = reconcile(capsys, "--workbook", str(book))
    assert set(out) == {
        "run_id", "now", "applied", "changes", "findings", "skipped", "summary",
        "settlement_snapshot_due", "settlement_snapshot_taken",
    }  # fmt: skip
    # on 12.4 November is settled and no snapshot of it is journaled: an applied run takes one
    assert (out["settlement_snapshot_due"], out["settlement_snapshot_taken"]) == ("2024-11", None)
    change = next(c for c in out["changes"] if c["rule"] == "longterm.promote")
    assert change == {
        "sheet": "이사 관리자",
        "row": 9,
        "column": "C",
        "field": "status",
        "old": "장기요청",
        "new": "상담요청",
        "rule": "longterm.promote",
        "reason": "이사 D-60: 60일 이내",
    }
    finding = next(f for f in out["findings"] if f["rule"] == "ob.orphan")
    assert finding == {
        "sheet": "OB 상세",
        "row": 7,
        "rule": "ob.orphan",
        "message": "이사 관리자에 이 번호의 DB 없음",
        "severity": "action",
    }
    assert (
        out["summary"]["changes"]["dup.same"] == 8
    )  # 진행상황 and 비고 of rows 3, 4 and of the vendor-held case (31, 33)


def test_several_rules_can_be_named_after_one_flag(book, capsys):
    _, out = reconcile(
        capsys, "--workbook", str(book), "--rule", "longterm.promote", "status.normalize"
    )
    assert {c["rule"] for c in out["changes"]} - {"bot.note"} == {
        "longterm.promote",
        "status.normalize",
    }


def test_only_the_named_rule_runs(book, capsys):
    _, out = reconcile(capsys, "--workbook", str(book), "--rule", "longterm.promote")
    assert {c["rule"] for c in out["changes"]} == {"longterm.promote"}
    assert {f["rule"] for f in out["findings"]} == set()


def test_headers_in_another_order_with_staff_columns_give_the_same_outcome(tmp_path, capsys):
    order = [4, 0, 13, 2, 5, 3, 1, 6, 7, 8, 9, 10, 11, 12]
    headers = ["담당 메모"] + [demo.LEAD_HEADERS[i] for i in order]
    rows = [["x"] + [r[i] for i in order] for r in demo.LEADS]
    path = tmp_path / "shuffled.xlsx"
    create_workbook(
        path,
        {
            "OB 상세": [demo.OB_HEADERS, *demo.OBS],
            "이사 관리자": [headers, *rows],
            "장기고객 업체 리스트": [demo.VENDOR_HEADERS, *demo.VENDORS],
        },
    )
    _, shuffled = reconcile(capsys, "--workbook", str(path))
    book = tmp_path / "desk.xlsx"
    demo.write_demo_workbook(book)
    _, plain = reconcile(capsys, "--workbook", str(book))

    def outcome(out):
        return sorted((c["row"], c["field"], c["new"]) for c in out["changes"] if c["row"] > 1)

    assert outcome(shuffled) == outcome(plain)


def test_missing_required_header_exits_2_naming_sheet_header_and_found(tmp_path, capsys):
    path = tmp_path / "bad.xlsx"
    headers = [h for h in demo.LEAD_HEADERS if h != "진행상황"]
    create_workbook(path, {"이사 관리자": [headers], "OB 상세": [demo.OB_HEADERS]})
    before = path.read_bytes()
    code = main(["reconcile", "--workbook", str(path), "--apply"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'이사 관리자'" in err and "'진행상황'" in err and "고객명" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before


def test_missing_tab_exits_2_naming_the_tabs_found(tmp_path, capsys):
    path = tmp_path / "bad.xlsx"
    create_workbook(path, {"이사 관리자": [demo.LEAD_HEADERS], "Sheet2": [["a"]]})
    assert main(["reconcile", "--workbook", str(path)]) == 2
    err = capsys.readouterr().err
    assert "OB 상세" in err and "Sheet2" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workbook", "nope.xlsx"], "nope.xlsx"),
        (["--workbook", "x.xlsx", "--now", "yesterday"], "--now"),
        (["--config", "missing.yaml"], "missing.yaml"),
        ([], "--config"),
        (["--workbook", "x.xlsx", "--rule", "dup.sam"], "dup.sam"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo.write_demo_workbook(tmp_path / "x.xlsx")
    assert main(["reconcile", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_unknown_config_key_is_named(tmp_path, capsys):
    config = tmp_path / "desk.yaml"
    config.write_text(
        "source:\n  kind: workbook\n  path: desk.xlsx\nlongterm:\n  promte_within_days: 30\n"
    )
    assert main(["reconcile", "--config", str(config)]) == 2
    assert "longterm.promte_within_days" in capsys.readouterr().err


def test_config_file_paths_are_relative_to_the_file(tmp_path, capsys, monkeypatch):
    demo.write_demo_workbook(tmp_path / "books" / "desk.xlsx")
    config = tmp_path / "books" / "desk.yaml"
    config.write_text("source:\n  kind: workbook\n  path: desk.xlsx\nrules:\n  dup.same: 'off'\n")
    monkeypatch.chdir("/")
    code, out = reconcile(capsys, "--config", str(config))
    assert code == 0
    assert "dup.same" not in {c["rule"] for c in out["changes"]}


def test_environment_overrides_the_config_file(tmp_path, capsys, monkeypatch):
    demo.write_demo_workbook(tmp_path / "desk.xlsx")
    config = tmp_path / "desk.yaml"
    config.write_text("source:\n  kind: workbook\n  path: desk.xlsx\n")
    monkeypatch.setenv("MOVEBOT_LONGTERM__PROMOTE_WITHIN_DAYS", "30")
    _, out = reconcile(capsys, "--config", str(config))
    assert "longterm.promote" not in {c["rule"] for c in out["changes"]}


def test_demo_shows_preview_apply_and_a_quiet_second_run(tmp_path, capsys):
    path = tmp_path / "examples" / "desk.xlsx"
    assert main(["demo", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Preview: nothing was written" in out
    assert re.search(r"Applied: [1-9]\d* cells written, 0 not written\.", out)
    assert "0 changes planned" in out
    assert column(path, "이사 관리자", "진행상황")[8] == "상담요청"


def test_the_demo_and_what_a_new_user_runs_next_fit_an_80_column_terminal(
    tmp_path, capsys, monkeypatch
):
    from rules.text import width

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)  # as `make demo` runs it: examples/desk.xlsx
    assert main(["demo"]) == 0
    demo = capsys.readouterr().out
    assert "settlement 2024-11 --workbook" in demo and "    --now 2024-12-04T18:00" in demo
    book, outputs = "examples/desk.xlsx", [demo]
    for argv in (
        ["doctor", "--workbook", book],
        ["digest", "--workbook", book, "--now", "2024-12-05T08:30"],
        ["rules"],
    ):
        main(argv)
        outputs.append(capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["--help"])
    outputs.append(capsys.readouterr().out)
    lines = [line for out in outputs for line in out.splitlines()]
    # an absolute path is as long as the folder's (pytest's are long): only it may stick out
    wide = [line for line in lines if width(line) > 80 and str(tmp_path) not in line]
    assert not wide, wide
    assert any(line.startswith("  sync 02:00") for line in lines)  # doctor's line, wrapped


# Any value a cell can hold, in any cell the rules read: the run never raises.
cell_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        ["미정", "12.2", "24.12.03", "=SUM(A1)", "010-2000-1001", "장기요청", "업체 : x"]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)
FIELDS = ["intake_at", "status", "remarks", "phone", "alt_phones", "move_date", "origin",
          "destination", "move_type", "call_due", "name"]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({f: cell_values for f in FIELDS}), min_size=1, max_size=4),
       st.lists(st.fixed_dictionaries({f: cell_values for f in ["ob_date", "phone", "detail",
                "cancel_reason", "load_tons", "quote_amount"]}), max_size=3))  # fmt: skip
def test_no_cell_value_of_any_type_makes_a_run_raise(leads, obs):
    snap = desk([lead(**row) for row in leads], obs)
    p = plan(snap, at("2024-12-04 18:00"), RuleSettings())
    assert not [f for f in p.findings if "처리 중 오류" in f.message]
    p.cell_writes()


def test_the_terminal_summary_groups_changes_by_row_and_fits_80_columns(book, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["reconcile", "--workbook", str(book), "--now", "2024-12-04T18:00:00+09:00"]) == 0
    out = capsys.readouterr().out

    def width(line: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

    assert max(width(line) for line in out.splitlines()) <= 80
    assert "Changes: 32 cells on 22 rows; 봇 확인 rewritten on 20 rows" in out
    assert (
        "  이사 관리자 행 4 · dup.same, ob.sync\n"
        "      진행상황  (빈칸) → 종결(중복)\n"
        "      비고      + 중복: 최초 접수 11.29 17:54\n"
        "                + 12.2 OB 업체 연락 지연으로 인입, 업체 전달\n"
    ) in out
    assert out.count("이사 관리자 행 4 ·") == 1  # one heading per row, its cells under it


def test_a_run_that_only_rewrites_bot_notes_says_so_without_a_none_line(book, capsys):
    assert main(["reconcile", "--workbook", str(book), "--now", NOW, "--apply"]) == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["이사 관리자"]
    note = [c.value for c in ws[1]].index("봇 확인") + 1
    cleared = [r for r in range(2, ws.max_row + 1) if ws.cell(r, note).value][:2]
    for r in cleared:
        ws.cell(r, note).value = None  # a member of staff clears two 봇 확인 cells
    wb.save(book)
    capsys.readouterr()

    assert main(["reconcile", "--workbook", str(book), "--now", NOW]) == 0
    out = capsys.readouterr().out

    assert "Changes: only 봇 확인, rewritten on 2 rows\n\nFindings:" in out
    assert "(none)" not in out
