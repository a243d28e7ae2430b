"""What every rule is handed (`Context`), what a change rule writes with (`Edits`), and the
shared look-ups built once per step: who is the same customer, which OB call belongs to
which lead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Literal

from movebot.rules.model import Change, Finding, Lead, ObCall, Severity
from movebot.rules.settings import RuleSettings
from movebot.rules.values import ACTIVE_STATUSES, CLOSED_STATUSES

ACTIVE = frozenset(ACTIVE_STATUSES)
CLOSED = frozenset(CLOSED_STATUSES)
DUPLICATE = "종결(중복)"
LONGTERM = frozenset({"장기견적", "장기무료", "장기요청"})

Scope = Literal["lead", "ob", "row", "customer", "desk"]


def is_open(lead: Lead) -> bool:
    """An active status, or none yet (a new inquiry not classified)."""
    return lead.status in ACTIVE or lead.status == ""


def is_closed(lead: Lead) -> bool:
    return lead.status in CLOSED


def service_of(lead: Lead) -> str:
    """moving, cleaning or other (RULES.md §2 "Service")."""
    if lead.status == "청소문의" or "청소" in lead.move_type:
        return "cleaning"
    if lead.status == "기타 서비스":
        return "other"
    return "moving"


def intake_order(lead: Lead) -> tuple[datetime, int]:
    """Earliest intake first; equal (or missing) intakes: the row nearer the top."""
    return (lead.intake_at or datetime.max, lead.row)


def md(d: date | datetime) -> str:
    """The desk's short date: `12.2`."""
    return f"{d.month}.{d.day}"


def md_hm(at: datetime, has_time: bool) -> str:
    """`12.2 15:13`, or `12.2` when the cell had no time."""
    return f"{md(at)} {at:%H:%M}" if has_time else md(at)


def squash(text: str) -> str:
    """Text as compared when the bot looks for its own or an OB note: whitespace removed."""
    return "".join(text.split())


