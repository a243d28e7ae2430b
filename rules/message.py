"""How a message for managers lists rows on a phone: alerts and the digest lay out alike."""

from __future__ import annotations

from collections.abc import Sequence

MAX_BODY_CHARS = 3500  # Telegram cuts at 4096; a phone screen much sooner


def row_lines(
    items: Sequence[str], limit: int, indent: str = "  - ", total: int | None = None
) -> list[str]:
    """At most `limit` lines of `items`, then `외 N건` for the rest (of `total` items, when
    the caller made only the lines shown)."""
    if limit <= 0:
        return []
    count = len(items) if total is None else total
    lines = [indent + item for item in items[:limit]]
    if count > limit:
        lines.append(f"{indent}외 {count - limit}건")
    return lines
