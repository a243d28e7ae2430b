"""Deciding which planned cell writes may land, given the sheet as it is now.

Staff work in the sheet while the bot runs. A write lands only where the cell still holds the
value the plan was made from, on the same row, in a column that still has the header it had;
a row that moved is found again by its fingerprint when that is unique — now, and when the plan
was made (rows that could be confused then are never relocated). The writes of one row
land together or not at all, and 봇 확인 notes land only under a 봇 확인 header.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rules.columns import header_key
from rules.model import CellValue, CellWrite, Finding, SheetKey, Skipped, Tab
from rules.parse import fingerprint
from rules.text import FIELD_LABELS
from rules.values import cell_text

STAFF_EDITED = "읽은 뒤 직원이 셀을 수정함 ({fields})"
ROW_LOST = "행이 이동했고 같은 행을 찾을 수 없음"
ROW_AMBIGUOUS = "행이 이동했고 같은 값의 행이 여럿임"
COLUMN_MOVED = "열 위치가 계획과 다름 ({fields}) — 다음 실행에서 다시 시도"
NOTE_COLUMN_TAKEN = "봇 확인 열을 만들 자리에 이미 값이 있음"
TIED = "함께 바뀌어야 할 다른 행({rows})을 쓸 수 없어 이 행도 건너뜀"


def _row_index(tab: Tab) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i in range(len(tab.rows)):
        index[fingerprint(tab, i)].append(tab.sheet_row(i))
    return index


def _cell(tab: Tab, sheet_row: int, column: int) -> str:
    row: Sequence[CellValue]
    if sheet_row == tab.header_row:
        row = tab.headers
    else:
        i = sheet_row - tab.header_row - 1
        if i < 0 or i >= len(tab.rows):
            return ""
        row = tab.rows[i]
    return cell_text(row[column] if column < len(row) else None)


def _header(tab: Tab, column: int) -> str:
    return header_key(tab.headers[column]) if column < len(tab.headers) else ""


def settle(
    writes: Sequence[CellWrite],
    fresh: Mapping[SheetKey, Tab],
    planned: Mapping[SheetKey, Tab] | None = None,
    edited: str = STAFF_EDITED,
) -> tuple[list[CellWrite], list[Skipped]]:
    """The writes that may land (moved rows re-addressed) and the ones skipped, with why.

    `fresh` holds each tab as re-read just before writing: its header row, its fingerprint
    columns and the columns being written. `planned` holds the tabs the plan was made from;
    with it, a write whose column's header changed since (a column inserted or deleted to its
    left) is skipped. `edited` says why a cell that no longer holds `old` is skipped.
    """
    groups: dict[tuple[SheetKey, int], list[CellWrite]] = defaultdict(list)
    for w in writes:
        groups[(w.sheet, w.row)].append(w)
    # header rows first: the 봇 확인 header decides whether notes may go under it
    order = sorted(groups, key=lambda k: k[1] != fresh[k[0]].header_row)
    indexes: dict[SheetKey, dict[str, list[int]]] = {}
    read_indexes: dict[SheetKey, dict[str, list[int]]] = {}  # of the tabs as planned
    # target row -> (the writes as planned, the writes re-addressed to the target)
    landing: dict[tuple[SheetKey, int], tuple[list[CellWrite], list[CellWrite]]] = {}
    skipped: list[Skipped] = []
    collided: set[tuple[SheetKey, int]] = set()
    created: set[tuple[SheetKey, int]] = set()  # 봇 확인 columns this write adds
    refused: set[tuple[SheetKey, int]] = set()  # ... and ones it may not add

    def skip(group: Sequence[CellWrite], why: str) -> None:
        skipped.extend(Skipped(w, why) for w in group)

    for sheet, row in order:
        group = groups[(sheet, row)]
        tab = fresh[sheet]
        target = row
        if row == tab.header_row:
            # the only header the bot writes: a new 봇 확인 column, past every used column
            new_columns = {(sheet, w.column) for w in group if w.field == "bot_note"}
            if "bot_note" in tab.columns or any(w.column < tab.used_width for w in group):
                refused |= new_columns
                skip(group, NOTE_COLUMN_TAKEN)
                continue
        else:
            if any((sheet, w.column) in refused for w in group):
                skip(group, NOTE_COLUMN_TAKEN)
                continue
            moved_fields = sorted(
                w.field
                for w in group
                if (sheet, w.column) not in created
                and (
                    tab.columns.get(w.field) != w.column
                    or (
                        planned is not None
                        and _header(planned[sheet], w.column) != _header(tab, w.column)
                    )
                )
            )
            if moved_fields:
                skip(
                    group,
                    COLUMN_MOVED.format(fields=", ".join(FIELD_LABELS[f] for f in moved_fields)),
                )
                continue
            expected = group[0].fingerprint
            if not _holds(tab, row, expected):
                if planned is not None:
                    if sheet not in read_indexes:
                        read_indexes[sheet] = _row_index(planned[sheet])
                    if len(read_indexes[sheet].get(expected, ())) > 1:
                        # rows that could be confused when the plan was made stay so: the
                        # survivor of two identical rows is never closed as its own duplicate
                        skip(group, ROW_AMBIGUOUS)
                        continue
                if sheet not in indexes:
                    indexes[sheet] = _row_index(tab)
                rows = indexes[sheet].get(expected, [])
                if len(rows) != 1:
                    skip(group, ROW_AMBIGUOUS if rows else ROW_LOST)
                    continue
                target = rows[0]
        moved = group if target == row else [replace(w, row=target) for w in group]
        changed = sorted({w.field for w in moved if _cell(tab, target, w.column) != w.old})
        if changed:
            if row == tab.header_row:
                refused |= {(sheet, w.column) for w in group if w.field == "bot_note"}
            skip(group, edited.format(fields=", ".join(FIELD_LABELS[f] for f in changed)))
            continue
        if (sheet, target) in landing or (sheet, target) in collided:
            # two planned rows found again on one row (identical rows, one deleted): neither
            # can be trusted
            collided.add((sheet, target))
            skip(landing.pop((sheet, target), ([], []))[0] + group, ROW_AMBIGUOUS)
            continue
        if row == tab.header_row:
            created |= {(sheet, w.column) for w in group if w.field == "bot_note"}
        landing[(sheet, target)] = (group, moved)
    _untie(writes, landing, skipped)
    return [w for _, ws in landing.values() for w in ws], skipped


def _untie(
    writes: Sequence[CellWrite],
    landing: dict[tuple[SheetKey, int], tuple[list[CellWrite], list[CellWrite]]],
    skipped: list[Skipped],
) -> None:
    """Skip every landing row tied to a skipped one: the changes one rule made in one go
    (a re-registration reopening the old row and closing the new one, a duplicate and the
    cross-note on its survivor) land together or not at all (RULES.md §5)."""
    if not skipped:
        return
    rows_of: dict[int, set[tuple[SheetKey, int]]] = defaultdict(set)
    groups_of: dict[tuple[SheetKey, int], set[int]] = defaultdict(set)
    for w in writes:
        for g in w.groups:
            rows_of[g].add((w.sheet, w.row))
            groups_of[(w.sheet, w.row)].add(g)
    failed = {(s.write.sheet, s.write.row) for s in skipped}
    tied: dict[tuple[SheetKey, int], tuple[SheetKey, int]] = {}  # row -> the skipped row
    stack = [(row, row) for row in failed]
    while stack:
        row, cause = stack.pop()
        for g in groups_of.get(row, ()):
            for other in rows_of[g]:
                if other not in failed and other not in tied:
                    tied[other] = cause
                    stack.append((other, cause))
    if not tied:
        return
    for key, (group, _) in list(landing.items()):
        planned = (group[0].sheet, group[0].row)
        if planned in tied:
            del landing[key]
            why = TIED.format(rows=f"행 {tied[planned][1]}")
            skipped.extend(Skipped(w, why) for w in group)


def already_landed(
    writes: Sequence[CellWrite], fresh: Mapping[SheetKey, Tab]
) -> tuple[list[CellWrite], list[CellWrite]]:
    """The writes of rows that already hold the bot's new values, and the rest.

    Before a write is retried the sheet is read again: a request whose answer was lost may
    have landed. One request lands whole, so a row where any cell the bot changes holds its new
    value counts as landed, all its cells with it (a later staff edit of one of them is the
    staff's, and undo leaves it alone)."""
    rows = {
        (w.sheet, w.row)
        for w in writes
        if w.new != w.old and _cell(fresh[w.sheet], w.row, w.column) == cell_text(w.new)
    }
    landed = [w for w in writes if (w.sheet, w.row) in rows]
    return landed, [w for w in writes if (w.sheet, w.row) not in rows]


def _holds(tab: Tab, row: int, expected: str) -> bool:
    """Whether sheet row `row` of `tab` is a data row holding the fingerprint `expected`."""
    i = row - tab.header_row - 1
    return 0 <= i < len(tab.rows) and fingerprint(tab, i) == expected


def found_landed(writes: Sequence[CellWrite], tabs: Mapping[SheetKey, Tab]) -> list[int]:
    """The indexes of `writes` (sent, their answer never known) that the sheet shows landed:
    the cell, on its row or on the one row with the same fingerprint, holds the value sent."""
    indexes: dict[SheetKey, dict[str, list[int]]] = {}
    found: list[int] = []
    for n, w in enumerate(writes):
        tab = tabs.get(w.sheet)
        if tab is None:
            continue
        row = w.row
        if row != tab.header_row and not _holds(tab, row, w.fingerprint):
            if w.sheet not in indexes:
                indexes[w.sheet] = _row_index(tab)
            rows = indexes[w.sheet].get(w.fingerprint, [])
            if len(rows) != 1:
                continue
            row = rows[0]
        if _cell(tab, row, w.column) == cell_text(w.new):
            found.append(n)
    return found


WRITE_SUSPECT = "write.suspect"
SUSPECT_TITLE = "쓰는 사이 행이 옮겨진 칸"


def moved(written: Sequence[CellWrite], back: Mapping[SheetKey, Tab]) -> list[CellWrite]:
    """The written cells whose row, read back right after the write, no longer holds the
    fingerprint it was written for: staff moved rows (inserted, deleted, sorted) between the
    verify read and the write, so the cell may have landed on another customer's row."""
    held: dict[tuple[SheetKey, int, str], bool] = {}  # a row's cells share its fingerprint
    out = []
    for w in written:
        key = (w.sheet, w.row, w.fingerprint)
        if key not in held:
            tab = back[w.sheet]
            held[key] = w.row == tab.header_row or _holds(tab, w.row, w.fingerprint)
        if not held[key]:
            out.append(w)
    return out


def suspect_finding(w: CellWrite, column_letter: str) -> Finding:
    """What staff are told of a suspect cell: exactly which cell to check (RULES.md §5)."""
    return Finding(
        w.sheet,
        w.row,
        WRITE_SUSPECT,
        f"{column_letter}{w.row} 칸({FIELD_LABELS[w.field]})에 봇이 쓰는 사이 행이 옮겨져 다른 "
        "행에 썼을 수 있음 — 이 칸과 위아래 행을 확인해 주세요",
        fingerprint=w.fingerprint,
    )
