"""The desk's rules on plain rows: each seed case (sections 1–7, examples A–D) in its own test."""

from __future__ import annotations

import dataclasses

import pytest

from bot.engine import plan
from rules.settings import RuleSettings

from desk import applied, at, desk, lead, ob, run

# --- §1 진행상황 ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["종결 (중복)", "종결(중 복)", "종결（중복）", " 종결(중복) "])
def test_status_written_with_spaces_or_full_width_brackets_is_rewritten(typed):
    after = run(desk([lead(status=typed)]))
    assert after.status(2) == "종결(중복)"
    assert "status.normalize" in after.rules_changed


def test_unknown_status_is_flagged_with_the_nearest_known_one():
    after = run(desk([lead(status="종결(고객췌소)")]))
    assert after.status(2) == "종결(고객췌소)"  # never guessed into the sheet
    assert (
        after.note(2) == "알 수 없는 진행상황 '종결(고객췌소)' — '종결(고객취소)'을(를) 뜻하나요?"
    )


def test_unknown_status_far_from_any_known_one_gets_no_suggestion():
    after = run(desk([lead(status="확인바람ㅋㅋㅋ")]))
    assert after.findings(2) == ["status.unknown: 알 수 없는 진행상황 '확인바람ㅋㅋㅋ'"]


def test_consultation_request_missing_destination_and_undecided_date_is_flagged():
    after = run(desk([lead(status="상담요청", destination="", move_date="미정")]))
    assert "lead.required: 상담요청 필수 정보 누락: 이사예정일, 도착지" in after.findings(2)


def test_undecided_move_date_is_no_unreadable_value():
    after = run(desk([lead(status="견적진행", move_date="미정")]))
    assert "value.unparseable" not in after.rules_found(2)


def test_ten_digit_010_number_on_an_open_row_is_a_suspected_typo():
    after = run(desk([lead(status="상담요청", phone="010-537-3426")]))
    assert any(
        f.startswith("phone.invalid: 연락처 확인 필요: 010-537-3426") for f in after.findings(2)
    )


def test_phone_typo_on_a_closed_row_is_left_to_staff():
    after = run(desk([lead(status="종결(번호오류)", phone="010-537-3426")]))
    assert "phone.invalid" not in after.rules_found(2)


def test_missing_phone_on_an_open_row_is_flagged():
    after = run(desk([lead(status="견적진행", phone=None)]))
    assert "phone.invalid: 연락처 없음" in after.findings(2)


def test_bad_spare_number_is_flagged():
    after = run(desk([lead(status="견적진행", alt_phones="010-2000-1002, 모름")]))
    assert any("예비번호 확인 필요: 모름" in f for f in after.findings(2))


def test_safe_number_050x_is_a_valid_phone():
    after = run(desk([lead(status="견적진행", phone="0505-1234-5678")]))
    assert "phone.invalid" not in after.rules_found(2)


def test_unreadable_move_date_names_the_header_and_the_text():
    after = run(desk([lead(status="견적진행", move_date="12월 말쯤")]))
    assert (
        "value.unparseable: '이사예정일' 칸의 날짜 형식을 읽을 수 없음: '12월 말쯤'"
        in after.findings(2)
    )


def test_simple_inquiry_closing_on_a_small_move_is_flagged():
    after = run(desk([lead(status="종결(단순문의)", move_type="소형이사")]))
    assert "status.simple_small" in after.rules_found(2)
    assert "status.simple_small" not in run(desk([lead(status="종결(단순문의)")])).rules_found(2)


# --- §2 장기고객 ------------------------------------------------------------------------


def test_longterm_request_at_d60_is_promoted_to_consultation_with_a_note():
    after = run(desk([lead(status="장기요청", move_date="2025-02-02")]), now="2024-12-04 09:00")
    assert after.status(2) == "상담요청"
    assert after.remarks(2) == "장기요청→상담요청 (이사 D-60)"


def test_longterm_request_at_d61_waits():
    after = run(desk([lead(status="장기요청", move_date="2025-02-03")]), now="2024-12-04 09:00")
    assert after.status(2) == "장기요청"
    assert after.remarks(2) == ""


