"""The desk's rules (RULES.md §4): one registry maps each stable id to its rule.

Change rules run first, in this order, each on the sheet as the previous one left it; finding
rules then run on the sheet as it will be after the run's changes. `bot.note` is not a rule
here: the engine turns the findings into the 봇 확인 cells.
"""

from __future__ import annotations

from rules import contact, duplicates, longterm, ob, reregistration, returns, statuses
from rules.base import Rule
from rules.model import Severity

CHANGE_RULES: tuple[Rule, ...] = (
    Rule("status.normalize", "진행상황 표기 정리", "lead", statuses.normalize_status, changes=True),
    Rule(
        "rereg.reuse",
        "재접수: 정산 전 기존 DB 활용",
        "customer",
        reregistration.reuse_before_settlement,
        changes=True,
    ),
    Rule(
        "rereg.new",
        "재접수: 정산 후 신규 DB",
        "customer",
        reregistration.new_row_after_settlement,
        changes=True,
    ),
    Rule(
        "dup.same", "중복 문의 종결", "customer", duplicates.same_customer_same_move, changes=True
    ),
    Rule(
        "dup.multi_number",
        "여러 번호 중복 문의 종결",
        "customer",
        duplicates.several_numbers,
        changes=True,
    ),
    Rule("longterm.promote", "장기요청→상담요청 승격", "lead", longterm.promote, changes=True),
    Rule("ob.sync", "OB 상세내용 비고 반영", "ob", ob.sync_note, changes=True),
)

FINDING_RULES: tuple[Rule, ...] = (
    Rule("status.unknown", "알 수 없는 진행상황", "lead", statuses.unknown_status),
    Rule("value.unparseable", "읽을 수 없는 값", "row", statuses.unreadable_values),
    Rule("lead.required", "상담요청 필수 정보 누락", "lead", statuses.required_for_consultation),
    Rule("phone.invalid", "연락처 확인 필요", "lead", statuses.invalid_phone),
    Rule("longterm.window", "장기 기간 확인", "lead", longterm.window),
    Rule("longterm.past", "장기 고객 이사일 지남", "lead", longterm.past),
    Rule("longterm.match", "장기고객 업체 배정 확인", "lead", longterm.match),
    Rule(
        "dup.name_match",
        "같은 고객일 수 있음",
        "desk",
        duplicates.same_name_same_move,
        severity=Severity.INFO,
    ),
    Rule("dup.vendor_notice", "업체에 전달된 DB 중복 종결", "lead", duplicates.vendor_notice),
    Rule(
        "dup.note_number",
        "비고에 적힌 번호로 들어온 DB",
        "desk",
        duplicates.note_number,
        severity=Severity.INFO,
    ),
    Rule("ob.orphan", "OB 상세 번호의 DB 없음", "ob", ob.orphan),
    Rule("ob.price_fields", "가격 취소 짐 양·견적금액 누락", "ob", ob.price_fields),
    Rule("ob.required", "OB 필수 정보 누락", "ob", ob.required),
    Rule("cancel.ob_missing", "고객취소 OB 기록 없음", "lead", ob.cancel_without_ob),
    Rule(
        "status.simple_small", "소형이사 단순문의 종결", "lead", statuses.simple_inquiry_small_move
    ),
    Rule(
        "ob.status_hint", "OB 취소 사유로 종결 제안", "ob", ob.status_hint, severity=Severity.INFO
    ),
    Rule("return.pending", "업체 반환 OB 미진행", "lead", returns.pending_return),
    Rule("contact.attempts", "부재 3회 이상", "lead", contact.attempts, severity=Severity.INFO),
)

RULES: dict[str, Rule] = {r.id: r for r in CHANGE_RULES + FINDING_RULES}

# Rules whose findings are suggestions for staff, not work they must do (DESIGN.md --json).
# bot.note writes the 봇 확인 cells; it has a mode like any change rule.
BOT_NOTE = "bot.note"
RULE_IDS: tuple[str, ...] = tuple(RULES) + (BOT_NOTE,)

__all__ = ["CHANGE_RULES", "FINDING_RULES", "RULES", "RULE_IDS", "BOT_NOTE", "Rule"]
