"""`movebot doctor`: is everything in place for `movebot run`? One line per check, for the
operator (English):

    ✓ what is fine
    ✗ what is wrong — what to do
    ⚠ what works but is worth knowing

Checks, in order: the config (already loaded: it names the source and the journal), the
schedule, the Google credentials (Google sources), the source (workbook readable and
writable / sheet reachable and shared), its tabs and required headers (optional headers that
are missing are a ⚠), the optional vendor list (found or not, vendors and areas read, each
area cell it cannot match a ⚠ naming its row), the alert channels (each apprise URL understood, the deprecated
`alerts.kakaowork` a ⚠; nothing is sent unless `send_test`), the journal (opened when it
exists; else its directory must be
writable — the file is created by the first applied run), and the worker lock.

Exit code: 0 when there is no ✗, 2 otherwise. Nothing here prints a URL, key or token.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from bot.app import App
from bot.config import KAKAOWORK_FIX, Settings
from bot.errors import (
    MissingHeader,
    MissingTab,
    MovebotError,
    UserError,
)
from bot.report import print_fitted
from bot.schedule import describe_schedule
from bot.sheets.workbook import WorkbookBackend
from rules.columns import DEFAULT_HEADERS, REQUIRED
from rules.model import Snapshot, Tab
from rules.parse import parse_vendors

Out = Callable[[str], object]
Mark = Literal["ok", "fail", "warn"]
MARKS: dict[Mark, str] = {"ok": "✓", "fail": "✗", "warn": "⚠"}

TEST_TITLE = "movebot 테스트 알림"
TEST_BODY = "movebot doctor가 보낸 테스트 메시지입니다. 이 메시지가 보이면 알림 채널이 정상입니다."

# What a missing optional column costs (shown with the ⚠ line).
OPTIONAL_USES: dict[str, str] = {
    "call_due": "the digest lists no calls",
    "manager": "the digest puts every row under 미지정",
    "vendor": "promoted leads cannot be checked for a vendor",
    "move_date": "long-term leads cannot be promoted",
}


@dataclass
class Report:
    """The lines printed so far and whether any check failed."""

    out: Out
    failed: int = 0
    warned: int = 0
    lines: list[str] = field(default_factory=list)

    def line(self, mark: Mark, what: str, todo: str = "") -> None:
        text = f"{MARKS[mark]} {what}" + (f" — {todo}" if todo else "")
        self.lines.append(text)
        self.out(text)
        if mark == "fail":
            self.failed += 1
        elif mark == "warn":
            self.warned += 1

    def ok(self, what: str) -> None:
        self.line("ok", what)

    def fail(self, what: str, todo: str) -> None:
        self.line("fail", what, todo)

    def warn(self, what: str, note: str = "") -> None:
        self.line("warn", what, note)


# --- the checks ------------------------------------------------------------------------------


def _source_words(settings: Settings) -> str:
    source = settings.source
    if source.kind == "google":
        return f"Google Sheet {source.spreadsheet or '(not set)'}"
    return f"workbook {settings.resolve(source.path) or '(not set)'}"


def check_schedule(settings: Settings, report: Report, now: datetime) -> None:
    try:
        report.ok(f"schedule: {describe_schedule(settings, now)}")
    except MovebotError as e:
        report.fail("schedule", str(e))


def check_credentials(backend: object, report: Report) -> bool:
    """Google only: the key loads (without a request). False when it does not."""
    load = getattr(backend, "_load_credentials", None)
    if load is None:
        return True
    try:
        load()
    except MovebotError as e:
        report.fail("Google credentials", str(e))
        return False
    email = getattr(backend, "service_account_email", None)
    who = f" (service account {email}; the sheet must be shared with it)" if email else ""
    report.ok(f"Google credentials readable{who}")
    return True


def _optional_missing(tab: Tab) -> list[str]:
    names = DEFAULT_HEADERS[tab.key]
    return [f for f in names if f not in tab.columns and f not in REQUIRED[tab.key]]


def check_tabs(snapshot: Snapshot, report: Report) -> None:
    for tab in (snapshot.leads_tab, snapshot.ob_tab):
        report.ok(
            f"tab '{tab.title}': required headers present (header row {tab.header_row}, "
            f"{len(tab.rows)} rows)"
        )
        missing = _optional_missing(tab)
        if missing:
            names = DEFAULT_HEADERS[tab.key]
            listed = ", ".join(f"'{names[f][0]}'" for f in missing)
            uses = [OPTIONAL_USES[f] for f in missing if f in OPTIONAL_USES]
            note = "; ".join(uses) if uses else "the rules that use them skip their rows"
            report.warn(
                f"tab '{tab.title}' has no optional column {listed}",
                f"{note}. Add the column, or name it under sheets.{tab.key}.headers.",
            )


def check_vendor_tab(snapshot: Snapshot, title: str, report: Report) -> None:
    """The optional 장기고객 업체 리스트: found or not, what was read, and the area cells
    longterm.match cannot match (each on its row)."""
    tab = snapshot.vendors_tab
    if tab is None:
        report.ok(f"no tab '{title}' (optional): longterm.match names no vendors")
        return
    vendors = parse_vendors(tab)
    areas = sum(len(v.regular) + len(v.outside) for v in vendors)
    report.ok(f"tab '{tab.title}': {len(vendors)} vendors, {areas} areas")
    for v in vendors:
        for problem in v.problems:
            report.warn(
                f"tab '{tab.title}' row {v.row}, {problem.header}: '{problem.text}' is no area",
                "write areas from their province (서울 강남구, 경기 성남시), separated by , ; / "
                "or new lines; longterm.match cannot match this one.",
            )


def _quoted(*titles: str) -> str:
    """'a', 'b' and 'c'"""
    names = [f"'{t}'" for t in titles]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def check_source(app: App, report: Report) -> None:
    settings = app.settings
    where = _source_words(settings)
    try:
        backend = app.backend
    except MovebotError as e:
        report.fail(where, str(e))
        return
    if settings.source.kind == "google" and not check_credentials(backend, report):
        return  # the sheet cannot be tried without credentials
    try:
        snapshot = backend.read()
    except MissingTab as e:
        report.ok(f"{where} reachable")
        report.fail("tabs", str(e))
        return
    except MissingHeader as e:
        report.ok(
            f"{where} reachable; tabs {_quoted(settings.sheets.leads.title, settings.sheets.ob.title)} found"
        )
        report.fail("headers", str(e))
        return
    except UserError as e:  # no such workbook, 403 sharing, 404 id, credentials refused
        report.fail(f"{where} reachable", str(e))
        return
    except MovebotError as e:
        report.fail(f"{where} reachable", f"{e} Run `movebot doctor` again later.")
        return
    shared = " and shared with movebot" if settings.source.kind == "google" else ""
    titles = [snapshot.leads_tab.title, snapshot.ob_tab.title]
    if snapshot.vendors_tab is not None:
        titles.append(snapshot.vendors_tab.title)
    report.ok(f"{where} reachable{shared}; tabs {_quoted(*titles)} found")
    if isinstance(backend, WorkbookBackend):
        try:
            backend.check_writable()
        except UserError as e:
            report.fail(f"{where} writable", str(e))
        else:
            report.ok(f"{where} writable")
    check_tabs(snapshot, report)
    check_vendor_tab(snapshot, settings.sheets.vendors.title, report)


def check_alerts(app: App, report: Report, send_test: bool) -> None:
    alerts = app.settings.alerts
    notifier = app.notifier
    results = notifier.check()
    if not results:
        report.warn(
            "no alert channel configured",
            "runs and failures alert nobody and the digest is not sent; add apprise URLs under "
            "alerts.urls (KakaoWork too: kakaowork://APP_KEY@CONVERSATION_ID).",
        )
        return
    for i, result in enumerate(results):
        where = f"alerts.urls[{i}]" if i < len(alerts.urls) else "alerts.kakaowork"
        if result.ok:
            report.ok(f"alert channel {result.channel} ({where}): URL understood")
        else:
            report.fail(
                f"alert channel {result.channel} ({where})",
                f"{result.error}. Fix the URL (see the apprise documentation for its scheme).",
            )
    if alerts.kakaowork:
        report.warn("alerts.kakaowork is deprecated", KAKAOWORK_FIX)
    elif not any(channel.startswith("kakaowork#") for channel in notifier.channels):
        report.ok("KakaoWork not configured (optional)")
    if not send_test:
        return
    for result in notifier.send(TEST_TITLE, TEST_BODY):
        if result.ok:
            report.ok(f"test message delivered to {result.channel}")
        else:
            report.fail(
                f"test message to {result.channel}",
                f"{result.error or 'not delivered'}. Check the channel's token and that the "
                "channel still exists.",
            )


def _writable_dir(path: Path) -> str | None:
    """Why files cannot be created in `path`'s directory (made on first use), or None."""
    directory = path.parent
    probe = directory
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    if probe != directory:
        return None if os.access(probe, os.W_OK | os.X_OK) else f"{probe} is not writable"
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".movebot-doctor-"):
            pass
    except OSError as e:
        return f"cannot create files in {directory} ({e.strerror or e})"
    return None


