"""Seed §5 (업체: 반환고객 관리): DBs a vendor handed back, waiting for the desk's call."""

from __future__ import annotations

import re
from datetime import timedelta

from rules.context import Context
from rules.model import Finding, Lead
from rules.registry import finding, rule

VENDOR_RETURN = re.compile(r"업체\s*:\s*\S")


@rule(
    "return.pending",
    mode="suggest",
    title="업체 반환 OB 미진행",
    scope="lead",
    settings=("returns.pending_after_hours",),
)
def pending_return(lead: Lead, ctx: Context) -> list[Finding]:
    """return.pending — a vendor returned the DB and nobody has called the customer yet.

    Why: seed §5 — a returned DB comes back as 확인요청 with 비고 `업체 : 000`; the desk must
    call the customer (OB) to check the vendor's reason. Flagged once the DB is more than 24
    hours old (config `returns.pending_after_hours`) with no OB 상세 row dated on or after its
    인입일.

    Example (now 12-03 16:00): 확인요청, 인입 12-02 15:19, 비고 `업체 : 고객 연락 안 됨`, no
    OB row → 봇 확인 `업체 반환 후 OB 미진행 (인입 후 1일)`.
    """
    found: list[Finding] = []
    if lead.status != "확인요청" or lead.intake_at is None:
        return found
    if not VENDOR_RETURN.search(lead.remarks):
        return found
    if ctx.now - lead.intake_at <= timedelta(hours=ctx.settings.return_pending_hours):
        return found
    intake = lead.intake_at.date()
    if any(ob.ob_at and ob.ob_at.date() >= intake for ob in ctx.obs_of(lead)):
        return found
    days = (ctx.now.date() - intake).days
    found.append(finding("return.pending", lead, f"업체 반환 후 OB 미진행 (인입 후 {days}일)"))
    return found
