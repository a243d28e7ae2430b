"""Seed §2 (장기고객 관리): leads whose move is far off, held by the head office."""

from __future__ import annotations

from rules.context import LONGTERM, Context
from rules.edits import Edits
from rules.model import Finding, Lead
from rules.registry import finding, rule
from rules.text import md_near

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
