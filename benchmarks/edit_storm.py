"""Staff editing while the bot runs: N randomized edits at random moments of a run, against the
in-memory fake Sheets API, through the real runner, GoogleBackend and journal.

Each trial starts from the same generated desk, picks a cell the run is about to write and a
moment, and plays a member of staff typing into that cell then:

- read: before the bot reads the sheet (the plan sees the edit);
- verify: after the read, before the verify read (the verify read sees it);
- retry: while the bot waits to retry a write Google answered 503 (the retry's verify sees it);
- window: after Google answered the verify read, before it applies the write — the window the
  Sheets API leaves (it has no compare-and-set); `make bench` prints how long it lasts;
- lost answer: the write lands, its answer is lost, the bot is killed before it journals
  anything; the next run must journal what landed and close the run.

It prints, per moment: edits lost (the staff's text no longer in the cell afterwards), cells
the bot changed that no journal line holds (undo could not restore them), and runs left
`running`. An edit inside the window is lost by construction here (the harness types it
exactly there); in production the window is milliseconds (`make bench`).

    python benchmarks/edit_storm.py [-n 1000] [--seed 0] [--leads 300]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE, HERE.parent / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import generate  # noqa: E402  (benchmarks/ is no package)

SHEET_ID = "1EditStormAbCdEfGhIjKlMnOpQrStUvWxYz012345"
MOMENTS = ("read", "verify", "retry", "window", "lost answer")
KEYS = {generate.LEADS_TITLE: "leads", generate.OB_TITLE: "ob"}


class Killed(BaseException):
    """The bot's process killed while it waited for an answer."""


class _Silent:
    channels: tuple[str, ...] = ()

    def send(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def storm(n: int, seed: int = 0, leads: int = 300) -> dict[str, Counter[str]]:
    """Play `n` trials; per moment: trials, edits lost, cells un-journaled, runs stuck."""
    import structlog.testing

    from fake_sheets import make_service_account_key

    rng = random.Random(seed)
    desk = generate.generate(leads, seed=seed)
    figures: dict[str, Counter[str]] = {m: Counter() for m in MOMENTS}
    with tempfile.TemporaryDirectory() as tmp, structlog.testing.capture_logs():
        key = make_service_account_key(Path(tmp))
        for trial in range(n):
            moment = MOMENTS[trial % len(MOMENTS)]
            figures[moment]["trials"] += 1
            figures[moment].update(_trial(desk, moment, rng, key, Path(tmp) / f"{trial}.db"))
    return figures


def _trial(
    desk: generate.GeneratedDesk, moment: str, rng: random.Random, key: Any, journal_path: Path
) -> Counter[str]:
    """One staff edit at `moment` of a run on a fresh copy of `desk`: what it cost."""
    from bot.config import workbook_settings
    from bot.engine import plan
    from bot.journal import Journal
    from bot.runner import apply
    from bot.sheets.google import GoogleBackend
    from rules.columns import TabSpec
    from rules.settings import RuleSettings

    from fake_sheets import FakeSheetsAPI

    settings = workbook_settings(journal_path.with_suffix(".xlsx"), None)  # the journal's source

    def backend() -> GoogleBackend:
        return GoogleBackend(
            SHEET_ID,
            TabSpec(generate.LEADS_TITLE),
            TabSpec(generate.OB_TITLE),
            credentials=key.path,
            sleep=lambda seconds: None,
        )

    api = FakeSheetsAPI()
    api.register_service_account(key.key_id, key.email, key.public_pem)
    book = api.add_spreadsheet(SHEET_ID)
    tabs = {}
    for title, rows in desk.sheets().items():
        tabs[title] = book.add_sheet(title, rows=len(rows) + 10, columns=26)
        tabs[title].set_rows(rows)
    before = _cells(tabs)
    typed = f"직원 수정 {rng.randrange(10**6)}"
    out: Counter[str] = Counter()
    with api.serve():
        snapshot = backend().read()
        writes = plan(snapshot, desk.now, RuleSettings()).cell_writes()
        # a cell staff work in (봇 확인 is the bot's own column, rewritten every run)
        target = rng.choice([w for w in writes if w.row > 1 and w.field != "bot_note"])
        cell = (snapshot.tab(target.sheet).title, target.row - 1, target.column)

        def edit(_: Any = None) -> None:
            tabs[cell[0]].cells[cell[1:]] = typed

        if moment == "read":
            api.before("values.batchGet", edit)
        elif moment == "verify":
            api.before("values.batchGet", lambda a: a.before("values.batchGet", edit))
        elif moment == "retry":
            api.fail(503, kind="values.batchUpdate", then=edit)
        elif moment == "window":
            api.before("values.batchUpdate", edit)
        else:
            api.lose_answer("values.batchUpdate", error=Killed())
        with Journal(journal_path) as journal:
            now = desk.now
            if moment == "lost answer":
                finish = journal.finish_run
                journal.finish_run = lambda *a, **k: None  # type: ignore[method-assign]
                with contextlib.suppress(Killed):
                    apply(settings, backend(), journal, _Silent(), now)
                journal.finish_run = finish  # type: ignore[method-assign]
                edit()  # staff type into the cell before the next run
                now += timedelta(minutes=10)
            apply(settings, backend(), journal, _Silent(), now)
            runs = journal.runs(None)
            journaled = {
                (w.sheet, w.row, w.column) for run in runs for w in journal.writes_of(run.id)
            }
    out["edits lost"] = typed not in str(tabs[cell[0]].cells.get(cell[1:]))
    out["cells un-journaled"] = sum(
        (KEYS[t], r + 1, c) not in journaled
        for (t, r, c), v in _cells(tabs).items()
        if (t, r, c) != cell and before.get((t, r, c)) != v
    )
    out["runs stuck"] = sum(r.outcome == "running" for r in runs)
    return out


def _cells(tabs: dict[str, Any]) -> dict[tuple[str, int, int], Any]:
    """Every non-empty cell of the tabs, by (tab title, 0-based row, 0-based column)."""
    return {(t, r, c): v for t, tab in tabs.items() for (r, c), v in tab.cells.items()}


def table(figures: dict[str, Counter[str]]) -> str:
    columns = ("trials", "edits lost", "cells un-journaled", "runs stuck")
    lines = [f"{'moment':<12}" + "".join(f"{c:>{len(c) + 3}}" for c in columns)]
    for moment, counts in figures.items():
        lines.append(f"{moment:<12}" + "".join(f"{counts[c]:>{len(c) + 3},}" for c in columns))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="trials (staff edits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--leads", type=int, default=300)
    args = parser.parse_args(argv)
    print(table(storm(args.n, args.seed, args.leads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
