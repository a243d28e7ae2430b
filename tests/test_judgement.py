"""The desk's judgement calls (issue 13): duplicates a vendor already holds, a second number
written only in 비고, failed call attempts, and which long-term vendor can take a lead."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

from bot import demo
from bot.alerts import compose_run_alert
from bot.app import App
from bot.cli import main
from bot.config import Settings, SourceConfig
from bot.doctor import run_doctor
from bot.masking import RowLabels, row_label
from bot.sheets.workbook import create_workbook
from rules.digest import build_digest
from rules.model import CellValue
from rules.parse import parse_vendors
from rules.plan import plan
from rules.settings import RuleSettings

from desk import applied, at, desk, lead, ob, run, vendor


def quiet_second_run(first):
    """The second run over the first run's output: no change at all, 봇 확인 included."""
    second = run(applied(first))
    assert second.plan.changes == ()
    return second


# --- duplicates a vendor already holds (seed §3) ---------------------------------------------


def test_the_row_a_vendor_is_quoting_survives_an_earlier_one_nobody_handed_over():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="부재"),
            lead(intake="2024-12-02 15:13", status="견적진행", vendor="한결이사"),
        ]
    )
    first = run(snap)
    assert first.status(2) == "종결(중복)"
    assert (
        first.remarks(2) == "중복: 업체 진행 중인 12.2 15:13 접수 유지"
    )  # not "최초": it came later
    assert first.status(3) == "견적진행"
    assert first.findings(2) == [] and first.findings(3) == []
    quiet_second_run(first)


def test_when_both_rows_went_to_vendors_the_later_closes_and_staff_are_told_to_notify_it_and_note_it():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="견적진행", vendor="한빛이사"),
            lead(intake="2024-12-02 15:13", status="견적진행", vendor="한결이사"),
        ]
    )
    first = run(snap)
    assert first.status(2) == "견적진행"
    assert first.status(3) == "종결(중복)"
    assert first.remarks(3) == "중복: 최초 접수 12.1 10:00 (종결 전 견적진행)"
    assert first.findings(3) == [
        "dup.vendor_notice: 한결이사에 전달된 DB를 중복 종결 — 업체에 알린 뒤 비고에 '업체 통보'라고 적어 주세요"
    ]
    assert (
        first.note(3)
        == "한결이사에 전달된 DB를 중복 종결 — 업체에 알린 뒤 비고에 '업체 통보'라고 적어 주세요"
    )
    second = quiet_second_run(first)
    assert second.rules_found(3) == {"dup.vendor_notice"}  # until staff say the vendor was told


def test_the_vendor_notice_goes_once_staff_write_that_the_vendor_was_told():
    told = lead(
        intake="2024-12-02 15:13",
        status="종결(중복)",
        vendor="한결이사",
        remarks="중복: 최초 접수 12.1 10:00 (종결 전 견적진행)\n12.3 한결이사 업체 통보",
    )
    assert run(desk([told])).findings(2) == []


def test_a_long_term_db_given_free_counts_as_handed_to_a_vendor():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="", move_date="2025-02-10"),
            lead(intake="2024-12-02 15:13", status="장기무료", vendor="바른이사",
                 move_date="2025-02-10"),
        ]
    )  # fmt: skip
    first = run(snap)
    assert (first.status(2), first.status(3)) == ("종결(중복)", "장기무료")


def test_a_vendor_held_row_reached_from_another_number_keeps_the_numbers_noted():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="부재", phone="010-2000-1001"),
            lead(intake="2024-12-02 15:13", status="견적진행", vendor="한결이사",
                 phone="010-2000-1002", alt_phones="010-2000-1001"),
        ]
    )  # fmt: skip
    first = run(snap)
    assert first.status(2) == "종결(중복)"
    assert first.remarks(2).endswith("010-2000-1002 접수 내용 동일")
    assert first.status(3) == "견적진행"
    quiet_second_run(first)


# --- a second number written only in 비고 (seed §3, third picture) ----------------------------


HUSBAND = "010-5772-1566"


def test_a_number_written_in_remarks_asks_staff_to_put_it_in_the_spare_number():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="견적진행",
                 remarks=f"남편 번호 {HUSBAND} 으로도 문의함"),
            lead(intake="2024-12-02 15:13", phone=HUSBAND, name="박준호"),
        ]
    )  # fmt: skip
    first = run(snap)
    assert first.findings(3) == [
        "dup.note_number: 행 2 비고에 적힌 번호로 들어온 DB — 같은 고객이면 행 2의 예비번호에 "
        "적어 주세요"
    ]
    assert first.changed_rows() == set()  # a suggestion, never a change
    quiet_second_run(first)


