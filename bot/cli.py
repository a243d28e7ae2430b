"""The `movebot` command. Errors a user can hit become one clear paragraph and an exit code:
0 ran, 2 something to fix (config, input, headers, sharing), 3 the service kept failing,
1 anything else."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, time
from pathlib import Path
from typing import Any

from bot import runner
from bot.app import App, kst_now
from bot.config import Settings, load_settings, workbook_settings
from bot.errors import BadConfig, BadInput, MovebotError, SourceChanged
from bot.journal import UnknownRun
from bot.logs import configure_logging
from bot.masking import scrub
from bot.ports import Clock
from bot.report import render_text, render_undo, wrapped, write_outcome_json
from bot.settlement import settlement_command
from rules import RULE_IDS, RULES
from rules.values import KST

LOCK_WAIT_SECONDS = 60


def clock_from(text: str | None) -> Clock:
    """`--now`: ISO 8601, with an offset or taken as Asia/Seoul; without it, the real clock."""
    if not text:
        return kst_now
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"--now {text!r} is not an ISO 8601 time; write e.g. 2024-12-03T09:00:00+09:00."
        ) from None
    now = value if value.tzinfo else value.replace(tzinfo=KST)
    return lambda: now


def settings_from(args: argparse.Namespace, source_required: bool = True) -> Settings:
    config = Path(args.config) if getattr(args, "config", None) else None
    workbook = getattr(args, "workbook", None)
    if workbook:
        settings = workbook_settings(Path(workbook), config)
    elif config:
        settings = load_settings(config)
    elif not source_required:
        settings = load_settings(None)
    else:
        raise BadConfig(
            "Say which sheet to work on: --config FILE (see config.example.yaml) or "
            "--workbook FILE.xlsx."
        )
    journal = getattr(args, "journal", None)
    if journal:
        # A path typed on the command line is relative to the current directory, not to the
        # workbook's or config's folder (that is for paths written inside a config file).
        path = Path(journal).expanduser().absolute()
        settings = settings.model_copy(
            update={"journal": settings.journal.model_copy(update={"path": path})}
        )
    return settings


def app_from(args: argparse.Namespace, source_required: bool = True) -> App:
    """The parts of this command, built from its settings and `--now`."""
    return App(settings_from(args, source_required), clock_from(getattr(args, "now", None)))


def _only_rules(names: Sequence[str] | None) -> frozenset[str] | None:
    if not names:
        return None
    unknown = [n for n in names if n not in RULE_IDS]
    if unknown:
        raise BadInput(f"--rule {', '.join(unknown)}: no such rule. Rules: {', '.join(RULE_IDS)}.")
    return frozenset(names)


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """The run's steps on one line of a terminal's stderr (nothing when it is not one)."""
    if not sys.stderr.isatty():
        yield lambda step: None
        return

    def show(step: str) -> None:
        sys.stderr.write(f"\r\033[K{step} …")
        sys.stderr.flush()

    try:
        yield show
    finally:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


@contextmanager
def _sheet_lock(app: App, writing: bool) -> Iterator[None]:
    """A run that writes takes the sheet's lock, so it never overlaps the scheduled worker."""
    if not writing:
        yield
        return
    with app.lock.hold(wait=LOCK_WAIT_SECONDS) as held:
        if not held:
            raise SourceChanged(
                f"Another movebot run (pid {app.lock.holder() or '?'}) is writing this sheet and "
                f"did not finish within {LOCK_WAIT_SECONDS} s. Try again once it has; "
                "`movebot history` shows the runs."
            )
        yield


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.digest import run_digest  # here: a preview loads no other command's modules

    with app_from(args) as app:
        return run_digest(
            app.settings,
            app.backend,
            app.clock(),
            as_json=args.json,
            send_to=app.notifier if args.send else None,
        )


def cmd_report(args: argparse.Namespace) -> int:
    from bot.reporting import run_report  # here: a preview loads no other command's modules

    with app_from(args) as app:
        journal_there = app.settings.journal_path.exists()  # a report never creates one
        return run_report(
            app.settings,
            app.backend,
            app.clock(),
            journal=app.journal if journal_there else None,
            kind=args.period,
            label=args.label,
            out_dir=Path(args.out) if args.out else None,
            as_json=args.json,
            send_to=app.notifier if args.send else None,
        )


def cmd_run(args: argparse.Namespace) -> int:
    from bot.schedule import run_worker  # here: a preview loads no APScheduler

    with app_from(args) as app:
        if sys.stdout.isatty():  # a person watching: a line for each job
            return run_worker(app, say=print)
        return run_worker(app)


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import doctor_command  # here: a preview loads no other command's modules

    return doctor_command(lambda: app_from(args), send_test=args.send_test)


