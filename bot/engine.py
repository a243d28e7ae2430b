"""snapshot + now + settings -> Plan. The rules decide; this runs them in order.

Change rules run first, in the order of RULES.md, each on the sheet as the previous one left
it; finding rules then run on the sheet as it will be after this run's changes, and the 봇 확인
cells are computed from those findings. So a second run over the first run's output plans
zero changes.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from rules import BOT_NOTE, CHANGE_RULES, FINDING_RULES, RULES
from rules.base import Context, Edits, Rule, items
from rules.model import Change, Finding, Lead, ObCall, Plan, SheetKey, Snapshot
from rules.parse import parse_desk, with_cell
from rules.settings import RuleSettings

KST = ZoneInfo("Asia/Seoul")


def mode_of(rule_id: str, settings: RuleSettings) -> str:
    """apply, suggest or off as configured; under `--rule` (only_rules), a rule not named is
    "hidden": it writes nothing and reports nothing, and its findings (a change rule's as
    suggestions) only feed 봇 확인 — which is written only when `bot.note` is named too, so
    a partial run never rewrites it from part of the rules."""
    if settings.only_rules is not None and rule_id not in settings.only_rules:
        return "off" if rule_id == BOT_NOTE else "hidden"
    default = RULES[rule_id].default_mode if rule_id in RULES else "apply"
    return settings.modes.get(rule_id, default)  # type: ignore[return-value]


def _crash(rule: Rule, item: object, error: Exception) -> Finding:
    message = f"규칙 {rule.id} 처리 중 오류 ({type(error).__name__}) — 개발팀 확인 필요"
    if isinstance(item, Lead):
        return Finding("leads", item.row, rule.id, message, fingerprint=item.fingerprint)
    if isinstance(item, ObCall):
        return Finding("ob", item.row, rule.id, message, fingerprint=item.fingerprint)
    if isinstance(item, list) and item and isinstance(item[0], Lead):
        return Finding("leads", item[0].row, rule.id, message, fingerprint=item[0].fingerprint)
    return Finding("leads", 0, rule.id, message)


def _item_check(rule: Rule) -> Callable[..., Iterable[Finding] | None]:
    """The rule's check, called as (item, ctx[, edits]) whatever its scope: a rule over the
    whole desk is handed the context alone."""
    if rule.scope != "desk":
        return rule.check
    return lambda _item, ctx, *edits: rule.check(ctx, *edits)


def _run(
    rule: Rule, ctx: Context, edits: Edits | None, calls: Iterator[int] | None = None
) -> list[Finding]:
    """Call the rule on each item of its scope; a rule that fails on one item becomes a
    finding on that row and the run goes on."""
    found: list[Finding] = []
    check = _item_check(rule)
    if edits is None:  # a finding rule: the loop runs once per row, so it is kept short
        for item in items(rule.scope, ctx):
            try:
                out = check(item, ctx)
                if out:
                    found.extend(out)
            except Exception as error:  # noqa: BLE001 - a rule's bug must not stop the run
                found.append(_crash(rule, item, error))
        return found
    for item in items(rule.scope, ctx):
        edits.group = next(calls) if calls else 0  # the changes of one call land together
        mark = edits.checkpoint()
        try:
            out = check(item, ctx, edits)
            if out:
                found.extend(out)
        except Exception as error:  # noqa: BLE001 - a rule's bug must not stop the run
            edits.rollback(mark)
            found.append(_crash(rule, item, error))
    return found


def _added(change: Change) -> str:
    return (
        change.new[len(change.old.rstrip()) :].lstrip(", \n")
        if change.new.startswith(change.old.rstrip())
        else change.new
    )


def _suggestion(change: Change) -> Finding:
    if change.field == "status":
        text = f"진행상황 '{change.new}'(으)로 변경 제안 — {change.reason}"
    elif change.field == "remarks":
        text = f"비고 추가 제안: {_added(change)}"
    else:
        text = f"예비번호 추가 제안: {_added(change)}"
    return Finding(change.sheet, change.row, change.rule, text, fingerprint=change.fingerprint)


def _apply(
    leads: tuple[Lead, ...], changes: Iterable[Change], position: dict[int, int]
) -> tuple[tuple[Lead, ...], list[int]]:
    """The leads once `changes` land (`leads` itself when there are none), and the positions
    of the leads they rewrote. `position` maps a lead's sheet row to its place in `leads`."""
    out: list[Lead] | None = None
    changed: list[int] = []
    for c in changes:
        if out is None:
            out = list(leads)
        i = position[c.row]
        out[i] = with_cell(out[i], c.field, c.new)
        changed.append(i)
    return (leads if out is None else tuple(out)), changed