def test_once_the_number_stands_in_the_spare_number_the_later_row_closes_as_a_duplicate():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", status="견적진행", alt_phones=HUSBAND,
                 remarks=f"남편 번호 {HUSBAND} 으로도 문의함"),
            lead(intake="2024-12-02 15:13", phone=HUSBAND),
        ]
    )  # fmt: skip
    first = run(snap)
    assert first.status(3) == "종결(중복)"
    assert "dup.note_number" not in first.rules_found(3)


def test_a_number_in_remarks_that_is_the_customers_own_asks_nothing():
    snap = desk([lead(status="견적진행", remarks="010-2000-1001 고객 본인 번호로 재통화")])
    assert run(snap).findings(2) == []


def test_a_number_in_remarks_for_another_move_asks_nothing():
    snap = desk(
        [
            lead(intake="2024-12-01 10:00", remarks=f"남편 번호 {HUSBAND}"),
            lead(intake="2024-12-02 15:13", phone=HUSBAND, origin="부산 해운대구"),
        ]
    )
    assert "dup.note_number" not in run(snap).rules_found(3)


# --- call attempts (seed §1) -----------------------------------------------------------------


def calls(*texts: tuple[str, str]):
    return [ob(ob_date=day, detail=detail) for day, detail in texts]


def test_a_customer_missed_three_times_is_suggested_for_no_contact():
    snap = desk(
        [lead(intake="2024-12-01 09:00", status="부재")],
        calls(("2024-12-01", "부재"), ("2024-12-02", "미응답"), ("2024-12-03", "부재, 문자 남김")),
    )
    first = run(snap)
    assert first.findings(2) == [
        "contact.attempts: 부재 3회 (12.1, 12.2, 12.3) — 종결(연락두절) 확인"
    ]
    assert first.status(2) == "부재"  # staff decide
    quiet_second_run(first)


def test_two_missed_calls_are_still_just_absent():
    snap = desk(
        [lead(intake="2024-12-01 09:00", status="부재")],
        calls(("2024-12-01", "부재"), ("2024-12-02", "안 받음")),
    )
    assert "contact.attempts" not in run(snap).rules_found(2)


def test_an_answered_call_between_missed_ones_starts_the_count_again():
    snap = desk(
        [lead(intake="2024-12-01 09:00", status="부재")],
        calls(
            ("2024-12-01", "부재"),
            ("2024-12-02", "연결 안됨"),
            ("2024-12-02 15:00", "고객 통화, 일정 다시 알려 주기로"),
            ("2024-12-03", "부재"),
            ("2024-12-04", "무응답"),
        ),
    )
    assert "contact.attempts" not in run(snap).rules_found(2)


def test_calls_before_the_inquiry_and_on_a_contracted_lead_do_not_count():
    missed = calls(("2024-11-20", "부재"), ("2024-11-21", "부재"), ("2024-11-22", "부재"))
    assert run(desk([lead(intake="2024-12-01 09:00", status="부재")], missed)).findings(2) == []
    contracted = desk([lead(intake="2024-11-01 09:00", status="계약완료")], missed)
    assert "contact.attempts" not in run(contracted).rules_found(2)


def test_the_words_that_mean_no_answer_are_a_setting():
    snap = desk(
        [lead(intake="2024-12-01 09:00", status="부재")],
        calls(
            ("2024-12-01", "콜백 없음"), ("2024-12-02", "콜백 없음"), ("2024-12-03", "콜백 없음")
        ),
    )
    assert run(snap).findings(2) == []
    assert run(snap, no_answer_words=("콜백없음",)).rules_found(2) == {"contact.attempts"}
    settings = Settings(contact={"no_answer_words": ["콜백 없음"]}).rule_settings()
    assert settings.no_answer_words == ("콜백 없음",)


# --- long-term vendors (seed §2) -------------------------------------------------------------


VENDORS = [
    vendor("한결이사", "서울 강남구, 서울 서초구", "경기 성남시"),
    vendor("바른이사", "인천", "서울 강남구 / 경기 성남시\n경기 용인시"),
    vendor("한빛 이사", "부산"),
]


