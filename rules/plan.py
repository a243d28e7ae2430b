"""snapshot + now + settings -> Plan. The rules decide; this runs them in order.

Change rules run first, in the order of RULES.md, each on the sheet as the previous one left
it; finding rules then run on the sheet as it will be after this run's changes, and the 봇 확인
cells are computed from those findings (`bot.note`). So a second run over the first run's
output plans zero changes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime
from itertools import chain

from rules import BOT_NOTE, CHANGE_RULES, FINDING_RULES, NOTE_RULE, RULES
from rules.blocked import WRITE_BLOCKED, write_blocked
from rules.context import Context
from rules.edits import Edits
from rules.model import Change, Finding, Lead, ObCall, Plan, SheetKey, Snapshot
from rules.parse import parse_desk, with_cell
from rules.registry import Rule, Scope
from rules.settings import Mode, RuleSettings
from rules.text import appended
from rules.values import KST


def mode_of(rule_id: str, settings: RuleSettings) -> Mode:
    """apply, suggest or off: as configured, else the rule's default."""
    return settings.modes.get(rule_id, RULES[rule_id].default_mode)


def named(rule_id: str, settings: RuleSettings) -> bool:
    """Whether `--rule` (only_rules) named the rule, or was not given. A rule not named still
    runs, its changes as suggestions, but what it finds is not shown: it only feeds 봇 확인 —
    which is written only when `bot.note` is named too, so a partial run never rewrites it
    from part of the rules."""
    return settings.only_rules is None or rule_id in settings.only_rules


def items(scope: Scope, ctx: Context) -> Iterable[object]:
    """What a rule of `scope` is called with, one at a time."""
    if scope == "lead":
        return ctx.leads
    if scope == "ob":
        return ctx.obs
    if scope == "row":
        return chain(ctx.leads, ctx.obs)
    if scope == "customer":
        return ctx.repeat_customers
    return (ctx,)


def _crash(rule: Rule, item: object, error: Exception) -> Finding:
    message = f"규칙 {rule.id} 처리 중 오류 ({type(error).__name__}) — 개발팀 확인 필요"
    if isinstance(item, Lead):
        return Finding("leads", item.row, rule.id, message, fingerprint=item.fingerprint)
    if isinstance(item, ObCall):
        return Finding("ob", item.row, rule.id, message, fingerprint=item.fingerprint)
    if isinstance(item, list) and item and isinstance(item[0], Lead):
        return Finding("leads", item[0].row, rule.id, message, fingerprint=item[0].fingerprint)
    return Finding("leads", 0, rule.id, message)


def item_check(rule: Rule) -> Callable[..., Iterable[Finding] | None]:
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
    check = item_check(rule)
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
        blocked = edits.take_blocked()
        if blocked:  # write.blocked: the call's other changes are dropped with the write
            edits.rollback(mark)
            found.extend(blocked)
    return found


def _suggestion(change: Change) -> Finding:
    if change.field == "status":
        text = f"진행상황 '{change.new}'(으)로 변경 제안 — {change.reason}"
    elif change.field == "remarks":
        text = f"비고 추가 제안: {appended(change.old, change.new)}"
    else:
        text = f"예비번호 추가 제안: {appended(change.old, change.new)}"
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


def _in_date_order(changes: list[Change], today: date) -> list[Change]:
    """`changes` with the lines one run appends to a 비고 in the order of the days they record
    (an OB call of 11.21 before a re-registration of 12.2, whichever rule ran first): the
    cell's last change gets them sorted; what staff wrote and earlier runs' lines stay first."""
    by_cell: dict[tuple[SheetKey, int], list[int]] = defaultdict(list)
    for i, c in enumerate(changes):
        if c.field == "remarks":
            by_cell[(c.sheet, c.row)].append(i)
    out = changes
    for positions in by_cell.values():
        chain = [changes[i] for i in positions]
        lines = [(c.on or today, appended(c.old, c.new)) for c in chain]
        ordered = sorted(lines, key=lambda line: line[0])
        if len(chain) < 2 or ordered == lines:
            continue
        if out is changes:
            out = list(changes)
        base = chain[0].old.rstrip()
        text = "\n".join(line for _, line in ordered)
        out[positions[-1]] = replace(chain[-1], new=f"{base}\n{text}" if base else text)
    return out


def _note_column(snapshot: Snapshot, sheet: SheetKey) -> int:
    return snapshot.tab(sheet).columns.get("bot_note", -1)


def plan(
    snapshot: Snapshot, now: datetime, settings: RuleSettings, bot_note_header: str = "봇 확인"
) -> Plan:
    """What a run would do to `snapshot` at `now` (aware; taken as Asia/Seoul)."""
    local_now = now.astimezone(KST)
    wall = local_now.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    desk = parse_desk(snapshot, wall.date())
    leads, obs = desk.leads, desk.obs
    position = {lead.row: i for i, lead in enumerate(leads)}
    ctx = Context(leads, obs, wall, settings, desk.vendors)
    changes: list[Change] = []
    findings: list[Finding] = []
    calls = itertools.count(1)  # numbers each call of a change rule: its changes' group
    hidden = {rule_id for rule_id in RULES if not named(rule_id, settings)}
    refuse_blocked = mode_of(WRITE_BLOCKED, settings) != "off"
    for rule in CHANGE_RULES:
        mode = mode_of(rule.id, settings)
        if mode == "off":
            continue
        if rule.id in hidden:
            mode = "suggest"
        edits = Edits(rule.id, refuse_blocked, snapshot.leads_tab.cell_limit)
        found = _run(rule, ctx, edits, calls)
        if mode == "apply":
            leads, changed = _apply(leads, edits.changes, position)
            ctx = ctx.after(leads, changed)  # the next rule sees the sheet as this one left it
            changes.extend(edits.changes)
        else:
            findings.extend(_suggestion(c) for c in edits.changes)
        findings.extend(found)
    changes = _in_date_order(changes, wall.date())
    for rule in FINDING_RULES:
        if mode_of(rule.id, settings) == "off":
            continue
        findings.extend(_run(rule, ctx, None))
    new_columns: list[tuple[SheetKey, int]] = []
    if BOT_NOTE not in hidden and mode_of(BOT_NOTE, settings) == "apply":
        note_changes, new_columns = NOTE_RULE.check(snapshot, leads, obs, findings, bot_note_header)
        for c in note_changes:
            why = snapshot.tab(c.sheet).blocked.get((c.row, _note_column(snapshot, c.sheet)))
            if why is None or not refuse_blocked:
                changes.append(c)
            else:  # shown in alerts: the row's own 봇 확인 cannot hold it
                findings.append(write_blocked(c.sheet, c.row, c.fingerprint, c.field, why))
    return Plan(
        snapshot=snapshot,
        now=local_now,
        changes=tuple(changes),
        findings=tuple(f for f in findings if f.rule not in hidden),
        new_columns=tuple(new_columns),
        desk=desk,
    )
