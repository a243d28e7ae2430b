"""`movebot demo`: the desk's own cases (seed sections 2–7) in a workbook, previewed and applied.

Names and numbers are invented. The clock is fixed at 2024-12-04 18:00 KST, the week the
desk wrote its process down, so every case reads as the seed tells it. Re-registration is
decided at the moment the bot handles it, so the demo meets §4 A where the desk did: a run on
12.2 reuses the November row, the 12.3 10:00 settlement job snapshots November, and the main
run on 12.4 makes B a new DB.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot import runner
from bot.app import App
from bot.report import print_fitted, render_text
from bot.reporting import run_report
from bot.runner import source_name
from bot.settlement import render_statement, statement_of, take
from bot.sheets.workbook import create_workbook
from rules.model import CellValue
from rules.text import width

LEAD_HEADERS = [
    "인입일↓", "통화예정일", "진행상황", "실패사유/비고", "고객명", "연락처", "예비번호",
    "이사예정일", "출발지", "도착지", "이사종류", "배정업체", "담당자", "메모(직원)",
]  # fmt: skip
OB_HEADERS = ["OB 날짜", "고객 연락처", "상세내용", "취소 사유", "담당 업체", "짐 양", "견적금액"]


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


# (case, row) — the case is written in the staff column 메모(직원) so the sheet explains itself.
LEADS: list[list[CellValue]] = [
    # §3 중복: one customer, one move, three inquiries -> the 12.2 rows close as 종결(중복)
    [_dt("2024-11-29 17:54"), _dt("2024-12-05"), "견적진행", "", "김민수", "010-2000-1001", "",
     _dt("2024-12-20"), "서울특별시 강남구 역삼동", "경기도 성남시 분당구", "가정이사", "한빛이사",
     "이지은", "§3 중복: 최초 문의"],
    [_dt("2024-12-02 15:13"), None, "", "업체 연락 지연 문의", "김민수", "010-2000-1001", "",
     _dt("2024-12-20"), "서울 강남구 역삼동", "경기 성남시 분당구", "가정이사", "", "이지은",
     "§3 중복: 같은 문의 재접수"],
    [_dt("2024-12-02 15:19"), None, "", "", "김민수", 1020001001, "", _dt("2024-12-20"),
     "서울 강남구", "경기 성남시 분당구", "가정이사", "", "이지은",
     "§3 중복: 연락처가 숫자로 저장됨(앞자리 0 없음)"],
    # §3 합가이사: same customer, different addresses -> both stay 계약완료
    [_dt("2024-11-25 10:00"), None, "계약완료", "합가이사 -> 동일 가맹점 배정 필요", "박서준",
     "010-2000-2002", "", _dt("2024-12-14"), "서울 마포구 합정동", "경기 고양시 일산동구",
     "합가이사", "한빛이사", "정해빈", "§3 합가이사: 두 건 모두 유지"],
    [_dt("2024-11-25 10:05"), None, "계약완료", "합가이사 -> 동일 가맹점 배정 필요", "박서준",
     "010-2000-2002", "", _dt("2024-12-14"), "서울 은평구 불광동", "경기 고양시 일산동구",
     "합가이사", "한빛이사", "정해빈", "§3 합가이사: 출발지가 다름"],
    # §3 여러 번호: the later number closes, both rows cross-noted
    [_dt("2024-12-01 11:00"), _dt("2024-12-05"), "견적진행", "=견적 재확인 필요", "이서연",
     "010-2000-3003", "", _dt("2025-01-11"), "인천 남동구", "인천 연수구", "원룸이사",
     "바른이사", "이지은", "§3 여러 번호: 최초 번호 (비고가 =로 시작)"],
    [_dt("2024-12-03 09:30"), None, "", "", "이서연", "010-2000-3004", "010-2000-3003",
     _dt("2025-01-11"), "인천광역시 남동구", "인천광역시 연수구", "원룸이사", "", "이지은",
     "§3 여러 번호: 다른 번호로 재문의"],
    # §2 장기: D-60 promotes, D-61 waits, a passed date and a 장기견적 outside 60–90 days
    [_dt("2024-10-01 14:00"), None, "장기요청", "", "최지우", "010-2000-4004", "", "2025. 2. 2",
     "부산 해운대구", "부산 수영구", "가정이사", "", "정해빈", "§2 장기요청: D-60 -> 상담요청"],
    [_dt("2024-11-10 10:00"), None, "장기요청", "", "한도윤", "010-2000-4005", "",
     _dt("2025-02-03"), "대구 수성구", "대구 중구", "가정이사", "", "정해빈",
     "§2 장기요청: D-61 -> 유지"],
    [_dt("2024-09-01 10:00"), None, "장기요청", "", "윤서아", "010-2000-4006", "",
     _dt("2024-11-30"), "광주광역시 북구", "광주 서구", "가정이사", "", "정해빈",
     "§2 장기요청: 이사일 지남"],
    [_dt("2024-12-02 10:00"), None, "장기견적", "", "강하준", "010-2000-4007", "",
     _dt("2025-01-10"), "울산 남구", "울산 동구", "가정이사", "바른이사", "정해빈",
     "§2 장기견적: 인입 후 39일 (60~90일 밖)"],
    # §4 재접수 A: November DB, re-registered before the 12.3 10:00 settlement -> reuse
    [_dt("2024-11-20 13:00"), None, "종결(고객취소)", "고객 변심", "오민재", "010-2000-5001", "",
     "12/28", "서울 송파구", "서울 강동구", "가정이사", "바른이사", "이지은",
     "§4 재접수 A: 11월 인입, 종결"],
    [_dt("2024-12-02 10:00"), None, "", "", "오민재", "010-2000-5001", "", _dt("2024-12-28"),
     "서울 송파구", "서울 강동구", "가정이사", "", "이지은", "§4 재접수 A: 12.2 재접수 (정산 전)"],
    # §4 재접수 B: after the settlement -> the new DB stays
    [_dt("2024-11-20 14:00"), None, "종결(연락두절)", "", "배수아", "010-2000-5002", "",
     _dt("2024-12-30"), "경기 수원시", "경기 용인시", "가정이사", "", "이지은",
     "§4 재접수 B: 11월 인입, 종결"],
    [_dt("2024-12-04 09:00"), None, "", "", "배수아", "010-2000-5002", "", _dt("2024-12-30"),
     "경기 수원시", "경기 용인시", "가정이사", "", "이지은", "§4 재접수 B: 12.4 재접수 (정산 후)"],
    # §4 재접수 C: an October DB -> always a new DB
    [_dt("2024-10-30 16:00"), None, "종결(이사미정)", "", "임시우", "010-2000-5003", "",
     _dt("2025-01-05"), "대전 서구", "대전 중구", "가정이사", "", "정해빈",
     "§4 재접수 C: 10월 인입, 종결"],
    [_dt("2024-12-02 11:00"), None, "", "", "임시우", "010-2000-5003", "", _dt("2025-01-05"),
     "대전 서구", "대전 중구", "가정이사", "", "정해빈", "§4 재접수 C: 12.2 재접수"],
    # §5 업체 반환: one with no OB call yet, one whose OB call found the reason
    ["2024. 12. 2 오후 3:19:00", None, "확인요청", "업체 : 고객 연락 안 됨", "조예린",
     "010-2000-6001", "", _dt("2024-12-21"), "서울 노원구", "서울 도봉구", "가정이사",
     "바른이사", "이지은", "§5 업체 반환: OB 미진행"],
    [_dt("2024-12-02 09:00"), _dt("2024-12-03"), "확인요청", "업체 : 타 업체 계약했다고 함", "신동민",
     "010-2000-6002", "", _dt("2024-12-22"), "서울 중랑구", "경기 구리시", "가정이사",
     "한빛이사", "정해빈", "§5 업체 반환: OB로 실 사유 확인"],
    # §6 고객 직접취소: no OB row; price reason without tons; price reason complete
    [_dt("2024-11-28 10:00"), None, "종결(고객취소)", "", "문하은", "010-2000-7001", "",
     _dt("2024-12-15"), "서울 동작구", "서울 관악구", "원룸이사", "", "이지은",
     "§6 고객취소: OB 상세 없음"],
    [_dt("2024-11-27 10:00"), None, "종결(고객취소)", "가격 때문에 취소", "서지호",
     "010-2000-7002", "", _dt("2024-12-16"), "경기 부천시", "인천 부평구", "가정이사",
     "한빛이사", "정해빈", "§6 고객취소: 비싼 가격, 짐 양 없음"],
    [_dt("2024-11-26 10:00"), None, "종결(고객취소)", "", "권나래", "010-2000-7003", "",
     _dt("2024-12-17"), "경기 안양시", "경기 군포시", "가정이사", "바른이사", "정해빈",
     "§6 고객취소: 비싼 가격, 짐 양·견적금액 있음"],
    # §1 진행상황: spelling, an unknown status, a phone typo, missing data, small moves
    [_dt("2024-12-03 10:00"), None, "종결 (번호오류)", "", "남궁민", "010-2000-8001", "",
     _dt("2024-12-26"), "경기 화성시", "경기 오산시", "가정이사", "", "이지은",
     "§1 진행상황 띄어쓰기"],
    [_dt("2024-12-03 11:00"), None, "종결(고객췌소)", "", "황보라", "010-2000-8002", "",
     _dt("2024-12-27"), "경기 광주시", "경기 하남시", "가정이사", "", "이지은",
     "§1 알 수 없는 진행상황"],
    [_dt("2024-12-04 10:00"), None, "상담요청", "", "송유진", "010-537-3426", "", "12월 20일",
     "서울 관악구", "", "소형이사", "", "정해빈", "§1 상담요청: 번호 10자리, 도착지 없음"],
    [_dt("2024-12-01 10:00"), None, "종결(단순문의)", "전화로 금액만 문의", "백승호",
     "010-2000-9002", "", _dt("2024-12-12"), "서울 성북구", "서울 강북구", "소형이사", "",
     "정해빈", "§1 소형이사는 단순문의 아님"],
    # §3 services: a cleaning-only inquiry of the same customer is not a duplicate
    [_dt("2024-12-02 12:00"), None, "청소문의", "입주청소만 문의", "김민수", "010-2000-1001", "",
     _dt("2024-12-19"), "경기 성남시 분당구", "", "입주청소", "", "이지은",
     "§3 청소문의는 이사 문의와 중복 아님"],
    # §3 같은 이름·이사: different numbers, reported only
    [_dt("2024-12-03 13:00"), None, "", "", "이도현", "010-2000-9101", "", _dt("2024-12-24"),
     "대전 서구 둔산동", "대전 유성구", "가정이사", "", "정해빈", "§3 이름·이사 같음 (번호 다름)"],
    [_dt("2024-12-04 08:00"), None, "", "", "이도현", "010-2000-9102", "", _dt("2024-12-24"),
     "대전 서구 둔산동", "대전 유성구", "가정이사", "", "정해빈", "§3 이름·이사 같음 (번호 다름)"],
    # §3 업체에 전달된 중복: the row nobody holds closes; of two vendors' rows the later closes
    # and staff are told to notify its vendor
    [_dt("2024-11-30 10:00"), None, "부재", "", "정우진", "010-2000-1301", "", _dt("2024-12-28"),
     "서울 서초구 반포동", "서울 용산구", "가정이사", "", "이지은",
     "§3 업체 전달 중복: 아무도 맡지 않은 최초 문의"],
    [_dt("2024-12-01 10:00"), None, "견적진행", "", "정우진", "010-2000-1301", "",
     _dt("2024-12-28"), "서울 서초구 반포동", "서울 용산구", "가정이사", "한빛이사", "이지은",
     "§3 업체 전달 중복: 한빛이사 견적 중 (유지)"],
    [_dt("2024-12-02 10:00"), None, "견적진행", "", "정우진", "010-2000-1301", "",
     _dt("2024-12-28"), "서울 서초구 반포동", "서울 용산구", "가정이사", "한결이사", "이지은",
     "§3 업체 전달 중복: 한결이사에도 전달됨 -> 업체 통보"],
    # §3 비고에 적힌 번호: the later row came from the husband's number
    [_dt("2024-12-01 14:00"), None, "견적진행", "남편 번호 010-2000-1303 으로도 문의함",
     "유하나", "010-2000-1302", "", _dt("2024-12-27"), "경기 수원시 영통구", "경기 화성시",
     "가정이사", "한빛이사", "정해빈", "§3 비고에 다른 번호"],
    [_dt("2024-12-03 16:00"), None, "", "", "김태호", "010-2000-1303", "", _dt("2024-12-27"),
     "경기 수원시 영통구", "경기 화성시", "가정이사", "", "정해빈",
     "§3 비고의 번호로 재문의 -> 예비번호 요청"],
    # §1 부재: three calls without an answer -> 종결(연락두절) 제안
    [_dt("2024-11-29 11:00"), None, "부재", "", "차민호", "010-2000-1304", "", _dt("2024-12-30"),
     "서울 관악구", "서울 동작구", "원룸이사", "", "이지은", "§1 부재 3회"],
    # §2 장기고객 업체 리스트: 장기견적 / 장기무료 / 장기요청 유지
    [_dt("2024-12-02 13:00"), None, "장기요청", "", "노은비", "010-2000-1305", "",
     _dt("2025-02-14"), "서울 강남구 역삼동", "서울 송파구", "가정이사", "", "정해빈",
     "§2 장기: 기존 영업지역 업체 있음 -> 장기견적"],
    [_dt("2024-12-02 13:30"), None, "장기요청", "", "엄지훈", "010-2000-1306", "",
     _dt("2025-02-14"), "경기 성남시 분당구", "경기 용인시", "가정이사", "", "정해빈",
     "§2 장기: 영업 외 지역 업체만 있음 -> 장기무료"],
    [_dt("2024-12-02 14:00"), None, "장기요청", "", "석다은", "010-2000-1307", "",
     _dt("2025-02-14"), "제주 제주시", "제주 서귀포시", "가정이사", "", "정해빈",
     "§2 장기: 맡을 업체 없음 -> 장기요청 유지"],
    # §6 가격 이상 업체: price cancellations with tons and quote; 한빛이사's 11.27 quote is
    # twice the usual price per ton (the report's outlier, the vendor to train)
    [_dt("2024-11-04 10:00"), None, "종결(고객취소)", "", "장서윤", "010-2000-7101", "",
     _dt("2024-12-07"), "경기 수원시 영통구", "경기 화성시", "가정이사", "든든이사", "정해빈",
     "§6 가격 취소: 톤당 40만원"],
    [_dt("2024-11-12 10:00"), None, "종결(고객취소)", "", "유하람", "010-2000-7102", "",
     _dt("2024-12-10"), "서울 강서구", "서울 양천구", "원룸이사", "온누리이사", "이지은",
     "§6 가격 취소: 톤당 45만원"],
    [_dt("2024-11-19 10:00"), None, "종결(고객취소)", "", "노지안", "010-2000-7103", "",
     _dt("2024-12-13"), "인천 부평구", "인천 서구", "가정이사", "바른이사", "이지은",
     "§6 가격 취소: 톤당 50만원"],
    [_dt("2024-11-26 11:00"), None, "종결(고객취소)", "", "엄태오", "010-2000-7104", "",
     _dt("2024-12-18"), "서울 송파구", "경기 하남시", "가정이사", "한빛이사", "정해빈",
     "§6 가격 이상: 톤당 100만원 (업체 교육 필요)"],
    [_dt("2024-11-28 14:00"), None, "종결(고객취소)", "", "채다인", "010-2000-7105", "",
     _dt("2024-12-19"), "경기 용인시", "경기 수원시", "가정이사", "든든이사", "이지은",
     "§6 가격 취소: 톤당 45만원"],
    # §5 업체 반환 in the report's week: one called back, one still waiting
    [_dt("2024-11-29 10:00"), None, "확인요청", "업체 : 한빛이사", "표은우", "010-2000-6003", "",
     _dt("2024-12-21"), "서울 강동구", "경기 남양주시", "가정이사", "한빛이사", "정해빈",
     "§5 업체 반환 (한빛이사): OB 완료"],
    [_dt("2024-11-30 15:00"), None, "확인요청", "업체 : 바른이사", "설지호", "010-2000-6004", "",
     _dt("2024-12-23"), "서울 구로구", "경기 광명시", "원룸이사", "바른이사", "이지은",
     "§5 업체 반환 (바른이사): OB 대기"],
    # 해피콜: moved 11.29, no call since
    [_dt("2024-11-10 10:00"), None, "계약완료", "", "인가온", "010-2000-7201", "",
     _dt("2024-11-29"), "서울 마포구", "서울 서대문구", "가정이사", "한빛이사", "정해빈",
     "해피콜: 이사 후 확인 전화 대상"],
]  # fmt: skip

OBS: list[list[CellValue]] = [
    [_dt("2024-12-02 16:02"), "010-2000-1001", "업체 연락 지연으로 인입, 업체 전달", "",
     "한빛이사", None, None],
    [_dt("2024-11-21"), "010-2000-5001", "이사 일정 미정으로 취소", "일정 변경", "바른이사", None,
     None],
    ["12.3", "010-2000-6002", "타 업체와 계약 완료 확인", "타 업체 계약", "한빛이사", None, None],
    [_dt("2024-11-28"), "010-2000-7002", "견적이 비싸다고 취소", "비싼 가격", "한빛이사", None,
     "120만원"],
    [_dt("2024-11-27"), "010-2000-7003", "가격 부담으로 취소, 2.5톤 150만원 안내받음",
     "비싼 가격", "바른이사", "2.5톤", "1,500,000"],
    [_dt("2024-12-03"), "010-2000-9999", "부재, 문자 남김", "", "", None, None],
    [_dt("2024-12-04"), None, "번호 없이 기록됨", "", "", None, None],
    [_dt("2024-12-01 10:00"), "010-2000-1304", "부재", "", "", None, None],
    [_dt("2024-12-02 15:00"), "010-2000-1304", "미응답, 문자 남김", "", "", None, None],
    [_dt("2024-12-04 10:00"), "010-2000-1304", "연결 안 됨", "", "", None, None],
    [_dt("2024-11-05"), "010-2000-7101", "견적 부담으로 취소", "비싼 가격", "든든이사", "3톤",
     "120만원"],
    [_dt("2024-11-13"), "010-2000-7102", "다른 곳보다 비싸다고 취소", "비싼 가격", "온누리이사",
     "2톤", "90만원"],
    [_dt("2024-11-20"), "010-2000-7103", "가격 때문에 취소", "가격", "바른이사", "4톤",
     "2,000,000"],
    [_dt("2024-11-27"), "010-2000-7104", "견적이 너무 비싸다고 취소", "비싼 가격", "한빛이사",
     "2.5톤", "250만원"],
    [_dt("2024-11-29"), "010-2000-7105", "견적 부담으로 취소", "비싼 가격", "든든이사", "3톤",
     "135만원"],
    [_dt("2024-11-30"), "010-2000-6003", "고객 확인: 일정 조율 중, 업체 재배정 요청", "",
     "한빛이사", None, None],
]  # fmt: skip

# §2 장기고객 업체 리스트: where each vendor takes long-term DBs.
VENDOR_HEADERS = ["업체명", "기존 영업지역", "영업 외 지역"]
VENDORS: list[list[CellValue]] = [
    ["한결이사", "서울 강남구, 서울 서초구", "서울 송파구"],
    ["바른이사", "인천 / 울산", "경기 성남시\n경기 용인시"],
    ["한빛이사", "서울 마포구, 서울 은평구, 경기 고양시", ""],
]


def write_demo_workbook(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    create_workbook(
        path,
        {
            "이사 관리자": [LEAD_HEADERS, *LEADS],
            "OB 상세": [OB_HEADERS, *OBS],
            "장기고객 업체 리스트": [VENDOR_HEADERS, *VENDORS],
        },
    )


BEFORE_SETTLEMENT = _dt("2024-12-02 18:00+09:00")  # §4 A: the 12.2 re-registration
SETTLEMENT = _dt("2024-12-03 10:00+09:00")  # November's cut-off


def run_demo(path: Path, app: App) -> int:
    """Write the demo workbook at `path` (`app`'s source); handle §4 A on 12.2 and take
    November's snapshot at its cut-off; then preview, apply and preview again at `app`'s
    clock, and state November."""
    settings = app.settings
    journal = settings.journal_path
    for old in (
        journal,
        journal.with_name(journal.name + "-wal"),
        journal.with_name(journal.name + "-shm"),
    ):
        old.unlink(missing_ok=True)  # it journaled the workbook this demo rewrites
    write_demo_workbook(path)
    now = app.clock()
    print_fitted(
        f"Wrote {path}: the desk's own cases, {len(LEADS)} leads, {len(OBS)} OB rows and "
        f"{len(VENDORS)} long-term vendors."
    )
    print(f"The clock is fixed at {now.isoformat()}.\n")
    print(f"== {BEFORE_SETTLEMENT:%m-%d %H:%M}: §4 A is handled before the settlement ==\n")
    early = runner.apply(
        settings,
        app.backend,
        app.journal,
        app.notifier,
        BEFORE_SETTLEMENT,
        only_rules=frozenset({"rereg.reuse"}),
    )
    print(render_text(early, str(path)))
    print(f"\n== {SETTLEMENT:%m-%d %H:%M}: the settlement job snapshots November ==\n")
    snapshot = take(
        settings,
        app.backend,
        app.journal,
        SETTLEMENT,
        None,
        source=source_name(settings),
    )
    print(f"{len(snapshot.rows)} November rows recorded as read at the cut-off.\n")
    print("== 1. Preview (nothing is written) ==\n")
    print(render_text(runner.preview(settings, app.backend, now), str(path)))
    print("\n== 2. Apply ==\n")
    applied = runner.apply(settings, app.backend, app.journal, app.notifier, now)
    print(render_text(applied, str(path)))
    print("\n== 3. A second run over the result ==\n")
    second = runner.preview(settings, app.backend, now)
    print(
        f"{len(second.plan.changes)} changes planned; {len(second.plan.findings)} findings stay open."
    )
    print("\n== November's statement (as of the 12.3 10:00 snapshot) ==\n")
    print(render_statement(statement_of(settings, app.backend, now, None, app.journal)))
    print()
    print_fitted(
        f"Open {path} to see the 진행상황, 비고, 예비번호 and 봇 확인 columns the bot wrote."
    )
    print("Then try (undo only shows what it would restore until you add --apply):")
    for command in (
        f"history --workbook {path}",
        f"undo {applied.run_id} --workbook {path}",
        f"digest --workbook {path} --now 2024-12-05T08:30",
        f"settlement 2024-11 --workbook {path} --now {now:%Y-%m-%dT%H:%M}",
    ):
        print(_command_lines(f".venv/bin/movebot {command}"))
    print("\n== 4. Last week's report ==\n")
    return run_report(settings, app.backend, now, journal=app.journal)


def _command_lines(command: str, columns: int = 80) -> str:
    """A command to type, indented; split before its options (`\\` continuing the line)
    where one line would not fit `columns`."""
    line, options = "  " + command, list[str]()
    while width(line) > columns and " --" in line:
        line, _, option = line.rpartition(" --")
        options.insert(0, "      --" + option)
    return " \\\n".join([line, *options])
