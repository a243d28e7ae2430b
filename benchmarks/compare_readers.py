"""Cell by cell: what the workbook backend reads (python-calamine) against openpyxl's reader.

For the demo workbook (as `movebot demo` writes it, then after its run wrote to it) and the
benchmark desk (`generate.py`) at each size, every cell of both tabs from the header row on is
read with `WorkbookBackend.read` and with openpyxl's read-only reader (`data_only`: a formula
as its cached result; time-only and duration values turned into the plain values a `Tab`
holds), and compared by value and by type. The demo and the smallest desk are also compared
after openpyxl re-saved them, so that their text sits in a shared-strings table as Excel and
Google Sheets store it (re-saving 100k rows takes openpyxl minutes).

    python benchmarks/compare_readers.py [--sizes 10000,100000] [--show 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT, HERE):  # run from a checkout: movebot and generate.py, installed or not
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bot.cli import main as movebot  # noqa: E402
from bot.demo import write_demo_workbook  # noqa: E402
from bot.sheets.workbook import TabSpec, WorkbookBackend  # noqa: E402
from bot.sheets.xlsx import plain_value  # noqa: E402
from rules.model import CellValue, Snapshot  # noqa: E402

import generate  # noqa: E402  (benchmarks/ is no package)


def openpyxl_rows(path: Path, title: str, header_row: int) -> list[tuple[CellValue, ...]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[title]
        ws.reset_dimensions()  # a stored dimension can be wrong; read every row
        rows = [
            tuple(plain_value(v) for v in row)
            for row in ws.iter_rows(min_row=header_row, values_only=True)
        ]
    finally:
        wb.close()
    return rows


def cells(rows: list[tuple[CellValue, ...]]) -> Iterator[tuple[int, int, CellValue]]:
    """(row index, column, value) of every non-empty cell."""
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                yield i, j, value


def compare(path: Path, show: int) -> tuple[int, int, float, float]:
    """(cells compared, differences, backend seconds, openpyxl seconds) for one workbook."""
    started = time.perf_counter()
    snap: Snapshot = WorkbookBackend(
        path, TabSpec(generate.LEADS_TITLE), TabSpec(generate.OB_TITLE)
    ).read()
    ours = time.perf_counter() - started
    compared = differences = 0
    theirs = 0.0
    for tab in (snap.leads_tab, snap.ob_tab):
        started = time.perf_counter()
        reference = openpyxl_rows(path, tab.title, tab.header_row)
        theirs += time.perf_counter() - started
        read = {(i, j): v for i, j, v in cells([tab.headers, *tab.rows])}
        expected = {(i, j): v for i, j, v in cells(reference)}
        expected.update({(0, j): str(v) for (i, j), v in expected.items() if i == 0})
        for key in read.keys() | expected.keys():
            compared += 1
            a, b = read.get(key), expected.get(key)
            if a != b or type(a) is not type(b):
                differences += 1
                if differences <= show:
                    row = tab.header_row + key[0]
                    print(f"    {tab.title} row {row} col {key[1]}: read {a!r}, openpyxl {b!r}")
    return compared, differences, ours, theirs


def resaved(path: Path, out: Path) -> Path:
    """The workbook as openpyxl saves it: its text in a shared-strings table."""
    openpyxl.load_workbook(path).save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--show", type=int, default=10, help="differences printed per workbook")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"{'workbook':<34} {'cells':>10} {'differ':>7} {'read s':>7} {'openpyxl s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo = folder / "demo.xlsx"
        write_demo_workbook(demo)
        workbooks = [("demo", demo), ("demo, openpyxl re-saved", resaved(demo, folder / "d.xlsx"))]
        applied = folder / "applied.xlsx"
        with open(folder / "demo.txt", "w") as quiet, redirect_stdout(quiet):
            movebot(["demo", str(applied)])  # writes the workbook, then applies a run to it
        workbooks.append(("demo after its run wrote", applied))
        for n in sizes:
            desk = folder / f"desk{n}.xlsx"
            generate.generate(n, None, 0).write_xlsx(desk)
            workbooks.append((f"desk {n:,} leads", desk))
            if n == min(sizes):
                workbooks.append(
                    (f"desk {n:,}, openpyxl re-saved", resaved(desk, folder / "r.xlsx"))
                )
        total = total_differences = 0
        for name, path in workbooks:
            compared, differences, ours, theirs = compare(path, args.show)
            total += compared
            total_differences += differences
            print(f"{name:<34} {compared:>10,} {differences:>7,} {ours:>7.2f} {theirs:>10.2f}")
    print(f"{total:,} cells compared, {total_differences:,} differences")
    return 1 if total_differences else 0


if __name__ == "__main__":
    sys.exit(main())
