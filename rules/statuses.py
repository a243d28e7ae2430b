"""Seed §1 (진행상황 정의): the status column and the data each status needs."""

from __future__ import annotations

from rules.context import Context, is_open
from rules.edits import Edits
from rules.model import Finding, Lead, ObCall
from rules.registry import finding, ob_finding, rule
from rules.values import canonical_status, nearest_status


@rule("status.normalize", mode="apply", changes=True, title="진행상황 표기 정리", scope="lead")
def normalize_status(lead: Lead, ctx: Context, edits: Edits) -> None:
    """status.normalize — a known status written differently is rewritten to its canonical form.

    Why: every other rule, filter and count on the sheet compares 진행상황 exactly (seed §1
    lists the 20 statuses), so `종결 (중복)` typed with a space escapes them all.

    Example: 진행상황 `종결 (중복)` or `종결(중 복)` → `종결(중복)`; `종결（고객취소）` →
    `종결(고객취소)`.
    """
    canonical = canonical_status(lead.status_text)
    if canonical and canonical != lead.status_text:
        edits.set_status(lead, canonical, f"표기 정리: '{lead.status_text.strip()}'")


@rule("status.unknown", mode="suggest", title="알 수 없는 진행상황", scope="lead")
def unknown_status(lead: Lead, ctx: Context) -> list[Finding]:
    """status.unknown — a status that is none of the 20 is flagged, with the nearest known one.

    Why: seed §1 defines exactly these statuses; anything else is invisible to the desk's
    process and to this bot. The nearest known status is named when it is close (similarity
    0.5 or more), else none; it is never written into the sheet.

    Example: 진행상황 `종결(고객췌소)` → 봇 확인 `알 수 없는 진행상황 '종결(고객췌소)' —
    '종결(고객취소)'을(를) 뜻하나요?`.
    """
    found: list[Finding] = []
    if lead.status and canonical_status(lead.status_text) is None:
        near = nearest_status(lead.status)
        hint = f" — '{near}'을(를) 뜻하나요?" if near else ""
        found.append(finding("status.unknown", lead, f"알 수 없는 진행상황 '{lead.status}'{hint}"))
    return found


@rule("value.unparseable", mode="suggest", title="읽을 수 없는 값", scope="row")
def unreadable_values(row: Lead | ObCall, ctx: Context) -> list[Finding]:
    """value.unparseable — a date, phone, money or ton cell whose text cannot be read.

    Why: a date the bot cannot read is a move it cannot promote, a duplicate it cannot see; staff
    type dates many ways (seed §3 shows `2024-12-02 15:19`, the seed's own header `24.12.03`) and
    the bot reads them all, so what is left is a real typo.

    Example: 이사예정일 `12월 말` → 봇 확인 `'이사예정일' 칸의 날짜 형식을 읽을 수 없음: '12월 말'`.
    """
    found: list[Finding] = []
    for p in row.problems:
        header = p.header.rstrip("↓▼ ")
        message = f"'{header}' 칸의 {p.expected} 형식을 읽을 수 없음: '{p.text}'"
        if isinstance(row, Lead):
            found.append(finding("value.unparseable", row, message))
        else:
            found.append(ob_finding("value.unparseable", row, message))
    return found


@rule("lead.required", mode="suggest", title="상담요청 필수 정보 누락", scope="lead")
def required_for_consultation(lead: Lead, ctx: Context) -> list[Finding]:
    """lead.required — 상담요청 needs a phone, a move date, an origin and a destination.

    Why: seed §1 defines 상담요청 as "업체 배정을 할 수 있는 상태 (필수정보가 모두 입력된
    상태)": a vendor cannot quote a move without them.

    Example: 상담요청 with 도착지 empty and 이사예정일 `미정` → 봇 확인 `상담요청 필수 정보
    누락: 이사예정일, 도착지`.
    """
    found: list[Finding] = []
    if lead.status != "상담요청":
        return found
    missing = []
    if not lead.phone or not lead.phone.text.strip():
        missing.append("연락처")
    if lead.move_date_undecided or (lead.move_date is None and not _has_problem(lead, "move_date")):
        missing.append("이사예정일")
    if not lead.origin:
        missing.append("출발지")
    if not lead.destination:
        missing.append("도착지")
    if missing:
        found.append(
            finding("lead.required", lead, f"상담요청 필수 정보 누락: {', '.join(missing)}")
        )
    return found


def _has_problem(lead: Lead, field: str) -> bool:
    return any(p.field == field for p in lead.problems)


@rule("phone.invalid", mode="suggest", title="연락처 확인 필요", scope="lead")
def invalid_phone(lead: Lead, ctx: Context) -> list[Finding]:
    """phone.invalid — on an open row, a missing, unreadable or mistyped phone (or 예비번호).

    Why: seed §1 closes a DB as 종결(번호오류) when "연락처에 오타가 있거나 일부 누락": the bot
    spots it, staff decide. A `010` number has 11 digits; 10 is a typo even if it dials.

    Example: 연락처 `010-537-3426` → 봇 확인 `연락처 확인 필요: 010-537-3426 (010 번호
    자릿수 오류: 10자리)`.
    """
    found: list[Finding] = []
    if not is_open(lead):
        return found
    if lead.phone is None or not lead.phone.text.strip():
        found.append(finding("phone.invalid", lead, "연락처 없음"))
    elif lead.phone.problem:
        found.append(
            finding(
                "phone.invalid",
                lead,
                f"연락처 확인 필요: {lead.phone.text.strip()} ({lead.phone.problem})",
            )
        )
    for alt in lead.alt_phones:
        if alt.problem:
            found.append(
                finding(
                    "phone.invalid", lead, f"예비번호 확인 필요: {alt.text.strip()} ({alt.problem})"
                )
            )
    return found


@rule("status.simple_small", mode="suggest", title="소형이사 단순문의 종결", scope="lead")
def simple_inquiry_small_move(lead: Lead, ctx: Context) -> list[Finding]:
    """status.simple_small — 종결(단순문의) on a 소형이사 row.

    Why: seed §1 defines 종결(단순문의) as a price-only phone inquiry "(소형이사는 포함하지
    않음)": small moves are quoted by phone, so this closing is wrong for them.

    Example: 이사종류 `소형이사`, 진행상황 `종결(단순문의)` → 봇 확인 `소형이사는
    종결(단순문의) 대상이 아님 — 진행상황 확인`.
    """
    found: list[Finding] = []
    if lead.status == "종결(단순문의)" and "소형" in lead.move_type:
        found.append(
            finding(
                "status.simple_small", lead, "소형이사는 종결(단순문의) 대상이 아님 — 진행상황 확인"
            )
        )
    return found
