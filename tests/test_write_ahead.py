"""The write-ahead journal on a workbook: a run SIGKILLed right after its file landed, before
it could journal anything, is closed and journaled by the next run, and can be undone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl

from bot.cli import main
from bot.journal import Journal

NOW = "2024-12-04T18:00:00+09:00"
LATER = "2024-12-04T19:00:00+09:00"

# the run, in a process of its own, SIGKILLed the moment the new file is in place
KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import bot.sheets.workbook as workbook
    from bot.cli import main

    save = workbook._atomic_save

    def save_then_die(*args, **kwargs):
        saved = save(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return saved

    workbook._atomic_save = save_then_die
    main(["reconcile", "--workbook", sys.argv[1], "--now", sys.argv[2], "--apply"])
    """
)


def values(path: Path) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path)
    return {
        (ws.title, c.coordinate): c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
    }


def test_a_run_killed_after_its_workbook_landed_is_journaled_by_the_next_and_undoable(book, capsys):
    before = values(book)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(book), NOW],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    changed = {k for k, v in values(book).items() if before.get(k) != v}
    assert changed  # the file landed

    with Journal(book.parent / "desk.movebot.db") as journal:
        (first,) = journal.runs()
        assert first.outcome == "running" and first.written == 0

    assert main(["reconcile", "--workbook", str(book), "--now", LATER, "--apply"]) == 0

    with Journal(book.parent / "desk.movebot.db") as journal:
        first = journal.require_run(first.id)
        assert first.outcome == "interrupted"
        assert first.written > 0
    assert main(["undo", first.id, "--workbook", str(book), "--apply"]) == 0
    after = values(book)
    # every cell but the 봇 확인 header the run created (it stays) is back as it was
    assert {k for k in changed if after.get(k) != before.get(k)} == {
        k for k in changed if after.get(k) == "봇 확인"
    }
    capsys.readouterr()
