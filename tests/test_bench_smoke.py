"""The benchmark's smallest desk as a smoke check (`make bench` measures 10k, 30k and 100k).

A generated desk of 10k leads and 3k OB rows goes through three full runs against the fake
Sheets API — the bot's first run, a daily one after a day's new rows, an idle one — with the
real GoogleBackend and gspread code. Only that the runs complete and what they cost in Sheets
requests is asserted; the timings are printed (`pytest -s`), never asserted. The workbook
backend's read of the demo and of a small desk is compared with openpyxl's, cell by cell
(`compare_readers.py`).
"""

from __future__ import annotations

from bot.sheets.google import GoogleBackend
from bot.sheets.workbook import WorkbookBackend
from rules.columns import TabSpec
from rules.parse import parse_desk

import bench
import compare_readers
import generate
from fake_sheets import FakeSheetsAPI, make_service_account_key


def test_a_10k_desk_runs_in_five_requests_and_two_when_nothing_changes():
    desk = generate.generate(10_000)
    earlier, new_leads, new_obs = desk.without_latest(*bench.daily_rows(10_000, 3_000))

    runs = bench.full_runs(earlier, new_leads, new_obs)

    for name, run in runs.items():
        print(
            f"{name}: {run['changes']} changes, {run['requests']} requests, "
            f"{run['seconds']:.2f} s ({run['client_s']:.2f} s client)"
        )
    first, daily, idle = runs["first"], runs["daily"], runs["idle"]
    assert first["changes"] > 1000 and first["written"] > 1000
    assert first["requests"] <= 5  # get, read, verify, write, read-back (+ widening once)
    assert daily["changes"] > 0 and daily["requests"] <= 5
    assert idle["changes"] == 0  # a run over the bot's own output plans nothing
    assert idle["requests"] <= 2


def test_the_generated_desk_is_the_same_for_the_same_seed_and_holds_the_seeds_cases():
    one, again, other = (
        generate.generate(800),
        generate.generate(800),
        generate.generate(800, seed=1),
    )
    assert one.leads == again.leads and one.obs == again.obs
    assert one.leads != other.leads
    assert (len(one.leads), len(one.obs)) == (800, 240)

    cells = [v for row in one.leads for v in row]
    assert any(isinstance(v, str) and "오후" in v for v in cells)  # 2024. 12. 2 오후 3:19:00
    assert any(isinstance(v, str) and "월" in v and "일" in v for v in cells)  # 12월 2일
    assert any(isinstance(v, int) and str(v).startswith("10") for v in cells)  # phone as number
    assert any(isinstance(v, str) and v.startswith("업체") for v in cells)  # vendor return
    statuses = {row[generate.I_STATUS] for row in one.leads}
    assert {"장기요청", "종결(중복)", "종결(고객취소)", "확인요청", "계약완료"} <= statuses


def test_the_benchmark_plans_the_snapshot_the_google_backend_reads(tmp_path):
    desk = generate.generate(300)
    api = FakeSheetsAPI()
    book = api.add_spreadsheet(bench.SHEET_ID)
    for title, rows in desk.sheets().items():
        book.add_sheet(title, rows=len(rows), columns=bench.GRID_COLUMNS).set_rows(rows)
    key = make_service_account_key(tmp_path)
    api.register_service_account(key.key_id, key.email, key.public_pem)
    with api.serve():
        backend = GoogleBackend(
            bench.SHEET_ID,
            TabSpec(generate.LEADS_TITLE),
            TabSpec(generate.OB_TITLE),
            credentials=key.path,
        )
        read = backend.read()

    ours = desk.snapshot()
    for key_ in ("leads", "ob"):
        a, b = read.tab(key_), ours.tab(key_)
        assert (a.headers, a.columns, a.rows) == (b.headers, b.columns, b.rows)
    today = desk.now.date()
    assert parse_desk(read, today) == parse_desk(ours, today)


def test_the_generated_desk_as_xlsx_reads_as_its_google_grid_does(tmp_path):
    desk = generate.generate(300)
    path = tmp_path / "desk.xlsx"
    desk.write_xlsx(path)
    book = WorkbookBackend(path, TabSpec(generate.LEADS_TITLE), TabSpec(generate.OB_TITLE))

    today = desk.now.date()
    assert parse_desk(book.read(), today) == parse_desk(desk.snapshot(), today)


def test_the_workbook_backend_reads_the_demo_and_a_desk_as_openpyxl_does(capsys):
    assert compare_readers.main(["--sizes", "300"]) == 0
    assert "0 differences" in capsys.readouterr().out


def test_make_bench_prints_the_preview_beside_its_floors_and_the_issue_15_table(capsys):
    assert bench.main(["--sizes", "300", "--repeat", "1", "--no-google"]) == 0

    out = capsys.readouterr().out
    assert "preview s  calamine s" in out
    assert "Issue 15 at 300 leads + 90 OB rows" in out
    assert "preview CPU / calamine read CPU" in out
    assert "preview peak RSS (calamine alone)" in out


def test_the_window_benchmark_measures_a_first_and_a_daily_write():
    import window

    figures = window.measure(2_000)

    assert figures["first"]["written"] > figures["daily"]["written"] > 0
    assert "verify→write window at 2,000 leads" in window.line(figures)
    assert 0 < figures["daily"]["verify_read_s"] < figures["first"]["verify_read_s"]
    assert "verify read (client side, wall time): daily run" in window.line(figures)


def test_staff_edits_at_any_moment_but_the_window_are_never_lost_and_every_cell_is_journaled():
    import edit_storm

    figures = edit_storm.storm(15, seed=1, leads=120)

    for moment, counts in figures.items():
        assert counts["trials"] == 3
        assert counts["cells un-journaled"] == 0 and counts["runs stuck"] == 0, moment
        if moment != "window":
            assert counts["edits lost"] == 0, moment
    assert "edits lost" in edit_storm.table(figures)
    assert max(len(line) for line in edit_storm.table(figures).splitlines()) <= 80


def test_make_bench_output_fits_an_80_column_terminal(capsys):
    assert bench.main(["--sizes", "300,600", "--repeat", "1"]) == 0

    out = capsys.readouterr().out
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert not wide, wide
