"""An exclusive lock on a file beside the sheet or journal, so two writers never overlap.

`flock` locks belong to the open file, so two `hold()`s conflict whether they are in two
processes or in two threads of one. The lock file is never deleted (deleting a lock file races
with the next taker); it holds the pid of the last holder, for operators.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import UserError


class LockUnavailable(UserError):
    """The lock file cannot be created or opened."""


class SheetLock:
    """An exclusive `flock` on a lock file, held for one run (or one worker tick)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextmanager
    def hold(self, wait: float = 0.0, poll: float = 0.2) -> Iterator[bool]:
        """Yields True holding the lock, or False when another holder kept it for `wait`
        seconds (0: do not wait). LockUnavailable when the lock file cannot be opened."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise LockUnavailable(
                f"The lock file {self.path} cannot be opened: {e.strerror or e}. It sits beside "
                "the workbook or the journal (journal.path, --journal): that folder must be "
                "writable."
            ) from None
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(poll)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # the pid is a courtesy; the lock is what counts
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self) -> int | None:
        """The pid written by the last holder, when readable."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None
