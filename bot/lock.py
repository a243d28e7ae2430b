"""An exclusive lock on a file beside the sheet or journal, so two writers never overlap.

filelock takes an OS lock on the file (`flock` on Unix, `LockFileEx` on Windows), held by the
open file, so two `hold()`s conflict whether they are in two processes or in two threads of one.
The lock file is kept on release (deleting a lock file races with the next taker), is created
readable by its owner only (0600 on Unix), and holds the pid of the last holder, for operators.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bot.errors import UserError


class LockUnavailable(UserError):
    """The lock file cannot be created or opened."""


def _write_pid(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass  # the pid is a courtesy; the lock is what counts


class SheetLock:
    """An exclusive lock on a lock file, held for one run (or one worker tick)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextmanager
    def hold(self, wait: float = 0.0, poll: float = 0.2) -> Iterator[bool]:
        """Yields True holding the lock, or False when another holder kept it for `wait`
        seconds (0: do not wait). LockUnavailable when the lock file cannot be opened."""
        lock = FileLock(self.path, mode=0o600, preserve_lock_file=True, on_acquired=_write_pid)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=wait, poll_interval=poll)
        except Timeout:
            yield False
            return
        except OSError as e:
            raise LockUnavailable(
                f"The lock file {self.path} cannot be opened: {e.strerror or e}. It sits beside "
                "the workbook or the journal (journal.path, --journal): that folder must be "
                "writable."
            ) from None
        try:
            yield True
        finally:
            lock.release()

    def holder(self) -> int | None:
        """The pid written by the last holder, when readable."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None
