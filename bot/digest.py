"""The morning digest (DESIGN.md "The morning digest", RULES.md §6): what each 담당자 has to do
today, read from the sheet as it stands.

Per 담당자 (rows without one under 미지정), seven lists:

- 오늘 통화 예정: 통화예정일 is today (KST), on any row that is not closed;
- 통화 예정일 지남: open rows (an active status, or none yet) whose 통화예정일 is before today,
  oldest first;
- 업체 반환 OB 대기: exactly the rows the `return.pending` rule flags (the rule itself is called,
  so the digest and the 봇 확인 column never disagree); none when the rule is turned off;
- 승격 후 업체 미배정: 상담요청 rows whose 비고 carries the bot's promotion note
  (`장기요청→상담요청 (이사 D-n)`) and whose 배정업체 is empty;
- 판단 필요: the rows the desk's judgement calls flag (`dup.vendor_notice`,
  `dup.note_number`, `contact.attempts`, `longterm.match`), with the rule's own message.
- 해피콜 대상 / 해피콜 지연: 계약완료 leads due their after-service call (docs/REPORTS.md
  `followups`: moved `followup.after_days`–`followup.until_days` days ago, no OB call since),
  up to `followup.due_days` after the move, and the older ones; longest waiting first.

Each row is shown as alerts show it (`행 41 김*수 010-****-4269`), never with an unmasked name
or phone. `build_digest` is pure (snapshot + now + settings); `render_digest` and `digest_json`
present it; `send_digest` delivers it; `run_digest` is the `movebot digest` command.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import structlog

from bot.alerts import MAX_BODY_CHARS, delivery_code, require_channels, row_lines, send_once
from bot.config import Settings
from bot.masking import row_label
from bot.ports import ChannelResult, Journal, Notifier, SheetBackend
from rules import RULES
from rules.context import Context, is_closed, is_open
from rules.figures import followups
from rules.longterm import PROMOTION_NOTE
from rules.model import Lead, Snapshot
from rules.parse import parse_desk
from rules.plan import items, mode_of
from rules.text import md_near, squash
from rules.values import KST

log = structlog.get_logger(__name__)

UNASSIGNED = "미지정"

RETURN_RULE = "return.pending"
JUDGEMENT_RULES = ("dup.vendor_notice", "dup.note_number", "contact.attempts", "longterm.match")
ROWS_PER_LIST = 15
NOTHING_TODAY = "오늘은 확인할 항목이 없습니다."

# The lists, in the order a manager reads them: (attribute, Korean heading).
LISTS: tuple[tuple[str, str], ...] = (
    ("due_today", "오늘 통화 예정"),
    ("overdue", "통화 예정일 지남"),
    ("returns", "업체 반환 OB 대기"),
    ("promoted", "승격 후 업체 미배정"),
    ("judgement", "판단 필요"),
    ("followup_due", "해피콜 대상"),
    ("followup_late", "해피콜 지연"),
)
_WEEKDAYS = "월화수목금토일"


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One row of the sheet as the digest names it: masked, with a short detail."""

    row: int  # 1-based sheet row of 이사 관리자
    label: str  # `행 41 김*수 010-****-4269`
    detail: str = ""  # `예정 12.2`, `인입 후 2일`, `이사 D-45`

    @property
    def text(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


@dataclass(frozen=True, slots=True)
class ManagerDigest:
    """One 담당자's lists."""

    manager: str
    due_today: tuple[DigestRow, ...] = ()
    overdue: tuple[DigestRow, ...] = ()
    returns: tuple[DigestRow, ...] = ()
    promoted: tuple[DigestRow, ...] = ()
    judgement: tuple[DigestRow, ...] = ()
    followup_due: tuple[DigestRow, ...] = ()
    followup_late: tuple[DigestRow, ...] = ()

    def rows(self, name: str) -> tuple[DigestRow, ...]:
        return getattr(self, name)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.rows(name)) for name, _ in LISTS}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Digest:
    """The morning digest of one sheet at `now`: one entry per 담당자 with something to do,
    named managers in 가나다 order, 미지정 last."""

    now: datetime  # aware, Asia/Seoul
    source: str
    managers: tuple[ManagerDigest, ...] = field(default_factory=tuple)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def counts(self) -> dict[str, int]:
        return {name: sum(m.counts[name] for m in self.managers) for name, _ in LISTS}

    @property
    def empty(self) -> bool:
        return not self.managers


# --- building --------------------------------------------------------------------------------


def _label(lead: Lead, detail: str = "") -> DigestRow:
    phone = lead.phone.text if lead.phone else None
    return DigestRow(lead.row, row_label(lead.row, lead.name, phone), detail)


def is_promoted_waiting(lead: Lead) -> bool:
    """상담요청 promoted by the bot (its note in 비고) with no 배정업체 yet."""
    return (
        lead.status == "상담요청"
        and squash(PROMOTION_NOTE) in squash(lead.remarks)
        and not lead.vendor.strip()
    )


def _flagged(rule_id: str, ctx: Context) -> dict[int, list[str]]:
    """The lead rows the rule flags, with its messages; none when the rule is off. A rule that
    fails on an item leaves it out (the reconcile run reports that failure as a finding)."""
    rule = RULES[rule_id]
    if mode_of(rule_id, ctx.settings) == "off":
        return {}
    flagged: dict[int, list[str]] = defaultdict(list)
    for item in items(rule.scope, ctx):
        try:
            found = list((rule.check(ctx) if rule.scope == "desk" else rule.check(item, ctx)) or ())
        except Exception as error:  # noqa: BLE001 - one odd row must not cost the whole digest
            row = getattr(item, "row", 0)
            log.warning("digest.rule_failed", rule=rule_id, row=row, error=type(error).__name__)
            continue
        for f in found:
            if f.sheet == "leads":
                flagged[f.row].append(f.message)
    return flagged


