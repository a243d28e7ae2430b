"""Deciding which planned cell writes may land, given the sheet as it is now.

Staff work in the sheet while the bot runs. A write lands only where the cell still holds the
value the plan was made from, on the same row; a row that moved is found again by its
fingerprint when that is unique. The writes of one row land together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from movebot.rules.model import CellWrite, SheetKey, Skipped, Tab
from movebot.rules.parse import fingerprint
from movebot.rules.values import cell_text


def _row_index(tab: Tab) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for i in range(len(tab.rows)):
        index[fingerprint(tab, i)].append(tab.sheet_row(i))
    return index


def _cell(tab: Tab, sheet_row: int, column: int) -> str:
    if sheet_row == tab.header_row:
        row: Sequence[object] = tab.headers
    else:
        i = sheet_row - tab.header_row - 1
        if i < 0 or i >= len(tab.rows):
            return ""
        row = tab.rows[i]
    value = row[column] if column < len(row) else None
    return cell_text(value)  # type: ignore[arg-type]


def settle(
    writes: Sequence[CellWrite], fresh: Mapping[SheetKey, Tab]
) -> tuple[list[CellWrite], list[Skipped]]:
    """The writes that may land (moved rows re-addressed) and the ones skipped, with why.

    `fresh` holds each tab as re-read just before writing; it needs the fingerprint columns
    and the columns being written.
    """
    groups: dict[tuple[SheetKey, int], list[CellWrite]] = defaultdict(list)
    for w in writes:
        groups[(w.sheet, w.row)].append(w)
    indexes: dict[SheetKey, dict[str, list[int]]] = {}
    # target row -> (the writes as planned, the writes re-addressed to the target)
    landing: dict[tuple[SheetKey, int], tuple[list[CellWrite], list[CellWrite]]] = {}
    skipped: list[Skipped] = []
    collided: set[tuple[SheetKey, int]] = set()
    for (sheet, row), group in groups.items():
        tab = fresh[sheet]
        target = row
        if row != tab.header_row:
            i = row - tab.header_row - 1
            here = fingerprint(tab, i) if 0 <= i < len(tab.rows) else None
            expected = group[0].fingerprint
            if here != expected:
                if sheet not in indexes:
                    indexes[sheet] = _row_index(tab)
                rows = indexes[sheet].get(expected, [])
                if len(rows) != 1:
                    why = (
                        "행이 이동했고 같은 행을 찾을 수 없음"
                        if not rows
                        else "행이 이동했고 같은 값의 행이 여럿임"
                    )
                    skipped.extend(Skipped(w, why) for w in group)
                    continue
                target = rows[0]
        moved = [replace(w, row=target) for w in group]
        changed = [w for w in moved if _cell(tab, target, w.column) != w.old]
        if changed:
            cols = ", ".join(sorted({w.field for w in changed}))
            why = f"실행 중 직원이 셀을 수정함 ({cols})"
            skipped.extend(Skipped(w, why) for w in group)
            continue
        if (sheet, target) in landing or (sheet, target) in collided:
            # two planned rows found again on one row (identical rows, one deleted): neither
            # can be trusted
            collided.add((sheet, target))
            both = landing.pop((sheet, target), ([], []))[0] + group
            skipped.extend(Skipped(w, "행이 이동했고 같은 값의 행이 여럿임") for w in both)
            continue
        landing[(sheet, target)] = (group, moved)
    return [w for _, ws in landing.values() for w in ws], skipped
