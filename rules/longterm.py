"""Seed §2 (장기고객 관리): leads whose move is far off, held by the head office."""

from __future__ import annotations

from collections.abc import Iterator

from rules.context import LONGTERM, Context
from rules.duplicates import address_words
from rules.edits import Edits
from rules.model import VENDORS, Finding, Lead, Severity, Vendor
from rules.registry import finding, rule
from rules.text import md_near, squash

PROMOTION_NOTE = "장기요청→상담요청"


@rule(
    "longterm.promote",
    mode="apply",
    changes=True,
    title="장기요청→상담요청 승격",
    scope="lead",
    settings=("longterm.promote_within_days",),
)
def promote(lead: Lead, ctx: Context, edits: Edits) -> None:
    """longterm.promote — 장기요청 whose move is 60 days away or closer becomes 상담요청.

    Why: seed §2 — 장기요청 is kept by the head office "매출을 낼 수 있는 기간(60일 이내)에
    들어오면 업체 배정". Counted from today; a move already past is never promoted
    (longterm.past flags it instead).

    Example (today 2024-12-03): 장기요청, 이사예정일 `2025-01-31` (D-59) → 진행상황 `상담요청`,
    비고 + `장기요청→상담요청 (이사 D-59)`.
    """
    if lead.status != "장기요청" or lead.move_date is None:
        return
    days = (lead.move_date - ctx.today).days
    if 0 <= days <= ctx.settings.promote_within_days:
        reason = f"이사 D-{days}: {ctx.settings.promote_within_days}일 이내"
        edits.set_status(lead, "상담요청", reason)
        edits.append(lead, "remarks", f"{PROMOTION_NOTE} (이사 D-{days})", reason)


@rule(
    "longterm.window",
    mode="suggest",
    title="장기 기간 확인",
    scope="lead",
    settings=("longterm.window_days", "longterm.promote_within_days"),
)
def window(lead: Lead, ctx: Context) -> list[Finding]:
    """longterm.window — a long-term status whose move date does not fit it, or a short-term
    status whose move is still more than 60 days away.

    Why: seed §2 — 장기견적 / 장기무료 are for moves 60–90 days after 인입일 (vendors pay half or
    nothing for them), and a DB with a move more than 60 days off cannot be handed to a vendor
    yet (장기요청). A 장기요청 without a move date can never be promoted.

    Example: 장기견적, 인입일 `2024-12-02`, 이사예정일 `2025-01-10` (39일) → 봇 확인 `장기견적
    기간 밖: 인입일부터 이사까지 39일 (60~90일)`.
    """
    found: list[Finding] = []
    s = ctx.settings
    if lead.status in ("장기견적", "장기무료") and lead.move_date and lead.intake_day:
        days = (lead.move_date - lead.intake_day).days
        if not s.window_min_days <= days <= s.window_max_days:
            found.append(
                finding(
                    "longterm.window",
                    lead,
                    f"{lead.status} 기간 밖: 인입일부터 이사까지 {days}일 "
                    f"({s.window_min_days}~{s.window_max_days}일)",
                )
            )
    elif lead.status in ("상담요청", "견적진행") and lead.move_date:
        days = (lead.move_date - ctx.today).days
        if days > s.promote_within_days:
            found.append(
                finding(
                    "longterm.window",
                    lead,
                    f"이사 D-{days}: {s.promote_within_days}일 초과 — 장기요청 대상인지 확인",
                )
            )
    elif lead.status == "장기요청" and lead.move_date is None and not lead.problems:
        found.append(
            finding("longterm.window", lead, "장기요청인데 이사예정일 없음 — 승격할 수 없음")
        )
    return found


@rule("longterm.past", mode="suggest", title="장기 고객 이사일 지남", scope="lead")
def past(lead: Lead, ctx: Context) -> list[Finding]:
    """longterm.past — a 장기* lead whose move date has passed.

    Why: seed §2 holds these leads until they can be sold; once the date is gone the lead was
    missed and needs a person (it is never promoted).

    Example (today 2024-12-03): 장기요청, 이사예정일 `2024-11-30` → 봇 확인 `이사예정일 지남
    (11.30) — 장기요청 정리 필요`.
    """
    found: list[Finding] = []
    if lead.status in LONGTERM and lead.move_date and lead.move_date < ctx.today:
        found.append(
            finding(
                "longterm.past",
                lead,
                f"이사예정일 지남 ({md_near(lead.move_date, ctx.today)}) — {lead.status} 정리 필요",
            )
        )
    return found


