"""The desk's rules (RULES.md §4): the registry, built from the functions declared with
`@rule` (rules/registry.py), in the order of a run.

Change rules run first, in this order, each on the sheet as the previous one left it; finding
rules then run on the sheet as it will be after the run's changes, and `bot.note` turns their
findings into the 봇 확인 cells (rules/plan.py). A rule declared but missing here fails a test.
"""

from __future__ import annotations

from rules import (
    blocked,
    contact,
    duplicates,
    longterm,
    notes,
    ob,
    reregistration,
    returns,
    statuses,
)
from rules.notes import BOT_NOTE
from rules.registry import Rule, registered

CHANGE_RULES: tuple[Rule, ...] = registered(
    statuses.normalize_status,
    reregistration.reuse_before_settlement,
    reregistration.new_row_after_settlement,
    duplicates.same_customer_same_move,
    duplicates.several_numbers,
    longterm.promote,
    ob.sync_note,
)

FINDING_RULES: tuple[Rule, ...] = registered(
    statuses.unknown_status,
    statuses.unreadable_values,
    statuses.required_for_consultation,
    statuses.invalid_phone,
    longterm.window,
    longterm.past,
    longterm.match,
    duplicates.same_name_same_move,
    duplicates.vendor_notice,
    duplicates.note_number,
    ob.orphan,
    ob.price_fields,
    ob.required,
    ob.cancel_without_ob,
    statuses.simple_inquiry_small_move,
    ob.status_hint,
    returns.pending_return,
    contact.attempts,
)

(NOTE_RULE,) = registered(notes.bot_notes)
# called by `Edits` (and for 봇 확인 by the plan) whenever a write meets a blocked cell
(BLOCKED_RULE,) = registered(blocked.write_blocked)

RULES: dict[str, Rule] = {r.id: r for r in (*CHANGE_RULES, *FINDING_RULES, NOTE_RULE, BLOCKED_RULE)}
RULE_IDS: tuple[str, ...] = tuple(RULES)

__all__ = ["BOT_NOTE", "CHANGE_RULES", "FINDING_RULES", "NOTE_RULE", "RULES", "RULE_IDS", "Rule"]
