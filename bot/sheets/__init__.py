"""Sheet backends: the desk's two tabs read into a Snapshot, and a Plan's cells written back.

Every backend has the same two operations. `write` re-reads what it is about to change and
writes only cells that still hold the value the plan was made from (`rules.settle`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rules.model import CellWrite, Snapshot, WriteResult

# Told the cells a write is about to send, before it sends them (the write-ahead journal).
Ahead = Callable[[Sequence[CellWrite]], None]


class SheetBackend(Protocol):
    def read(self) -> Snapshot:
        """Both tabs, parsed. Raises MissingTab / MissingHeader / SheetUnavailable."""
        ...

    def write(
        self, snapshot: Snapshot, writes: Sequence[CellWrite], ahead: Ahead | None = None
    ) -> WriteResult:
        """Land `writes` (planned from `snapshot`) where the sheet still agrees with them;
        `ahead` is told the cells of each request before it goes out."""
        ...


def column_letter(number: int) -> str:
    """The A1 letters of 1-based column `number` (1 -> "A", 27 -> "AA"), as openpyxl's
    `get_column_letter` gives them; here, since importing openpyxl costs a preview ~0.2 s."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """The 1-based number of column `letters` ("A" -> 1, "AA" -> 27): `column_letter`'s
    inverse."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