def _by_name(vendors: tuple[Vendor, ...]) -> dict[str, Vendor]:
    """Vendors by name as compared (spaces ignored); a name listed twice keeps all its areas."""
    merged: dict[str, Vendor] = {}
    for v in vendors:
        key = squash(v.name)
        seen = merged.get(key)
        merged[key] = (
            v
            if seen is None
            else Vendor(
                row=seen.row,
                name=seen.name,
                regular=seen.regular + v.regular,
                outside=seen.outside + v.outside,
            )
        )
    return merged


def _covers(areas: tuple[str, ...], origin: tuple[str, ...]) -> bool:
    """Whether an area is a word-by-word prefix of the 출발지 (`서울 강남구` covers `서울
    강남구 역삼동`, not `서울 서초구`)."""
    for area in areas:
        words = address_words(area)
        if words and origin[: len(words)] == words:
            return True
    return False


@rule(
    "longterm.match",
    mode="suggest",
    title="장기고객 업체 배정 확인",
    scope="desk",
    settings=("sheets.vendors.title", "longterm.window_days"),
)
def match(ctx: Context) -> Iterator[Finding]:
    """longterm.match — which vendors on the desk's list can take a long-term lead, and
    whether the vendor a 장기견적 / 장기무료 went to covers its 출발지.

    Why: seed §2 — a move 60–90 days after 인입일 goes as 장기견적 only in a vendor's '기존
    영업지역', as 장기무료 in its '영업 외 지역' ("분배 가능 업체는 위 시트 '영업 외 지역'에 별도
    표시"), and stays 장기요청 "전달할 업체가 없을 경우". The list is the optional tab 장기고객
    업체 리스트 (업체명, 기존 영업지역, 영업 외 지역; areas are region prefixes split by `,` `;`
    `/` or newlines). Without that tab this rule does nothing. Vendor names are compared ignoring
    spaces. A 장기요청 (or unclassified) lead whose move is within `longterm.window_days` of its
    인입일 gets a suggestion; a 장기견적 / 장기무료 whose 배정업체 does not cover it, an action.

    Example (list: 한결이사 기존 영업지역 `서울 강남구, 서울 서초구`; 바른이사 영업 외 지역
    `경기 성남시`): 장기요청, 인입 12.2, 이사 2.10, 출발지 `서울 강남구 역삼동` → 봇 확인
    `장기견적 가능: 한결이사`; 출발지 `경기 성남시 분당구` → `장기무료 가능: 바른이사`;
    장기견적 with 배정업체 `바른 이사`, 출발지 `서울 강남구` → `바른이사의 기존 영업지역(없음)에
    출발지 없음 — 장기견적 확인`. An area cell of the list that reads as no area (`분당구`: no
    시·도) is a finding on that row of the list (alerts and reconcile show it; the bot writes
    nothing there).
    """
    vendors = ctx.vendors
    if not vendors:
        return
    for v in vendors:
        for p in v.problems:
            yield Finding(
                VENDORS,
                v.row,
                "longterm.match",
                f"{v.name}의 {p.header} '{p.text}'을(를) 지역으로 읽을 수 없음 — {p.expected}로"
                " 적어 주세요",
            )
    by_name = _by_name(vendors)
    for lead in ctx.leads:
        yield from _match(lead, ctx, by_name)


def _match(lead: Lead, ctx: Context, by_name: dict[str, Vendor]) -> list[Finding]:
    """longterm.match on one lead; `by_name`: the list's vendors (`_by_name`)."""
    if not lead.origin:
        return []
    if lead.status in ("장기요청", ""):
        s = ctx.settings
        if lead.move_date is None or lead.intake_day is None or lead.move_date < ctx.today:
            return []
        if not s.window_min_days <= (lead.move_date - lead.intake_day).days <= s.window_max_days:
            return []
        listed, origin = by_name.values(), address_words(lead.origin)
        for status, fits in (
            ("장기견적", [v.name for v in listed if _covers(v.regular, origin)]),
            ("장기무료", [v.name for v in listed if _covers(v.outside, origin)]),
        ):
            if fits:
                return [
                    finding(
                        "longterm.match", lead, f"{status} 가능: {', '.join(fits)}", Severity.INFO
                    )
                ]
        return []
    if lead.status not in ("장기견적", "장기무료") or not lead.vendor:
        return []
    vendor = by_name.get(squash(lead.vendor))
    if vendor is None:
        message = f"배정업체 {lead.vendor}이(가) 장기고객 업체 리스트에 없음"
    else:
        regular = lead.status == "장기견적"
        areas = vendor.regular if regular else vendor.outside
        if _covers(areas, address_words(lead.origin)):
            return []
        label = "기존 영업지역" if regular else "영업 외 지역"
        message = f"{vendor.name}의 {label}({', '.join(areas) or '없음'})에 출발지 없음"
    return [finding("longterm.match", lead, f"{message} — {lead.status} 확인")]
