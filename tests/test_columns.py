"""Finding a tab's columns by header name (RULES.md §1): which column wins when several match."""

from __future__ import annotations

import pytest

from rules.columns import HeaderMismatch, find_columns

REQUIRED_LEADS = ["인입일", "진행상황", "실패사유/비고", "연락처"]


def leads(headers, extra=None):
    return find_columns("leads", "이사 관리자", 1, headers, extra)


def test_the_default_name_wins_over_an_alias_to_its_left():
    cols = leads(["인입일", "진행상황", "비고", "실패사유/비고", "연락처"])
    assert cols["remarks"] == 3
    cols = leads(["인입일시", "인입일", "진행상황", "실패사유/비고", "연락처"])
    assert cols["intake_at"] == 1


def test_an_alias_is_used_when_the_default_name_is_absent():
    cols = leads(["인입일시", "진행상황", "비고", "연락처"])
    assert cols["intake_at"] == 0 and cols["remarks"] == 2


def test_among_columns_with_the_same_name_the_leftmost_wins():
    cols = leads(["인입일", "진행상황", "실패사유/비고", "연락처", "실패사유 / 비고", "인입일 ↓"])
    assert cols["remarks"] == 2 and cols["intake_at"] == 0


def test_config_aliases_come_after_the_built_in_names_in_their_own_order():
    extra = {"remarks": ["메모", "특이사항"]}
    cols = leads(["특이사항", "메모", "인입일", "진행상황", "비고", "연락처"], extra)
    assert cols["remarks"] == 4  # the built-in alias 비고 beats the config's
    cols = leads(["특이사항", "메모", "인입일", "진행상황", "연락처"], extra)
    assert cols["remarks"] == 1  # 메모 is listed before 특이사항


def test_ob_and_bot_note_columns_are_found_as_before():
    cols = find_columns(
        "ob", "OB 상세", 1, ["OB 날짜", "고객 연락처", "상세내용", "봇 확인", "봇 확인"]
    )
    assert cols == {"ob_date": 0, "phone": 1, "detail": 2, "bot_note": 3}


def test_a_missing_required_header_names_its_default():
    with pytest.raises(HeaderMismatch, match="'실패사유/비고'"):
        leads(["인입일", "진행상황", "연락처"])