def test_longterm_request_whose_move_passed_is_flagged_never_promoted():
    after = run(desk([lead(status="장기요청", move_date="2024-11-30")]), now="2024-12-04 09:00")
    assert after.status(2) == "장기요청"
    assert after.findings(2) == ["longterm.past: 이사예정일 지남 (11.30) — 장기요청 정리 필요"]


def test_promotion_keeps_what_staff_wrote_in_remarks():
    after = run(
        desk([lead(status="장기요청", move_date="2025-01-20", remarks="2월 초 재연락 요청")]),
        now="2024-12-04 09:00",
    )
    assert after.remarks(2) == "2월 초 재연락 요청\n장기요청→상담요청 (이사 D-47)"


def test_longterm_quote_outside_60_to_90_days_from_intake_is_flagged():
    inside = lead(status="장기견적", intake="2024-12-02 10:00", move_date="2025-02-15")  # 75일
    outside = lead(
        status="장기무료", intake="2024-12-02 10:00", move_date="2025-01-10", phone="010-2000-1002"
    )
    after = run(desk([inside, outside]))
    assert after.findings(2) == []
    assert after.findings(3) == [
        "longterm.window: 장기무료 기간 밖: 인입일부터 이사까지 39일 (60~90일)"
    ]


def test_quote_in_progress_more_than_60_days_out_is_flagged():
    after = run(desk([lead(status="견적진행", move_date="2025-03-01")]), now="2024-12-04 09:00")
    assert after.findings(2) == ["longterm.window: 이사 D-87: 60일 초과 — 장기요청 대상인지 확인"]


# --- §3 중복고객 ------------------------------------------------------------------------


def test_same_customer_asking_again_about_the_same_move_closes_the_later_rows():
    # the seed's picture: 11-29 17:54 견적진행, then two rows on 12-02
    snap = desk(
        [
            lead(intake="2024-12-02 15:19"),
            lead(intake="2024-12-02 15:13"),
            lead(intake="2024-11-29 17:54", status="견적진행"),
        ]
    )
    after = run(snap)
    assert [after.status(r) for r in (2, 3, 4)] == ["종결(중복)", "종결(중복)", "견적진행"]
    assert after.remarks(2) == "중복: 최초 접수 11.29 17:54"


def test_equal_intakes_keep_the_row_nearer_the_top():
    after = run(desk([lead(intake="2024-12-02 15:13"), lead(intake="2024-12-02 15:13")]))
    assert (after.status(2), after.status(3)) == ("", "종결(중복)")


def test_a_duplicate_found_through_a_number_stored_as_a_number_cell():
    after = run(desk([lead(status="견적진행"), lead(intake="2024-12-03 10:00", phone=1020001001)]))
    assert after.status(3) == "종결(중복)"


def test_customer_moving_twice_to_other_addresses_keeps_both_rows():
    # seed §3: 합가이사 — same customer, different origins, both 계약완료
    snap = desk(
        [
            lead(status="계약완료", origin="서울 마포구 합정동", move_type="합가이사"),
            lead(status="계약완료", origin="서울 은평구 불광동", move_type="합가이사"),
        ]
    )
    after = run(snap)
    assert (after.status(2), after.status(3)) == ("계약완료", "계약완료")
    assert after.plan.findings == ()


def test_addresses_match_across_province_spellings_and_a_shorter_address():
    snap = desk(
        [
            lead(
                status="견적진행",
                origin="서울특별시 강남구 역삼동 123",
                destination="경기도 성남시",
            ),
            lead(intake="2024-12-03 10:00", origin="서울 강남구", destination="경기 성남시 분당구"),
        ]
    )
    assert run(snap).status(3) == "종결(중복)"


def test_gyeonggi_gwangju_city_is_not_gwangju_metropolitan_city():
    snap = desk(
        [
            lead(status="견적진행", origin="광주광역시 북구"),
            lead(intake="2024-12-03 10:00", origin="광주시 북구"),
        ]
    )
    assert run(snap).status(3) == ""


