"""A run shown to a person (a table on the terminal) or to a machine (`--json`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, TypeVar

from bot.runner import RunOutcome, UndoOutcome
from bot.sheets import column_letter
from rules.model import CellWrite, Change, Finding, Plan, Skipped
from rules.notes import INFO_MARK
from rules.text import FIELD_LABELS, appended
from rules.text import pad as _pad
from rules.text import width as _width

_T = TypeVar("_T")


def _sheet(plan: Plan, key: str) -> str:
    return plan.snapshot.tab(key).title  # type: ignore[arg-type]


def _column(plan: Plan, change: Change) -> str:
    return column_letter(plan.column_of(change.sheet, change.field) + 1)


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
        "column": column_letter(w.column + 1),
        "field": w.field,
        "old": w.old,
        "new": w.new,
        "rules": list(w.rules),
        "reason": s.reason,
    }


def write_outcome_json(outcome: RunOutcome, out: IO[str]) -> None:
    """The run as one JSON object, exactly as `json.dumps(..., ensure_ascii=False, indent=2)`
    writes it, streamed to `out` one change, finding or skipped write at a time: the JSON of a
    first run's 57k changes is never one string in memory, and the flat objects are written
    without the pure-Python encoder that `indent` makes json use."""
    plan = outcome.plan
    skipped = outcome.result.skipped if outcome.result else ()
    summary: dict[str, Any] = dict(plan.summary)
    summary["written"] = len(outcome.result.written) if outcome.result else 0
    summary["skipped"] = len(skipped)
    out.write("{")
    for key, value in (
        ("run_id", outcome.run_id),
        ("now", plan.now.isoformat()),
        ("applied", outcome.applied),
    ):
        out.write(f"\n  {_json_text(key)}: {_json(value, 1)},")
    lists: tuple[tuple[str, Iterable[dict[str, Any]]], ...] = (
        ("changes", (change_json(plan, c) for c in plan.changes)),
        ("findings", (finding_json(plan, f) for f in plan.findings)),
        ("skipped", (skipped_json(plan, s) for s in skipped)),
    )
    for key, items in lists:
        out.write(f"\n  {_json_text(key)}: [")
        separator = ""
        for item in items:
            fields = ",".join(f"\n      {_json_text(k)}: {_json(v, 3)}" for k, v in item.items())
            out.write(f"{separator}\n    {{{fields}\n    }}")
            separator = ","
        out.write("\n  ]," if separator else "],")
    due, taken = outcome.snapshot_due, outcome.snapshot_taken
    out.write(f'\n  "summary": {_json(summary, 1)},')
    out.write(f'\n  "settlement_snapshot_due": {_json(str(due) if due else None, 1)},')
    out.write(f'\n  "settlement_snapshot_taken": {_json(str(taken) if taken else None, 1)}\n}}\n')


_json_text = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it


def _json(value: Any, depth: int) -> str:
    """`value` as json.dumps(ensure_ascii=False, indent=2) writes it `depth` levels deep (a
    JSON text holds no raw newline, so indenting its lines cannot touch a string)."""
    if type(value) is str:
        return _json_text(value)
    if type(value) is int:
        return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * depth)


def _one_line(text: str) -> str:
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


def _wrap(first: str, text: str, width: int) -> list[str]:
    """`first` then `text`, wrapped at `width` terminal columns (a Hangul syllable takes two),
    the continuation lines indented under the start of `text`."""
    indent = " " * _width(first)
    lines, line, fresh = [], first, True  # fresh: nothing on the line after its indent yet
    for word in text.split(" "):
        candidate = line + ("" if fresh else " ") + word
        if fresh or _width(candidate) <= width:
            line, fresh = candidate, False
        else:
            lines.append(line)
            line = indent + word
    return lines + [line]


def terminal_width() -> int:
    return max(60, shutil.get_terminal_size((80, 24)).columns)


def fitted(text: str, width: int | None = None, keep: Iterable[str] = ()) -> str:
    """`text` for the terminal: each of its lines wrapped at the terminal's width, the
    continuation lines indented under the line's text (after its indent and a `- ` bullet).
    Messages sent to the channels keep their own lines; only the terminal gets this.
    Each of `keep` (paths a user copies) is never split, even where it holds spaces. Output
    going to no terminal (cron mailing it, a file) keeps its lines, unless COLUMNS is set."""
    if width is None and "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return text
    for whole in keep:
        text = text.replace(whole, whole.replace(" ", _GLUE))
    out: list[str] = []
    for line in text.split("\n"):
        lead = _LEAD.match(line)
        first = lead.group(0) if lead else ""
        rest = line[len(first) :]
        out.extend(_wrap(first, rest, width or terminal_width()) if rest else [line])
    return "\n".join(out).replace(_GLUE, " ")


_GLUE = "\x00"  # a space of a `keep` string while wrapping (no text holds NUL)


_LEAD = re.compile(r"\s*(?:[-✓⚠✗] )?")


def print_fitted(text: str, keep: Iterable[str] = ()) -> None:
    """Print `text` to the terminal, `fitted` to its width (never splitting one of `keep`)."""
    print(fitted(text, keep=keep))


def wrapped(text: str, first: str = "", width: int | None = None) -> list[str]:
    """`first` then `text` as one paragraph (its line breaks are spaces), wrapped at the
    terminal's width in display columns, the continuation lines indented under `text`."""
    return _wrap(first, " ".join(text.split()), width or terminal_width())


