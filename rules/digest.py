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
  `dup.note_number`, `contact.attempts`, `longterm.match`), with the rule's own message;
- 해피콜 대상 / 해피콜 지연: 계약완료 leads due their after-service call (docs/REPORTS.md
  `followups`: moved `followup.after_days`–`followup.until_days` days ago, no OB call since),
  up to `followup.due_days` after the move, and the older ones; longest waiting first.

Each row is shown as alerts show it (`행 41 김*수 010-****-4269`), never with an unmasked name
or phone: the caller hands in the masking (`label`). `build_digest` decides (snapshot + now +
settings); `render_digest` and `digest_json` present it. Sending it is `bot.digest`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rules import RULES
from rules.context import Context, is_closed, is_open
from rules.figures import UNASSIGNED, followups, manager_of
from rules.longterm import PROMOTION_NOTE
from rules.message import MAX_BODY_CHARS, row_lines
from rules.model import CellValue, Lead, Snapshot
from rules.parse import parse_desk
from rules.plan import item_check, items, mode_of
from rules.settings import RuleSettings
from rules.text import md_near, squash
from rules.values import KST

# (sheet row, name, phone as read) -> the row as managers may see it: `행 41 김*수 010-****-4269`
Label = Callable[[int, str, CellValue], str]

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
        rows: tuple[DigestRow, ...] = getattr(self, name)
        return rows

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.rows(name)) for name, _ in LISTS}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A row a rule raised on: left out of the digest (the reconcile run reports the failure as
    a finding); the shell logs it."""

    rule: str
    row: int  # 0 when the rule looks at the whole desk
    error: str  # the exception's type name: its text may hold a customer's phone


@dataclass(frozen=True, slots=True)
class Digest:
    """The morning digest of one sheet at `now`: one entry per 담당자 with something to do,
    named managers in 가나다 order, 미지정 last."""

    now: datetime  # aware, Asia/Seoul
    source: str
    managers: tuple[ManagerDigest, ...] = field(default_factory=tuple)
    failures: tuple[RuleFailure, ...] = ()

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


def is_promoted_waiting(lead: Lead) -> bool:
    """상담요청 promoted by the bot (its note in 비고) with no 배정업체 yet."""
    return (
        lead.status == "상담요청"
        and squash(PROMOTION_NOTE) in squash(lead.remarks)
        and not lead.vendor.strip()
    )


def _flagged(rule_id: str, ctx: Context, failures: list[RuleFailure]) -> dict[int, list[str]]:
    """The lead rows the rule flags, with its messages; none when the rule is off. An item the
    rule raises on is left out and added to `failures`: one odd row must not cost the digest."""
    rule = RULES[rule_id]
    if mode_of(rule_id, ctx.settings) == "off":
        return {}
    flagged: dict[int, list[str]] = defaultdict(list)
    check = item_check(rule)
    for item in items(rule.scope, ctx):
        try:
            found = list(check(item, ctx) or ())
        except Exception as error:  # noqa: BLE001 - recorded; the shell logs it
            failures.append(RuleFailure(rule_id, getattr(item, "row", 0), type(error).__name__))
            continue
        for f in found:
            if f.sheet == "leads":
                flagged[f.row].append(f.message)
    return flagged


def build_digest(snapshot: Snapshot, now: datetime, settings: RuleSettings, label: Label) -> Digest:
    """The digest of `snapshot` as of `now` (aware; taken as Asia/Seoul), each row named by
    `label`."""
    local = now.astimezone(KST)
    wall = local.replace(tzinfo=None)  # the sheet's dates are KST wall-clock times
    today = wall.date()
    desk = parse_desk(snapshot, today)
    ctx = Context(desk.leads, desk.obs, wall, settings, desk.vendors)
    failures: list[RuleFailure] = []
    returns = _flagged(RETURN_RULE, ctx, failures)
    judgement: dict[int, list[str]] = defaultdict(list)
    for rule_id in JUDGEMENT_RULES:
        for flagged_row, messages in _flagged(rule_id, ctx, failures).items():
            judgement[flagged_row] += messages

    def row(lead: Lead, detail: str = "") -> DigestRow:
        phone = lead.phone.text if lead.phone else None
        return DigestRow(lead.row, label(lead.row, lead.name, phone), detail)

    lists: dict[str, dict[str, list[tuple[Any, DigestRow]]]] = defaultdict(
        lambda: {name: [] for name, _ in LISTS}
    )
    for lead in desk.leads:
        manager = manager_of(lead)
        due = lead.call_due
        if due == today and not is_closed(lead):
            lists[manager]["due_today"].append((lead.row, row(lead)))
        elif due is not None and due < today and is_open(lead):
            lists[manager]["overdue"].append(
                ((due, lead.row), row(lead, f"예정 {md_near(due, today)}"))
            )
        if lead.row in returns:
            days = (today - lead.intake_at.date()).days if lead.intake_at else 0
            lists[manager]["returns"].append((lead.row, row(lead, f"인입 후 {days}일")))
        if is_promoted_waiting(lead):
            detail = f"이사 D-{(lead.move_date - today).days}" if lead.move_date else ""
            lists[manager]["promoted"].append((lead.row, row(lead, detail)))
        if lead.row in judgement:
            lists[manager]["judgement"].append(
                (lead.row, row(lead, "; ".join(judgement[lead.row])))
            )
    by_row = {lead.row: lead for lead in desk.leads}
    for f in followups(ctx):
        name = "followup_late" if f.late else "followup_due"
        labelled = row(by_row[f.row], f"이사 후 {f.days_since}일")
        lists[f.manager][name].append(((-f.days_since, f.row), labelled))

    managers = []
    for manager, by_list in lists.items():
        kwargs = {
            name: tuple(r for _, r in sorted(entries, key=lambda entry: entry[0]))
            for name, entries in by_list.items()
        }
        entry = ManagerDigest(manager, **kwargs)
        if entry.total:
            managers.append(entry)
    managers.sort(key=lambda m: (m.manager == UNASSIGNED, m.manager))
    return Digest(
        now=local, source=snapshot.source, managers=tuple(managers), failures=tuple(failures)
    )


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