def test_empty_address_matches_any_address():
    snap = desk([lead(status="견적진행"), lead(intake="2024-12-03 10:00", destination="")])
    assert run(snap).status(3) == "종결(중복)"


def test_a_row_joins_a_move_only_when_it_matches_every_row_in_it():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="견적진행", destination=""),
            lead(intake="2024-12-02 10:00", status="견적진행", destination="경기 성남시"),
            lead(intake="2024-12-03 10:00", destination="부산 해운대구"),
        ]
    )
    after = run(snap)
    # row 4 matches row 2 (empty destination) but not row 3: a move of its own
    assert after.status(3) == "종결(중복)"
    assert after.status(4) == ""


def test_cleaning_inquiry_does_not_close_a_moving_inquiry_of_the_same_customer():
    snap = desk(
        [
            lead(status="견적진행"),
            lead(intake="2024-12-03 10:00", status="청소문의", move_type="입주청소"),
            lead(intake="2024-12-03 11:00", status="기타 서비스", move_type="인터넷"),
        ]
    )
    after = run(snap)
    assert [after.status(r) for r in (2, 3, 4)] == ["견적진행", "청소문의", "기타 서비스"]


def test_contracted_row_is_never_closed_and_a_later_contract_is_flagged():
    snap = desk([lead(status="견적진행"), lead(intake="2024-12-03 10:00", status="계약완료")])
    after = run(snap)
    assert after.status(3) == "계약완료"
    assert after.findings(3) == [
        "dup.same: 계약완료 건인데 같은 이사의 이전 접수(행 2)가 열려 있음 — 중복 확인"
    ]


def test_earlier_contract_survives_and_closes_the_later_inquiry():
    snap = desk([lead(status="계약완료"), lead(intake="2024-12-03 10:00")])
    assert run(snap).status(3) == "종결(중복)"


def test_rows_already_closed_as_duplicates_are_left_as_they_are():
    snap = desk(
        [
            lead(status="견적진행"),
            lead(intake="2024-12-03 10:00", status="종결(중복)", remarks="수기"),
        ]
    )
    after = run(snap)
    assert after.remarks(3) == "수기"
    assert after.plan.changes == ()


def test_one_customer_asking_from_several_numbers_closes_the_later_row_and_cross_notes():
    # seed §3 picture 3, with invented numbers
    snap = desk(
        [
            lead(intake="2024-12-01 11:00", status="견적진행", phone="010-2000-3003"),
            lead(intake="2024-12-03 09:30", phone="010-2000-3004", alt_phones="010-2000-3003"),
        ]
    )
    after = run(snap)
    assert after.status(3) == "종결(중복)"
    assert after.remarks(3) == "중복: 최초 접수 12.1 11:00\n010-2000-3003 접수 내용 동일"
    assert after.alt_phones(2) == "010-2000-3004"
    assert after.remarks(2) == "010-2000-3004 접수 내용 동일"
    assert {c.rule for c in after.plan.changes if c.field != "bot_note"} == {"dup.multi_number"}


def test_customers_linked_transitively_through_spare_numbers():
    snap = desk(
        [
            lead(intake="2024-12-01 11:00", status="견적진행", phone="010-2000-0001"),
            lead(intake="2024-12-02 11:00", phone="010-2000-0002", alt_phones="010-2000-0001"),
            lead(intake="2024-12-03 11:00", phone="010-2000-0003", alt_phones="010-2000-0002"),
        ]
    )
    after = run(snap)
    assert (after.status(3), after.status(4)) == ("종결(중복)", "종결(중복)")


def test_a_mistyped_number_links_nothing():
    snap = desk([lead(status="견적진행", phone="010-200-1001"), lead(phone="010-200-1001")])
    assert run(snap).status(3) == ""


def test_same_name_and_move_without_a_shared_phone_is_only_reported():
    snap = desk(
        [lead(phone="010-2000-9101"), lead(intake="2024-12-03 10:00", phone="010-2000-9102")]
    )
    after = run(snap)
    assert after.status(3) == ""
    assert after.findings(3) == [
        "dup.name_match: 같은 고객일 수 있음, 행 2 (이름·이사예정일·주소 같음)"
    ]
    assert [f.severity for f in after.plan.findings] == ["info"]