def _cell_lines(w: CellWrite) -> list[tuple[str, str]]:
    """(column label, what changes) lines of one cell: one per line an append adds (or an
    undo takes away)."""
    label = FIELD_LABELS.get(w.field, w.field)
    sep = "\n" if w.field == "remarks" else ","
    if w.field in ("remarks", "alt_phones") and w.new.startswith(w.old.rstrip()):
        texts = ["+ " + p.strip() for p in appended(w.old, w.new).split(sep) if p.strip()]
    elif w.field in ("remarks", "alt_phones") and w.old.startswith(w.new.rstrip()):  # an undo
        texts = ["- " + p.strip() for p in appended(w.new, w.old).split(sep) if p.strip()]
    else:
        texts = [f"{_one_line(w.old) or '(빈칸)'} → {_one_line(w.new) or '(빈칸)'}"]
    return [(label if i == 0 else "", text) for i, text in enumerate(texts)]


def _by_row(
    items: Iterable[_T], key: Callable[[_T], tuple[str, int]]
) -> dict[tuple[str, int], list[_T]]:
    """`items` grouped by (sheet, row): 이사 관리자 first, rows in sheet order."""
    groups: dict[tuple[str, int], list[_T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0] != "leads", kv[0][1])))


def _rows_block(
    title: str,
    rows: Mapping[tuple[str, int], list[tuple[str, str]]],
    tabs: Callable[[str], str],
    width: int,
    tags: Mapping[tuple[str, int], str] | None = None,
) -> list[str]:
    """`title`, then per row its sheet and number (and its tag) and its (label, text) lines,
    wrapped."""
    lines = [title]
    if not rows:
        return lines + ["  (none)"]
    label_width = max(_width(label) for entries in rows.values() for label, _ in entries)
    for (sheet, row), entries in rows.items():
        lines.append(f"  {tabs(sheet)} 행 {row}{(tags or {}).get((sheet, row), '')}")
        for label, text in entries:
            lines += _wrap(f"      {_pad(label, label_width)}  ", text, width)
    return lines


