"""Desk workbooks as other programs write them (`producers.py`), each run through
`movebot reconcile --apply` as a user runs it, then opened again with python-calamine, openpyxl
and (when installed) LibreOffice: the written cells hold what the run says it wrote, every other
cell is as it was, the bot's cells look like their column, and a second run plans nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string
from producers import PRODUCERS, SUMMARY, build
from python_calamine import CalamineWorkbook

from bot import demo
from bot.cli import main
from bot.sheets import xlsx
from bot.sheets.workbook import WorkbookBackend
from rules.model import CellValue

NOW = "2024-12-04T18:00:00+09:00"
LEADS = "이사 관리자"
STAFF_NOTE = "직원 메모: 옆 칸까지 병합"  # O3, right of the headers (merged to Q4 by some)

Cell = tuple[str, int, int]  # tab title, 1-based row, 0-based column


@dataclass
class RoundTrip:
    name: str
    before: Path  # the producer's file
    after: Path  # the same file after `reconcile --apply`
    applied: dict[str, Any]  # the apply's --json output
    again: dict[str, Any]  # a second run's preview

    @property
    def written(self) -> dict[Cell, str]:
        return {
            (c["sheet"], c["row"], column_index_from_string(c["column"]) - 1): c["new"]
            for c in self.applied["changes"]
        }


def reconcile(path: Path, *args: str) -> dict[str, Any]:
    """Run the command as a user would; its stdout must be one JSON document."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["reconcile", "--workbook", str(path), "--now", NOW, "--json", *args])
    assert code == 0
    return json.loads(out.getvalue())


def no_slow_path(*args: object) -> None:
    raise AssertionError("the workbook was handed to openpyxl: the in-place writer gave up")


def round_trip_sheets(folder: Path) -> dict[str, list[list[CellValue]]]:
    """The demo desk's tabs, with a staff note right of the leads' headers (O3)."""
    demo.write_demo_workbook(folder / "demo.xlsx")
    wb = openpyxl.load_workbook(folder / "demo.xlsx")
    sheets = {
        ws.title: [[xlsx.plain_value(v) for v in r] for r in ws.iter_rows(values_only=True)]
        for ws in wb
    }
    sheets[LEADS][2].append(STAFF_NOTE)
    return sheets


class RoundTrips(dict[str, RoundTrip]):
    """The demo desk's tabs built by each producer, each copy reconciled with --apply: built
    when first asked for, so one producer's failure fails only its own tests."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.sheets = round_trip_sheets(folder)

    def __missing__(self, name: str) -> RoundTrip:
        folder = self.folder
        (folder / name).mkdir()
        before = build(folder / name / f"{name}.xlsx", self.sheets, PRODUCERS[name])
        after = folder / f"{name}-after.xlsx"
        shutil.copy(before, after)
        journal = str(folder / f"{name}.db")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(WorkbookBackend, "_edit", no_slow_path)
            applied = reconcile(after, "--apply", "--journal", journal)
        again = reconcile(after, "--journal", journal)
        self[name] = RoundTrip(name, before, after, applied, again)
        return self[name]


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory: pytest.TempPathFactory) -> RoundTrips:
    return RoundTrips(tmp_path_factory.mktemp("producers"))


def calamine_cells(path: Path) -> dict[Cell, object]:
    book = CalamineWorkbook.from_path(str(path))
    return {
        (title, r, c): value
        for title in book.sheet_names
        for r, row in enumerate(book.get_sheet_by_name(title).to_python(skip_empty_area=False), 1)
        for c, value in enumerate(row)
        if value not in ("", None)
    }


def openpyxl_book(path: Path) -> Any:
    """The workbook as openpyxl loads it (styles without cellStyleXfs given the default one,
    which openpyxl cannot do without; the cells are untouched)."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        styles = xlsx.with_cell_style_xfs(z.read("xl/styles.xml"))
    fixed = io.BytesIO()
    xlsx.rezip(data, {"xl/styles.xml": styles}, fixed)
    return openpyxl.load_workbook(fixed, rich_text=False)