def cmd_reconcile(args: argparse.Namespace) -> int:
    app = app_from(args)
    only = _only_rules(args.rule)
    with app, _sheet_lock(app, args.apply), _progress() as progress:
        settings, now = app.settings, app.clock()
        if args.apply:
            outcome = runner.apply(
                settings,
                app.backend,
                app.journal,
                app.notifier,
                now,
                only_rules=only,
                progress=progress,
            )
        else:
            outcome = runner.preview(settings, app.backend, now, only_rules=only, progress=progress)
    source = settings.source.spreadsheet or str(settings.resolve(settings.source.path))
    if args.json:
        write_outcome_json(outcome, sys.stdout)
    else:
        print(render_text(outcome, source))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with app_from(args, source_required=False) as app:
        path = app.settings.journal_path
        if not path.exists():
            print(f"No journal at {path} yet: no run has been applied there.")
            return 0
        runs = app.journal.runs(args.limit)
    if args.json:
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "undo_of": r.undo_of,
                "started": r.started.isoformat(),
                "recorded": r.recorded.isoformat() if r.recorded else None,
                "finished": r.finished.isoformat() if r.finished else None,
                "source": r.source,
                "outcome": r.outcome,
                "written": r.written,
                "skipped": r.skipped,
                "findings": r.findings,
                "error": r.error,
            }
            for r in runs
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not runs:
        print(f"The journal {path} has no runs.")
    for r in runs:  # a few short lines each, to fit 80 columns
        what = f"undo of {r.undo_of}" if r.kind == "undo" else r.kind
        clock = f"{r.started:%Y-%m-%d %H:%M} KST"
        if r.recorded is not None and f"{r.recorded:%Y-%m-%d %H:%M}" != clock[:16]:
            clock += f" (--now; run at {r.recorded:%Y-%m-%d %H:%M})"
        lines = [
            f"{r.id}  {what}  {r.outcome}",
            f"    {clock}",
            f"    written {r.written}, skipped {r.skipped}, findings {r.findings}",
            f"    {r.source}",
        ]
        if r.error:
            lines += wrapped(r.error, "    ")
        print("\n".join(lines))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    with app_from(args) as app, _sheet_lock(app, args.apply):
        path = app.settings.journal_path
        if not path.exists():  # looking must not create an empty journal
            raise UnknownRun(
                f"No journal at {path}: no run has been applied there, so there is nothing to "
                "undo. Give the journal with --journal (or journal.path)."
            )
        outcome = runner.undo(
            app.settings, app.backend, app.journal, args.run_id, app.clock(), apply=args.apply
        )
    print(render_undo(outcome))
    return 0


def cmd_settlement(args: argparse.Namespace) -> int:
    with app_from(args) as app:
        return settlement_command(
            app.settings,
            app.backend,
            lambda: app.journal,
            app.clock(),
            args.words,
            source=runner.source_name(app.settings),
            replace=args.replace,
            as_json=args.json,
            out_file=args.out,
            send_to=app.notifier if args.send else None,
        )


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo  # here: a preview loads no other command's modules

    path = Path(args.path)
    with App(workbook_settings(path, None), clock_from(args.now)) as app:
        return run_demo(path, app)


def rules_table(markdown: bool) -> str:
    """The rule reference, generated from the registry (the README's table is this output)."""
    rows = [(rule.id, rule.default_mode, rule.summary) for rule in RULES.values()]
    if markdown:
        lines = ["| id | default | what |", "|---|---|---|"]
        lines += [f"| `{i}` | {m} | {w} |" for i, m, w in rows]
        return "\n".join(lines)
    return "\n".join(line for i, m, w in rows for line in wrapped(w, f"{i:<20} {m:<8} "))


