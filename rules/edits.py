"""The cell writes of a change rule (`Edits`), each on the value the previous one left."""

from __future__ import annotations

from rules.model import Change, Finding, Lead
from rules.registry import finding
from rules.text import stands_in

# The lead attribute holding a cell's text as read, for each field a change rule writes.
_CELL_OF = {"status": "status_text", "remarks": "remarks", "alt_phones": "alt_phones_text"}


class Edits:
    """The cell writes one change rule makes, each on the value the previous one left."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.changes: list[Change] = []
        self._current: dict[tuple[int, str], str] = {}
        # the engine numbers each call of the rule: the changes of one call (on one row or
        # several, e.g. a duplicate and its survivor) land together or not at all
        self.group = 0
        self.refused: list[Finding] = []  # appends a typed cell could not take

    def value(self, lead: Lead, field: str) -> str:
        written = self._current.get((lead.row, field))
        if written is not None:
            return written
        text: str = getattr(lead, _CELL_OF[field])
        return text

    def _write(self, lead: Lead, field: str, new: str, reason: str) -> None:
        old = self.value(lead, field)
        if new == old:
            return
        self.changes.append(
            Change(
                "leads", lead.row, field, old, new, self.rule, reason, lead.fingerprint, self.group
            )
        )
        self._current[(lead.row, field)] = new

    def set_status(self, lead: Lead, status: str, reason: str) -> None:
        self._write(lead, "status", status, reason)

    def append(self, lead: Lead, field: str, text: str, reason: str) -> bool:
        """Append `text` on a new line of the cell, unless it already stands there
        (whitespace ignored): the bot's own notes are recognisable, so a second run adds
        nothing. Returns whether it appended."""
        old = self.value(lead, field)
        if stands_in(text, old):
            return False
        if field in lead.typed_cells:
            label = "비고" if field == "remarks" else "예비번호"
            self.refused.append(
                finding(
                    self.rule,
                    lead,
                    f"{label} 칸이 날짜·숫자 형식이라 덧붙이지 못함: '{text}' — 칸 서식을 "
                    "텍스트로 바꿔 주세요",
                )
            )
            return False
        sep = ("\n" if field == "remarks" else ", ") if old.strip() else ""
        self._write(lead, field, old.rstrip() + sep + text if sep else text, reason)
        return True

    def checkpoint(self) -> tuple[int, int]:
        return len(self.changes), len(self.refused)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget what the rule did since `checkpoint()` (it failed on that item)."""
        del self.changes[mark[0] :]
        del self.refused[mark[1] :]
        self._current = {(c.row, c.field): c.new for c in self.changes}