def render_text(outcome: RunOutcome, source: str, width: int | None = None) -> str:
    """The run for a person at a terminal (`width` columns, the terminal's by default):
    what changes and what was found, row by row."""
    width = width or terminal_width()
    plan = outcome.plan

    def tab(key: str) -> str:
        return _sheet(plan, key)

    lines = [
        f"movebot reconcile · {plan.now:%Y-%m-%d %H:%M} KST · run {outcome.run_id}",
        f"  {source}",
        "",
    ]
    writes = plan.cell_writes()
    cells = [w for w in writes if w.field != "bot_note"]
    notes = len(writes) - len(cells)
    changed = _by_row(cells, lambda w: (w.sheet, w.row))
    title = f"Changes: {len(cells)} cells on {len(changed)} rows"
    if notes and not cells:
        title = f"Changes: only 봇 확인, rewritten on {notes} rows"
    elif notes:
        title += f"; 봇 확인 rewritten on {notes} rows"
    rows = {
        where: [line for w in group for line in _cell_lines(w)] for where, group in changed.items()
    }
    rules = {
        where: " · " + ", ".join(dict.fromkeys(r for w in group for r in w.rules))
        for where, group in changed.items()
    }
    lines += _rows_block(title, rows, tab, width, rules) if rows or not notes else [title]
    found = _by_row(plan.findings, lambda f: (f.sheet, f.row))
    lines += [""] + _rows_block(
        f"Findings: {len(plan.findings)} on {len(found)} rows",
        {
            where: [
                (f.rule, ("" if f.severity == "action" else INFO_MARK) + f.message) for f in group
            ]
            for where, group in found.items()
        },
        tab,
        width,
    )
    result = outcome.result
    lines.append("")
    if not outcome.applied:
        lines.append("Preview: nothing was written. Add --apply to write these changes.")
        if outcome.snapshot_due:
            lines.append(
                f"An applied run would also take the settlement snapshot of {outcome.snapshot_due}."
            )
    elif result is not None:
        if outcome.snapshot_taken:
            lines.append(f"Took the settlement snapshot of {outcome.snapshot_taken} (as read).")
        lines.append(
            f"Applied: {len(result.written)} cells written, {len(result.skipped)} not written."
        )
        if result.skipped:
            lines += _rows_block(
                "Not written (tried again next run):",
                {
                    where: [
                        (FIELD_LABELS.get(s.write.field, s.write.field), s.reason) for s in group
                    ]
                    for where, group in _by_row(
                        result.skipped, lambda s: (s.write.sheet, s.write.row)
                    ).items()
                },
                tab,
                width,
            )
    return "\n".join(lines)


def render_undo(outcome: UndoOutcome, width: int | None = None) -> str:
    width = width or terminal_width()
    snapshot = outcome.snapshot

    def tab(key: str) -> str:
        return snapshot.tab(key).title  # type: ignore[arg-type]

    def cells(writes: Iterable[CellWrite]) -> dict[tuple[str, int], list[tuple[str, str]]]:
        by_row = _by_row(writes, lambda w: (w.sheet, w.row))
        return {
            where: [e for w in group for e in _cell_lines(w)] for where, group in by_row.items()
        }

    def reasons(
        kept: Iterable[tuple[CellWrite, str]],
    ) -> dict[tuple[str, int], list[tuple[str, str]]]:
        by_row = _by_row(kept, lambda k: (k[0].sheet, k[0].row))
        return {
            where: [(FIELD_LABELS.get(w.field, w.field), why) for w, why in group]
            for where, group in by_row.items()
        }

    verb = "Restored" if outcome.applied else "Would restore"
    lines = [f"movebot undo {outcome.undo_of} · run {outcome.run_id}", ""]
    lines += _rows_block(
        f"{verb} ({len(outcome.restores)} cells)", cells(outcome.restores), tab, width
    )
    kept = list(outcome.kept)
    if outcome.result is not None:
        kept += [(s.write, s.reason) for s in outcome.result.skipped]
    if kept:
        lines += [""] + _rows_block(
            f"Kept as they are ({len(kept)} cells)", reasons(kept), tab, width
        )
    lines.append("")
    if outcome.headings == 1:
        lines.append("The 봇 확인 heading the run added stays (1 cell).")
    elif outcome.headings:
        lines.append(f"The 봇 확인 headings the run added stay ({outcome.headings} cells).")
    if not outcome.applied:
        lines.append("Preview: nothing was written. Add --apply to restore these cells.")
    elif outcome.result is not None:
        r = outcome.result
        lines.append(f"Applied: {len(r.written)} cells restored, {len(kept)} kept.")
    return "\n".join(lines)
