"""The core stays pure (DESIGN.md "The shape"): no module in rules/ imports bot/, touches a file
or the network, reads a clock, or logs. Checked on the source, so a forbidden call fails the
suite even on a line no test runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parent.parent / "rules"

# Modules whose import alone means the shell's work: the shell, logging, files and processes,
# the network, the clock.
FORBIDDEN_MODULES = {
    "bot": "imports the shell",
    "logging": "logs",
    "structlog": "logs",
    "io": "does I/O",
    "os": "does I/O",
    "pathlib": "does I/O",
    "shutil": "does I/O",
    "tempfile": "does I/O",
    "sqlite3": "does I/O",
    "subprocess": "does I/O",
    "socket": "does I/O",
    "requests": "does I/O",
    "gspread": "does I/O",
    "openpyxl": "does I/O",
    "apprise": "does I/O",
    "time": "reads a clock",
}
# Calls that do I/O or read a clock whatever they are called on: `open(...)`, `path.read_text()`,
# `print(...)`, `datetime.now()`, `date.today()`.
FORBIDDEN_CALLS = {
    "open": "opens a file",
    "read_text": "opens a file",
    "read_bytes": "opens a file",
    "write_text": "opens a file",
    "write_bytes": "opens a file",
    "print": "does I/O",
    "input": "does I/O",
    "now": "reads a clock",
    "utcnow": "reads a clock",
    "today": "reads a clock",
}


def impurities(source: str) -> list[str]:
    """`line: what` for every forbidden import or call in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:  # `from . import x` stays inside rules/
                names = [node.module] if node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in FORBIDDEN_MODULES:
                    found.append(f"{node.lineno}: imports {name} ({FORBIDDEN_MODULES[top]})")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in FORBIDDEN_CALLS:
                found.append(f"{node.lineno}: calls {called}() ({FORBIDDEN_CALLS[called]})")
    return found


@pytest.mark.parametrize(
    "path", sorted(RULES.rglob("*.py")), ids=lambda p: str(p.relative_to(RULES))
)
def test_the_core_imports_no_shell_does_no_io_reads_no_clock_and_logs_nothing(path):
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("from bot.masking import row_label", "imports bot.masking (imports the shell)"),
        ("import bot", "imports bot (imports the shell)"),
        ("import structlog", "imports structlog (logs)"),
        ("from logging import getLogger", "imports logging (logs)"),
        ("def f(p):\n    return open(p).read()", "calls open() (opens a file)"),
        ("def f(p):\n    return p.read_text()", "calls read_text() (opens a file)"),
        ("from pathlib import Path", "imports pathlib (does I/O)"),
        ("def f():\n    from datetime import datetime\n    return datetime.now()", "calls now()"),
        ("import datetime\nD = datetime.date.today()", "calls today() (reads a clock)"),
        ("import time\nT = time.time()", "imports time (reads a clock)"),
    ],
)
def test_the_check_catches_what_would_make_the_core_impure(source, what):
    assert any(what in line for line in impurities(source)), impurities(source)


def test_what_the_core_may_do_is_not_mistaken_for_impurity():
    allowed = (
        "from datetime import date, datetime, time, timedelta\n"
        "from zoneinfo import ZoneInfo\n"
        "from rules.model import Lead\n"
        "def f(ctx, lead):\n"
        "    return ctx.now.date(), is_open(lead), datetime(2024, 12, 4, tzinfo=ZoneInfo('UTC'))\n"
    )
    assert impurities(allowed) == []
