"""How the bot writes dates and compares text in the cells it reads and writes."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# The characters no cell can hold: the control characters XML (so .xlsx) forbids, and lone
# surrogates (half an emoji), which no UTF-8 request body or journal line can carry.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
XLSX_CELL_LIMIT = 32_767  # characters in one cell: Excel's limit (Google Sheets': 50,000)

# The columns the bot writes, as staff call them.
FIELD_LABELS = {
    "status": "진행상황",
    "remarks": "비고",
    "alt_phones": "예비번호",
    "bot_note": "봇 확인",
}


def md(d: date | datetime) -> str:
    """The desk's short date: `12.2`."""
    return f"{d.month}.{d.day}"


def md_near(d: date | datetime, today: date) -> str:
    """`12.2` within today's year, `2024.12.2` in another: a date shown to staff far from
    when it was written must not read as next month's."""
    return md(d) if d.year == today.year else f"{d.year}.{md(d)}"


def md_hm(at: datetime, has_time: bool) -> str:
    """`12.2 15:13`, or `12.2` when the cell had no time."""
    return f"{md(at)} {at:%H:%M}" if has_time else md(at)


def squash(text: str) -> str:
    """Text as compared when the bot looks for its own or an OB note: whitespace removed."""
    return "".join(text.split())


def stands_in(text: str, cell: str) -> bool:
    """Whether `text` stands in `cell`, whitespace ignored: `squash(text) in squash(cell)`
    (the text as it was written is found without squashing either)."""
    return text in cell or squash(text) in squash(cell)


def appended(old: str, new: str) -> str:
    """What an append added to a cell: `new` without the `old` it starts with."""
    return new[len(old.rstrip()) :].lstrip(", \n") if new.startswith(old.rstrip()) else new


def unwritable(text: str) -> bool:
    """Whether `text` holds a character no cell can hold (`_UNWRITABLE`)."""
    return _UNWRITABLE.search(text) is not None


def writable(text: str, limit: int) -> str:
    """`text` as the bot may write it: the characters no cell can hold dropped, and cut to
    `limit` characters (its end marked `…`)."""
    text = _UNWRITABLE.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def width(text: str) -> int:
    """Columns `text` takes on a terminal: Korean (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    """`text` with spaces after it up to `columns` terminal columns."""
    return text + " " * max(0, columns - width(text))


def clip(text: str, limit: int) -> str:
    """`text` cut with `…` to fit `limit` terminal columns."""
    if width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        used += width(ch)
        if used > limit - 1:
            return out + "…"
        out += ch
    return out
