"""Manager alerts (RULES.md §6, DESIGN.md "A run" step 6).

After an applied run, what it changed and its new findings go to the configured channels, in
Korean, counted per rule, each row shown as `행 41 김*수 010-****-4269` — never an unmasked
phone or name. A finding already delivered to a channel within `alerts.repeat_after` (measured
on the run's `now`) is not repeated there; "the same finding" is the same sheet, row fingerprint
and rule id (`repeat_key`). An applied run that wrote nothing and found nothing new sends
nothing.

Channels are apprise URLs (Slack, Google Chat, Telegram, e-mail, Teams workflows, ...),
KakaoWork included (`kakaowork://APP_KEY@CONVERSATION_ID`, the plugin in `bot.kakaowork`). A
failing channel never raises: it is logged (by its scheme and position, never its URL) and reported in the result, and
its findings are not journaled as delivered to it, so the next run tries again.

Pieces, from pure to not:
- `compose_run_alert` / `compose_failure_alert` build the text (pure);
- `Notifier.send` delivers one text to the channels;
- `send_run_alert` / `send_failure_alert` tie them to the journal's repeat suppression.
"""

from __future__ import annotations

import hashlib
import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from bot import ports
from bot.errors import BadConfig
from bot.masking import fallback_label, register_secret, scrub, scrub_row_text
from bot.ports import ChannelResult
from rules import BOT_NOTE, CHANGE_RULES, FINDING_RULES, RULES
from rules.message import MAX_BODY_CHARS, row_lines
from rules.model import OB, CellWrite, Finding, Severity
from rules.values import KST

log = structlog.get_logger(__name__)

ROWS_PER_RULE = 10

# The order a manager reads them in: the order of a run (rules/__init__.py).
CHANGE_ORDER = tuple(r.id for r in CHANGE_RULES) + (BOT_NOTE,)
FINDING_ORDER = tuple(r.id for r in FINDING_RULES)

Labels = Mapping[tuple[str, int], str]


# --- repeat suppression ----------------------------------------------------------------------


def repeat_key(finding: Finding) -> str:
    """The identity of a finding across runs: sheet + row fingerprint + rule id, hashed.

    A finding without a fingerprint falls back to its sheet row."""
    who = finding.fingerprint or f"row:{finding.row}"
    raw = "\x1f".join((finding.sheet, who, finding.rule))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def failure_key(source: str) -> str:
    """The identity of "runs on this source are failing", so a failure is alerted once."""
    return "failed:" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


# --- composing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    title: str
    body: str


