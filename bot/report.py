"""A run shown to a person (a table on the terminal) or to a machine (`--json`)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from openpyxl.utils import get_column_letter

from bot.runner import RunOutcome, UndoOutcome
from rules.model import Change, Finding, Plan, Skipped

FIELD_LABELS = {
    "status": "진행상황",
    "remarks": "비고",
    "alt_phones": "예비번호",
    "bot_note": "봇 확인",
}


def _sheet(plan: Plan, key: str) -> str:
    return plan.snapshot.tab(key).title  # type: ignore[arg-type]


def _column(plan: Plan, change: Change) -> str:
    return get_column_letter(plan.column_of(change.sheet, change.field) + 1)


def change_json(plan: Plan, c: Change) -> dict[str, Any]:
    return {
        "sheet": _sheet(plan, c.sheet),
        "row": c.row,
        "column": _column(plan, c),
        "field": c.field,
        "old": c.old,
        "new": c.new,
        "rule": c.rule,
        "reason": c.reason,
    }


def finding_json(plan: Plan, f: Finding) -> dict[str, Any]:
    return {
        "sheet": _sheet(plan, f.sheet),
        "row": f.row,
        "rule": f.rule,
        "message": f.message,
        "severity": str(f.severity),
    }


def skipped_json(plan: Plan, s: Skipped) -> dict[str, Any]:
    w = s.write
    return {
        "sheet": _sheet(plan, w.sheet),
        "row": w.row,
        "column": get_column_letter(w.column + 1),
        "field": w.field,
        "old": w.old,
        "new": w.new,
        "rules": list(w.rules),
        "reason": s.reason,
    }


def outcome_json(outcome: RunOutcome) -> str:
    plan = outcome.plan
    skipped = outcome.result.skipped if outcome.result else ()
    summary: dict[str, Any] = dict(plan.summary)
    summary["written"] = len(outcome.result.written) if outcome.result else 0
    summary["skipped"] = len(skipped)
    body = {
        "run_id": outcome.run_id,
        "now": plan.now.isoformat(),
        "applied": outcome.applied,
        "changes": [change_json(plan, c) for c in plan.changes],
        "findings": [finding_json(plan, f) for f in plan.findings],
        "skipped": [skipped_json(plan, s) for s in skipped],
        "summary": summary,
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _one_line(text: str, limit: int = 60) -> str:
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    if _width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        used += _width(ch)
        if used > limit - 1:
            return out + "…"
        out += ch
    return out


def _what(c: Change) -> str:
    if c.field in ("remarks", "alt_phones") and c.new.startswith(c.old.rstrip()):
        added = c.new[len(c.old.rstrip()) :].lstrip(", \n")
        return "+ " + _one_line(added)
    if c.field == "bot_note":
        return "(비움)" if not c.new else _one_line(c.new)
    return f"{_one_line(c.old) or '(빈칸)'} → {_one_line(c.new)}"


def _table(rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  " + "  ".join(_pad(v, w) for v, w in zip(r, widths, strict=False)) + "  " + r[-1]
        for r in rows
    ]


def render_text(outcome: RunOutcome, source: str) -> str:
    plan = outcome.plan
    head = f"movebot reconcile · {source} · {plan.now:%Y-%m-%d %H:%M} KST · run {outcome.run_id}"
    lines = [head, ""]
    visible = [c for c in plan.changes if c.field != "bot_note"]
    notes = [c for c in plan.changes if c.field == "bot_note"]
    cells = len({(c.sheet, c.row, c.field) for c in visible})
    note_part = f"; 봇 확인 in {len(notes)} cells" if notes else ""
    lines.append(f"Changes ({len(visible)} to {cells} cells{note_part})")
    lines += _table(
        [
            _sheet(plan, c.sheet),
            f"행 {c.row}",
            FIELD_LABELS.get(c.field, c.field),
            c.rule,
            _what(c),
        ]
        for c in visible
    ) or ["  (none)"]
    lines += ["", f"Findings ({len(plan.findings)})"]
    lines += _table(
        [
            _sheet(plan, f.sheet),
            f"행 {f.row}",
            f.rule,
            ("" if f.severity == "action" else "(참고) ") + f.message,
        ]
        for f in plan.findings
    ) or ["  (none)"]
    result = outcome.result
    lines.append("")
    if not outcome.applied:
        lines.append("Preview: nothing was written. Add --apply to write these changes.")
    elif result is not None:
        lines.append(
            f"Applied: {len(result.written)} cells written, {len(result.skipped)} skipped."
        )
        for s in result.skipped:
            w = s.write
            lines.append(
                f"  skipped {_sheet(plan, w.sheet)} 행 {w.row} {FIELD_LABELS.get(w.field, w.field)}:"
                f" {s.reason} (retried next run)"
            )
    return "\n".join(lines)


def render_undo(outcome: UndoOutcome) -> str:
    snapshot = outcome.snapshot
    verb = "Restored" if outcome.applied else "Would restore"
    lines = [f"movebot undo {outcome.undo_of} · run {outcome.run_id}", ""]
    lines.append(f"{verb} ({len(outcome.restores)} cells)")
    lines += _table(
        [
            snapshot.tab(w.sheet).title,
            f"행 {w.row}",
            FIELD_LABELS.get(w.field, w.field),
            f"{_one_line(w.old) or '(빈칸)'} → {_one_line(w.new) or '(빈칸)'}",
        ]
        for w in outcome.restores
    ) or ["  (none)"]
    for w, why in outcome.kept:
        lines.append(f"  kept {snapshot.tab(w.sheet).title} 행 {w.row} {w.field}: {why}")
    lines.append("")
    if not outcome.applied:
        lines.append("Preview: nothing was written. Add --apply to restore these cells.")
    elif outcome.result is not None:
        r = outcome.result
        lines.append(f"Applied: {len(r.written)} cells restored, {len(r.skipped)} kept.")
        for s in r.skipped:
            w = s.write
            lines.append(
                f"  kept {snapshot.tab(w.sheet).title} 행 {w.row} "
                f"{FIELD_LABELS.get(w.field, w.field)}: {s.reason}"
            )
    return "\n".join(lines)