def _bot_notes(
    snapshot: Snapshot,
    leads: tuple[Lead, ...],
    obs: tuple[ObCall, ...],
    findings: list[Finding],
    header: str,
) -> tuple[list[Change], list[tuple[SheetKey, int]]]:
    """The 봇 확인 cells: each row's open findings, one per line; emptied when resolved."""
    lines: dict[str, dict[int, list[str]]] = {"leads": defaultdict(list), "ob": defaultdict(list)}
    for f in findings:
        messages = lines[f.sheet][f.row]
        if f.message not in messages:
            messages.append(f.message)
    changes: list[Change] = []
    new_columns: list[tuple[SheetKey, int]] = []
    rows: dict[SheetKey, tuple[Lead, ...] | tuple[ObCall, ...]] = {"leads": leads, "ob": obs}
    for sheet, sheet_rows in rows.items():
        tab = snapshot.tab(sheet)
        sheet_changes = []
        on_sheet = lines[sheet]
        for row in sheet_rows:
            found = on_sheet.get(row.row)
            new = "\n".join(found) if found else ""
            if new != row.bot_note:
                sheet_changes.append(
                    Change(
                        sheet,
                        row.row,
                        "bot_note",
                        row.bot_note,
                        new,
                        BOT_NOTE,
                        "봇 확인 갱신",
                        row.fingerprint,
                    )
                )
        if sheet_changes and "bot_note" not in tab.columns:
            column = tab.used_width
            new_columns.append((sheet, column))
            changes.append(
                Change(sheet, tab.header_row, "bot_note", "", header, BOT_NOTE, "봇 확인 열 추가")
            )
        changes.extend(sheet_changes)
    return changes, new_columns


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
    """What a run would do to `snapshot` at `now` (aware; taken as Asia/Seoul). The garbage
    collector is paused meanwhile (`_collector_paused`)."""
    with _collector_paused():
        return _plan(snapshot, now, settings, bot_note_header)


def _plan(snapshot: Snapshot, now: datetime, settings: RuleSettings, bot_note_header: str) -> Plan:
    local_now = now.astimezone(KST)
    wall = local_now.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    desk = parse_desk(snapshot, wall.date())
    leads, obs = desk.leads, desk.obs
    position = {lead.row: i for i, lead in enumerate(leads)}
    ctx = Context(leads, obs, wall, settings, desk.vendors)
    changes: list[Change] = []
    findings: list[Finding] = []
    calls = itertools.count(1)  # numbers each call of a change rule: its changes' group
    hidden: set[str] = set()
    for rule in CHANGE_RULES:
        mode = mode_of(rule.id, settings)
        if mode == "off":
            continue
        if mode == "hidden":
            hidden.add(rule.id)
        edits = Edits(rule.id)
        found = _run(rule, ctx, edits, calls) + edits.refused
        if mode == "apply":
            leads, changed = _apply(leads, edits.changes, position)
            ctx = ctx.after(leads, changed)  # the next rule sees the sheet as this one left it
            changes.extend(edits.changes)
        else:
            findings.extend(_suggestion(c) for c in edits.changes)
        findings.extend(found)
    for rule in FINDING_RULES:
        mode = mode_of(rule.id, settings)
        if mode == "off":
            continue
        if mode == "hidden":
            hidden.add(rule.id)
        findings.extend(_run(rule, ctx, None))
    new_columns: list[tuple[SheetKey, int]] = []
    if mode_of(BOT_NOTE, settings) == "apply":
        note_changes, new_columns = _bot_notes(snapshot, leads, obs, findings, bot_note_header)
        changes.extend(note_changes)
    shown = tuple(f for f in findings if f.rule not in hidden)
    return Plan(
        snapshot=snapshot,
        now=local_now,
        changes=tuple(changes),
        findings=shown,
        new_columns=tuple(new_columns),
        desk=desk,
    )