# --- §4 재접수 -------------------------------------------------------------------------


def _rereg(old_intake: str, new_intake: str, new_status: str = ""):
    return desk(
        [
            lead(intake=old_intake, status="종결(고객취소)", remarks="고객 변심"),
            lead(intake=new_intake, status=new_status),
        ],
        obs=[ob(ob_date=old_intake[:10], detail="변심 취소", cancel_reason="이사 취소")],
    )


def test_reregistration_before_settlement_reuses_old_row():
    # seed §4 A: 11-20 인입, 종결, 12-02 재접수, handled on 12-02 -> 기존 DB를 상담요청으로
    after = run(_rereg("2024-11-20 13:00", "2024-12-02 10:00"), now="2024-12-02 10:15")
    assert after.status(2) == "상담요청"
    assert "재접수 12.2 (정산 전 기존 DB 활용)" in after.remarks(2).splitlines()
    assert after.status(3) == "종결(중복)"
    assert after.remarks(3) == "재접수: 기존 DB 사용"


def test_reregistration_after_settlement_keeps_the_new_row():
    # seed §4 B: 11-20 인입, 12-04 재접수, handled on 12-04 -> 신규 DB 상담요청
    after = run(_rereg("2024-11-20 13:00", "2024-12-04 09:00"), now="2024-12-04 09:15")
    assert after.status(2) == "종결(고객취소)"
    assert after.status(3) == "상담요청"
    assert after.remarks(3) == "재접수 (정산 후 신규 DB)"


def test_reregistration_of_an_october_row_always_makes_a_new_db():
    # seed §4 C and D (the same case): an October DB was settled on 11-03; handled on 12-02
    after = run(_rereg("2024-10-30 16:00", "2024-12-02 10:00"), now="2024-12-02 10:15")
    assert after.status(2) == "종결(고객취소)"
    assert after.status(3) == "상담요청"
    assert after.remarks(3) == "재접수 (정산 후 신규 DB)"


def test_reregistration_at_0959_on_settlement_day_handled_at_0959_reuses():
    after = run(_rereg("2024-11-20 13:00", "2024-12-03 09:59"), now="2024-12-03 09:59")
    assert (after.status(2), after.status(3)) == ("상담요청", "종결(중복)")


@pytest.mark.parametrize("handled", ["2024-12-03 10:00", "2024-12-09 09:00"])
def test_reregistration_at_0959_first_handled_after_the_cutoff_is_a_new_db(handled):
    # it arrived on Saturday the 3rd at 09:59; the bot first sees it at 10:00 or on Monday:
    # November is settled, so reopening its row would bill it in neither month
    after = run(_rereg("2024-11-20 13:00", "2024-12-03 09:59"), now=handled)
    assert (after.status(2), after.status(3)) == ("종결(고객취소)", "상담요청")
    assert after.remarks(3) == "재접수 (정산 후 신규 DB)"


@pytest.mark.parametrize("handled", ["2024-12-03 09:59", "2024-12-03 10:00"])
def test_reregistration_at_1000_on_settlement_day_never_reuses(handled):
    # a clock that reads 09:59 has not met a row stamped 10:00 yet; it is handled on arrival
    after = run(_rereg("2024-11-20 13:00", "2024-12-03 10:00"), now=handled)
    assert (after.status(2), after.status(3)) == ("종결(고객취소)", "상담요청")


def test_reregistration_keeps_a_status_staff_already_set_on_the_new_row():
    after = run(_rereg("2024-11-20 13:00", "2024-12-04 09:00", new_status="견적진행"))
    assert after.status(3) == "견적진행"
    assert after.remarks(3) == "재접수 (정산 후 신규 DB)"