_customers = itertools.count(3001)


def long_term(origin: str, status: str = "장기요청", **cells):
    """A lead of a customer of its own (own number and name): 인입 12.2, 이사 2.10 (70 days)."""
    n = next(_customers)
    cells = {"phone": f"010-2000-{n}", "name": f"고객{n}", **cells}
    return lead(intake="2024-12-02 10:00", move_date="2025-02-10", status=status, origin=origin,
                **cells)  # fmt: skip


def test_a_long_term_lead_in_a_vendors_regular_area_can_go_as_half_price():
    after = run(desk([long_term("서울 서초구 반포동")], vendors=VENDORS))
    assert after.findings(2) == ["longterm.match: 장기견적 가능: 한결이사"]
    assert after.changed_rows() == set()
    quiet_second_run(after)


def test_a_long_term_lead_only_outside_regular_areas_can_go_free():
    after = run(desk([long_term("경기 성남시 분당구")], vendors=VENDORS))
    assert after.findings(2) == ["longterm.match: 장기무료 가능: 한결이사, 바른이사"]


def test_a_long_term_lead_no_vendor_can_take_stays_a_long_term_request():
    after = run(desk([long_term("대구 수성구"), long_term("서울 마포구")], vendors=VENDORS))
    assert after.findings(2) == [] and after.findings(3) == []


def test_a_move_outside_the_60_to_90_day_window_gets_no_vendor_suggestion():
    too_far = lead(intake="2024-12-02 10:00", move_date="2025-03-20", status="장기요청")
    assert run(desk([too_far], vendors=VENDORS)).rules_found(2) == set()


def test_a_half_price_db_sent_outside_its_vendors_regular_area_is_flagged():
    snap = desk(
        [
            long_term(
                "서울 강남구 역삼동", "장기견적", vendor="한결 이사"
            ),  # names differ in a space
            long_term("서울 강남구 역삼동", "장기견적", vendor="바른이사"),
            long_term("서울 강남구 역삼동", "장기무료", vendor="바른이사"),
            long_term("부산 해운대구", "장기무료", vendor="한빛이사"),
            long_term("부산 해운대구", "장기견적", vendor="새벽이사"),
        ],
        vendors=VENDORS,
    )
    after = run(snap)
    assert after.findings(2) == []
    assert after.findings(3) == [
        "longterm.match: 바른이사의 기존 영업지역(인천)에 출발지 없음 — 장기견적 확인"
    ]
    assert after.findings(4) == []
    assert after.findings(5) == [
        "longterm.match: 한빛 이사의 영업 외 지역(없음)에 출발지 없음 — 장기무료 확인"
    ]
    assert after.findings(6) == [
        "longterm.match: 배정업체 새벽이사이(가) 장기고객 업체 리스트에 없음 — 장기견적 확인"
    ]


def test_without_the_vendor_list_tab_nothing_is_matched_or_reported_missing():
    snap = desk([long_term("서울 서초구"), long_term("서울 서초구", "장기견적", vendor="x")])
    after = run(snap)
    assert after.findings(2) == [] and after.findings(3) == []


def test_area_cells_are_read_as_the_desk_writes_them_and_odd_ones_are_problems():
    snap = desk(
        vendors=[
            vendor("한결이사", "서울특별시 강남구, 서울 서초구", "경기 성남시"),
            vendor("", "메모: 11월 갱신"),
            vendor("바른이사", "강남구 / 서울 송파구", 12),
        ]
    )
    assert snap.vendors_tab is not None
    listed = parse_vendors(snap.vendors_tab)
    assert [(v.row, v.name, v.regular, v.outside) for v in listed] == [
        (2, "한결이사", ("서울특별시 강남구", "서울 서초구"), ("경기 성남시",)),
        (4, "바른이사", ("강남구", "서울 송파구"), ()),
    ]
    assert listed[0].problems == ()
    assert [(p.header, p.text) for p in listed[1].problems] == [
        ("기존 영업지역", "강남구"),
        ("영업 외 지역", "12"),
    ]


# --- where staff see them --------------------------------------------------------------------


