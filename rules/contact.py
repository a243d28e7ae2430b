"""Seed §1 (진행상황 정의): 부재 is 1–2 failed contacts, 종결(연락두절) 3 or more."""

from __future__ import annotations

from functools import lru_cache

from rules.context import Context, is_open
from rules.model import Finding, Lead, ObCall, Severity
from rules.registry import finding, rule
from rules.text import md, squash


@lru_cache(maxsize=4)
def _squashed(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(squash(word) for word in words if word.strip())


def _failed(ob: ObCall, words: tuple[str, ...]) -> bool:
    text = squash(ob.detail) + "\n" + squash(ob.cancel_reason)
    return any(word in text for word in words)


@rule(
    "contact.attempts",
    mode="suggest",
    title="부재 3회 이상",
    scope="lead",
    severity=Severity.INFO,
    settings=("contact.no_answer_words",),
)
def attempts(lead: Lead, ctx: Context) -> list[Finding]:
    """contact.attempts — three or more failed calls since the customer last answered:
    suggest 종결(연락두절).

    Why: seed §1 — 부재 is "1회~2회 연락이 닿지 못한 상태", 종결(연락두절) "연락이 3회 이상 닿지
    않은 상태"; nobody counts the calls today. The calls are the lead's OB 상세 rows (linked as
    for ob.sync, dated on or after its 인입일), in date order. A call whose 상세내용 or 취소 사유
    holds one of `contact.no_answer_words` (spaces ignored) failed; any other call reached the
    customer and starts the count again. Only open leads (not 계약완료); a suggestion, never a
    change: staff decide whether to close.

    Example: 부재, OB 상세 `12.1 부재`, `12.2 미응답`, `12.3 부재, 문자 남김` → 봇 확인
    `부재 3회 (12.1, 12.2, 12.3) — 종결(연락두절) 확인`.
    """
    linked = ctx.calls_by_lead.get(lead.row)
    if linked is None or len(linked) < 3 or not is_open(lead) or lead.status == "계약완료":
        return []
    intake = lead.intake_day
    calls = sorted(
        (ob for ob in linked if ob.ob_at and (intake is None or ob.ob_at.date() >= intake)),
        key=lambda ob: (ob.ob_at, ob.row),
    )
    words = _squashed(ctx.settings.no_answer_words)
    failed: list[ObCall] = []
    for ob in calls:
        if _failed(ob, words):
            failed.append(ob)
        else:
            failed.clear()  # the customer answered: counting starts again
    if len(failed) < 3:
        return []
    dates = ", ".join(md(ob.ob_at) for ob in failed if ob.ob_at)
    return [
        finding(
            "contact.attempts",
            lead,
            f"부재 {len(failed)}회 ({dates}) — 종결(연락두절) 확인",
            Severity.INFO,
        )
    ]