def _setting_lines(settings: Settings, key: str) -> list[str]:
    """A setting and its value, written as in config.example.yaml."""
    value: Any = settings
    for name in key.split("."):  # `section.key`, or deeper (`sheets.vendors.title`)
        value = getattr(value, name)
    if isinstance(value, dict):
        return [f"  {key}:"] + [f"    {k}: {v}" for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [f"  {key}: [{', '.join(map(str, value))}]"]
    return [f"  {key}: {value:%H:%M}" if isinstance(value, time) else f"  {key}: {value}"]


def rule_doc(rule_id: str) -> str:
    """`movebot rules ID`: the rule's documentation, how it runs, and the settings it reads."""
    rule = RULES.get(rule_id)
    if rule is None:
        raise BadInput(f"{rule_id}: no such rule. Rules: {', '.join(RULE_IDS)}.")
    kind = "change rule" if rule.changes else "finding rule"
    lines = [
        f"# {rule.id} · {rule.title}",
        "",
        f"Default mode: {rule.default_mode} ({kind}). Severity: {rule.severity}.",
        "",
        *(line for part in rule.doc.split("\n\n") for line in [*wrapped(part), ""]),
    ]
    lines.pop()  # the blank line after the last paragraph
    if rule.settings:
        settings = load_settings(None)
        lines += ["", "Settings it reads (default):"]
        for key in rule.settings:
            lines += _setting_lines(settings, key)
    return "\n".join(lines)


def cmd_rules(args: argparse.Namespace) -> int:
    print(rule_doc(args.rule_id) if args.rule_id else rules_table(args.markdown))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movebot", description="Keeps a moving desk's Google Sheet honest."
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each step (INFO) on stderr"
    )
    # -v is accepted after the command too (`movebot reconcile -v`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def source_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE", help="YAML settings (config.example.yaml)")
        p.add_argument("--workbook", metavar="FILE", help="a local .xlsx with the desk's tabs")
        p.add_argument("--journal", metavar="PATH", help="the run journal (SQLite file)")

    p = sub.add_parser(
        "reconcile", parents=[common], help="check the sheet and plan (or --apply) the changes"
    )
    source_options(p)
    p.add_argument("--now", help="the run's clock, ISO 8601 (default: now, Asia/Seoul)")
    p.add_argument("--apply", action="store_true", help="write the changes (default: preview)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--rule", action="extend", nargs="+", metavar="ID", help="only these rules' changes"
    )
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser(
        "digest", parents=[common], help="the morning digest: calls due, overdue, returns"
    )
    source_options(p)
    p.add_argument("--now", help="the digest's clock, ISO 8601 (default: now)")
    p.add_argument("--send", action="store_true", help="send it to the alert channels")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser(
        "report", parents=[common], help="the weekly or monthly report, with charts (HTML, PNG)"
    )
    source_options(p)
    p.add_argument("--period", choices=("week", "month"), help="default: week")
    p.add_argument(
        "--for",
        dest="label",
        metavar="LABEL",
        help="which one: 2024-W48 or 2024-11 (default: the last complete one)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="where to write it (default: reports/ beside the journal)"
    )
    p.add_argument("--now", help="the report's clock, ISO 8601 (default: now)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument(
        "--send", action="store_true", help="send the summary and the PNG to the alert channels"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "run", parents=[common], help="the scheduled worker (foreground; Ctrl-C / SIGTERM stop)"
    )
    source_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "doctor", parents=[common], help="check config, credentials, sheet, channels, journal"
    )
    source_options(p)
    p.add_argument("--send-test", action="store_true", help="send a test alert to each channel")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("history", parents=[common], help="past applied runs, newest first")
    source_options(p)
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "undo", parents=[common], help="restore the cells a run wrote (preview; --apply to write)"
    )
    source_options(p)
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--now", help="the undo's clock, ISO 8601 (default: now)")
    p.add_argument("--apply", action="store_true", help="write the restores")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser(
        "settlement",
        parents=[common],
        help="a month's vendor statement; `settlement take` records the month's snapshot",
        usage="movebot settlement [take] [YYYY-MM] [options]",
    )
    source_options(p)
    p.add_argument(
        "words", nargs="*", metavar="[take] [YYYY-MM]", help="default: the last settled month"
    )
    p.add_argument("--now", help="the clock, ISO 8601 (default: now, Asia/Seoul)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="FILE", help="also write the statement to FILE.xlsx or .csv")
    p.add_argument("--send", action="store_true", help="send the summary to the alert channels")
    p.add_argument("--replace", action="store_true", help="take: replace the month's snapshot")
    p.set_defaults(func=cmd_settlement)

    p = sub.add_parser(
        "demo", parents=[common], help="build a workbook from the desk's own cases and run on it"
    )
    p.add_argument("path", nargs="?", default="examples/desk.xlsx")
    p.add_argument("--now", default="2024-12-04T18:00:00+09:00", help="the demo's clock")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "rules", parents=[common], help="list the rules, their ids and default modes"
    )
    p.add_argument("rule_id", nargs="?", metavar="ID", help="show this rule's documentation")
    p.add_argument("--markdown", action="store_true", help="as the README's table")
    p.set_defaults(func=cmd_rules)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # a cell may hold half an emoji (a lone surrogate, from Google Sheets): reports and JSON
    # print it as its escape (`\\ud83d`, valid inside a JSON string) instead of failing
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    default = "INFO" if args.verbose or args.command == "run" else "WARNING"
    configure_logging(level=os.environ.get("MOVEBOT_LOG_LEVEL", default))
    try:
        return int(args.func(args))
    except MovebotError as error:
        print(f"movebot: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("movebot: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`movebot ... | head`)
        sys.stderr.close()
        return 0
    except Exception as error:  # noqa: BLE001 - a traceback is a bug; show it only on request
        if os.environ.get("MOVEBOT_DEBUG"):
            raise
        print(
            f"movebot: internal error ({type(error).__name__}: {scrub(str(error))}). "
            "Run again with MOVEBOT_DEBUG=1 for the traceback, and report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
