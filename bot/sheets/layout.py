"""A1 column letters for the sheets' ranges and the journal."""

from __future__ import annotations


def column_letter(index: int) -> str:
    """0-based column index -> A1 letters: 0 -> A, 25 -> Z, 26 -> AA."""
    if index < 0:
        raise ValueError(f"column index must be >= 0, not {index}")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters
