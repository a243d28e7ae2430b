"""The figures of the weekly and monthly report (docs/REPORTS.md), computed from the sheet's
typed rows as they stand, a period and the report's `now`. Pure: no sheet, clock or journal —
the journal's `bot` figure is handed in by the caller.

Every figure follows its definition in docs/REPORTS.md word for word, so that a count done by
hand on the same desk gives the same number. `report_figures` returns them as one JSON-able
object, in the order of that page.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from rules.context import CLOSED, DUPLICATE, Context, is_open, service_of
from rules.model import Lead, ObCall
from rules.ob import is_price_reason
from rules.plan import mode_of
from rules.returns import VENDOR_RETURN, pending_return

PeriodKind = Literal["week", "month"]
UNASSIGNED = "미지정"
NO_STATUS = "(없음)"
NOT_WRITTEN = "(미기재)"
SERVICES = {"moving": "이사", "cleaning": "청소", "other": "기타 서비스"}
HANDED_STATUSES = frozenset({"견적진행", "계약완료", "장기견적", "장기무료"})
CONTRACTED = "계약완료"
RETURN_RULE = "return.pending"
# `업체 : <the vendor's reason>` in 비고: the mark of a DB a vendor handed back (seed §5)
NO_VENDOR = "(미배정)"
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The report's price numbers (config `reports.*`; the 해피콜 ones are the digest's too,
    in `RuleSettings`)."""

    price_window_days: int = 90
    price_min_samples: int = 5
    price_outlier_ratio: float = 1.5