def openpyxl_cells(path: Path) -> dict[Cell, object]:
    wb = openpyxl_book(path)
    return {
        (ws.title, c.row, c.column - 1): c.value
        for ws in wb
        for row in ws.iter_rows()
        for c in row
        if c.value not in ("", None)
    }


def unwritten(cells: dict[Cell, object], written: dict[Cell, str]) -> dict[Cell, object]:
    return {k: v for k, v in cells.items() if k not in written}


@pytest.mark.parametrize("name", list(PRODUCERS))
def test_each_producers_workbook_gets_exactly_the_cells_the_run_reports(round_trips, name):
    trip = round_trips[name]
    written = trip.written
    assert trip.applied["applied"] is True and trip.applied["skipped"] == []
    assert len(written) > 40

    for read in (calamine_cells, openpyxl_cells):
        before, after = read(trip.before), read(trip.after)
        assert {k: after.get(k) for k in written} == {k: v or None for k, v in written.items()}
        assert unwritten(after, written) == unwritten(before, written)

    assert trip.again["changes"] == []  # a second run plans nothing


@pytest.mark.parametrize("name", list(PRODUCERS))
def test_each_producers_workbook_gets_the_same_cells_when_openpyxl_must_write_it(
    round_trips, name, tmp_path, monkeypatch
):
    """The fallback for sheet XML the patcher does not know (a comment in it, UTF-16, ...)."""
    fast = round_trips[name]
    path = tmp_path / f"{name}.xlsx"
    shutil.copy(fast.before, path)

    def unsupported(self, rows):
        raise xlsx.Unsupported("test: hand the file to openpyxl")

    monkeypatch.setattr(xlsx.SheetXml, "locate", unsupported)
    journal = str(tmp_path / "movebot.db")
    applied = reconcile(path, "--apply", "--journal", journal)

    assert applied["changes"] == fast.applied["changes"] and applied["skipped"] == []
    before, after = openpyxl_cells(fast.before), openpyxl_cells(path)
    written = fast.written
    assert {k: after.get(k) for k in written} == {k: v or None for k, v in written.items()}
    assert unwritten(after, written) == unwritten(before, written)
    assert reconcile(path, "--journal", journal)["changes"] == []


@pytest.mark.parametrize("name", list(PRODUCERS))
def test_bot_note_column_lands_right_of_everything_staff_use_merged_blocks_included(
    round_trips, name
):
    trip = round_trips[name]
    header = [k for k, v in trip.written.items() if v == "봇 확인" and k[:2] == (LEADS, 1)]
    merged = "O3:Q4" in PRODUCERS[name].merged
    assert header == [(LEADS, 1, 17 if merged else 15)]  # R after the block O3:Q4, else P
    ws = openpyxl_book(trip.after)[LEADS]
    assert [str(r) for r in ws.merged_cells.ranges] == list(PRODUCERS[name].merged)


@pytest.mark.parametrize("name", list(PRODUCERS))
def test_formulas_over_written_cells_are_recomputed_when_the_file_is_opened(round_trips, name):
    assert openpyxl_book(round_trips[name].after).calculation.fullCalcOnLoad is True


