"""Finding the columns of a tab by their header names (RULES.md §1)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rules.model import CellValue, TabKey

# field -> header names accepted for it, the default first (RULES.md §1)
LEAD_HEADERS: dict[str, tuple[str, ...]] = {
    "intake_at": ("인입일", "인입일시"),
    "call_due": ("통화예정일",),
    "status": ("진행상황",),
    "remarks": ("실패사유/비고", "비고"),
    "name": ("고객명",),
    "phone": ("연락처",),
    "alt_phones": ("예비번호",),
    "move_date": ("이사예정일",),
    "origin": ("출발지",),
    "destination": ("도착지",),
    "move_type": ("이사종류",),
    "vendor": ("배정업체",),
    "manager": ("담당자",),
}
OB_HEADERS: dict[str, tuple[str, ...]] = {
    "ob_date": ("OB 날짜",),
    "phone": ("고객 연락처",),
    "detail": ("상세내용",),
    "cancel_reason": ("취소 사유",),
    "vendor": ("담당 업체",),
    "load_tons": ("짐 양",),
    "quote_amount": ("견적금액",),
}
# The optional tab 장기고객 업체 리스트 (seed §2), read by longterm.match only.
VENDOR_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("업체명",),
    "regular_areas": ("기존 영업지역",),
    "outside_areas": ("영업 외 지역",),
}
REQUIRED: dict[TabKey, tuple[str, ...]] = {
    "leads": ("intake_at", "status", "remarks", "phone"),
    "ob": ("ob_date", "phone", "detail"),
    "vendors": ("name", "regular_areas", "outside_areas"),
}
DEFAULT_HEADERS: dict[TabKey, dict[str, tuple[str, ...]]] = {
    "leads": LEAD_HEADERS,
    "ob": OB_HEADERS,
    "vendors": VENDOR_HEADERS,
}


@dataclass(frozen=True)
class TabSpec:
    """Where a tab is and what its headers may be called (config `sheets.leads` / `sheets.ob` /
    `sheets.vendors`)."""

    title: str
    header_row: int = 1
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)


class HeaderMismatch(ValueError):
    """A tab's header row lacks a required column, or the config names a field that does not
    exist. `str(error)` names the tab, the header and what was found; the backend adds where
    the tab is and raises it to the user as `bot.errors.MissingHeader`."""


_IGNORED = re.compile(r"[\s\u3000\u00a0↓▼]+")


def header_key(text: CellValue) -> str:
    """A header as compared: all whitespace and any `↓` / `▼` removed."""
    return _IGNORED.sub("", str(text or ""))


def find_columns(
    key: TabKey,
    title: str,
    header_row: int,
    headers: Sequence[CellValue],
    extra_aliases: Mapping[str, Sequence[str]] | None = None,
    bot_note_header: str = "봇 확인",
) -> dict[str, int]:
    """field -> 0-based column. Raises HeaderMismatch naming the tab, the header and what was
    found when a required header is absent.

    When several columns match a field, the one under the earliest name in the field's list
    wins (the default name, then its aliases in order, then `extra_aliases`), and among columns
    under the same name the leftmost: `비고` and `실패사유/비고` both present -> `실패사유/비고`.
    """
    names = {f: list(a) for f, a in DEFAULT_HEADERS[key].items()}
    for f, aliases in (extra_aliases or {}).items():
        if f not in names and f != "bot_note":
            known = ", ".join(sorted(names))
            raise HeaderMismatch(
                f"Setting sheets.{key}.headers names an unknown field '{f}' (known: {known})."
            )
        names.setdefault(f, []).extend(aliases)
    names["bot_note"] = [bot_note_header]
    # header as compared -> (field, its place in the field's list); a name two fields share
    # goes to the later field, as before
    wanted: dict[str, tuple[str, int]] = {}
    for f, aliases in names.items():
        for rank, alias in reversed(list(enumerate(aliases))):
            wanted[header_key(alias)] = (f, rank)
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    for col, text in enumerate(headers):
        hit = wanted.get(header_key(text))
        if hit is None:
            continue
        f, rank = hit
        if f not in best or rank < best[f][0]:
            best[f] = (rank, col)
    columns = {f: col for f, (_, col) in sorted(best.items(), key=lambda item: item[1][1])}
    missing = [f for f in REQUIRED[key] if f not in columns]
    if missing:
        found = [str(h).strip() for h in headers if str(h or "").strip()]
        want = ", ".join(f"'{names[f][0]}'" for f in missing)
        raise HeaderMismatch(
            f"Sheet '{title}' has no {want} column in header row {header_row}. "
            f"Headers found there: {', '.join(found) if found else '(none)'}. "
            f"Rename the column, or add its name under sheets.{key}.headers in the config."
        )
    return columns
