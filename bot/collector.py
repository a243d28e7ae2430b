"""Python's cyclic garbage collector paused while a run handles a whole sheet's objects."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pauses = 0  # pauses in progress (threads), under _pauses_lock
_pauses_lock = threading.Lock()
_collector_was_on = False


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic garbage collector meanwhile (restored when the last pause ends).

    Reading a 100k-row sheet, planning it and writing to it build hundreds of thousands of
    small objects that live until the step returns and form no reference cycles; with the
    collector on, its repeated full passes over them cost as much as the work itself (a plan
    of 100k leads: 40% of its time; a Google read: ~0.8 s of ~1 s), and a pass falling
    between the verify read and the write widens the window staff edits can slip into.
    Refcounting frees everything as usual meanwhile; a cycle made elsewhere is collected once
    the pause ends.
    """
    global _pauses, _collector_was_on
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()