def _ordered(rules: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {rule: i for i, rule in enumerate(order)}
    return sorted(rules, key=lambda r: (rank.get(r, len(rank)), r))


def _label(labels: Labels, sheet: str, row: int) -> str:
    return labels.get((sheet, row)) or fallback_label(sheet, row)


def _name_of(labels: Labels, sheet: str, row: int) -> str:
    name_of: Callable[[tuple[str, int]], str] | None = getattr(labels, "name_of", None)
    return name_of((sheet, row)) if name_of else ""


def _when(now: datetime) -> str:
    """`12.3 10:15`, in Korean time."""
    local = now.astimezone(KST) if now.tzinfo else now
    return f"{local.month}.{local.day} {local:%H:%M}"


def _compose(
    run_id: str,
    now: datetime,
    written: Sequence[CellWrite],
    skipped: int,
    findings: Sequence[Finding],
    labels: Labels,
    titles: Mapping[str, str],
    limit: int,
) -> Alert:
    # rows per change rule: a promotion writes 진행상황 and 비고 of one row, one 건
    changed: dict[str, dict[tuple[str, int], None]] = defaultdict(dict)
    for w in written:
        for rule in w.rules:
            changed[rule][(w.sheet, w.row)] = None
    action = [f for f in findings if f.severity != Severity.INFO]
    info = [f for f in findings if f.severity == Severity.INFO]

    rows_changed = len({(w.sheet, w.row) for w in written if w.rules != (BOT_NOTE,)})
    head = []
    if rows_changed:
        head.append(f"변경 {rows_changed}건")
    elif BOT_NOTE in changed:
        head.append(f"{titles[BOT_NOTE]} {len(changed[BOT_NOTE])}건")
    if action:
        head.append(f"확인 필요 {len(action)}건")
    if info:
        head.append(f"참고 {len(info)}건")
    if skipped:
        head.append(f"반영 보류 {skipped}건")
    lines = [" · ".join(head) if head else "새로 알릴 내용 없음"]

    if changed:
        lines += ["", "[변경]"]
        for rule in _ordered(changed, CHANGE_ORDER):
            rows = sorted(changed[rule], key=lambda k: (k[0] == OB, k[1]))
            lines.append(f"{titles.get(rule, rule)} {len(rows)}건")
            if rule != BOT_NOTE:  # its rows are the findings' rows, listed below
                lines += row_lines([_label(labels, s, r) for s, r in rows], limit)

    for heading, group in (("[확인 필요]", action), ("[참고]", info)):
        if not group:
            continue
        lines += ["", heading]
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for f in group:
            by_rule[f.rule].append(f)
        for rule in _ordered(by_rule, FINDING_ORDER):
            found = sorted(by_rule[rule], key=lambda f: (f.sheet == OB, f.row))
            title = titles.get(rule, rule)
            lines.append(f"{title} {len(found)}건")
            items = []
            for f in found[:limit]:  # scrubbing costs ~0.2 ms a message: only the ones shown
                label = _label(labels, f.sheet, f.row)
                message = scrub_row_text(
                    f.message, _name_of(labels, f.sheet, f.row), getattr(labels, "names", ())
                )
                items.append(label if message.strip() in ("", title) else f"{label}: {message}")
            lines += row_lines(items, limit, total=len(found))

    if skipped:
        lines += [
            "",
            f"시트가 그사이 바뀌어 {skipped}건은 반영하지 않았습니다. 다음 실행에서 다시 시도합니다.",
        ]
    lines += ["", f"실행 {run_id}"]
    return Alert(title=f"movebot 점검 결과 ({_when(now)})", body="\n".join(lines))


def compose_run_alert(
    *,
    run_id: str,
    now: datetime,
    written: Sequence[CellWrite],
    skipped: int,
    findings: Sequence[Finding],
    labels: Labels,
    titles: Mapping[str, str] | None = None,
    rows_per_rule: int = ROWS_PER_RULE,
) -> Alert | None:
    """The Korean alert for one applied run, or None when there is nothing to tell.

    `written`: the cells that landed; `skipped`: how many writes did not; `findings`: the run's
    NEW findings (repeat suppression already applied); `labels`: (sheet, row) -> masked label
    (`masking.RowLabels`, or a dict built with `masking.row_label` / `ob_label`), a row missing
    from it shows as `행 N`. Counts come first, then up to `rows_per_rule` rows per rule with
    `외 N건`; a body that would not fit on a phone lists fewer rows.
    """
    if not written and not findings:
        return None
    merged = {**{r.id: r.title for r in RULES.values()}, **(titles or {})}
    limit = rows_per_rule
    while True:
        alert = _compose(run_id, now, written, skipped, findings, labels, merged, limit)
        if len(alert.body) <= MAX_BODY_CHARS or limit == 0:
            return alert
        limit = 5 if limit > 5 else 3 if limit > 3 else 0


def compose_failure_alert(*, run_id: str | None, now: datetime, source: str, error: str) -> Alert:
    """The Korean alert for a run that failed. `error` is scrubbed of phones and secrets."""
    lines = [
        "예약된 점검 실행이 실패했습니다. 시트는 이 실행으로 바뀌지 않았을 수 있으니 "
        "아래 원인을 확인해 주세요. 다음 예약 실행에서 다시 시도합니다.",
        "",
        f"원인: {scrub(error)}",
        f"시트: {scrub(source)}",
    ]
    if run_id:
        lines.append(f"실행 {run_id}")
    return Alert(title=f"movebot 실행 실패 ({_when(now)})", body="\n".join(lines))


# --- delivering ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AppriseChannel:
    label: str
    scheme: str
    tag: str
    loaded: bool


def _scheme(url: str) -> str:
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.replace("+", "").isalnum() else "unknown"


def _secret(value: Any) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if callable(getter) else value)