def check_journal(app: App, report: Report) -> None:
    path = app.settings.journal_path
    if path.exists():
        try:
            app.journal  # noqa: B018 - opening it is the check
        except MovebotError as e:
            report.fail(f"journal {path}", str(e))
            return
        problem = None if os.access(path, os.W_OK) else f"{path} is read-only"
        problem = problem or _writable_dir(path)
        if problem:
            report.fail(f"journal {path}", f"{problem}. Check journal.path (or --journal).")
        else:
            report.ok(f"journal {path} writable")
        return
    problem = _writable_dir(path)
    if problem:
        report.fail(
            f"journal {path}",
            f"{problem}. Point journal.path (or --journal) at a writable place.",
        )
    else:
        report.ok(f"journal {path} can be created (on the first applied run)")


def check_lock(app: App, report: Report) -> None:
    lock = app.lock
    path = lock.path
    if not path.parent.exists():
        problem = _writable_dir(path)
        if problem:
            report.fail(f"worker lock {path}", f"{problem}. It lives beside the journal.")
        else:
            report.ok(f"worker lock {path} can be created")
        return
    try:
        with lock.hold() as held:
            pass
    except MovebotError as e:
        report.fail(f"worker lock {path}", str(e))
        return
    if held:
        report.ok(f"worker lock {path} writable (no worker running)")
    else:
        pid = lock.holder()
        report.ok(f"worker lock {path} held by a running worker" + (f" (pid {pid})" if pid else ""))