def test_reregistration_is_decided_when_the_bot_runs_not_by_intake_alone():
    # the case: 2025-02-14 row closed, the customer again on 2025-03-03 09:59, the bot
    # first runs on 03-10: February is settled, its row stays closed and billed as it was
    snap = _rereg("2025-02-14 13:00", "2025-03-03 09:59")
    after = run(snap, now="2025-03-10 11:00")
    assert after.status(2) == "종결(고객취소)"
    assert "재접수 3.3 (정산 전 기존 DB 활용)" not in after.remarks(2)
    assert (after.status(3), after.remarks(3)) == ("상담요청", "재접수 (정산 후 신규 DB)")


def test_a_duplicate_closed_row_does_not_count_as_an_earlier_closing():
    snap = desk(
        [lead(intake="2024-11-20 13:00", status="종결(중복)"), lead(intake="2024-12-02 10:00")]
    )
    after = run(snap)
    assert after.plan.changes == ()


def test_settlement_day_and_time_are_configurable():
    from datetime import time

    snap = _rereg("2024-11-20 13:00", "2024-12-04 09:00")
    after = run(snap, settlement_day=5, settlement_time=time(18, 0))
    assert after.status(2) == "상담요청"
    later = run(snap, now="2024-12-05 18:00", settlement_day=5, settlement_time=time(18, 0))
    assert later.status(2) == "종결(고객취소)"


# --- §5 업체 반환 ----------------------------------------------------------------------


def test_vendor_return_without_an_ob_call_after_a_day_is_flagged():
    snap = desk(
        [lead(status="확인요청", intake="2024-12-02 15:19", remarks="업체 : 고객 연락 안 됨")]
    )
    assert run(snap, now="2024-12-04 09:00").findings(2) == [
        "return.pending: 업체 반환 후 OB 미진행 (인입 후 2일)"
    ]
    assert run(snap, now="2024-12-03 15:00").findings(2) == []  # not yet 24 hours


def test_vendor_return_with_an_ob_call_is_not_pending():
    snap = desk(
        [lead(status="확인요청", intake="2024-12-02 15:19", remarks="업체: 고객 연락 안 됨")],
        obs=[ob(ob_date="2024-12-03", detail="고객 통화, 일정 연기")],
    )
    assert "return.pending" not in run(snap).rules_found(2)


def test_ob_call_before_the_return_does_not_count():
    snap = desk(
        [lead(status="확인요청", intake="2024-12-02 15:19", remarks="업체 : 반환")],
        obs=[ob(ob_date="2024-11-25", detail="예전 통화")],
    )
    assert "return.pending" in run(snap).rules_found(2)


def test_ob_cancel_reason_suggests_the_closing_status_for_a_returned_lead():
    snap = desk(
        [lead(status="확인요청", remarks="업체 : 타 업체 계약")],
        obs=[ob(ob_date="2024-12-03", detail="타 업체 계약 확인", cancel_reason="타 업체 계약")],
    )
    after = run(snap)
    assert after.findings(2) == [
        "ob.status_hint: OB 취소 사유 '타 업체 계약' → 종결(고객취소) 검토 (OB 상세 행 2)"
    ]
    assert after.status(2) == "확인요청"


# --- §6 고객 직접취소 -----------------------------------------------------------------


def test_cancellation_without_an_ob_row_is_flagged():
    after = run(desk([lead(status="종결(고객취소)")]))
    assert after.findings(2) == [
        "cancel.ob_missing: 고객취소인데 OB 상세 기록 없음 — 취소 사유 기록 필요"
    ]


def test_cancellation_with_an_ob_row_on_a_spare_number_is_fine():
    snap = desk(
        [lead(status="종결(고객취소)", alt_phones="010-2000-1002")],
        obs=[ob(phone="010-2000-1002", detail="취소 사유: 자체 해결", cancel_reason="자체 해결")],
    )
    assert "cancel.ob_missing" not in run(snap).rules_found(2)


def test_price_cancellation_without_tons_or_quote_is_flagged_on_the_ob_row():
    snap = desk(
        [lead(status="종결(고객취소)")],
        obs=[ob(cancel_reason="비싼 가격", quote_amount="120만원")],
    )
    after = run(snap)
    assert after.findings(2, sheet="ob") == ["ob.price_fields: 가격 취소 — 짐 양 입력 필요"]
    assert after.note(2, sheet="ob") == "가격 취소 — 짐 양 입력 필요"