class Notifier:
    """Sends one title and body to every configured channel.

    `urls`: apprise URLs (str or SecretStr), all on one `apprise.Apprise`. Constructing a
    Notifier registers every token with `masking.register_secret`, so no log line can carry one.
    """

    def __init__(self, urls: Sequence[Any] = ()) -> None:
        import apprise  # here: a run that alerts nobody (a preview) does not pay its import

        from bot import kakaowork  # noqa: F401  (registers kakaowork:// with apprise)

        asset = apprise.AppriseAsset(app_id="movebot", app_desc="movebot")
        self._apprise = apprise.Apprise(asset=asset)
        self._channels: list[_AppriseChannel] = []
        per_scheme: dict[str, int] = defaultdict(int)
        for i, value in enumerate(urls):
            url = _secret(value).strip()
            register_secret(url)
            scheme = _scheme(url)
            per_scheme[scheme] += 1
            label = f"{scheme}#{per_scheme[scheme]}"
            tag = f"movebot-channel-{i}"
            loaded = bool(url) and self._apprise.add(url, tag=tag)
            if not loaded:
                log.warning(
                    "alert URL not understood; fix alerts.urls",
                    channel=label,
                    scheme=scheme,
                    position=i + 1,
                )
            self._channels.append(_AppriseChannel(label, scheme, tag, loaded))

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel's label, in config order."""
        return tuple(c.label for c in self._channels)

    def __bool__(self) -> bool:
        return bool(self.channels)

    def check(self) -> list[ChannelResult]:
        """Whether each channel's settings are usable, without sending anything (doctor)."""
        return [
            ChannelResult(
                c.label, c.loaded, None if c.loaded else "apprise did not understand the URL"
            )
            for c in self._channels
        ]

    def send(
        self,
        title: str,
        body: str,
        channels: Collection[str] | None = None,
        attach: Sequence[Path] = (),
    ) -> list[ChannelResult]:
        """Deliver to every channel (or those labelled in `channels`), with the `attach` files
        on the channels that take files (the others get the text alone). Never raises for a
        channel's failure: it is logged and comes back with ok=False."""
        title, body = scrub(title), scrub(body)
        results: list[ChannelResult] = []
        for c in self._channels:
            if channels is None or c.label in channels:
                results.append(self._send_apprise(c, title, body, attach))
        for r in results:
            if r.ok:
                log.info("alert delivered", channel=r.channel)
            else:
                log.warning(
                    "alert channel failed; retried next run", channel=r.channel, error=r.error
                )
        return results

    def _send_apprise(
        self, c: _AppriseChannel, title: str, body: str, attach: Sequence[Path] = ()
    ) -> ChannelResult:
        if not c.loaded:
            return ChannelResult(c.label, False, "apprise did not understand the URL")
        import apprise

        from bot import kakaowork

        try:
            with kakaowork.failures() as why:
                ok = bool(
                    self._apprise.notify(
                        body=body,
                        title=title,
                        tag=c.tag,
                        body_format=apprise.NotifyFormat.TEXT,
                        attach=[str(p) for p in attach] or None,
                    )
                )
        except Exception as e:  # a plugin bug must not fail the run
            return ChannelResult(c.label, False, f"{type(e).__name__} in apprise")
        if ok:
            return ChannelResult(c.label, True)
        return ChannelResult(
            c.label, False, scrub(why[-1] if why else f"{c.scheme} did not accept it")
        )


# --- with the journal ------------------------------------------------------------------------


def require_channels(notifier: ports.Notifier, command: str) -> None:
    """`--send` needs a channel: BadConfig (exit 2) before anything is read."""
    if not notifier.channels:
        raise BadConfig(
            f"{command} --send: no alert channel is configured. Add apprise URLs under "
            "alerts.urls in the config; `movebot doctor` checks them."
        )


def delivery_code(
    results: Sequence[ChannelResult], what: str, say: Callable[[str], object] | None = None
) -> int:
    """Says on stderr (or `say`) which channels `what` did not reach; 1 when it reached none,
    else 0."""
    say = say or (lambda text: print(text, file=sys.stderr))
    failed = [r for r in results if not r.ok]
    for r in failed:
        say(f"movebot: {what} not delivered to {r.channel}: {r.error or 'failed'}.")
    if results and len(failed) == len(results):
        say(f"movebot: the {what} reached no channel; `movebot doctor --send-test` checks them.")
        return 1
    return 0


