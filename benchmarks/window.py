"""The window `make bench` prints: how long a staff edit can slip between the verify read and
the write on a desk of 100,000 leads (DESIGN.md "Google Sheets").

The Sheets API has no compare-and-set: an edit a person makes after Google answered the verify
read and before it applies the write is not seen. This measures, through the real GoogleBackend
and gspread code against the in-memory fake Sheets API, the time from the moment the fake has
answered the verify read to the moment the write reaches it — the client's share of the window
(parsing the answer, settling, building and encoding the body). The network adds one round trip
to it in production. Beside it, the verify read's own client time (building its ranges and
turning the answer into the cells settle compares; issue 15: at most 0.3 s at 100k leads).

    python benchmarks/window.py [--leads 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE, HERE.parent / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import generate  # noqa: E402  (benchmarks/ is no package)

SHEET_ID = "1BenchWindowAbCdEfGhIjKlMnOpQrStUvWxYz0123"


def measure(n: int) -> dict[str, Any]:
    """The window (seconds) of the bot's first run over a generated desk of `n` leads and of a
    daily run after a day's new rows, with the cells each wrote."""
    import structlog.testing

    from bot.engine import plan
    from bot.sheets.google import GoogleBackend
    from rules.columns import TabSpec
    from rules.settings import RuleSettings

    from fake_sheets import FakeSheetsAPI, make_service_account_key

    desk = generate.generate(n)
    earlier, new_leads, new_obs = desk.without_latest(max(n // 250, 1), max(n // 800, 1))
    api = FakeSheetsAPI()
    book = api.add_spreadsheet(SHEET_ID)
    tabs = {}
    for title, rows in earlier.sheets().items():
        tabs[title] = book.add_sheet(title, rows=len(rows) + 1000, columns=26)
        tabs[title].set_rows(rows)
    marks: dict[str, float] = {}
    serve = api._serve_sheets

    def serve_marked(request: Any) -> Any:
        # the first write of a run, and the last verify read before it (not the read-back)
        if "write" not in marks and "values:batchUpdate" in request.url:
            marks["write"] = time.perf_counter()
        answer = serve(request)
        if "write" not in marks and "valueRenderOption=FORMULA" in request.url:
            marks["verified"] = time.perf_counter()
        return answer

    api._serve_sheets = serve_marked  # type: ignore[method-assign]
    in_fake = [0.0]  # the fake's own time serving requests, within the verify read

    def verify_read_timed(backend: Any) -> Any:
        """The backend's verify read, its client time (the fake's serving left out) added up
        in marks["verify_read"]: a run may read again (whole columns) when a row moved."""
        verify_read = backend._verify_read

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, fake_before = time.perf_counter(), in_fake[0]
            try:
                return verify_read(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started - (in_fake[0] - fake_before)
                marks["verify_read"] = marks.get("verify_read", 0.0) + spent

        return timed

    def serve_counted(request: Any) -> Any:
        started = time.perf_counter()
        try:
            return serve_marked(request)
        finally:
            in_fake[0] += time.perf_counter() - started

    api._serve_sheets = serve_counted  # type: ignore[method-assign]
    out: dict[str, Any] = {"n": n}
    with tempfile.TemporaryDirectory() as tmp:
        key = make_service_account_key(Path(tmp))
        api.register_service_account(key.key_id, key.email, key.public_pem)
        with api.serve(), structlog.testing.capture_logs():
            for name in ("first", "daily"):
                if name == "daily":
                    for title, rows in (
                        (generate.LEADS_TITLE, new_leads),
                        (generate.OB_TITLE, new_obs),
                    ):
                        tabs[title].set_rows(rows, start_row=len(earlier.sheets()[title]) + 1)
                marks.clear()
                backend = GoogleBackend(
                    SHEET_ID,
                    TabSpec(generate.LEADS_TITLE),
                    TabSpec(generate.OB_TITLE),
                    credentials=key.path,
                )
                backend._verify_read = verify_read_timed(backend)  # type: ignore[method-assign]
                snapshot = backend.read()
                result = backend.write(
                    snapshot, plan(snapshot, desk.now, RuleSettings()).cell_writes()
                )
                out[name] = {
                    "verify_read_s": marks["verify_read"],
                    "window_s": marks["write"] - marks["verified"],
                    "written": len(result.written),
                }
    return out


def line(figures: dict[str, Any]) -> str:
    first, daily = figures["first"], figures["daily"]
    return (
        f"verify→write window at {figures['n']:,} leads (client side, plus one round trip):\n"
        f"  daily run {daily['window_s'] * 1000:.0f} ms ({daily['written']:,} cells), "
        f"first run {first['window_s'] * 1000:.0f} ms ({first['written']:,} cells)\n"
        f"verify read (client side, wall time): daily run {daily['verify_read_s']:.2f} s, "
        f"first run {first['verify_read_s']:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args(argv)
    print(line(measure(args.leads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
