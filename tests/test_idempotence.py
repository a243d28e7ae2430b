"""A second run over the first run's output plans zero changes (RULES.md "Order of a run"), on
desks drawn from small pools of the values the rules care about, so that repeat customers,
vendor-held duplicates, numbers in 비고, failed calls and long-term vendors meet often.

`MOVEBOT_FUZZ_EXAMPLES=20000 pytest tests/test_idempotence.py` runs it at length."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.values import STATUSES

from desk import applied, desk, lead, ob, run, vendor

PHONES = ["010-2000-0001", "010-2000-0002", "010-2000-0003", "010-2000-0004", "010-200-0005"]
pick = st.sampled_from

leads = st.fixed_dictionaries(
    {
        "intake_at": pick(["2024-10-30 16:00", "2024-11-20 13:00", "2024-12-01 10:00",
                           "2024-12-02 15:13", "2024-12-02 15:13", "2024-12-04 09:00", None]),
        "status": pick([*STATUSES, "", "", "", "종결 (중복)", "장기 요청"]),
        "remarks": pick(["", "", "업체 : 고객 연락 안 됨", f"남편 번호 {PHONES[1]} 으로도 문의함",
                         f"{PHONES[2]} 접수 내용 동일", "중복: 최초 접수 12.1 10:00 (견적진행)",
                         "중복: 최초 접수 12.1 10:00 (견적진행)\n업체 통보",
                         "중복: 최초 접수 12.1 10:00 (종결 전 견적진행)",
                         "중복: 업체 진행 중인 12.2 15:13 접수 유지 (종결 전 장기견적)\n업체 통보"]),
        "name": pick(["김민수", "박서준"]),
        "phone": pick(PHONES + [None]),
        "alt_phones": pick([None, None, PHONES[1], f"{PHONES[2]}, {PHONES[3]}"]),
        "move_date": pick(["2024-12-20", "2025-01-31", "2025-02-10", "2025-02-28", "미정", None]),
        "origin": pick(["서울 강남구 역삼동", "서울 강남구", "경기 성남시 분당구", "부산", ""]),
        "destination": pick(["경기 성남시 분당구", "서울 송파구", ""]),
        "move_type": pick(["가정이사", "소형이사", "입주청소"]),
        "vendor": pick(["", "", "한결이사", "한결 이사", "바른이사", "새벽이사"]),
    }
)  # fmt: skip
calls = st.fixed_dictionaries(
    {
        "ob_date": pick(["2024-11-21", "2024-12-01", "2024-12-02", "2024-12-03", "2024-12-04"]),
        "phone": pick(PHONES),
        "detail": pick(["부재", "미응답", "연결 안 됨", "고객 통화 완료", "타 업체와 계약"]),
        "cancel_reason": pick(["", "", "타 업체 계약", "비싼 가격", "연락 두절"]),
    }
)
vendor_lists = pick(
    [
        None,
        [vendor("한결이사", "서울 강남구, 서울 서초구", "경기 성남시")],
        [vendor("바른이사", "부산 / 경기", "서울"), vendor("한결이사", None, "서울 강남구")],
    ]
)


@settings(
    max_examples=int(os.environ.get("MOVEBOT_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(leads, min_size=1, max_size=6), st.lists(calls, max_size=5), vendor_lists)
def test_a_second_run_over_the_first_runs_output_plans_zero_changes(rows, obs, vendors):
    first = run(desk([lead(**r) for r in rows], [ob(**o) for o in obs], vendors))
    second = run(applied(first))
    assert second.plan.changes == ()
