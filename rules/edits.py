"""The cell writes of a change rule (`Edits`), each on the value the previous one left."""

from __future__ import annotations

from datetime import date

from rules.blocked import unwritable_why, write_blocked
from rules.model import Change, Finding, Lead
from rules.text import XLSX_CELL_LIMIT, appended, stands_in

# The lead attribute holding a cell's text as read, for each field a change rule writes.
_CELL_OF = {"status": "status_text", "remarks": "remarks", "alt_phones": "alt_phones_text"}


class Edits:
    """The cell writes one change rule makes, each on the value the previous one left."""

    def __init__(
        self, rule: str, refuse_blocked: bool = True, limit: int = XLSX_CELL_LIMIT
    ) -> None:
        self.rule = rule
        self.refuse_blocked = refuse_blocked  # write.blocked on (a write left to the backend)
        self.limit = limit  # the characters one cell holds
        self.changes: list[Change] = []
        self._current: dict[tuple[int, str], str] = {}
        # the engine numbers each call of the rule: the changes of one call (on one row or
        # several, e.g. a duplicate and its survivor) land together or not at all
        self.group = 0
        self.blocked: list[Finding] = []  # writes to cells the bot may not write (this call)

    def value(self, lead: Lead, field: str) -> str:
        written = self._current.get((lead.row, field))
        if written is not None:
            return written
        text: str = getattr(lead, _CELL_OF[field])
        return text

    def _write(self, lead: Lead, field: str, new: str, reason: str, on: date | None = None) -> None:
        old = self.value(lead, field)
        if new == old:
            return
        blocked = [why for f, why in lead.blocked if f == field]
        unfit = unwritable_why(old, new, self.limit)
        if self.refuse_blocked and (blocked or unfit):
            why = blocked[0] if blocked else unfit
            assert why is not None
            added = new if field == "status" else appended(old, new)
            self.blocked.append(
                write_blocked("leads", lead.row, lead.fingerprint, field, why, added)
            )
            return
        self.changes.append(
            Change(
                "leads",
                lead.row,
                field,
                old,
                new,
                self.rule,
                reason,
                lead.fingerprint,
                self.group,
                on,
            )
        )
        self._current[(lead.row, field)] = new

    def set_status(self, lead: Lead, status: str, reason: str) -> None:
        self._write(lead, "status", status, reason)

    def append(
        self, lead: Lead, field: str, text: str, reason: str, on: date | None = None
    ) -> bool:
        """Append `text` on a new line of the cell, unless it already stands there
        (whitespace ignored): the bot's own notes are recognisable, so a second run adds
        nothing. `on` is the day of what the line records (the run puts one run's lines in a
        cell in date order). Returns whether it appended."""
        old = self.value(lead, field)
        if stands_in(text, old):
            return False
        sep = ("\n" if field == "remarks" else ", ") if old.strip() else ""
        self._write(lead, field, old.rstrip() + sep + text if sep else text, reason, on)
        return True

    def checkpoint(self) -> int:
        return len(self.changes)

    def rollback(self, mark: int) -> None:
        """Forget what the rule did since `checkpoint()` (it failed on that item, or one of
        its writes was blocked: the changes of one call land together or not at all)."""
        del self.changes[mark:]
        self._current = {(c.row, c.field): c.new for c in self.changes}

    def take_blocked(self) -> list[Finding]:
        """The blocked writes of the call since `checkpoint()`, forgotten here."""
        found, self.blocked = self.blocked, []
        return found