def test_the_run_alert_groups_the_judgement_calls_under_their_titles(tmp_path):
    path = tmp_path / "desk.xlsx"
    demo.write_demo_workbook(path)
    with App(Settings(source=SourceConfig(kind="workbook", path=path))) as app:
        snap = app.backend.read()
    p = plan(snap, at("2024-12-04 18:00"), RuleSettings())
    assert p.desk is not None
    alert = compose_run_alert(
        run_id="r1", now=p.now, written=(), skipped=0, findings=p.findings,
        labels=RowLabels.from_desk(p.desk),
    )  # fmt: skip
    assert alert is not None
    body = alert.body
    assert (
        "업체에 전달된 DB 중복 종결 1건\n  - 행 33 정*진 010-****-1301: 한결이사에 전달된" in body
    )
    assert "비고에 적힌 번호로 들어온 DB 1건\n  - 행 35 김*호 010-****-1303: 행 34 비고에" in body
    assert "부재 3회 이상 1건\n  - 행 36 차*호 010-****-1304: 부재 3회 (12.1, 12.2, 12.4)" in body
    assert (
        "장기고객 업체 배정 확인 2건\n  - 행 37 노*비 010-****-1305: 장기견적 가능: 한결이사"
        in body
    )
    assert body.index("업체에 전달된 DB 중복 종결") < body.index("[참고]")  # an action


def test_the_morning_digest_lists_the_judgement_calls_per_manager():
    snap = desk(
        [
            lead(intake="2024-12-01 09:00", status="부재", manager="이지은"),
            long_term("서울 서초구", phone="010-2000-2002", name="박서준", manager="정해빈"),
        ],
        calls(("2024-12-01", "부재"), ("2024-12-02", "부재"), ("2024-12-03", "부재")),
        vendors=VENDORS,
    )
    d = build_digest(snap, at("2024-12-05 08:30"), RuleSettings(), row_label)
    judgement = {m.manager: [r.text for r in m.judgement] for m in d.managers}
    assert judgement == {
        "이지은": ["행 2 김*수 010-****-1001 (부재 3회 (12.1, 12.2, 12.3) — 종결(연락두절) 확인)"],
        "정해빈": ["행 3 박*준 010-****-2002 (장기견적 가능: 한결이사)"],
    }


def test_the_demo_desk_shows_one_case_of_each(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "desk.xlsx")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # as read, whatever the terminal width
    for line in (
        "이사 관리자 행 31 · dup.same 진행상황 부재 → 종결(중복)",
        "이사 관리자 행 33 dup.vendor_notice 한결이사에 전달된 DB를 중복 종결 — 업체에 알린 뒤 비고에 '업체 통보'라고 적어 주세요",
        "이사 관리자 행 35 dup.note_number (참고) 행 34 비고에 적힌 번호로 들어온 DB",
        "이사 관리자 행 36 contact.attempts (참고) 부재 3회 (12.1, 12.2, 12.4) — 종결(연락두절) 확인",
        "이사 관리자 행 37 longterm.match (참고) 장기견적 가능: 한결이사",
        "이사 관리자 행 38 longterm.match (참고) 장기무료 가능: 바른이사",
    ):
        assert line in out
    assert "행 39 longterm.match" not in out  # 제주: no vendor, stays 장기요청
    assert "0 changes planned" in out


# --- doctor ----------------------------------------------------------------------------------


def doctor_lines(tmp_path, vendors: list[list[CellValue]] | None) -> list[str]:
    path = tmp_path / "desk.xlsx"
    tabs: dict[str, list[Sequence[CellValue]]] = {
        "이사 관리자": [demo.LEAD_HEADERS],
        "OB 상세": [demo.OB_HEADERS],
    }
    if vendors is not None:
        tabs["장기고객 업체 리스트"] = [demo.VENDOR_HEADERS, *vendors]
    create_workbook(path, tabs)
    lines: list[str] = []
    settings = Settings(source=SourceConfig(kind="workbook", path=path), base_dir=tmp_path)
    with App(settings) as app:
        run_doctor(app, out=lines.append)
    return lines


def test_doctor_says_how_many_vendors_and_areas_it_read(tmp_path):
    lines = doctor_lines(tmp_path, demo.VENDORS)
    assert "✓ tab '장기고객 업체 리스트': 3 vendors, 10 areas" in lines