# --- the command -----------------------------------------------------------------------------


def _paths(app: App) -> list[str]:
    """The paths doctor's lines name (a user copies them), their folders too, longest first."""
    settings = app.settings
    named: list[Path | None] = [settings.journal_path, app.lock.path]
    if settings.source.kind != "google":
        named.append(settings.resolve(settings.source.path))
    texts = {str(p) for path in named if path is not None for p in (path, path.parent)}
    return sorted((t for t in texts if " " in t), key=len, reverse=True)


def run_doctor(app: App, *, send_test: bool = False, out: Out | None = None) -> int:
    """Run every check on the parts `app` builds, printing one line each and a last summary
    line (by default on the terminal, wrapped to its width, no path split). 0 all well, 2
    when something must be fixed (warnings do not count)."""
    if out is None:
        paths = _paths(app)
        out = functools.partial(print_fitted, keep=paths)
    settings = app.settings
    report = Report(out)
    report.ok(f"config valid: {_source_words(settings)}, journal {settings.journal_path}")
    check_schedule(settings, report, app.clock())
    check_source(app, report)
    check_alerts(app, report, send_test)
    check_journal(app, report)
    check_lock(app, report)
    if report.failed:
        out(f"{report.failed} problem(s) to fix.")
        return 2
    out("All checks passed." + (f" ({report.warned} warning(s))" if report.warned else ""))
    return 0


def doctor_command(
    load: Callable[[], App], *, send_test: bool = False, out: Out | None = None
) -> int:
    """`movebot doctor`: `load` builds the parts from the settings (the CLI's
    `App(settings_from(args))`); a config that does not load is the first ✗ line, and exit 2."""
    try:
        app = load()
    except UserError as e:
        out = out or print_fitted
        Report(out).fail("config", str(e))
        out("1 problem(s) to fix.")
        return 2
    with app:
        return run_doctor(app, send_test=send_test, out=out)
