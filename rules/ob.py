"""Seed §6–7 (고객 직접취소, OB 상세내용 관리): the outbound-call log and the leads it explains."""

from __future__ import annotations

from rules.context import Context
from rules.edits import Edits
from rules.model import Finding, Lead, ObCall, Severity
from rules.registry import finding, ob_finding, rule
from rules.text import md, squash, stands_in


@rule("ob.sync", mode="apply", changes=True, title="OB 비고 반영", scope="ob")
def sync_note(ob: ObCall, ctx: Context, edits: Edits) -> None:
    """ob.sync — an OB 상세 row's 상세내용 missing from its lead's 비고 is appended there.

    Why: seed §7 — "'(3)상세내용'에 기재된 것은 반드시 이사 관리자의 비고란에도 동일하게
    기재되어야 합니다." The lead is the one sharing the call's phone: the latest whose 인입일
    is not after the call, else the earliest. Compared ignoring whitespace. The note is written
    in the desk's `<M.D> OB <상세내용>` format, and the date also picks the lead, so an OB row
    without a readable date waits until staff fix it (ob.required or value.unparseable flags
    it).

    Example: OB 상세 `12.2`, 010-5373-4269, 상세내용 `업체 연락 지연으로 인입, 업체 전달` → the
    lead's 비고 + `12.2 OB 업체 연락 지연으로 인입, 업체 전달`.
    """
    if not ob.detail or ob.ob_at is None:
        return
    lead = ctx.lead_of(ob)
    if lead is None or stands_in(ob.detail, edits.value(lead, "remarks")):
        return
    note = f"{md(ob.ob_at)} OB {ob.detail}"
    edits.append(lead, "remarks", note, f"OB 상세 행 {ob.row}", on=ob.ob_at.date())


@rule("ob.orphan", mode="suggest", title="OB 상세 번호의 DB 없음", scope="ob")
def orphan(ob: ObCall, ctx: Context) -> list[Finding]:
    """ob.orphan — an OB 상세 row whose phone matches no lead.

    Why: seed §7 — every OB note must also stand in a lead's 비고; with no lead for the number
    it cannot (a typo in the number, or a lead never registered). A mistyped phone (a suspected
    typo) links nothing, so it matches no lead either: the finding names its problem. An empty
    phone is ob.required's, text that is no phone at all value.unparseable's.

    Example: OB 상세 고객 연락처 `010-9999-0000`, no such number in 이사 관리자 → 봇 확인
    `이사 관리자에 이 번호의 DB 없음`; 고객 연락처 `010-2000-100` → 봇 확인 `고객 연락처 확인
    필요: 010-2000-100 (<the number's problem>) — 이사 관리자 DB를 찾을 수 없음`.
    """
    found: list[Finding] = []
    phone = ob.phone
    if phone is None or not phone.text.strip():
        return found
    if phone.key:
        if ctx.lead_of(ob) is None:
            found.append(ob_finding("ob.orphan", ob, "이사 관리자에 이 번호의 DB 없음"))
    elif phone.problem and not any(p.field == "phone" for p in ob.problems):
        found.append(
            ob_finding(
                "ob.orphan",
                ob,
                f"고객 연락처 확인 필요: {phone.text.strip()} ({phone.problem})"
                " — 이사 관리자 DB를 찾을 수 없음",
            )
        )
    return found


def is_price_reason(reason: str, price_reasons: tuple[str, ...]) -> bool:
    """Whether a 취소 사유 is about the price (config `ob.price_reasons`, whitespace ignored)."""
    text = squash(reason)
    return bool(text) and any(squash(p) in text for p in price_reasons)