def build_digest(snapshot: Snapshot, now: datetime, settings: Settings) -> Digest:
    """The digest of `snapshot` as of `now` (aware; taken as Asia/Seoul)."""
    local = now.astimezone(KST)
    wall = local.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    today = wall.date()
    desk = parse_desk(snapshot, today)
    rule_settings = settings.rule_settings()
    ctx = Context(desk.leads, desk.obs, wall, rule_settings, desk.vendors)
    returns = _flagged(RETURN_RULE, ctx)
    judgement: dict[int, list[str]] = defaultdict(list)
    for rule_id in JUDGEMENT_RULES:
        for row, messages in _flagged(rule_id, ctx).items():
            judgement[row] += messages

    lists: dict[str, dict[str, list[tuple[Any, DigestRow]]]] = defaultdict(
        lambda: {name: [] for name, _ in LISTS}
    )
    for lead in desk.leads:
        manager = lead.manager.strip() or UNASSIGNED
        due = lead.call_due
        if due == today and not is_closed(lead):
            lists[manager]["due_today"].append((lead.row, _label(lead)))
        elif due is not None and due < today and is_open(lead):
            lists[manager]["overdue"].append(
                ((due, lead.row), _label(lead, f"예정 {md_near(due, today)}"))
            )
        if lead.row in returns:
            days = (today - lead.intake_at.date()).days if lead.intake_at else 0
            lists[manager]["returns"].append((lead.row, _label(lead, f"인입 후 {days}일")))
        if is_promoted_waiting(lead):
            detail = f"이사 D-{(lead.move_date - today).days}" if lead.move_date else ""
            lists[manager]["promoted"].append((lead.row, _label(lead, detail)))
        if lead.row in judgement:
            detail = "; ".join(judgement[lead.row])
            lists[manager]["judgement"].append((lead.row, _label(lead, detail)))
    by_row = {lead.row: lead for lead in desk.leads}
    for f in followups(ctx):
        name = "followup_late" if f.late else "followup_due"
        labelled = _label(by_row[f.row], f"이사 후 {f.days_since}일")
        lists[f.manager][name].append(((-f.days_since, f.row), labelled))

    managers = []
    for manager, by_list in lists.items():
        kwargs = {
            name: tuple(row for _, row in sorted(items, key=lambda item: item[0]))
            for name, items in by_list.items()
        }
        entry = ManagerDigest(manager, **kwargs)
        if entry.total:
            managers.append(entry)
    managers.sort(key=lambda m: (m.manager == UNASSIGNED, m.manager))
    return Digest(now=local, source=snapshot.source, managers=tuple(managers))


# --- presenting ------------------------------------------------------------------------------


def _title(d: Digest) -> str:
    return f"movebot 오늘의 할 일 ({d.today.month}.{d.today.day} {_WEEKDAYS[d.today.weekday()]})"


def _counts_line(counts: dict[str, int]) -> str:
    return " · ".join(f"{heading} {counts[name]}" for name, heading in LISTS if counts[name])


def _body(d: Digest, limit: int) -> str:
    lines = [_counts_line(d.counts), "", "[담당자별]"]
    lines += [f"{m.manager}: {_counts_line(m.counts)}" for m in d.managers]
    for m in d.managers:
        lines += ["", f"■ {m.manager}"]
        for name, heading in LISTS:
            rows = m.rows(name)
            if rows:
                lines.append(f"{heading} {len(rows)}건")
                lines += row_lines([r.text for r in rows], limit)
    return "\n".join(lines)


def render_digest(d: Digest, rows_per_list: int = ROWS_PER_LIST) -> tuple[str, str]:
    """(title, body) in Korean, readable on a phone: the counts first (all, then per 담당자),
    then each 담당자's lists with at most `rows_per_list` rows each and `외 N건` for the rest;
    a body too long for a phone lists fewer rows. An empty digest says so."""
    title = _title(d)
    if d.empty:
        return title, NOTHING_TODAY
    limit = rows_per_list
    while True:
        body = _body(d, limit)
        if len(body) <= MAX_BODY_CHARS or limit == 0:
            return title, body
        limit = 10 if limit > 10 else 5 if limit > 5 else 3 if limit > 3 else 0


def digest_json(d: Digest) -> dict[str, Any]:
    """The digest for machines: `{"now", "source", "empty", "counts", "managers": [{"manager",
    "counts", "due_today": [{"row", "label", "detail"}], "overdue", "returns", "promoted",
    "judgement", "followup_due", "followup_late"}]}`."""
    return {
        "now": d.now.isoformat(),
        "source": d.source,
        "empty": d.empty,
        "counts": d.counts,
        "managers": [
            {
                "manager": m.manager,
                "counts": m.counts,
                **{
                    name: [
                        {"row": r.row, "label": r.label, "detail": r.detail} for r in m.rows(name)
                    ]
                    for name, _ in LISTS
                },
            }
            for m in d.managers
        ],
    }


# --- delivering ------------------------------------------------------------------------------


def digest_key(d: Digest) -> str:
    """The journal key of one day's digest of one sheet (so two workers send it once)."""
    source = hashlib.sha256(d.source.encode("utf-8")).hexdigest()[:16]
    return f"digest:{d.today.isoformat()}:{source}"


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
    d = build_digest(backend.read(), now, settings)
    if as_json:
        out(json.dumps(digest_json(d), ensure_ascii=False))
    else:
        title, body = render_digest(d)
        out(f"{title}\n\n{body}")
    if send_to is None:
        return 0
    return delivery_code(send_digest(d, send_to), "digest", err)
