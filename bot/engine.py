"""Planning a run: the rules decide (rules/plan.py); this pauses the garbage collector meanwhile."""

from __future__ import annotations

from datetime import datetime

import rules.plan
from bot.collector import paused
from rules.model import Plan, Snapshot
from rules.settings import RuleSettings


def plan(
    snapshot: Snapshot, now: datetime, settings: RuleSettings, bot_note_header: str = "봇 확인"
) -> Plan:
    """`rules.plan.plan`, with the garbage collector paused meanwhile (`bot.collector`)."""
    with paused():
        return rules.plan.plan(snapshot, now, settings, bot_note_header)