def _formats(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml")
    xfs = re.search(rb"<(?:x:)?cellXfs\b[^>]*>(.*?)</(?:x:)?cellXfs>", styles, re.S)
    assert xfs is not None
    return re.findall(rb"<(?:x:)?xf\b.*?(?:/>|</(?:x:)?xf>)", xfs.group(1), re.S)


@pytest.mark.parametrize("name", ["excel", "libreoffice"])
def test_cells_the_bot_creates_keep_their_columns_look_and_text_of_several_lines_wraps(
    round_trips, name
):
    trip = round_trips[name]
    quirks = PRODUCERS[name]
    before = openpyxl_book(trip.before)[LEADS]
    after = openpyxl_book(trip.after)[LEADS]
    headers = [c.value for c in before[1]]
    created = [(r, c) for (t, r, c), v in trip.written.items() if t == LEADS and v and r > 1]
    created = [(r, c) for r, c in created if before.cell(r, c + 1).value is None]
    styled = 0
    for r, c in created:
        cell = after.cell(r, c + 1)
        header = headers[c] if c < len(headers) else None
        if header in quirks.coloured:
            assert cell.fill.fgColor.rgb == "FFFFF2CC", cell.coordinate
            styled += 1
        if header in quirks.wrap:
            assert cell.alignment.wrap_text, cell.coordinate
            styled += 1
    assert styled >= 3  # the bot filled empty 비고 / 예비번호 cells of those columns
    several = [k for k, v in trip.written.items() if "\n" in v]
    assert several
    book = openpyxl_book(trip.after)
    for title, r, c in several:
        assert book[title].cell(r, c + 1).alignment.wrap_text, (title, r, c)
    added = _formats(trip.after)[len(_formats(trip.before)) :]
    assert added and len(set(added)) == len(added)  # each wrapping format added once


def test_a_file_without_cell_style_xfs_is_written_even_by_openpyxl_and_json_stays_clean(
    tmp_path, capfd, monkeypatch
):
    assert not PRODUCERS["xlsx_stream"].cell_style_xfs
    path = build(tmp_path / "stream.xlsx", round_trip_sheets(tmp_path), PRODUCERS["xlsx_stream"])

    def unsupported(self, rows):
        raise xlsx.Unsupported("test: hand the file to openpyxl")

    monkeypatch.setattr(xlsx.SheetXml, "locate", unsupported)
    capfd.readouterr()
    code = main(["reconcile", "--workbook", str(path), "--now", NOW, "--json", "--apply"])

    out, err = capfd.readouterr()
    assert code == 0, err
    applied = json.loads(out)  # nothing but the JSON document on stdout
    assert applied["applied"] is True and len(applied["changes"]) > 40
    assert applied["skipped"] == []
    assert openpyxl.load_workbook(path)[LEADS]["C3"].value == "종결(중복)"


# --- LibreOffice ---------------------------------------------------------------------------------


def _libreoffice_csv(paths: list[Path], folder: Path) -> None:
    """Every tab of every file as CSV (`<file>-<tab>.csv`), in one LibreOffice start."""
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",  # a profile of its own
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(folder),
            *map(str, paths),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _csv_grid(path: Path) -> dict[tuple[int, int], str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {
            (r, c): text
            for r, row in enumerate(csv.reader(f), 1)
            for c, text in enumerate(row)
            if text != ""
        }


def test_libreoffice_shows_each_output_as_written(round_trips, tmp_path):
    if shutil.which("soffice") is None:
        pytest.skip(
            "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        )
    trips = [round_trips[name] for name in PRODUCERS]
    _libreoffice_csv([p for t in trips for p in (t.before, t.after)], tmp_path)
    for trip in trips:
        written = trip.written
        for title in CalamineWorkbook.from_path(str(trip.after)).sheet_names:
            before = _csv_grid(tmp_path / f"{trip.before.stem}-{title}.csv")
            after = _csv_grid(tmp_path / f"{trip.after.stem}-{title}.csv")
            expected = {k: v for k, v in before.items() if (title, k[0], k[1]) not in written} | {
                (r, c): v for (t, r, c), v in written.items() if t == title and v
            }
            if title == SUMMARY:
                # LibreOffice 7.4 ignores fullCalcOnLoad: it shows a plain formula's cached
                # result (recomputing shared formulas only); Excel recomputes them all
                after = {k: v for k, v in after.items() if k[1] != 1}
                expected = {k: v for k, v in expected.items() if k[1] != 1}
            assert after == expected, (trip.name, title)


def test_apply_on_a_read_only_workbook_exits_2_naming_it_and_changes_nothing(tmp_path, capsys):
    path = build(tmp_path / "desk.xlsx", round_trip_sheets(tmp_path), PRODUCERS["excel"])
    path.chmod(0o444)
    before = path.read_bytes()

    code = main(["reconcile", "--workbook", str(path), "--now", NOW, "--apply"])

    assert code == 2
    assert f"Workbook {path} cannot be written: the file is read-only" in capsys.readouterr().err
    assert path.read_bytes() == before and path.stat().st_mode & 0o777 == 0o444