@rule(
    "ob.price_fields",
    mode="suggest",
    title="가격 취소 짐 양·견적금액 누락",
    scope="ob",
    settings=("ob.price_reasons",),
)
def price_fields(ob: ObCall, ctx: Context) -> list[Finding]:
    """ob.price_fields — a price cancellation without 짐 양 or 견적금액.

    Why: seed §6 — "취소 사유가 비싼 가격일 경우 대략적인 짐의 양과 받았던 견적 금액을 같이
    파악해야 합니다": an unreasonable quote means the partner needs training or sanctions.

    Example: 취소 사유 `비싼 가격`, 짐 양 empty, 견적금액 `120만원` → 봇 확인 `가격 취소 —
    짐 양 입력 필요`.
    """
    found: list[Finding] = []
    if not is_price_reason(ob.cancel_reason, ctx.settings.price_reasons):
        return found
    missing = [
        label
        for label, value, text in (
            ("짐 양", ob.load_tons, ob.load_text),
            ("견적금액", ob.quote_amount, ob.quote_text),
        )
        if value is None and not text
    ]
    if missing:
        found.append(
            ob_finding("ob.price_fields", ob, f"가격 취소 — {', '.join(missing)} 입력 필요")
        )
    return found


@rule("ob.required", mode="suggest", title="OB 필수 정보 누락", scope="ob")
def required(ob: ObCall, ctx: Context) -> list[Finding]:
    """ob.required — an OB 상세 row without its date, phone or detail.

    Why: seed §7 lists what each OB row holds: (1) OB 날짜, (2) 고객 연락처, (3) 상세내용; without
    them it cannot be matched to its lead or copied to 비고.

    Example: OB 상세 row with 상세내용 empty → 봇 확인 `OB 필수 정보 누락: 상세내용`.
    """
    found: list[Finding] = []
    missing = []
    if ob.ob_at is None and not any(p.field == "ob_date" for p in ob.problems):
        missing.append("OB 날짜")
    if ob.phone is None or not ob.phone.text.strip():
        missing.append("고객 연락처")
    if not ob.detail:
        missing.append("상세내용")
    if missing:
        found.append(ob_finding("ob.required", ob, f"OB 필수 정보 누락: {', '.join(missing)}"))
    return found


@rule("cancel.ob_missing", mode="suggest", title="고객취소 OB 기록 없음", scope="lead")
def cancel_without_ob(lead: Lead, ctx: Context) -> list[Finding]:
    """cancel.ob_missing — 종결(고객취소) with no OB 상세 row for any of the lead's numbers.

    Why: seed §6 — when a customer cancels, staff find the reason and write it in 비고 "및 OB
    상세"; a cancellation with no OB row has no recorded reason.

    Example: 종결(고객취소), 010-1234-5678, no OB 상세 row for that number → 봇 확인
    `고객취소인데 OB 상세 기록 없음 — 취소 사유 기록 필요`.
    """
    found: list[Finding] = []
    if lead.status == "종결(고객취소)" and not ctx.obs_of(lead):
        found.append(
            finding(
                "cancel.ob_missing", lead, "고객취소인데 OB 상세 기록 없음 — 취소 사유 기록 필요"
            )
        )
    return found


@rule(
    "ob.status_hint",
    mode="suggest",
    title="OB 취소 사유로 종결 제안",
    scope="ob",
    severity=Severity.INFO,
    settings=("ob.status_hints",),
)
def status_hint(ob: ObCall, ctx: Context) -> list[Finding]:
    """ob.status_hint — the OB call's 취소 사유 points at one 종결 status while its lead is
    still 확인요청: suggest that status on the lead.

    Why: seed §5 — after the OB call "실제 사유가 파악되었을 경우 ... 그에 맞는 '종결(00)'값을
    설정합니다"; the mapping of reasons to statuses is the desk's (config `ob.status_hints`).

    Example: OB 상세 row 2, 취소 사유 `자체 해결`, its lead 확인요청 → on the lead, 봇 확인 `OB
    취소 사유 '자체 해결' → 종결(고객취소) 검토 (OB 상세 행 2)`.
    """
    found: list[Finding] = []
    if not ob.cancel_reason:
        return found
    reason = squash(ob.cancel_reason)
    statuses = {s for key, s in ctx.settings.status_hints.items() if squash(key) in reason}
    if len(statuses) != 1:
        return found
    lead = ctx.lead_of(ob)
    if lead is not None and lead.status == "확인요청":
        (status,) = statuses
        found.append(
            finding(
                "ob.status_hint",
                lead,
                f"OB 취소 사유 '{ob.cancel_reason}' → {status} 검토 (OB 상세 행 {ob.row})",
                Severity.INFO,
            )
        )
    return found