def test_doctor_names_the_row_of_an_area_it_cannot_match(tmp_path):
    lines = doctor_lines(
        tmp_path, [["한결이사", "서울 강남구"], ["바른이사", "분당구, 경기 용인시"]]
    )
    assert "✓ tab '장기고객 업체 리스트': 2 vendors, 3 areas" in lines
    warning = next(line for line in lines if "row 3" in line)
    assert warning.startswith(
        "⚠ tab '장기고객 업체 리스트' row 3, 기존 영업지역: '분당구' is no area"
    )


def test_doctor_without_the_vendor_list_says_it_is_optional(tmp_path):
    lines = doctor_lines(tmp_path, None)
    assert "✓ no tab '장기고객 업체 리스트' (optional): longterm.match names no vendors" in lines


def test_an_earlier_inquiry_closed_for_the_vendors_row_does_not_make_it_a_reregistration():
    # 10.1 open, 10.15 closed by the desk, 10.20 a vendor quoting: the open 10.1 row closes as
    # the duplicate; the next run must not take 10.20 for a re-registration of 10.15
    snap = desk(
        [
            lead(intake="2024-10-01 10:00", status="상담요청"),
            lead(intake="2024-10-15 10:00", status="수행불가"),
            lead(intake="2024-10-20 10:00", status="견적진행", vendor="한결이사"),
        ]
    )
    first = run(snap, now="2024-10-25 10:00")
    assert [first.status(r) for r in (2, 3, 4)] == ["종결(중복)", "수행불가", "견적진행"]
    assert run(applied(first), now="2024-10-25 10:00").plan.changes == ()


def test_doctor_names_the_three_tabs_it_found(tmp_path):
    lines = doctor_lines(tmp_path, demo.VENDORS)
    assert any(
        line.endswith("reachable; tabs '이사 관리자', 'OB 상세' and '장기고객 업체 리스트' found")
        for line in lines
    ), lines


def test_a_vendor_db_closed_by_an_older_run_still_asks_staff_to_notify_the_vendor():
    closed = lead(
        intake="2024-12-02 15:13",
        status="종결(중복)",
        vendor="한결이사",
        remarks="중복: 최초 접수 12.1 10:00 (견적진행)",  # as runs wrote it before 종결 전
    )
    assert run(desk([closed])).rules_found(2) == {"dup.vendor_notice"}


def test_areas_separated_by_semicolons_are_matched_one_by_one():
    vendors = [vendor("한결이사", "서울 강남구; 서울 서초구")]
    after = run(desk([long_term("서울 서초구 반포동")], vendors=vendors))
    assert after.findings(2) == ["longterm.match: 장기견적 가능: 한결이사"]


def vendor_list_workbook(tmp_path, vendors: list[list[CellValue]]):
    path = tmp_path / "desk.xlsx"
    create_workbook(
        path,
        {
            "이사 관리자": [demo.LEAD_HEADERS],
            "OB 상세": [demo.OB_HEADERS],
            "장기고객 업체 리스트": [demo.VENDOR_HEADERS, *vendors],
        },
    )
    return path


def test_an_area_cell_that_reads_as_no_area_is_a_finding_on_the_vendor_lists_row(tmp_path, capsys):
    path = vendor_list_workbook(tmp_path, [["한결이사", "서울 강남구"], ["바른이사", "분당구"]])
    now = "2024-12-04T18:00:00+09:00"

    assert main(["reconcile", "--workbook", str(path), "--now", now]) == 0
    text = capsys.readouterr().out
    assert main(["reconcile", "--workbook", str(path), "--now", now, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["findings"]

    message = (
        "바른이사의 기존 영업지역 '분당구'을(를) 지역으로 읽을 수 없음 — 시·도로 시작하는 지역"
        " (예: 서울 강남구, 경기 성남시)로 적어 주세요"
    )
    assert "장기고객 업체 리스트 행 3" in text and "longterm.match" in text
    assert [(f["sheet"], f["row"], f["rule"], f["message"]) for f in found] == [
        ("장기고객 업체 리스트", 3, "longterm.match", message)
    ]
    snap = desk([], vendors=[vendor("바른이사", "분당구")])
    p = plan(snap, at("2024-12-04 18:00"), RuleSettings())
    alert = compose_run_alert(
        run_id="r1", now=p.now, written=(), skipped=0, findings=p.findings,
        labels=RowLabels.from_desk(p.desk),
    )  # fmt: skip
    assert alert is not None
    assert f"장기고객 업체 리스트 행 2: {message}" in alert.body
    assert p.cell_writes() == ()  # nothing is written on the list