def once_key(kind: str, label: str, source: str) -> str:
    """The journal key of one `kind` of message about one sheet (`label`: its day or period),
    so two workers on that sheet send it once: the sheet named by a digest of its source."""
    return f"{kind}:{label}:{hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]}"


def send_once(
    notifier: ports.Notifier,
    journal: ports.Journal,
    key: str,
    title: str,
    body: str,
    *,
    now: datetime,
    since: datetime,
    attach: Sequence[Path] = (),
) -> list[ChannelResult]:
    """Send to each channel that has not had `key` delivered since `since` (the worker's
    digest and reports: two workers on one sheet send them once), journaling each delivery."""
    channels = [
        c for c in notifier.channels if not journal.recently_alerted([key], since, channel=c)
    ]
    if not channels:
        log.info("already sent", key=key.split(":")[0])
        return []
    results = notifier.send(title, body, channels=channels, attach=attach)
    for r in results:
        journal.record_alerts(None, [key], r.channel, now, r.ok)
    return results


def _deliver_fresh(
    journal: ports.Journal,
    notifier: ports.Notifier,
    *,
    run_id: str | None,
    now: datetime,
    repeat_after: timedelta,
    keys: Sequence[str],
    compose: Callable[[frozenset[str]], Alert | None],
    always_record: Sequence[str] = (),
) -> list[ChannelResult]:
    """Per channel, the keys not delivered there within `repeat_after`; channels with the same
    fresh keys get one composed alert; each channel's outcome is journaled per key."""
    channels = notifier.channels
    if not channels:
        return []
    since = now - repeat_after
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for channel in channels:
        seen = journal.recently_alerted(keys, since, channel=channel)
        groups[frozenset(k for k in keys if k not in seen)].append(channel)
    results: list[ChannelResult] = []
    for fresh, members in groups.items():
        alert = compose(fresh)
        if alert is None:
            continue
        for result in notifier.send(alert.title, alert.body, channels=members):
            journal.record_alerts(
                run_id, [*always_record, *sorted(fresh)], result.channel, now, result.ok
            )
            results.append(result)
    return results


def send_run_alert(
    journal: ports.Journal,
    notifier: ports.Notifier,
    *,
    run_id: str,
    now: datetime,
    written: Sequence[CellWrite],
    skipped: int,
    findings: Sequence[Finding],
    labels: Labels,
    repeat_after: timedelta,
    titles: Mapping[str, str] | None = None,
) -> list[ChannelResult]:
    """Alert an applied run: its writes and its findings not yet delivered to each channel
    within `repeat_after` of `now`. Returns each channel's result (empty: nothing was sent)."""
    keyed = [(repeat_key(f), f) for f in findings]
    keys = list(dict.fromkeys(k for k, _ in keyed))

    def compose(fresh: frozenset[str]) -> Alert | None:
        return compose_run_alert(
            run_id=run_id,
            now=now,
            written=written,
            skipped=skipped,
            findings=[f for k, f in keyed if k in fresh],
            labels=labels,
            titles=titles,
        )

    results = _deliver_fresh(
        journal,
        notifier,
        run_id=run_id,
        now=now,
        repeat_after=repeat_after,
        keys=keys,
        compose=compose,
        always_record=[f"run:{run_id}"],
    )
    if results:
        log.info(
            "run alert sent",
            channels=len(results),
            failed=sum(not r.ok for r in results),
        )
    return results


def send_failure_alert(
    journal: ports.Journal,
    notifier: ports.Notifier,
    *,
    run_id: str | None,
    now: datetime,
    source: str,
    error: str,
    repeat_after: timedelta,
) -> list[ChannelResult]:
    """Alert a failed run once: while runs on `source` keep failing, a channel that got the
    failure alert within `repeat_after` is not told again."""
    key = failure_key(source)

    def compose(fresh: frozenset[str]) -> Alert | None:
        if key not in fresh:
            return None
        return compose_failure_alert(run_id=run_id, now=now, source=source, error=error)

    return _deliver_fresh(
        journal,
        notifier,
        run_id=run_id,
        now=now,
        repeat_after=repeat_after,
        keys=[key],
        compose=compose,
    )
