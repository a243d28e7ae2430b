"""The 봇 확인 cells (RULES.md §5): the bot's own column, rewritten from the run's findings."""

from __future__ import annotations

from collections import defaultdict

from rules.model import Change, Finding, Lead, ObCall, Severity, SheetKey, Snapshot
from rules.registry import rule
from rules.text import writable

BOT_NOTE = "bot.note"
INFO_MARK = "(참고) "  # before a suggestion's line, as the alerts and the terminal show it


@rule(
    BOT_NOTE,
    mode="apply",
    changes=True,
    title="봇 확인 메모 갱신",
    scope="row",
    settings=("sheets.bot_note_header",),
)
def bot_notes(
    snapshot: Snapshot,
    leads: tuple[Lead, ...],
    obs: tuple[ObCall, ...],
    findings: list[Finding],
    header: str,
) -> tuple[list[Change], list[tuple[SheetKey, int]]]:
    """bot.note — the 봇 확인 cells: each row's open findings, one per line.

    Why: seed §1 — 확인요청 is a row "별도 확인이 필요한 상태"; the bot's findings are those
    checks, so they are written on the row itself, where staff work, and emptied once resolved
    (a cell never holds work already done). A tab gets the column, after its last used one, the
    first time one of its rows has a finding. With `--rule`, 봇 확인 is rewritten only when
    `bot.note` is named too: a partial run never rewrites it from part of the rules.

    A suggestion (an info finding) keeps the `(참고)` mark alerts show it with. The note holds
    no character a cell cannot hold and stays within the cell's limit (cut, marked `…`).

    Example: a 종결(고객취소) row with no OB 상세 row → 봇 확인 `고객취소인데 OB 상세 기록 없음 —
    취소 사유 기록 필요`; a row whose old note was resolved → 봇 확인 emptied.
    """
    lines: dict[str, dict[int, list[str]]] = {"leads": defaultdict(list), "ob": defaultdict(list)}
    for f in findings:
        if f.sheet not in lines:
            continue  # the vendor list: the bot only reads it, its findings go to alerts
        messages = lines[f.sheet][f.row]
        line = INFO_MARK + f.message if f.severity == Severity.INFO else f.message
        if line not in messages:
            messages.append(line)
    changes: list[Change] = []
    new_columns: list[tuple[SheetKey, int]] = []
    rows: dict[SheetKey, tuple[Lead, ...] | tuple[ObCall, ...]] = {"leads": leads, "ob": obs}
    for sheet, sheet_rows in rows.items():
        tab = snapshot.tab(sheet)
        sheet_changes = []
        on_sheet = lines[sheet]
        for row in sheet_rows:
            found = on_sheet.get(row.row)
            new = writable("\n".join(found), tab.cell_limit) if found else ""
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