@dataclass(frozen=True, slots=True)
class Period:
    """One ISO week (Mon–Sun) or one calendar month, KST dates, both ends included."""

    kind: PeriodKind
    label: str  # 2024-W48, 2024-11
    start: date
    end: date

    def __contains__(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def previous(self) -> Period:
        """The period just before this one, of the same kind."""
        return period_of(self.kind, self.start - timedelta(days=1))

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def period_of(kind: PeriodKind, day: date) -> Period:
    """The week or month that holds `day`."""
    if kind == "week":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return Period("week", f"{year}-W{week:02d}", start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period("month", f"{day.year}-{day.month:02d}", start, following - timedelta(days=1))


def last_complete(kind: PeriodKind, today: date) -> Period:
    """The last complete week or month before `today`."""
    return period_of(kind, today).previous()


def parse_period(label: str) -> Period:
    """`2024-W48` or `2024-11` as a Period; ValueError (saying what to write) otherwise."""
    text = label.strip()
    try:
        if m := _WEEK.match(text):
            return period_of("week", date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if m := _MONTH.match(text):
            return period_of("month", date(int(m[1]), int(m[2]), 1))
    except ValueError:
        pass
    raise ValueError(f"{label!r} names no week or month; write e.g. 2024-W48 or 2024-11")


# --- rounding, as a person rounds ------------------------------------------------------------


def _round(value: float | Decimal, places: int = 0) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    return Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)


def _won(value: float | Decimal) -> int:
    return int(_round(value))


def _rate(part: int, whole: int) -> float:
    return float(_round(Decimal(part) / Decimal(whole), 3)) if whole else 0.0


def _counts(values: Iterable[str]) -> dict[str, int]:
    """Counts, most first (ties in 가나다 order)."""
    counted = Counter(values)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


# --- links -----------------------------------------------------------------------------------


def _called_on_or_after(calls: Iterable[ObCall], day: date) -> bool:
    return any(ob.ob_at is not None and ob.ob_at.date() >= day for ob in calls)


def manager_of(lead: Lead) -> str:
    return lead.manager.strip() or UNASSIGNED


# --- the figures -----------------------------------------------------------------------------


def intake(leads: list[Lead], period: Period) -> dict[str, Any]:
    by_day = Counter(lead.intake_day for lead in leads)
    by_service = Counter(SERVICES[service_of(lead)] for lead in leads)
    return {
        "total": len(leads),
        "by_day": {day.isoformat(): by_day.get(day, 0) for day in period.days},
        "by_service": {name: by_service.get(name, 0) for name in SERVICES.values()},
    }


def funnel(leads: list[Lead]) -> dict[str, Any]:
    counted = [lead for lead in leads if lead.status != DUPLICATE]
    handed = sum(lead.status in HANDED_STATUSES or bool(lead.vendor.strip()) for lead in counted)
    contracted = sum(lead.status == CONTRACTED for lead in counted)
    return {
        "leads": len(counted),
        "handed": handed,
        "contracted": contracted,
        "handed_rate": _rate(handed, len(counted)),
        "contract_rate": _rate(contracted, len(counted)),
    }


def cancel_reasons(obs: tuple[ObCall, ...], period: Period) -> dict[str, int]:
    return _counts(
        ob.cancel_reason.strip() or NOT_WRITTEN
        for ob in obs
        if ob.ob_at is not None and ob.ob_at.date() in period
    )


def vendor_returns(leads: list[Lead], calls: Mapping[int, list[ObCall]]) -> list[dict[str, Any]]:
    returned: dict[str, list[Lead]] = defaultdict(list)
    for lead in leads:
        if VENDOR_RETURN.search(lead.remarks):
            returned[lead.vendor.strip() or NO_VENDOR].append(lead)
    rows = [
        {
            "vendor": vendor,
            "returned": len(group),
            "called": sum(
                lead.intake_day is not None
                and _called_on_or_after(calls.get(lead.row, ()), lead.intake_day)
                for lead in group
            ),
            "outcome": _counts(lead.status or NO_STATUS for lead in group),
        }
        for vendor, group in returned.items()
    ]
    return sorted(rows, key=lambda r: (-r["returned"], r["vendor"]))


def per_ton(ob: ObCall) -> int | None:
    """견적금액 / 짐 양 in won, when both are readable and 짐 양 > 0."""
    if ob.quote_amount is None or ob.load_tons is None or ob.load_tons <= 0:
        return None
    return _won(Decimal(ob.quote_amount) / Decimal(str(ob.load_tons)))


def vendor_of(ob: ObCall) -> str:
    """담당 업체 of an OB row, `(미기재)` when empty."""
    return ob.vendor.strip() or NOT_WRITTEN


def price_rows(
    obs: Iterable[ObCall], first: date, last: date, reasons: tuple[str, ...]
) -> list[ObCall]:
    """The OB rows dated `first`..`last` whose 취소 사유 is a price reason."""
    return [
        ob
        for ob in obs
        if ob.ob_at is not None
        and first <= ob.ob_at.date() <= last
        and is_price_reason(ob.cancel_reason, reasons)
    ]


def price(
    obs: tuple[ObCall, ...], period: Period, ctx: Context, rs: ReportSettings
) -> dict[str, Any]:
    rows = price_rows(obs, period.start, period.end, ctx.settings.price_reasons)
    complete = [(ob, p) for ob in rows if (p := per_ton(ob)) is not None]
    window_start = period.end - timedelta(days=rs.price_window_days - 1)
    window = price_rows(obs, window_start, period.end, ctx.settings.price_reasons)
    samples = [p for ob in window if (p := per_ton(ob)) is not None]
    reference = _won(statistics.median(samples)) if len(samples) >= rs.price_min_samples else None

    by_vendor: dict[str, list[int]] = defaultdict(list)
    for ob, p in complete:
        by_vendor[vendor_of(ob)].append(p)
    outliers: list[dict[str, Any]] = []
    if reference:
        for ob, p in complete:
            if p >= Decimal(str(rs.price_outlier_ratio)) * reference:
                outliers.append(
                    {
                        "ob_row": ob.row,
                        "vendor": vendor_of(ob),
                        "tons": ob.load_tons,
                        "quote": ob.quote_amount,
                        "per_ton": p,
                        "ratio": float(_round(Decimal(p) / Decimal(reference), 2)),
                    }
                )
    outliers.sort(key=lambda o: (-o["ratio"], o["ob_row"]))
    vendors: list[dict[str, Any]] = [
        {"vendor": v, "complete": len(ps), "median_per_ton": _won(statistics.median(ps))}
        for v, ps in by_vendor.items()
    ]
    vendors.sort(key=lambda v: (-v["median_per_ton"], v["vendor"]))
    return {
        "rows": len(rows),
        "complete": len(complete),
        "reference_per_ton": reference,
        "samples": len(samples),
        "by_vendor": vendors,
        "outliers": outliers,
    }


def managers(ctx: Context) -> list[dict[str, Any]]:
    """Open leads per 담당자, with their overdue calls and pending vendor returns, counted as
    the morning digest counts them."""
    today = ctx.today
    returns_on = mode_of(RETURN_RULE, ctx.settings) != "off"
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for lead in ctx.leads:
        if not is_open(lead):
            continue
        c = counts[manager_of(lead)]
        c["open"] += 1
        if lead.call_due is not None and lead.call_due < today:
            c["overdue_calls"] += 1
        if returns_on and pending_return(lead, ctx):
            c["pending_returns"] += 1
    names = sorted(counts, key=lambda m: (m == UNASSIGNED, m))
    return [
        {
            "manager": name,
            "open": counts[name]["open"],
            "overdue_calls": counts[name]["overdue_calls"],
            "pending_returns": counts[name]["pending_returns"],
        }
        for name in names
    ]


@dataclass(frozen=True, slots=True)
class Followup:
    """A 계약완료 lead due its after-service call (해피콜)."""

    row: int
    move_date: date
    days_since: int
    manager: str
    late: bool  # past `followup.due_days`: 해피콜 지연, else 해피콜 대상

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "move_date": self.move_date.isoformat(),
            "days_since": self.days_since,
            "manager": self.manager,
        }


def followups(ctx: Context) -> list[Followup]:
    """계약완료 leads whose move was `followup_after_days` to `followup_until_days` days before
    today (both ends included) with no OB 상세 row, linked as for `ob.sync`, dated after the
    move date; the longest waiting first."""
    today, rs = ctx.today, ctx.settings
    calls = ctx.calls_by_lead
    due: list[Followup] = []
    for lead in ctx.leads:
        if lead.status != CONTRACTED or lead.move_date is None:
            continue
        days = (today - lead.move_date).days
        if not rs.followup_after_days <= days <= rs.followup_until_days:
            continue
        if _called_on_or_after(calls.get(lead.row, ()), lead.move_date + timedelta(days=1)):
            continue
        late = days > rs.followup_due_days
        due.append(Followup(lead.row, lead.move_date, days, manager_of(lead), late))
    due.sort(key=lambda f: (-f.days_since, f.row))
    return due


@dataclass(frozen=True, slots=True)
class BotActivity:
    """The journal's runs whose `now` falls in the period (docs/REPORTS.md `bot`)."""

    runs: int = 0
    cells_written: int = 0
    skipped: int = 0
    undone: int = 0
    by_rule: Mapping[str, int] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "cells_written": self.cells_written,
            "skipped": self.skipped,
            "undone": self.undone,
            "by_rule": dict(self.by_rule or {}),
        }


