"""What every rule is handed (`Context`) and the shared look-ups: who is the same customer,
which OB call belongs to which lead. They are built once per run, on first use, and carried
from step to step as long as the step's changes leave them true (a step rewrites statuses and
notes; only a new 예비번호 can change a customer).
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from rules.model import Lead, ObCall, Vendor
from rules.settings import RuleSettings
from rules.values import ACTIVE_STATUSES, CLOSED_STATUSES

ACTIVE = frozenset(ACTIVE_STATUSES)
CLOSED = frozenset(CLOSED_STATUSES)
DUPLICATE = "종결(중복)"
LONGTERM = frozenset({"장기견적", "장기무료", "장기요청"})


def is_open(lead: Lead) -> bool:
    """An active status, or none yet (a new inquiry not classified)."""
    return lead.status in ACTIVE or lead.status == ""


def is_closed(lead: Lead) -> bool:
    return lead.status in CLOSED


SERVICE_STATUSES = {"청소문의": "cleaning", "기타 서비스": "other"}


def status_mark(status: str) -> str:
    """What the 비고 note of a row the bot closed as 종결(중복) keeps of the status it had:
    `(종결 전 견적진행)`."""
    return f"(종결 전 {status})"


def had_status(lead: Lead, status: str) -> bool:
    """Whether a row closed as 종결(중복) had `status`: its note's mark, or `(청소문의)` as
    runs before the mark said `종결 전` wrote it."""
    return status_mark(status) in lead.remarks or f"({status})" in lead.remarks


def service_of(lead: Lead) -> str:
    """moving, cleaning or other (RULES.md §2 "Service"). A row the bot closed as 종결(중복)
    keeps the service its status gave it: its 비고 note names that status
    (`(종결 전 청소문의)`)."""
    if "청소" in lead.move_type:
        return "cleaning"
    service = SERVICE_STATUSES.get(lead.status)
    if service:
        return service
    if lead.status == DUPLICATE:
        for status, service in SERVICE_STATUSES.items():
            if had_status(lead, status):
                return service
    return "moving"


def intake_order(lead: Lead) -> tuple[datetime, int]:
    """Earliest intake first; equal (or missing) intakes: the row nearer the top."""
    return (lead.intake_at or datetime.max, lead.row)


def _phone_keys(lead: Lead) -> list[str]:
    """`lead.phone_keys`, as a list, without building the `phones` tuple first."""
    phone = lead.phone
    keys = [phone.key] if phone is not None and phone.key else []
    for alt in lead.alt_phones:
        if alt.key:
            keys.append(alt.key)
    return keys


class _Phones:
    """Which leads share a phone key, by position in the run's lead tuple (RULES.md "Who is
    the same customer"): union-find over the positions, and each key's positions.

    It holds positions, not rows, so it stays true for the leads of a later step of the run as
    long as no lead's numbers changed (the rows, 인입일 and 연락처 never change in a run).
    """

    def __init__(self, leads: tuple[Lead, ...]) -> None:
        by_key: dict[str, list[int]] = {}
        for i, lead in enumerate(leads):  # `_phone_keys`, unrolled: this runs for every lead
            phone = lead.phone
            if phone is not None and (key := phone.key):
                if key in by_key:
                    by_key[key].append(i)
                else:
                    by_key[key] = [i]
            for alt in lead.alt_phones:
                if key := alt.key:
                    if key not in by_key:
                        by_key[key] = [i]
                    elif (positions := by_key[key])[-1] != i:  # a number twice counts once
                        positions.append(i)
        self.by_key = by_key
        parent: dict[int, int] = {}

        def find(i: int) -> int:
            root = i
            while (up := parent.get(root, root)) != root:
                root = up
            while i != root:  # path compression
                parent[i], i = root, parent.get(i, i)
            return root

        linked: set[int] = set()
        for positions in by_key.values():
            if len(positions) > 1:
                linked.update(positions)
                a = find(positions[0])
                for j in positions[1:]:
                    b = find(j)
                    if a != b:
                        a, b = min(a, b), max(a, b)
                        parent[b] = a
        # position -> its customer's first position, for the leads that share a number
        self.customer: dict[int, int] = {i: find(i) for i in sorted(linked)}
        groups: dict[int, list[int]] = defaultdict(list)
        for i, root in self.customer.items():
            groups[root].append(i)
        self.several = list(groups.values())  # in order of each customer's first row
        self._by_intake: dict[str, list[int]] = {}
        # an OB row -> the position of its lead (`Context.lead_of`), None for none: the 인입일
        # and numbers it depends on are this index's, so a copy starts it again
        self.lead_of: dict[int, int | None] = {}

    def by_intake(self, key: str, leads: tuple[Lead, ...]) -> list[int]:
        """The positions of the leads with `key`, earliest intake first (`intake_order`)."""
        order = self._by_intake.get(key)
        if order is None:
            order = sorted(self.by_key.get(key, ()), key=lambda i: intake_order(leads[i]))
            self._by_intake[key] = order
        return order

    def carried_to(
        self, before: tuple[Lead, ...], after: tuple[Lead, ...], changed: Iterable[int]
    ) -> _Phones | None:
        """This index, built for `before` (or carried to it), for `after`: the same rows with
        the leads at the `changed` positions rewritten. Itself when none of their numbers
        changed; a copy with the numbers added where they link no new rows (the bot appends a
        customer's own number to 예비번호); None when it must be built again."""
        added: dict[int, list[str]] = {}
        claimed: dict[str, int] = {}  # a number added here -> the customer it was added to
        for i in set(changed):
            old, keys = _phone_keys(before[i]), _phone_keys(after[i])
            if keys == old:
                continue
            if not set(old) <= set(keys):
                return None  # a number went away
            customer = self.customer.get(i, i)
            new = [k for k in keys if k not in old]
            for key in new:
                others = self.by_key.get(key, ())
                if any(self.customer.get(j, j) != customer for j in others):
                    return None  # the number links another customer's rows
                if claimed.setdefault(key, customer) != customer:
                    return None
            added[i] = new
        if not added:
            return self
        copy = object.__new__(_Phones)
        copy.by_key = dict(self.by_key)
        copy.customer = self.customer
        copy.several = self.several
        copy._by_intake = dict(self._by_intake)
        copy.lead_of = {}
        for i, keys in added.items():
            for key in keys:
                positions = list(copy.by_key.get(key, ()))
                if i not in positions:
                    insort(positions, i)
                copy.by_key[key] = positions
                copy._by_intake.pop(key, None)
        return copy


@dataclass
class _Shared:
    """Look-ups the steps of one run share; see `Context.after`."""

    phones: _Phones | None = None
    obs_by_phone: dict[str, list[ObCall]] | None = None


@dataclass(frozen=True)
class Context:
    """The sheet as the previous rules left it, the run's `now`, and the settings.

    The look-ups below are built on first use. `after` hands the next step of the run its
    context, carrying over the look-ups that its changes left true.
    """

    leads: tuple[Lead, ...]
    obs: tuple[ObCall, ...]
    now: datetime  # aware, Asia/Seoul
    settings: RuleSettings
    vendors: tuple[Vendor, ...] | None = None  # 장기고객 업체 리스트; None without that tab
    shared: _Shared = field(default_factory=_Shared, repr=False, compare=False)

    @property
    def today(self) -> date:
        return self.now.date()

    def after(self, leads: tuple[Lead, ...], changed: Iterable[int] | None = None) -> Context:
        """The context of the run's next step: `leads` are this context's rows with some cells
        rewritten (a change rule's writes; never 인입일 or 연락처), at the `changed` positions
        (found by comparing when not given). The OB rows and the vendors are the same."""
        if leads is self.leads:
            return self
        if changed is None:
            changed = [
                i for i, (a, b) in enumerate(zip(self.leads, leads, strict=True)) if a is not b
            ]
        phones = self.shared.phones
        if phones is not None:
            phones = phones.carried_to(self.leads, leads, changed)
        shared = _Shared(phones, self.shared.obs_by_phone)
        return Context(leads, self.obs, self.now, self.settings, self.vendors, shared)

    @property
    def _phones(self) -> _Phones:
        if self.shared.phones is None:
            self.shared.phones = _Phones(self.leads)
        return self.shared.phones

    @cached_property
    def customers(self) -> list[list[Lead]]:
        """Leads grouped by customer: rows sharing any phone key, transitively. Customers in
        order of their first row, each customer's rows in sheet order."""
        leads, customer = self.leads, self._phones.customer
        groups: dict[int, list[Lead]] = {}
        for i, lead in enumerate(leads):
            groups.setdefault(customer.get(i, i), []).append(lead)
        return list(groups.values())

    @cached_property
    def repeat_customers(self) -> list[list[Lead]]:
        """The customers with more than one row (`customers` without the single rows): the
        only ones the customer rules look at."""
        leads = self.leads
        return [[leads[i] for i in group] for group in self._phones.several]

    def customer_id(self, position: int) -> int:
        """An id of the customer of `self.leads[position]`: equal for the rows of one
        customer, different for different customers."""
        return self._phones.customer.get(position, position)

    def positions_with(self, key: str) -> Sequence[int]:
        """The positions in `leads` of the leads holding the phone `key` (연락처 or 예비번호)."""
        return self._phones.by_key.get(key, ())

    @property
    def obs_by_phone(self) -> dict[str, list[ObCall]]:
        if self.shared.obs_by_phone is None:
            index: dict[str, list[ObCall]] = defaultdict(list)
            for ob in self.obs:
                if ob.phone and ob.phone.key:
                    index[ob.phone.key].append(ob)
            self.shared.obs_by_phone = index
        return self.shared.obs_by_phone

    def obs_of(self, lead: Lead) -> list[ObCall]:
        """Every OB call made to any of the lead's numbers."""
        seen: dict[int, ObCall] = {}
        by_phone = self.obs_by_phone
        for key in lead.phone_keys:
            for ob in by_phone.get(key, ()):
                seen[ob.row] = ob
        return list(seen.values())

    @cached_property
    def calls_by_lead(self) -> dict[int, list[ObCall]]:
        """Each lead's OB calls (by the lead's sheet row), linked as `lead_of` links them, in
        sheet order."""
        calls: dict[int, list[ObCall]] = defaultdict(list)
        for ob in self.obs:
            lead = self.lead_of(ob)
            if lead is not None:
                calls[lead.row].append(ob)
        return calls

    def lead_of(self, ob: ObCall) -> Lead | None:
        """The lead an OB call belongs to (RULES.md "OB sync"): among the leads sharing its
        phone, the latest whose intake is not after the call, else the earliest."""
        phones = self._phones
        try:  # remembered: every step of a run asks for each call
            position = phones.lead_of[ob.row]
        except KeyError:
            position = phones.lead_of[ob.row] = self._lead_position(ob)
        return None if position is None else self.leads[position]

    def _lead_position(self, ob: ObCall) -> int | None:
        """`lead_of`'s lead as its position in `leads`."""
        if not ob.phone or not ob.phone.key:
            return None
        leads = self.leads
        positions = self._phones.by_key.get(ob.phone.key)
        if not positions:
            return None
        if len(positions) == 1:  # the only one: the latest and the earliest
            return positions[0]
        order = self._phones.by_intake(ob.phone.key, leads)
        if ob.ob_at is None:
            return order[-1]
        call = ob.ob_at
        exact = ob.ob_has_time
        latest: int | None = None
        for i in order:
            lead = leads[i]
            intake = lead.intake_at
            if intake is None:
                continue
            if exact and lead.intake_has_time:
                before = intake <= call
            else:
                before = intake.date() <= call.date()
            if before:
                latest = i
        return latest if latest is not None else order[0]