def test_price_cancellation_with_tons_and_quote_is_complete():
    snap = desk(
        [lead(status="종결(고객취소)")],
        obs=[ob(cancel_reason="비싼 가격", load_tons="2.5톤", quote_amount="1,500,000")],
    )
    assert run(snap).findings(2, sheet="ob") == []


# --- §7 OB 상세 ------------------------------------------------------------------------


def test_ob_detail_is_copied_into_the_leads_remarks_in_the_desks_format():
    snap = desk(
        [lead(status="확인요청", remarks="업체 : 연락 지연")],
        obs=[ob(ob_date="2024-12-02 16:02", detail="업체 연락 지연으로 인입, 업체 전달")],
    )
    after = run(snap)
    assert after.remarks(2) == "업체 : 연락 지연\n12.2 OB 업체 연락 지연으로 인입, 업체 전달"


def test_ob_detail_already_in_remarks_with_other_spacing_is_not_copied_again():
    snap = desk(
        [lead(remarks="12.2 OB 업체 연락지연으로 인입,업체 전달")],
        obs=[ob(detail="업체 연락 지연으로 인입, 업체 전달")],
    )
    assert "ob.sync" not in run(snap).rules_changed


def test_ob_note_goes_to_the_latest_lead_not_after_the_call():
    snap = desk(
        [
            lead(intake="2024-11-01 10:00", status="종결(고객취소)"),
            lead(intake="2024-12-01 10:00", status="견적진행", origin="부산 해운대구"),
            lead(intake="2024-12-10 10:00", status="상담요청", origin="대구 수성구"),
        ],
        obs=[ob(ob_date="2024-12-05", detail="일정 재확인")],
    )
    after = run(snap, now="2024-12-11 10:00")
    assert after.remarks(3) == "12.5 OB 일정 재확인"
    assert after.remarks(2) == after.remarks(4) == ""


def test_ob_call_before_every_lead_goes_to_the_earliest_lead():
    snap = desk(
        [lead(intake="2024-12-01 10:00", status="견적진행")],
        obs=[ob(ob_date="2024-11-20", detail="사전 문의")],
    )
    assert run(snap).remarks(2) == "11.20 OB 사전 문의"


def test_ob_row_whose_number_matches_no_lead_is_flagged():
    snap = desk([lead()], obs=[ob(phone="010-2000-9999")])
    assert run(snap).findings(2, sheet="ob") == ["ob.orphan: 이사 관리자에 이 번호의 DB 없음"]


def test_ob_row_without_detail_is_flagged():
    snap = desk([lead()], obs=[ob(detail=None)])
    assert run(snap).findings(2, sheet="ob") == ["ob.required: OB 필수 정보 누락: 상세내용"]


# --- the run as a whole ---------------------------------------------------------------


def test_findings_are_made_on_the_sheet_after_the_runs_changes():
    # a promoted lead missing its destination is a 상담요청 now, so lead.required speaks
    snap = desk([lead(status="장기요청", move_date="2025-01-20", destination="")])
    after = run(snap, now="2024-12-04 09:00")
    assert after.status(2) == "상담요청"
    assert "lead.required: 상담요청 필수 정보 누락: 도착지" in after.findings(2)


def test_bot_note_column_is_added_after_the_last_used_column_and_cleared_when_resolved():
    snap = desk([lead(status="종결(고객취소)")])
    after = run(snap)
    header = [c for c in after.plan.changes if c.row == 1]
    assert [(c.field, c.new) for c in header] == [("bot_note", "봇 확인")]
    assert after.plan.column_of("leads", "bot_note") == len(snap.leads_tab.headers)
    resolved = run(desk([lead(status="견적진행", bot_note="예전 경고")]))
    assert resolved.note(2) == ""


