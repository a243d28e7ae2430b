"""`make bench`: how fast and how lean movebot is on desks of 10k, 30k and 100k leads.

For each size a realistic desk is generated (`generate.py`: OB rows = 30% of the leads, seed 0,
the clock at 2024-12-04 18:00 KST) and measured in fresh processes, so that one size's memory
never counts for the next:

- plan: `bot.engine.plan` on the desk as the Google backend reads it (an in-memory `Snapshot`
  built from the `values.batchGet` answer), its CPU time, best of `--repeat` runs. Plain
  single-threaded Python: one core.
- json.loads: parsing that batchGet answer (what every run does before it can plan), its CPU
  time, best of `--repeat`; and plan / json.loads, the plan's cost in units of the cheapest possible read.
- peak RSS: the plan process's peak resident memory (ru_maxrss): interpreter and imports, the
  answer's text, its parsed JSON, the snapshot and the plan.
- full run: read (spreadsheets.get + values.batchGet), plan, verify (values.batchGet) and
  write (values.batchUpdate) through the real GoogleBackend and gspread code, against the
  in-memory fake Sheets API of tests/fake_sheets.py (served through `responses`). Three runs:
  the first over the desk as staff left it (the bot's first run: every duplicate, note and
  봇 확인 at once), a daily one after a day's new rows were added, and an idle one right after
  (nothing to change). Its time includes the fake server's own work (it renders every cell of
  the grid, like Google but in Python); "client" is that time without the fake's share. No
  network latency is modelled.
- requests: Sheets requests per run (the OAuth token request not counted).
- preview (issue 15): `movebot reconcile --workbook desk.xlsx --json` on the desk written as an
  .xlsx, its CPU time (user + system, from the process's rusage: the machine may be busy) and
  peak RSS, best of `--repeat` fresh processes; beside it, in the same run on the same file,
  the floor: the CPU and peak RSS of a process that only reads that .xlsx into Python values
  with python-calamine. The Google path's floor is json.loads of its batchGet answer: the full
  run's client CPU is compared with it.
- window: the client's share of the time between the verify read's answer and the write, on
  the largest desk (`window.py`).
- growth: how plan time grows from the smallest size to the largest, as the exponent k of
  t ~ n^k (1 = linear; n log n from 10k to 100k reads as about 1.1).

    python benchmarks/bench.py [--sizes 10000,30000,100000] [--repeat 3] [--no-google]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT, HERE):  # run from a checkout: movebot and generate.py, installed or not
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import window  # noqa: E402

import generate  # noqa: E402  (benchmarks/ is no package)

SIZES = (10_000, 30_000, 100_000)
SHEET_ID = "1BenchDeskAbCdEfGhIjKlMnOpQrStUvWxYz012345"
GRID_COLUMNS = 26  # a new Google Sheet's width (A:Z): room for the 봇 확인 column


def daily_rows(leads: int, obs: int) -> tuple[int, int]:
    """How many of the newest rows arrive as "a day's work" before the daily run: a year's
    intake spread over 365 days."""
    return max(1, leads // 365), max(1, obs // 365)


# -- the measurements (each in a fresh process) ------------------------------------------------


def measure_plan(payload: str, repeat: int = 3) -> dict[str, Any]:
    """json.loads and plan timings, and this process's peak RSS, for one batchGet answer."""
    from bot.engine import plan
    from rules.settings import RuleSettings

    loads = math.inf
    answer: Any = None
    for _ in range(repeat):
        answer = None
        started = time.process_time()
        answer = json.loads(payload)
        loads = min(loads, time.process_time() - started)
    snapshot = generate.snapshot_from_answer(answer)
    answer = None  # the backend keeps only the snapshot
    seconds = math.inf
    result = None
    for _ in range(repeat):
        result = None
        started = time.process_time()  # CPU: the machine may be busy with other work
        result = plan(snapshot, generate.NOW, RuleSettings())
        seconds = min(seconds, time.process_time() - started)
    assert result is not None
    return {
        "leads": len(snapshot.leads_tab.rows),
        "obs": len(snapshot.ob_tab.rows),
        "plan_s": seconds,
        "loads_s": loads,
        "payload_mb": len(payload.encode("utf-8")) / 1e6,
        "changes": len(result.changes),
        "findings": len(result.findings),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def full_runs(
    desk: generate.GeneratedDesk,
    new_leads: list[list[Any]],
    new_obs: list[list[Any]],
) -> dict[str, Any]:
    """The first, daily and idle runs through GoogleBackend against the fake Sheets API."""
    import structlog.testing

    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from bot.collector import paused
    from bot.engine import plan
    from bot.sheets.google import GoogleBackend
    from rules.columns import TabSpec
    from rules.settings import RuleSettings

    from fake_sheets import FakeSheetsAPI, make_service_account_key

    api = FakeSheetsAPI()
    book = api.add_spreadsheet(SHEET_ID)
    tabs = {}
    for title, rows in desk.sheets().items():
        tabs[title] = book.add_sheet(title, rows=len(rows), columns=GRID_COLUMNS)
        tabs[title].set_rows(rows)
    in_fake = [0.0, 0.0]  # seconds and CPU seconds spent serving requests inside the fake

    def timed(serve: Any) -> Any:
        def serve_timed(request: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return serve(request)
            finally:
                in_fake[0] += time.perf_counter() - started
                in_fake[1] += time.process_time() - cpu

        return serve_timed

    api._serve_sheets = timed(api._serve_sheets)  # type: ignore[method-assign]
    api._serve_token = timed(api._serve_token)  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as tmp:
        key = make_service_account_key(Path(tmp))
        api.register_service_account(key.key_id, key.email, key.public_pem)

        def one_run() -> dict[str, Any]:
            calls, fake_before, fake_cpu_before = len(api.calls), in_fake[0], in_fake[1]
            started, cpu = time.perf_counter(), time.process_time()
            backend = GoogleBackend(
                SHEET_ID,
                TabSpec(generate.LEADS_TITLE),
                TabSpec(generate.OB_TITLE),
                credentials=key.path,
            )
            with paused():  # as bot.runner.apply runs it
                snapshot = backend.read()
                p = plan(snapshot, desk.now, RuleSettings())
                result = backend.write(snapshot, p.cell_writes())
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            made = [c for c in api.calls[calls:] if c.kind != "token"]
            if result.skipped:
                raise AssertionError(f"{len(result.skipped)} writes skipped: {result.skipped[0]}")
            return {
                "seconds": seconds,
                "client_s": seconds - (in_fake[0] - fake_before),
                "client_cpu_s": cpu - (in_fake[1] - fake_cpu_before),
                "requests": len(made),
                "kinds": dict(Counter(c.kind for c in made)),
                "changes": len(p.changes),
                "written": len(result.written),
                "write_mb": sum(c.body_bytes for c in made if c.kind == "values.batchUpdate") / 1e6,
            }

        with api.serve(), structlog.testing.capture_logs():  # the backend's log lines: not here
            first = one_run()
            for title, rows in ((generate.LEADS_TITLE, new_leads), (generate.OB_TITLE, new_obs)):
                below = len(desk.sheets()[title]) + 1  # staff add a day's rows at the bottom
                tabs[title].set_rows(rows, start_row=below)
            daily = one_run()
            idle = one_run()
    return {"first": first, "daily": daily, "idle": idle}


# The floor a preview is measured against: reading the same .xlsx into Python values, no more.
CALAMINE_READ = """
import sys
from python_calamine import CalamineWorkbook
book = CalamineWorkbook.from_path(sys.argv[1])
rows = [book.get_sheet_by_name(title).to_python() for title in book.sheet_names]
"""
MOVEBOT = "import sys; from bot.cli import main; sys.exit(main())"  # the `movebot` command


def _cpu_and_rss(argv: list[str]) -> tuple[float, float]:
    """The CPU seconds (user + system) and the peak RSS (MB) of one process running `argv`."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv[:4]} failed:\n{err.read().decode()[-3000:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure_preview(xlsx: Path, now: str, repeat: int = 3) -> dict[str, float]:
    """`movebot reconcile --workbook xlsx --json` and the python-calamine read of the same file:
    CPU and peak RSS, each the best of `repeat` fresh processes, taken in turns."""
    preview = [sys.executable, "-c", MOVEBOT, "reconcile", "--workbook", str(xlsx), "--json"]
    preview += ["--now", now]
    floor = [sys.executable, "-c", CALAMINE_READ, str(xlsx)]
    runs: dict[str, list[tuple[float, float]]] = {"preview": [], "calamine": []}
    for _ in range(repeat):
        runs["preview"].append(_cpu_and_rss(preview))
        runs["calamine"].append(_cpu_and_rss(floor))
    out = {}
    for name, measured in runs.items():
        out[f"{name}_cpu_s"] = min(cpu for cpu, _ in measured)
        out[f"{name}_rss_mb"] = min(rss for _, rss in measured)
    return out


# -- orchestration ----------------------------------------------------------------------------


def _worker(argv: list[str]) -> int:
    """`bench.py --worker plan PAYLOAD REPEAT` or `--worker google DESK.pickle`: one
    measurement in this fresh process, its result as one JSON line on stdout."""
    kind = argv[0]
    if kind == "plan":
        out = measure_plan(Path(argv[1]).read_text(encoding="utf-8"), int(argv[2]))
    else:
        with open(argv[1], "rb") as f:
            desk, new_leads, new_obs = pickle.load(f)
        out = full_runs(desk, new_leads, new_obs)
    print(json.dumps(out))
    return 0


def _in_fresh_process(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench worker {args[0]} failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def bench_size(n: int, repeat: int, google: bool, seed: int = 0) -> dict[str, Any]:
    started = time.perf_counter()
    desk = generate.generate(n, seed=seed)
    print(f"  {n:,} leads: generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    out: dict[str, Any] = {"n": n}
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp) / "batchget.json"
        payload.write_text(desk.batch_get_payload(), encoding="utf-8")
        out["plan"] = _in_fresh_process("plan", str(payload), str(repeat))
        print(f"  {n:,} leads: planned in {out['plan']['plan_s']:.2f} s", file=sys.stderr)
        xlsx = Path(tmp) / "desk.xlsx"
        desk.write_xlsx(xlsx)
        out["preview"] = measure_preview(xlsx, desk.now.isoformat(), repeat)
        print(f"  {n:,} leads: previewed the .xlsx", file=sys.stderr)
        if google:
            pickled = Path(tmp) / "desk.pickle"
            with open(pickled, "wb") as f:
                pickle.dump(desk.without_latest(*daily_rows(len(desk.leads), len(desk.obs))), f)
            out["google"] = _in_fresh_process("google", str(pickled))
            print(f"  {n:,} leads: full runs done", file=sys.stderr)
    return out


def growth(results: list[dict[str, Any]]) -> float | None:
    """The exponent k of plan time ~ n^k between the smallest and the largest size."""
    if len(results) < 2:
        return None
    a, b = results[0], results[-1]
    return math.log(b["plan"]["plan_s"] / a["plan"]["plan_s"]) / math.log(b["n"] / a["n"])


def n_log_n(results: list[dict[str, Any]]) -> float:
    """The exponent n log n growth amounts to between the smallest and the largest size."""
    a, b = results[0]["n"], results[-1]["n"]
    return math.log(b * math.log(b) / (a * math.log(a))) / math.log(b / a)


def targets(results: list[dict[str, Any]]) -> list[str]:
    """DESIGN.md's "Numbers it must reach", checked on the largest size measured."""
    last = results[-1]
    p, n = last["plan"], last["n"]
    checks = [
        (f"plan {p['plan_s']:.2f} s <= 3 s", p["plan_s"] <= 3.0),
        (f"peak RSS {p['rss_mb']:.0f} MB <= 400 MB", p["rss_mb"] <= 400),
    ]
    k = growth(results)
    if k is not None:
        checks.append((f"growth n^{k:.2f} <= n log n", k <= n_log_n(results)))
    if "google" in last:
        g = last["google"]
        daily, idle = g["daily"]["requests"], g["idle"]["requests"]
        checks.append(
            (f"requests {daily} <= 5 with changes, {idle} <= 2 without", daily <= 5 and idle <= 2)
        )
    lines = [f"\nTargets (DESIGN.md) at {n:,} leads:"]
    lines += [f"  {'met   ' if ok else 'MISSED'}  {text}" for text, ok in checks]
    if (
        "google" in last
        and (parts := last["google"]["first"]["kinds"].get("values.batchUpdate", 0)) > 1
    ):
        lines.append(
            f"  note    the first run writes {last['google']['first']['write_mb']:.1f} MB in "
            f"{parts} values.batchUpdate parts\n          (DESIGN.md: one more write per ~2 MB "
            "of body)"
        )
    return lines


def preview_table(results: list[dict[str, Any]]) -> list[str]:
    """Per size: the .xlsx preview against its floor, CPU and memory (issue 15)."""
    head = (
        f"{'leads':>8} {'preview s':>10} {'calamine s':>11} {'ratio':>6} "
        f"{'preview MB':>11} {'calamine MB':>12}"
    )
    lines = ["", "The .xlsx preview beside reading the same file with python-calamine:", head]
    lines.append("-" * len(head))
    for r in results:
        v = r["preview"]
        lines.append(
            f"{r['n']:>8,} {v['preview_cpu_s']:>10.2f} {v['calamine_cpu_s']:>11.2f} "
            f"{v['preview_cpu_s'] / v['calamine_cpu_s']:>5.1f}× {v['preview_rss_mb']:>11.0f} "
            f"{v['calamine_rss_mb']:>12.0f}"
        )
    lines.append(
        "preview: `movebot reconcile --workbook desk.xlsx --json`, the whole process;\n"
        "calamine: a process that only reads the same .xlsx with python-calamine.\n"
        "CPU seconds (user + system) and peak RSS, best of the runs."
    )
    return lines


def goals(results: list[dict[str, Any]]) -> list[str]:
    """Issue 15's table: each figure measured in this run beside its goal."""
    last = results[-1]
    v, p, n = last["preview"], last["plan"], last["n"]
    rows = [
        (
            "preview CPU / calamine read CPU",
            f"{v['preview_cpu_s'] / v['calamine_cpu_s']:.1f}× "
            f"({v['preview_cpu_s']:.2f} / {v['calamine_cpu_s']:.2f} s)",
            "<= 2.0×",
            v["preview_cpu_s"] <= 2.0 * v["calamine_cpu_s"],
        ),
        (
            "preview peak RSS (calamine alone)",
            f"{v['preview_rss_mb']:.0f} MB ({v['calamine_rss_mb']:.0f} MB)",
            "<= 250 MB",
            v["preview_rss_mb"] <= 250,
        ),
    ]
    if "google" in last:
        g = last["google"]
        client = g["first"]["client_cpu_s"]
        rows.append(
            (
                "Google client CPU / json.loads",
                f"{client / p['loads_s']:.1f}× ({client:.2f} / {p['loads_s']:.2f} s)",
                "<= 6×",
                client <= 6 * p["loads_s"],
            )
        )
        requests = " / ".join(str(g[k]["requests"]) for k in ("first", "daily", "idle"))
        rows.append(("Sheets requests first / daily / idle", requests, "6 / 5 / 2", None))
    k = growth(results)
    if k is not None:
        rows.append((f"plan growth {results[0]['n']:,} -> {n:,}", f"n^{k:.2f}", "n^1.0", None))
    lines = [f"\nIssue 15 at {n:,} leads + {p['obs']:,} OB rows: measured in this run, goal"]
    for figure, measured, goal, ok in rows:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        lines.append(f"  {figure:<37} {measured:<22} {goal:<9} {verdict}".rstrip())
    return lines


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'leads':>8} {'OB':>7} {'plan s':>7} {'json s':>7} {'ratio':>6} {'RSS MB':>7} "
        f"{'full run s':>14} {'requests':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        p = r["plan"]
        run = requests = "—"
        if "google" in r:
            g = r["google"]
            first = g["first"]
            run = f"{first['client_cpu_s']:.1f} ({first['seconds']:.1f})"
            requests = "/".join(str(g[k]["requests"]) for k in ("first", "daily", "idle"))
        lines.append(
            f"{p['leads']:>8,} {p['obs']:>7,} {p['plan_s']:>7.2f} {p['loads_s']:>7.3f} "
            f"{p['plan_s'] / p['loads_s']:>5.1f}× {p['rss_mb']:>7.0f} {run:>14} {requests:>9}"
        )
    lines.append(
        "plan: bot.engine.plan on the snapshot, CPU, one core; json s: json.loads of\n"
        "the batchGet answer; ratio: plan / json.loads; RSS: the plan process's peak;\n"
        "full run: the first run (read, plan, verify, write) against the fake Sheets API,\n"
        "client CPU (in brackets wall time, the fake server's own included);\n"
        "requests: of the first, daily and idle runs."
    )
    lines += preview_table(results)
    k = growth(results)
    if k is not None:
        lines.append(
            f"\nplan time growth {results[0]['n']:,} -> {results[-1]['n']:,} leads: "
            f"n^{k:.2f}\n(1.00 = linear, n log n = n^{n_log_n(results):.2f})"
        )
    if results[-1]["n"] >= 100_000:
        lines.extend(targets(results))
    else:
        lines.append("(DESIGN.md's targets are for 100,000 leads: run with the default sizes)")
    lines.extend(goals(results))
    for r in results:
        if "google" not in r:
            continue
        g, n = r["google"], r["n"]
        parts = []
        for name in ("first", "daily", "idle"):
            run = g[name]
            kinds = ", ".join(f"{v} {k}" for k, v in sorted(run["kinds"].items()))
            parts.append(
                f"{name}: {run['changes']:,} changes, {run['write_mb']:.1f} MB written, "
                f"client CPU {run['client_cpu_s']:.2f} s\n    {kinds}"
            )
        lines.append(f"\n{n:,} leads, full runs:\n  " + "\n  ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="plan and json.loads: best of")
    parser.add_argument("--no-google", action="store_true", help="skip the full runs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"movebot benchmark: {sizes} leads, OB = 30% of leads, Python {sys.version.split()[0]}",
        flush=True,
    )
    results = [bench_size(n, args.repeat, not args.no_google) for n in sizes]
    print(table(results))
    if not args.no_google:
        print(window.line(window.measure(max(sizes))))  # the verify→write window
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
