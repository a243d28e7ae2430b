"""A1 column letters."""

from __future__ import annotations

from bot.sheets.layout import column_letter


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26)] == ["A", "Z", "AA"]