class _Phones:
    """Union-find over leads that share a phone key."""

    def __init__(self, leads: tuple[Lead, ...]) -> None:
        parent = list(range(len(leads)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        first: dict[str, int] = {}
        for i, lead in enumerate(leads):
            for key in lead.phone_keys:
                j = first.setdefault(key, i)
                if j != i:
                    a, b = find(i), find(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        groups: dict[int, list[Lead]] = defaultdict(list)
        for i, lead in enumerate(leads):
            groups[find(i)].append(lead)
        self.groups = list(groups.values())


@dataclass(frozen=True)
class Context:
    """The sheet as the previous rules left it, the run's `now`, and the settings."""

    leads: tuple[Lead, ...]
    obs: tuple[ObCall, ...]
    now: datetime  # Asia/Seoul wall-clock time, naive like the sheet's own dates
    settings: RuleSettings

    @property
    def today(self) -> date:
        return self.now.date()

    @cached_property
    def customers(self) -> list[list[Lead]]:
        """Leads grouped by customer: rows sharing any phone key, transitively."""
        return _Phones(self.leads).groups

    @cached_property
    def leads_by_phone(self) -> dict[str, list[Lead]]:
        index: dict[str, list[Lead]] = defaultdict(list)
        for lead in self.leads:
            for key in set(lead.phone_keys):
                index[key].append(lead)
        return index

    @cached_property
    def obs_by_phone(self) -> dict[str, list[ObCall]]:
        index: dict[str, list[ObCall]] = defaultdict(list)
        for ob in self.obs:
            if ob.phone and ob.phone.key:
                index[ob.phone.key].append(ob)
        return index

    def obs_of(self, lead: Lead) -> list[ObCall]:
        """Every OB call made to any of the lead's numbers."""
        seen: dict[int, ObCall] = {}
        for key in lead.phone_keys:
            for ob in self.obs_by_phone.get(key, ()):
                seen[ob.row] = ob
        return list(seen.values())

    def lead_of(self, ob: ObCall) -> Lead | None:
        """The lead an OB call belongs to (RULES.md "OB sync"): among the leads sharing its
        phone, the latest whose intake is not after the call, else the earliest."""
        if not ob.phone or not ob.phone.key:
            return None
        leads = sorted(self.leads_by_phone.get(ob.phone.key, ()), key=intake_order)
        if not leads:
            return None
        if ob.ob_at is None:
            return leads[-1]

        def not_after_call(lead: Lead) -> bool:
            if lead.intake_at is None or ob.ob_at is None:
                return False
            if ob.ob_has_time and lead.intake_has_time:
                return lead.intake_at <= ob.ob_at
            return lead.intake_at.date() <= ob.ob_at.date()

        before = [lead for lead in leads if not_after_call(lead)]
        return before[-1] if before else leads[0]


class Edits:
    """The cell writes one change rule makes, each on the value the previous one left."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.changes: list[Change] = []
        self._current: dict[tuple[int, str], str] = {}

    def value(self, lead: Lead, field: str) -> str:
        key = (lead.row, field)
        if key in self._current:
            return self._current[key]
        return {
            "status": lead.status_text,
            "remarks": lead.remarks,
            "alt_phones": lead.alt_phones_text,
        }[field]

    def _write(self, lead: Lead, field: str, new: str, reason: str) -> None:
        old = self.value(lead, field)
        if new == old:
            return
        self.changes.append(
            Change("leads", lead.row, field, old, new, self.rule, reason, lead.fingerprint)
        )
        self._current[(lead.row, field)] = new

    def set_status(self, lead: Lead, status: str, reason: str) -> None:
        self._write(lead, "status", status, reason)

    def append(self, lead: Lead, field: str, text: str, reason: str) -> bool:
        """Append `text` on a new line of the cell, unless it already stands there
        (whitespace ignored): the bot's own notes are recognisable, so a second run adds
        nothing. Returns whether it appended."""
        old = self.value(lead, field)
        if squash(text) in squash(old):
            return False
        sep = ("\n" if field == "remarks" else ", ") if old.strip() else ""
        self._write(lead, field, old.rstrip() + sep + text if sep else text, reason)
        return True

    def checkpoint(self) -> int:
        return len(self.changes)

    def rollback(self, mark: int) -> None:
        del self.changes[mark:]
        self._current = {(c.row, c.field): c.new for c in self.changes}


RuleFn = Callable[..., Iterable[Finding] | None]


@dataclass(frozen=True)
class Rule:
    """One rule of RULES.md §4: its id, when it runs and how it speaks.

    `check` is called once per item of its `scope` (a lead, an OB row, a customer's leads, or
    the whole desk) with the `Context`; a change rule also gets its `Edits`. It returns (or
    yields) findings. The docstring of `check` is the rule's documentation.
    """

    id: str
    title: str  # Korean, one line: what the rule is about
    scope: Scope
    check: RuleFn
    changes: bool = False  # a change rule (writes cells) or a finding rule
    severity: Severity = Severity.ACTION

    @property
    def default_mode(self) -> str:
        return "apply" if self.changes else "suggest"

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()


def finding(rule: str, lead: Lead, message: str, severity: Severity = Severity.ACTION) -> Finding:
    return Finding("leads", lead.row, rule, message, severity, lead.fingerprint)


def ob_finding(rule: str, ob: ObCall, message: str) -> Finding:
    return Finding("ob", ob.row, rule, message, Severity.ACTION, ob.fingerprint)


def items(scope: Scope, ctx: Context) -> Iterator[object]:
    if scope == "lead":
        yield from ctx.leads
    elif scope == "ob":
        yield from ctx.obs
    elif scope == "row":
        yield from ctx.leads
        yield from ctx.obs
    elif scope == "customer":
        yield from (c for c in ctx.customers if len(c) > 1)
    else:
        yield ctx
