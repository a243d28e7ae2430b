"""Cells the bot may not write (RULES.md `write.blocked`): decided at plan time from what was
read, so a write that cannot land becomes a finding instead of a retry every run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from rules.model import Finding, SheetKey, Tab
from rules.registry import rule
from rules.text import unwritable, writable

WRITE_BLOCKED = "write.blocked"

# Why a cell is blocked, as a backend or the parser hands it over (`Tab.blocked`,
# `Lead.blocked`), and what the finding says of it.
MERGED = "merged"
FORMULA = "formula"
TYPED = "typed"
PROTECTED = "protected"
TOO_LONG = "too_long"
BAD_TEXT = "bad_text"

_WHY = {
    MERGED: "병합된 셀이라 봇이 쓸 수 없음 — 병합을 풀어 주세요",
    FORMULA: "수식이 든 셀이라 봇이 쓸 수 없음 — 수식 대신 값을 적어 주세요",
    TYPED: "날짜·숫자 형식 셀이라 봇이 쓸 수 없음 — 칸 서식을 텍스트로 바꿔 주세요",
    PROTECTED: "보호된 범위라 봇이 쓸 수 없음 — 서비스 계정에 편집 권한을 주세요",
    TOO_LONG: "셀 글자 수 한도를 넘게 되어 봇이 덧붙일 수 없음 — 지난 내용을 정리해 주세요",
    BAD_TEXT: "셀에 쓸 수 없는 글자(깨진 문자나 제어 문자)가 있어 봇이 쓸 수 없음 — "
    "그 칸의 내용을 다시 적어 주세요",
}
_SHOWN = 200  # characters of the text the bot meant to write shown in the finding
# The column's name with its subject particle.
_SUBJECT = {
    "status": "진행상황이",
    "remarks": "비고가",
    "alt_phones": "예비번호가",
    "bot_note": "봇 확인이",
}


@rule(WRITE_BLOCKED, mode="apply", title="봇이 쓸 수 없는 칸", scope="row")
def write_blocked(
    sheet: SheetKey, row: int, fingerprint: str, field: str, why: str, text: str = ""
) -> Finding:
    """write.blocked — a planned write to a cell the bot may not write becomes a finding.

    A cell is blocked when it is merged (and not its block's top-left cell), holds a formula,
    is a 비고 / 예비번호 holding a number or date (appending would turn what staff see into a
    raw number), or (Google) lies in a protected range the service account cannot edit; a
    write is blocked too when the cell's text or the text written holds a character no cell
    can hold (a lone surrogate — half an emoji — or a control character), or when it would
    pass the cell's limit (Google 50,000 characters, .xlsx 32,767). No
    write is attempted; the row gets this finding naming the column and why, and the other
    changes the rule made to that row in the same go are dropped with it (they land together
    or not at all). The cause is read with the sheet, so the next run plans the same finding,
    not the same write: nothing is retried forever. Turned `off`, the write is left to the
    backend, which skips it (and the next run tries it again).

    Why: seed §1 — 확인요청 rows are checked by a person; a write the bot cannot make is such
    a check, and staff must see it in 봇 확인 rather than have it vanish.

    Example: ob.sync would append `12.2 OB 재통화 요청` to a 비고 merged with the row above →
    no write; 봇 확인 `비고가 병합된 셀이라 봇이 쓸 수 없음 — 병합을 풀어 주세요 (쓰려던 내용:
    12.2 OB 재통화 요청)`.
    """
    message = f"{_SUBJECT.get(field, field)} {_WHY[why]}"
    if text:
        message += f" (쓰려던 내용: {writable(text, _SHOWN)})"
    return Finding(sheet, row, WRITE_BLOCKED, message, fingerprint=fingerprint)


# A block of cells: first row, first column, last row, last column (1-based rows, 0-based
# columns, inclusive).
Range = tuple[int, int, int, int]
_WRITTEN = ("status", "remarks", "alt_phones", "bot_note")  # the columns the bot writes


def with_blocked(
    tab: Tab,
    formulas: Iterable[tuple[int, int]] = (),
    protected: Sequence[tuple[Range, Sequence[Range]]] = (),
) -> Tab:
    """`tab` with the cells the bot may not write among those of the columns it writes, as a
    backend read them: inside one of its merged blocks (`Tab.merges`) but not its top-left
    cell, holding a formula, or inside a protected range (less its unprotected parts) the bot
    may not edit."""
    columns = {tab.columns[f] for f in _WRITTEN if f in tab.columns}
    first, last = tab.header_row + 1, tab.header_row + len(tab.rows)

    def cells(block: Range) -> Iterable[tuple[int, int]]:
        r1, c1, r2, c2 = block
        for col in sorted(columns.intersection(range(c1, c2 + 1))):
            for row in range(max(r1, first), min(r2, last) + 1):
                yield row, col

    blocked = {
        cell: FORMULA for cell in formulas if cell[1] in columns and first <= cell[0] <= last
    }
    for block in tab.merges:
        blocked.update((cell, MERGED) for cell in cells(block) if cell != block[:2])
    for block, open_parts in protected:
        free = {cell for part in open_parts for cell in cells(part)}
        blocked.update((cell, PROTECTED) for cell in cells(block) if cell not in free)
    return replace(tab, blocked=blocked) if blocked else tab


def unwritable_why(old: str, new: str, limit: int) -> str | None:
    """Why writing `new` over `old` cannot land whatever the cell: text beyond the cell's
    `limit`, or a character no cell (or journal line) can hold in either."""
    if len(new) > limit:
        return TOO_LONG
    if unwritable(new) or unwritable(old):
        return BAD_TEXT
    return None