def report_figures(
    ctx: Context, period: Period, rs: ReportSettings, bot: BotActivity
) -> dict[str, Any]:
    """Every figure of docs/REPORTS.md for `period`, on the rows of `ctx` as of `ctx.now`."""
    leads = [lead for lead in ctx.leads if lead.intake_day in period]
    calls = ctx.calls_by_lead
    return {
        "period": period.as_json(),
        "intake": intake(leads, period),
        "status": _counts(lead.status or NO_STATUS for lead in leads),
        "funnel": funnel(leads),
        "closed": _counts(lead.status for lead in leads if lead.status in CLOSED),
        "cancel_reasons": {
            "this": cancel_reasons(ctx.obs, period),
            "previous": cancel_reasons(ctx.obs, period.previous()),
        },
        "vendor_returns": vendor_returns(leads, calls),
        "price": price(ctx.obs, period, ctx, rs),
        "managers": managers(ctx),
        "bot": bot.as_json(),
        "followups": [f.as_json() for f in followups(ctx)],
    }


def chart_series(ctx: Context, period: Period) -> dict[str, Any]:
    """What the charts draw beyond the figures: the intake per day split by service (chart 1)
    and one point per complete price row of the period (chart 5)."""
    by_day: dict[str, Counter[date | None]] = {name: Counter() for name in SERVICES.values()}
    for lead in ctx.leads:
        if lead.intake_day in period:
            by_day[SERVICES[service_of(lead)]][lead.intake_day] += 1
    rows = price_rows(ctx.obs, period.start, period.end, ctx.settings.price_reasons)
    return {
        "intake_by_service_day": {
            name: [counts.get(day, 0) for day in period.days] for name, counts in by_day.items()
        },
        "price_points": [
            {"ob_row": ob.row, "vendor": vendor_of(ob), "per_ton": p}
            for ob in rows
            if (p := per_ton(ob)) is not None
        ],
    }
