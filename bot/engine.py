"""Planning a run: the rules decide (rules/plan.py); this pauses the garbage collector meanwhile."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import rules.plan
from rules.model import Plan, Snapshot
from rules.settings import RuleSettings

_pauses = 0  # plans running now (threads), under _pauses_lock
_pauses_lock = threading.Lock()
_collector_was_on = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while plans are made (restored after the last).

    A plan of 100k leads (DESIGN.md "Numbers it must reach") builds some 300k small objects
    that all live until it returns and form no reference cycles; with the collector on, its
    repeated full passes over them took 40% of the plan's time (benchmarks/bench.py). After
    the pause one ordinary young-generation pass sees them once. Refcounting frees everything
    as usual meanwhile; a cycle made elsewhere is collected once the pause ends.
    """
    global _pauses, _collector_was_on
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()


def plan(
    snapshot: Snapshot, now: datetime, settings: RuleSettings, bot_note_header: str = "봇 확인"
) -> Plan:
    """`rules.plan.plan`, with the garbage collector paused meanwhile (`_collector_paused`)."""
    with _collector_paused():
        return rules.plan.plan(snapshot, now, settings, bot_note_header)
