"""The morning digest's delivery (`rules.digest` decides what it says): `digest_of` builds it
from the settings, `send_digest` delivers it, `run_digest` is the `movebot digest` command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as time_of_day

import structlog

from bot.alerts import delivery_code, once_key, require_channels, send_once
from bot.config import Settings
from bot.masking import row_label
from bot.ports import ChannelResult, Journal, Notifier, SheetBackend
from bot.report import fitted
from rules.digest import Digest, build_digest, digest_json, render_digest
from rules.model import Snapshot
from rules.values import KST

log = structlog.get_logger(__name__)


def digest_of(snapshot: Snapshot, now: datetime, settings: Settings) -> Digest:
    """The digest of `snapshot` at `now` under `settings`, rows masked as alerts mask them; a
    row a rule failed on is logged (by type, never its text) and left out."""
    d = build_digest(snapshot, now, settings.rule_settings(), row_label)
    for f in d.failures:
        log.warning("digest.rule_failed", rule=f.rule, row=f.row, error=f.error)
    return d


def digest_key(d: Digest) -> str:
    """The journal key of one day's digest of one sheet (so two workers send it once)."""
    return once_key("digest", d.today.isoformat(), d.source)


def send_digest(
    d: Digest, notifier: Notifier, *, journal: Journal | None = None
) -> list[ChannelResult]:
    """Send the digest (an empty one too, so managers know the bot ran) to every channel.

    With a `journal` (the scheduled worker), a channel that already got today's digest of this
    sheet is skipped, and each delivery is journaled; without one (`movebot digest --send`),
    every channel gets it."""
    title, body = render_digest(d)
    if journal is None:
        results = notifier.send(title, body)
    else:
        midnight = datetime.combine(d.today, time_of_day(0), KST) - timedelta(microseconds=1)
        results = send_once(
            notifier, journal, digest_key(d), title, body, now=d.now, since=midnight
        )
        if not results:
            return []
    log.info(
        "digest.sent",
        channels=len(results),
        failed=sum(not r.ok for r in results),
        rows=sum(d.counts.values()),
    )
    return results


def run_digest(
    settings: Settings,
    backend: SheetBackend,
    now: datetime,
    *,
    as_json: bool = False,
    send_to: Notifier | None = None,
    out: Callable[[str], object] = print,
    err: Callable[[str], object] | None = None,
) -> int:
    """`movebot digest`: read the sheet, print the digest (text, or one JSON object with
    `as_json`), and deliver it through `send_to` when given (`--send`).

    Exit code: 0; 1 when sending reached no channel at all. Sending with no channel configured
    is a BadConfig (exit 2), raised before the sheet is read."""
    if send_to is not None:
        require_channels(send_to, "digest")
    d = digest_of(backend.read(), now, settings)
    if as_json:
        out(json.dumps(digest_json(d), ensure_ascii=False))
    else:
        title, body = render_digest(d)
        out(f"{title}\n\n{fitted(body)}")
    if send_to is None:
        return 0
    return delivery_code(send_digest(d, send_to), "digest", err)
