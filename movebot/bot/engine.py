"""snapshot + now + settings -> Plan. The rules decide; this runs them in order.

Change rules run first, in the order of RULES.md, each on the sheet as the previous one left
it; finding rules then run on the sheet as it will be after this run's changes, and the 봇 확인
cells are computed from those findings. So a second run over the first run's output plans
zero changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from movebot.rules import BOT_NOTE, CHANGE_RULES, FINDING_RULES, RULES
from movebot.rules.base import Context, Edits, Rule, items
from movebot.rules.model import Change, Finding, Lead, ObCall, Plan, SheetKey, Snapshot
from movebot.rules.parse import parse_desk, with_cell
from movebot.rules.settings import RuleSettings

KST = ZoneInfo("Asia/Seoul")


def mode_of(rule_id: str, settings: RuleSettings) -> str:
    if settings.only_rules is not None and rule_id not in settings.only_rules:
        if rule_id == BOT_NOTE:
            return settings.modes.get(BOT_NOTE, "apply")
        return "off" if rule_id in RULES and RULES[rule_id].changes else "hidden"
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


def _run(rule: Rule, ctx: Context, edits: Edits | None) -> list[Finding]:
    """Call the rule on each item of its scope; a rule that fails on one item becomes a
    finding on that row and the run goes on."""
    found: list[Finding] = []
    for item in items(rule.scope, ctx):
        mark = edits.checkpoint() if edits else 0
        try:
            args = (ctx,) if rule.scope == "desk" else (item, ctx)
            out = rule.check(*args, edits) if edits else rule.check(*args)
            if out:
                found.extend(out)
        except Exception as error:  # noqa: BLE001 - a rule's bug must not stop the run
            if edits:
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


def _apply(leads: tuple[Lead, ...], changes: Iterable[Change]) -> tuple[Lead, ...]:
    by_row = {lead.row: i for i, lead in enumerate(leads)}
    out = list(leads)
    for c in changes:
        i = by_row[c.row]
        out[i] = with_cell(out[i], c.field, c.new)
    return tuple(out)


def _bot_notes(
    snapshot: Snapshot,
    leads: tuple[Lead, ...],
    obs: tuple[ObCall, ...],
    findings: list[Finding],
    header: str,
) -> tuple[list[Change], list[tuple[SheetKey, int]]]:
    """The 봇 확인 cells: each row's open findings, one per line; emptied when resolved."""
    lines: dict[tuple[str, int], list[str]] = defaultdict(list)
    for f in findings:
        key = (f.sheet, f.row)
        if f.message not in lines[key]:
            lines[key].append(f.message)
    changes: list[Change] = []
    new_columns: list[tuple[SheetKey, int]] = []
    rows: dict[SheetKey, tuple[Lead, ...] | tuple[ObCall, ...]] = {"leads": leads, "ob": obs}
    for sheet, sheet_rows in rows.items():
        tab = snapshot.tab(sheet)
        sheet_changes = []
        for row in sheet_rows:
            new = "\n".join(lines.get((sheet, row.row), ()))
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


def plan(
    snapshot: Snapshot, now: datetime, settings: RuleSettings, bot_note_header: str = "봇 확인"
) -> Plan:
    """What a run would do to `snapshot` at `now` (aware; taken as Asia/Seoul)."""
    local_now = now.astimezone(KST)
    wall = local_now.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    desk = parse_desk(snapshot, wall.date())
    leads, obs = desk.leads, desk.obs
    changes: list[Change] = []
    findings: list[Finding] = []
    for rule in CHANGE_RULES:
        mode = mode_of(rule.id, settings)
        if mode == "off":
            continue
        edits = Edits(rule.id)
        found = _run(rule, Context(leads, obs, wall, settings), edits)
        if mode == "apply":
            leads = _apply(leads, edits.changes)
            changes.extend(edits.changes)
        else:
            findings.extend(_suggestion(c) for c in edits.changes)
        findings.extend(found)
    ctx = Context(leads, obs, wall, settings)
    hidden: set[str] = set()
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