def test_suggest_mode_writes_the_proposed_change_as_a_finding_only():
    snap = desk([lead(status="견적진행"), lead(intake="2024-12-03 10:00")])
    after = run(snap, modes={"dup.same": "suggest"})
    assert after.status(3) == ""
    assert any("'종결(중복)'(으)로 변경 제안" in f for f in after.findings(3))


def test_off_mode_silences_a_rule():
    after = run(desk([lead(status="종결(고객취소)")]), modes={"cancel.ob_missing": "off"})
    assert after.plan.findings == ()


def test_only_named_rules_run_and_the_bot_note_is_left_alone():
    snap = desk([lead(status="종결 (중복)"), lead(status="종결(고객취소)", phone="010-2000-2002")])
    p = plan(snap, at("2024-12-04 18:00"), RuleSettings(only_rules=frozenset({"longterm.promote"})))
    assert p.changes == () and p.findings == ()


def test_naming_bot_note_writes_it_from_every_rule_without_their_changes():
    snap = desk([lead(status="종결 (중복)"), lead(status="종결(고객취소)", phone="010-2000-2002")])
    only = frozenset({"bot.note"})
    p = plan(snap, at("2024-12-04 18:00"), RuleSettings(only_rules=only))
    assert {c.rule for c in p.changes} == {"bot.note"}
    notes = {c.row: c.new for c in p.changes if c.row > 1}
    assert notes[2].startswith("진행상황 '종결(중복)'(으)로 변경 제안")
    assert notes[3].startswith("고객취소인데")


def test_a_rule_turned_off_stays_out_of_the_bot_note_when_only_bot_note_is_named():
    snap = desk([lead(status="종결 (중복)"), lead(status="종결(고객취소)", phone="010-2000-2002")])
    settings = RuleSettings(
        only_rules=frozenset({"bot.note"}),
        modes={"cancel.ob_missing": "off", "status.normalize": "off"},
    )
    notes = {c.row: c.new for c in plan(snap, at("2024-12-04 18:00"), settings).changes}
    assert "고객취소인데" not in notes.get(3, "")
    assert "변경 제안" not in notes.get(2, "")


def test_a_rule_that_crashes_on_a_row_becomes_a_finding_and_the_run_goes_on(monkeypatch):
    from rules import plan as planning

    def broken(lead, ctx):
        raise RuntimeError("boom")

    rules = tuple(
        dataclasses.replace(r, check=broken) if r.id == "longterm.past" else r
        for r in planning.FINDING_RULES
    )
    monkeypatch.setattr(planning, "FINDING_RULES", rules)
    after = run(desk([lead(status="종결(고객취소)")]))
    assert after.findings(2) == [
        "longterm.past: 규칙 longterm.past 처리 중 오류 (RuntimeError) — 개발팀 확인 필요",
        "cancel.ob_missing: 고객취소인데 OB 상세 기록 없음 — 취소 사유 기록 필요",
    ]


def test_an_old_row_the_bot_reopened_is_not_taken_for_a_new_reregistration():
    snap = desk(
        [
            lead(intake="2024-11-05 10:00", status="종결(고객취소)"),
            lead(intake="2024-11-20 10:00", status="종결(고객취소)"),
            lead(intake="2024-12-02 11:00"),
        ]
    )
    first = run(snap, now="2024-12-02 18:00")
    assert [first.status(r) for r in (2, 3, 4)] == ["종결(고객취소)", "상담요청", "종결(중복)"]
    for now in ("2024-12-02 18:00", "2024-12-04 18:00"):  # before and after the cut-off
        second = run(applied(first), now=now)
        assert [c for c in second.plan.changes if c.field != "bot_note"] == []


def test_a_closed_cleaning_inquiry_stays_a_cleaning_inquiry_for_the_next_run():
    snap = desk(
        [
            lead(intake="2024-11-01 10:00", status="청소문의", origin="서울 강남구 삼성동"),
            lead(intake="2024-11-02 10:00", status="청소문의", origin="서울 강남구 삼성동"),
            lead(intake="2024-11-03 10:00", status="견적진행", origin="서울"),
            lead(intake="2024-11-04 10:00", origin="서울 강남구 역삼동"),
            lead(intake="2024-11-05 10:00", origin="서울 강남구 삼성동"),
        ]
    )
    first = run(snap)
    assert first.status(3) == "종결(중복)"
    assert first.remarks(3) == "중복: 최초 접수 11.1 10:00 (종결 전 청소문의)"
    second = run(applied(first))
    assert [c for c in second.plan.changes if c.field != "bot_note"] == []


