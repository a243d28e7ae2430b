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