def test_a_contract_duplicate_note_does_not_change_when_the_survivor_is_promoted():
    snap = desk(
        [
            lead(intake="2024-11-20 11:00", status="장기요청", move_date="2025-01-30"),
            lead(intake="2024-12-02 09:59", status="계약완료", move_date="2025-01-30"),
        ]
    )
    first = run(snap)
    assert first.status(2) == "상담요청"
    assert run(applied(first)).plan.changes == ()


def test_a_note_is_never_appended_to_a_remarks_cell_holding_a_date():
    # in Google Sheets a 비고 typed "12/10" is a date: appending would show its serial number
    snap = desk([lead(status="견적진행", remarks=45636.0)], obs=[ob(detail="재통화 요청")])
    after = run(snap)
    assert "remarks" not in {c.field for c in after.plan.changes}
    assert after.findings(2) == [
        "write.blocked: 비고가 날짜·숫자 형식 셀이라 봇이 쓸 수 없음 — 칸 서식을 텍스트로 "
        "바꿔 주세요 (쓰려던 내용: 12.2 OB 재통화 요청)"
    ]


def test_a_row_holding_only_an_old_bot_note_is_no_lead():
    snap = desk([lead(status="견적진행", bot_note="x"), {"bot_note": "예전 경고"}])
    after = run(snap)
    assert after.findings(3) == []


def test_a_passed_move_date_of_another_year_shows_its_year():
    after = run(desk([lead(status="장기요청", move_date="2024-11-30")]), now="2025-02-01 09:00")
    assert after.findings(2) == ["longterm.past: 이사예정일 지남 (2024.11.30) — 장기요청 정리 필요"]


def test_a_divider_row_staff_typed_between_blocks_gets_no_finding_and_no_write():
    divider = {"intake_at": "▼ 3월 인입분"}
    snap = desk([lead(status="견적진행"), divider, lead(status="견적진행", phone="010-2000-1002")])
    after = run(snap)
    assert after.findings(3) == []
    assert 3 not in {c.row for c in after.plan.changes}
    assert [lead.row for lead in after.plan.desk.leads] == [2, 4]


def test_a_suggestion_in_the_bot_note_keeps_the_reference_mark_alerts_show():
    snap = desk(
        [
            lead(intake="2024-12-02 15:13", phone="010-1111-2222"),
            lead(intake="2024-12-03 10:00", phone="010-3333-4444"),
        ]
    )
    assert run(snap).note(3) == "(참고) 같은 고객일 수 있음, 행 2 (이름·이사예정일·주소 같음)"


def test_the_lines_one_run_adds_to_a_remarks_cell_go_in_date_order_after_staffs():
    # closed 11.20, called back 11.21 (OB), asked again 12.2 before the settlement: the OB
    # line (11.21) comes before the re-registration line (12.2), though ob.sync runs later
    snap = desk(
        [
            lead(intake="2024-11-20 10:00", status="종결(고객취소)", remarks="고객 변심"),
            lead(intake="2024-12-02 09:00"),
        ],
        obs=[ob(ob_date="2024-11-21", detail="이사 일정 미정으로 취소")],
    )
    assert run(snap, now="2024-12-02 18:00").remarks(2) == (
        "고객 변심\n11.21 OB 이사 일정 미정으로 취소\n재접수 12.2 (정산 전 기존 DB 활용)"
    )


def test_write_blocked_turned_off_leaves_the_write_to_the_backend():
    snap = desk([lead(status="견적진행", remarks=45636.0)], obs=[ob(detail="재통화 요청")])
    after = run(snap, modes={"write.blocked": "off"})
    assert "12.2 OB 재통화 요청" in after.remarks(2)
    assert "write.blocked" not in after.rules_found(2)
