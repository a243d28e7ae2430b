"""Reading the values the desk types: statuses, phones, dates, money, tons (RULES.md §3)."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.model import CellValue, Phone
from rules.values import (
    ACTIVE_STATUSES,
    CLOSED_STATUSES,
    STATUSES,
    DateText,
    canonical_status,
    cell_text,
    nearest_status,
    parse_money,
    parse_phone,
    parse_phones,
    parse_tons,
    phones_in_text,
    read_date,
    resolve_after,
    resolve_not_after,
)

# --------------------------------------------------------------------------------------------
# 진행상황


def test_the_desk_has_twenty_statuses_ten_active_ten_closed() -> None:
    assert len(ACTIVE_STATUSES) == 10
    assert len(CLOSED_STATUSES) == 10
    assert len(set(STATUSES)) == 20


@pytest.mark.parametrize("status", STATUSES)
def test_a_status_written_canonically_stays_as_it_is(status: str) -> None:
    assert canonical_status(status) == status


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("종결 (중복)", "종결(중복)"),
        ("종결(중 복)", "종결(중복)"),  # the seed's own example
        ("종결（고객취소）", "종결(고객취소)"),
        ("종결［기타］", "종결(기타)"),
        ("종결[번호오류]", "종결(번호오류)"),
        ("기타서비스", "기타 서비스"),
        ("기타  서비스", "기타 서비스"),
        (" 상담요청 ", "상담요청"),
        ("상담\u3000요청", "상담요청"),  # full-width space
        ("상담\xa0요청", "상담요청"),  # nbsp pasted from a web page
        ("\t장기요청\n", "장기요청"),
        ("수행 불가", "수행불가"),
    ],
)
def test_a_known_status_written_differently_gets_its_canonical_spelling(
    typed: str, canonical: str
) -> None:
    assert canonical_status(typed) == canonical


@pytest.mark.parametrize("typed", ["", "   ", "\u3000"])
def test_an_empty_status_is_an_unclassified_inquiry(typed: str) -> None:
    assert canonical_status(typed) == ""


@pytest.mark.parametrize("typed", ["아무거나", "종결", "종결(고객췌소)", "상담", "종결중복", "xyz"])
def test_a_status_that_is_no_known_one_is_none(typed: str) -> None:
    assert canonical_status(typed) is None


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("종결(고객췌소)", "종결(고객취소)"),
        ("상담", "상담요청"),
        ("종결중복", "종결(중복)"),
        ("종결(연락 두절", "종결(연락두절)"),
        ("견적 진행중", "견적진행"),
        ("종결 (중복)", "종결(중복)"),  # a known status written differently is its own nearest
        ("상담요청", "상담요청"),
    ],
)
def test_an_unknown_status_gets_the_nearest_known_one_as_suggestion(
    typed: str, nearest: str
) -> None:
    assert nearest_status(typed) == nearest


@pytest.mark.parametrize("typed", ["xyz", "", "   ", "아무거나 적은 메모입니다"])
def test_an_unknown_status_far_from_every_known_one_gets_no_suggestion(typed: str) -> None:
    assert nearest_status(typed) is None


# --------------------------------------------------------------------------------------------
# Cell text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("그대로 ", "그대로 "),  # text is never stripped
        (True, "TRUE"),
        (False, "FALSE"),
        (1053734269, "1053734269"),
        (1053734269.0, "1053734269"),  # a phone number cell never shows ".0"
        (0, "0"),
        (-3, "-3"),
        (2.5, "2.5"),
        (0.1 + 0.2, "0.3"),
        (1e20, "1e+20"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (datetime(2024, 12, 2, 15, 19), "2024-12-02 15:19"),
        (datetime(2024, 12, 2, 15, 19, 5), "2024-12-02 15:19:05"),
        (datetime(2024, 12, 2), "2024-12-02 00:00"),
        (date(2024, 12, 2), "2024-12-02"),
    ],
)
def test_a_cell_reads_as_the_text_a_person_sees(value: CellValue, text: str) -> None:
    assert cell_text(value) == text


# --------------------------------------------------------------------------------------------
# 연락처


def test_a_mobile_number_gets_its_e164_key_and_the_desks_display() -> None:
    assert parse_phone("010-5373-4269") == Phone(
        text="010-5373-4269", key="+821053734269", display="010-5373-4269", problem=None
    )


@pytest.mark.parametrize("cell", [1053734269, 1053734269.0])
def test_a_phone_cell_stored_as_a_number_gets_its_leading_zero_back(cell: int | float) -> None:
    phone = parse_phone(cell)
    assert phone == Phone(
        text="1053734269", key="+821053734269", display="010-5373-4269", problem=None
    )


def test_a_number_cell_and_the_typed_number_are_the_same_customer() -> None:
    typed = parse_phone("010-5373-4269")
    number = parse_phone(1053734269)
    assert typed is not None and number is not None
    assert typed.key == number.key == "+821053734269"


@pytest.mark.parametrize(
    "typed",
    [
        "01053734269",
        "010 5373 4269",
        "010.5373.4269",
        "010-5373-4269.",
        "(010) 5373-4269",
        "0105-373-4269",
        "+82 10-5373-4269",
        "+82-10-5373-4269",
        "+821053734269",
        "+82 (0)10-5373-4269",
        "82-10-5373-4269",
        "0082-10-5373-4269",
        "1053734269",  # a number cell copied as text
        "０１０－５３７３－４２６９",  # full-width
        " 010-5373-4269 ",
        "010–5373–4269",  # en dash
    ],
)
def test_one_mobile_number_written_many_ways_has_one_key(typed: str) -> None:
    phone = parse_phone(typed)
    assert phone is not None
    assert phone.text == typed
    assert phone.key == "+821053734269"
    assert phone.display == "010-5373-4269"
    assert phone.problem is None


def test_a_ten_digit_010_number_is_a_suspected_typo_even_if_phonenumbers_accepts_it() -> None:
    assert phonenumbers.is_valid_number(phonenumbers.parse("010-537-3426", "KR"))
    assert parse_phone("010-537-3426") == Phone(
        text="010-537-3426",
        key=None,
        display="010-537-3426",
        problem="010 번호 자릿수 오류: 10자리",
    )


def test_a_ten_digit_010_number_in_a_number_cell_is_a_suspected_typo_too() -> None:
    phone = parse_phone(105373426)
    assert phone is not None
    assert phone.key is None
    assert phone.problem == "010 번호 자릿수 오류: 10자리"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("010-5373-42690", "010 번호 자릿수 오류: 12자리"),
        ("010-5373-426900", "010 번호 자릿수 오류: 13자리"),
        ("010-5373", "010 번호 자릿수 오류: 7자리"),
    ],
)
def test_an_010_number_without_eleven_digits_links_nothing(typed: str, problem: str) -> None:
    phone = parse_phone(typed)
    assert phone is not None
    assert phone.key is None
    assert phone.problem == problem


@pytest.mark.parametrize(
    ("typed", "key", "display"),
    [
        ("0505-1234-5678", "+8250512345678", "0505-1234-5678"),
        ("050512345678", "+8250512345678", "0505-1234-5678"),
        ("0504-123-4567", "+825041234567", "0504-123-4567"),
        ("0507-1234-5678", "+8250712345678", "0507-1234-5678"),
    ],
)
def test_a_safe_number_is_a_valid_phone(typed: str, key: str, display: str) -> None:
    assert parse_phone(typed) == Phone(text=typed, key=key, display=display, problem=None)


@pytest.mark.parametrize(
    ("typed", "key", "display"),
    [
        ("02-1234-5678", "+82212345678", "02-1234-5678"),
        ("02-123-4567", "+8221234567", "02-123-4567"),
        ("(02) 1234-5678", "+82212345678", "02-1234-5678"),
        ("031-123-4567", "+82311234567", "031-123-4567"),
        ("031-1234-5678", "+823112345678", "031-1234-5678"),
        ("051-123-4567", "+82511234567", "051-123-4567"),
        ("070-1234-5678", "+827012345678", "070-1234-5678"),
        ("1588-1234", "+8215881234", "1588-1234"),
        ("080-123-4567", "+82801234567", "080-123-4567"),
    ],
)
def test_landlines_070_and_service_numbers_are_valid_phones(
    typed: str, key: str, display: str
) -> None:
    assert parse_phone(typed) == Phone(text=typed, key=key, display=display, problem=None)


def test_a_seoul_landline_in_a_number_cell_gets_its_leading_zero_back() -> None:
    phone = parse_phone(212345678)
    assert phone is not None
    assert (phone.key, phone.display) == ("+82212345678", "02-1234-5678")


def test_a_number_typed_with_plus_82_in_the_sheet_becomes_a_number_cell_and_still_reads() -> None:
    phone = parse_phone(821053734269)
    assert phone is not None
    assert phone.key == "+821053734269"


@pytest.mark.parametrize("typed", ["099-123-4567", "02-0123-4567", "070-123-456"])
def test_a_number_phonenumbers_calls_invalid_links_nothing(typed: str) -> None:
    phone = parse_phone(typed)
    assert phone is not None
    assert phone.key is None
    assert phone.problem == "유효하지 않은 번호"


@pytest.mark.parametrize("typed", ["1234", "02-123", "5373-4269", "0", 1234])
def test_too_few_digits_is_a_number_with_a_part_missing(typed: str | int) -> None:
    phone = parse_phone(typed)
    assert phone is not None
    assert phone.key is None
    assert phone.problem == "번호 일부 누락"
    assert phone.display == str(typed).replace("-", "")


@pytest.mark.parametrize(
    "typed", ["없음", "모름", "abc", "확인중", "-", "010-1234-5678(본인)", "010-****-4269", "."]
)
def test_text_that_is_no_phone_at_all_is_unreadable(typed: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        parse_phone(typed)


@pytest.mark.parametrize("cell", [True, 2.5, -1053734269, float("nan"), datetime(2024, 12, 2)])
def test_a_cell_of_the_wrong_kind_is_no_phone(cell: CellValue) -> None:
    with pytest.raises(ValueError):
        parse_phone(cell)


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000"])
def test_an_empty_phone_cell_is_no_phone(cell: str | None) -> None:
    assert parse_phone(cell) is None


def test_a_foreign_number_with_its_country_code_is_a_valid_phone() -> None:
    phone = parse_phone("+1 650-253-0000")
    assert phone is not None
    assert phone.key == "+16502530000"
    assert phone.problem is None


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_010_number_gets_the_key_phonenumbers_gives(rest: str) -> None:
    national = "010" + rest
    number = phonenumbers.parse(national, "KR")
    expected = (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number)
        else None
    )
    typed = parse_phone(f"010-{rest[:4]}-{rest[4:]}")
    as_number = parse_phone(int(national))
    assert typed is not None and as_number is not None
    assert typed.key == as_number.key == expected
    assert typed.display == f"010-{rest[:4]}-{rest[4:]}"


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(["02", "031", "032", "042", "051", "055", "064", "070", "0505", "0504"]),
    st.text(alphabet="0123456789", min_size=7, max_size=8),
)
def test_every_landline_gets_the_key_phonenumbers_gives(prefix: str, rest: str) -> None:
    national = prefix + rest
    number = phonenumbers.parse(national, "KR")
    valid = phonenumbers.is_valid_number(number)
    phone = parse_phone(national)
    assert phone is not None
    if valid:
        assert phone.key == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert phone.problem is None
        assert phone.display.replace("-", "") == national
    else:
        assert phone.key is None
        assert phone.problem is not None


# --------------------------------------------------------------------------------------------
# 예비번호


def _keys(value: CellValue) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    phones, unreadable = parse_phones(value)
    return tuple(p.key for p in phones), unreadable


@pytest.mark.parametrize("cell", [None, "", "  ", "\n"])
def test_an_empty_alt_phone_cell_holds_no_phones(cell: str | None) -> None:
    assert parse_phones(cell) == ((), ())


def test_alt_phones_separated_by_comma_slash_semicolon_newline_and_middle_dot() -> None:
    cell = "010-1111-2222, 010-3333-4444 / 02-123-4567; 031-123-4567\n070-1234-5678·0505-1234-5678"
    assert _keys(cell) == (
        (
            "+821011112222",
            "+821033334444",
            "+8221234567",
            "+82311234567",
            "+827012345678",
            "+8250512345678",
        ),
        (),
    )


def test_an_alt_phone_cell_stored_as_a_number_is_one_phone() -> None:
    phones, unreadable = parse_phones(1053734269)
    assert [p.key for p in phones] == ["+821053734269"]
    assert phones[0].text == "1053734269"
    assert unreadable == ()


def test_the_seeds_labelled_alt_phone_is_read() -> None:
    phones, unreadable = parse_phones("예비번호: 010-5373-4269")
    assert phones == (
        Phone(
            text="예비번호: 010-5373-4269",
            key="+821053734269",
            display="010-5373-4269",
            problem=None,
        ),
    )
    assert unreadable == ()


@pytest.mark.parametrize(
    "cell",
    [
        "010-1234-5678(배우자)",
        "010-1234-5678 (배우자)",
        "(배우자) 010-1234-5678",
        "배우자: 010-1234-5678",
        "배우자：010-1234-5678",
        "딸 : 010-1234-5678 (낮에만)",
    ],
)
def test_a_label_or_a_bracketed_note_around_an_alt_phone_is_dropped(cell: str) -> None:
    phones, unreadable = parse_phones(cell)
    assert [p.key for p in phones] == ["+821012345678"]
    assert phones[0].text == cell.strip()
    assert unreadable == ()


def test_text_in_alt_phones_that_is_no_phone_is_returned_as_unreadable() -> None:
    assert _keys("010-1111-2222, 없음, 배우자 010-3333-4444") == (
        ("+821011112222",),
        ("없음", "배우자 010-3333-4444"),
    )


def test_a_suspected_typo_in_alt_phones_is_a_phone_with_a_problem() -> None:
    phones, unreadable = parse_phones("010-537-3426 / 010-1111-2222")
    assert [(p.key, p.problem) for p in phones] == [
        (None, "010 번호 자릿수 오류: 10자리"),
        ("+821011112222", None),
    ]
    assert unreadable == ()


def test_a_middle_dot_inside_one_number_does_not_split_it() -> None:
    phones, unreadable = parse_phones("010·1234·5678")
    assert [(p.key, p.text) for p in phones] == [("+821012345678", "010·1234·5678")]
    assert unreadable == ()


def test_two_numbers_written_side_by_side_are_two_phones() -> None:
    assert _keys("010-1111-2222 010-3333-4444") == (("+821011112222", "+821033334444"), ())


def test_a_date_in_the_alt_phone_cell_is_unreadable() -> None:
    assert parse_phones(date(2024, 12, 2)) == ((), ("2024-12-02",))


# --------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-12-02", DateText(2024, 12, 2)),
        ("2024-12-02 15:19", DateText(2024, 12, 2, time(15, 19))),
        ("2024-12-02 15:19:00", DateText(2024, 12, 2, time(15, 19))),
        ("2024-12-02 15:19:07", DateText(2024, 12, 2, time(15, 19, 7))),
        ("2024-12-02T15:19:00", DateText(2024, 12, 2, time(15, 19))),
        ("2024-12-02T15:19:00.250", DateText(2024, 12, 2, time(15, 19))),
        ("2024/12/02", DateText(2024, 12, 2)),
        ("2024. 12. 2", DateText(2024, 12, 2)),
        ("2024. 12. 2.", DateText(2024, 12, 2)),
        ("2024. 12. 2 오후 3:19:00", DateText(2024, 12, 2, time(15, 19))),
        ("2024. 12. 2 오전 9:05:00", DateText(2024, 12, 2, time(9, 5))),
        ("2024. 12. 2 오후 12:30:00", DateText(2024, 12, 2, time(12, 30))),  # noon
        ("2024. 12. 2 오전 12:30:00", DateText(2024, 12, 2, time(0, 30))),  # after midnight
        ("2024.12.02 15:19", DateText(2024, 12, 2, time(15, 19))),
        ("24.12.03", DateText(2024, 12, 3)),  # the seed's 작성일
        ("24. 12. 3.", DateText(2024, 12, 3)),
        ("20241203", DateText(2024, 12, 3)),
        ("2024년 12월 2일", DateText(2024, 12, 2)),
        ("2024년12월2일", DateText(2024, 12, 2)),
        ("12.2", DateText(None, 12, 2)),
        ("12.2.", DateText(None, 12, 2)),
        ("12/2", DateText(None, 12, 2)),
        ("1.3", DateText(None, 1, 3)),
        ("12월 2일", DateText(None, 12, 2)),
        ("12월2일", DateText(None, 12, 2)),
        ("12월 2일 오후 3시", DateText(None, 12, 2, time(15, 0))),
        ("12월 2일 오전 12시", DateText(None, 12, 2, time(0, 0))),  # midnight
        ("12월 2일 오후 12시", DateText(None, 12, 2, time(12, 0))),  # noon
        ("12.2 3시 30분", DateText(None, 12, 2, time(3, 30))),
        ("12.2 오후 3시 반", DateText(None, 12, 2, time(15, 30))),
        ("12.2 오후 3:19", DateText(None, 12, 2, time(15, 19))),
        ("12.2 15:19", DateText(None, 12, 2, time(15, 19))),
        ("12. 2. 15:19", DateText(None, 12, 2, time(15, 19))),
        ("12.2 3 PM", DateText(None, 12, 2, time(15, 0))),
        ("12.2(월)", DateText(None, 12, 2)),
        ("12/2 (월) 15:00", DateText(None, 12, 2, time(15, 0))),
        ("12월 3일 화요일", DateText(None, 12, 3)),
        ("2024-12-02(월) 15:19", DateText(2024, 12, 2, time(15, 19))),
        ("2월 29일", DateText(None, 2, 29)),  # no year: a leap day may be meant
        ("2024-02-29", DateText(2024, 2, 29)),
        (" 2024-12-02 ", DateText(2024, 12, 2)),
        ("２０２４－１２－０２", DateText(2024, 12, 2)),
    ],
)
def test_dates_as_staff_type_them(typed: str, expected: DateText) -> None:
    assert read_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "미정",
        "12-2",  # a range or a code, not a date
        "13.40",
        "2월 30일",
        "4월 31일",
        "2023-02-29",
        "2024-00-10",
        "12.2 25:00",
        "12.2 15",
        "12.2 15:61",
        "12.2 오전 13시",
        "오후 3시",
        "12월 초",
        "12/2~12/5",
        "다음주",
        "0000-12-02",
    ],
)
def test_text_that_is_no_date_is_unreadable(typed: str) -> None:
    with pytest.raises(ValueError):
        read_date(typed)


def test_an_undecided_move_date_is_unreadable_so_the_caller_can_tell_it_apart() -> None:
    with pytest.raises(ValueError, match="not a date"):
        read_date("미정")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (45628, DateText(2024, 12, 2)),
        (45628.0, DateText(2024, 12, 2)),
        (45628.5, DateText(2024, 12, 2, time(12, 0))),
        (45628 + (15 * 60 + 19) / 1440, DateText(2024, 12, 2, time(15, 19))),
        (45628.99999999, DateText(2024, 12, 3)),  # rounds to the next midnight
        (20241203, DateText(2024, 12, 3)),
        (20241203.0, DateText(2024, 12, 3)),
    ],
)
def test_sheet_serial_numbers_and_yyyymmdd_numbers_are_dates(
    cell: int | float, expected: DateText
) -> None:
    assert read_date(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [0, 5, 19999, 80000, 20241340, 1e300, -45628, float("nan"), float("inf"), 10**40, True],
)
def test_numbers_that_are_no_date_are_unreadable(cell: int | float) -> None:
    with pytest.raises(ValueError):
        read_date(cell)


def test_a_datetime_cell_keeps_its_time() -> None:
    assert read_date(datetime(2024, 12, 2, 15, 19)) == DateText(2024, 12, 2, time(15, 19))


def test_a_datetime_cell_at_midnight_has_no_time() -> None:
    assert read_date(datetime(2024, 12, 2)) == DateText(2024, 12, 2, None)


def test_a_date_cell_has_no_time() -> None:
    assert read_date(date(2024, 12, 2)) == DateText(2024, 12, 2, None)


def test_a_time_typed_as_midnight_is_kept() -> None:
    assert read_date("2024-12-02 00:00") == DateText(2024, 12, 2, time(0, 0))


@pytest.mark.parametrize("cell", [None])
def test_an_empty_date_cell_is_unreadable(cell: None) -> None:
    with pytest.raises(ValueError, match="empty"):
        read_date(cell)


# --------------------------------------------------------------------------------------------
# Years for dates typed without one


@pytest.mark.parametrize(
    ("intake", "typed", "move"),
    [
        (date(2024, 12, 28), "1.3", datetime(2025, 1, 3)),  # across new year
        (date(2024, 12, 2), "11.30", datetime(2024, 11, 30)),  # 2 days before intake
        (date(2024, 12, 2), "11.25", datetime(2024, 11, 25)),  # exactly 7 days before
        (date(2024, 12, 2), "11.24", datetime(2025, 11, 24)),  # 8 days before: next year
        (date(2024, 12, 2), "11.20", datetime(2025, 11, 20)),
        (date(2024, 12, 2), "12.2", datetime(2024, 12, 2)),
        (date(2024, 12, 2), "2.1", datetime(2025, 2, 1)),
        (date(2025, 1, 3), "12.30", datetime(2024, 12, 30)),  # a move just before new year
        (date(2025, 1, 3), "12.20", datetime(2025, 12, 20)),
        (date(2024, 12, 2), "12월 20일 오후 3시", datetime(2024, 12, 20, 15, 0)),
        (date(2024, 12, 2), "2023-05-01", datetime(2023, 5, 1)),  # a year typed is kept
    ],
)
def test_a_move_date_without_a_year_is_at_most_a_week_before_intake(
    intake: date, typed: str, move: datetime
) -> None:
    assert resolve_after(read_date(typed), intake) == move


def test_a_move_on_a_leap_day_without_a_year_takes_the_next_leap_year() -> None:
    assert resolve_after(DateText(None, 2, 29), date(2025, 3, 10)) == datetime(2028, 2, 29)
    assert resolve_after(DateText(None, 2, 29), date(2024, 2, 20)) == datetime(2024, 2, 29)


def test_the_slack_for_a_move_date_is_configurable() -> None:
    assert resolve_after(DateText(None, 11, 30), date(2024, 12, 2), slack_days=0) == datetime(
        2025, 11, 30
    )


def test_a_move_date_anchor_given_as_a_datetime_counts_by_its_day() -> None:
    anchor = datetime(2024, 12, 2, 15, 19)
    assert resolve_after(DateText(None, 11, 30), anchor) == datetime(2024, 11, 30)


@pytest.mark.parametrize(
    ("today", "typed", "intake"),
    [
        (date(2024, 12, 3), "12.5", datetime(2023, 12, 5)),  # not after today
        (date(2024, 12, 3), "12.3", datetime(2024, 12, 3)),  # today itself
        (date(2024, 12, 3), "12.2 15:19", datetime(2024, 12, 2, 15, 19)),
        (date(2025, 1, 2), "12.30", datetime(2024, 12, 30)),  # across new year
        (date(2025, 1, 2), "1.2", datetime(2025, 1, 2)),
        (date(2024, 12, 3), "2025-01-05", datetime(2025, 1, 5)),  # a year typed is kept
    ],
)
def test_an_intake_or_ob_date_without_a_year_is_not_after_today(
    today: date, typed: str, intake: datetime
) -> None:
    assert resolve_not_after(read_date(typed), today) == intake


def test_an_intake_on_a_leap_day_without_a_year_takes_the_last_leap_year() -> None:
    assert resolve_not_after(DateText(None, 2, 29), date(2027, 3, 1)) == datetime(2024, 2, 29)


# --------------------------------------------------------------------------------------------
# 견적금액


@pytest.mark.parametrize(
    ("cell", "won"),
    [
        (1200000, 1200000),
        (1200000.0, 1200000),
        (0, 0),
        ("1,200,000", 1200000),
        ("1200000", 1200000),
        ("1200000.0", 1200000),
        ("1,200,000원", 1200000),
        ("1,200,000 원", 1200000),
        ("120만원", 1200000),
        ("120만", 1200000),
        ("120 만원", 1200000),
        ("120만 원", 1200000),
        ("1.5만", 15000),
        ("1억 2천만", 120000000),
        ("1억2천만원", 120000000),
        ("120만 5천원", 1205000),
        ("3천", 3000),
        ("만원", 10000),
        ("₩1,200,000", 1200000),
        ("￦1,200,000", 1200000),
        ("약 120만원", 1200000),
        ("120만원 (VAT 별도)", 1200000),
        (" 120만원 ", 1200000),
    ],
)
def test_money_as_staff_type_it(cell: int | float | str, won: int) -> None:
    assert parse_money(cell) == won


@pytest.mark.parametrize(
    "cell",
    [
        "비쌈",
        "",
        "   ",
        None,
        "-5000",
        -5,
        "1,2",
        "만만",
        "120만~150만",
        "만억",
        float("nan"),
        float("inf"),
        True,
        date(2024, 12, 2),
    ],
)
def test_text_that_is_no_amount_is_unreadable(cell: CellValue) -> None:
    with pytest.raises(ValueError):
        parse_money(cell)


# --------------------------------------------------------------------------------------------
# 짐 양


@pytest.mark.parametrize(
    ("cell", "tons"),
    [
        (2.5, 2.5),
        (3, 3.0),
        ("2.5", 2.5),
        ("2.5톤", 2.5),
        ("2.5t", 2.5),
        ("2.5T", 2.5),
        ("2.5 톤", 2.5),
        ("2.5 ton", 2.5),
        ("약 2.5톤", 2.5),
        ("대략 3톤", 3.0),
        ("1톤 반", 1.5),
        ("1톤반", 1.5),
        ("반톤", 0.5),
        ("3톤 정도", 3.0),
        ("２.５톤", 2.5),
    ],
)
def test_tons_as_staff_type_them(cell: float | str, tons: float) -> None:
    assert parse_tons(cell) == tons


@pytest.mark.parametrize(
    "cell",
    ["", "많음", "t", "톤", "2.5kg", "2.5반", None, -1, float("nan"), float("inf"), 10**400, True],
)
def test_text_that_is_no_number_of_tons_is_unreadable(cell: CellValue) -> None:
    with pytest.raises(ValueError):
        parse_tons(cell)


# --------------------------------------------------------------------------------------------
# Properties: no cell ever crashes a reader


_CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.text(),
    st.text(alphabet="0123456789 -./:()+,년월일시분오전후반만원억천톤t약\n·"),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1e12),
    st.datetimes(),
    st.dates(),
)


@settings(max_examples=500, deadline=None, database=None)
@given(_CELLS)
def test_a_reader_never_fails_with_anything_but_valueerror(cell: CellValue) -> None:
    for reader in (read_date, parse_phone, parse_money, parse_tons):
        with contextlib.suppress(ValueError):
            reader(cell)


@settings(max_examples=500, deadline=None, database=None)
@given(_CELLS)
def test_the_alt_phone_reader_and_cell_text_never_fail(cell: CellValue) -> None:
    phones, unreadable = parse_phones(cell)
    assert all(isinstance(p, Phone) for p in phones)
    assert all(isinstance(u, str) and u for u in unreadable)
    assert isinstance(cell_text(cell), str)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_status_readers_never_fail(text: str) -> None:
    canonical = canonical_status(text)
    assert canonical is None or canonical == "" or canonical in STATUSES
    nearest = nearest_status(text)
    assert nearest is None or nearest in STATUSES


@settings(deadline=None, database=None)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)))
def test_a_datetime_written_out_reads_back_as_the_same_day_and_minute(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    read = read_date(cell_text(moment))
    assert (read.year, read.month, read.day) == (moment.year, moment.month, moment.day)
    assert read.time == moment.time()


@settings(deadline=None, database=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_an_amount_written_with_commas_and_won_reads_back(won: int) -> None:
    assert parse_money(f"{won:,}원") == won
    assert parse_money(won) == won


@settings(deadline=None, database=None)
@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2998, 12, 31)))
def test_a_date_without_a_year_resolves_into_its_window(day: date) -> None:
    for anchor in (date(2024, 12, 2), date(2025, 2, 28), date(2028, 3, 1)):
        moved = resolve_after(DateText(None, day.month, day.day), anchor).date()
        assert (moved.month, moved.day) == (day.month, day.day)
        assert (moved - anchor).days >= -7
        taken = resolve_not_after(DateText(None, day.month, day.day), anchor).date()
        assert (taken.month, taken.day) == (day.month, day.day)
        assert taken <= anchor


def _matcher_phones(text: str) -> list[str]:
    """What PhoneNumberMatcher (region KR) finds in `text`, each as parse_phone shows it."""
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "KR"):
        with contextlib.suppress(ValueError):
            phone = parse_phone(match.raw_string)
            if phone is not None:
                found.append(phone.display)
    return found


_NOTE_PARTS = (
    "010-7578-2764 접수 내용 동일",
    "중복: 최초 접수 3.22 20:23",
    "3.30 OB 고객 통화 완료",
    "남편 번호 010-5772-1566 으로도 문의함",
    "010-1234-5678",
    "010-5970-1234 접수 내용 동일",  # no valid mobile: the matcher skips it
    "010-1234-5678 ext. 12",
    "x010-1234-5678 접수",
    "010-1234-5678 (남편)",
    "010-1234-5678 1234",
    "010-1234-56789 접수",
    "02-123-4567 사무실",
    "피아노 있음",
    "",
)


@pytest.mark.parametrize("text", [*_NOTE_PARTS, "\n".join(_NOTE_PARTS)])
def test_phones_in_text_finds_what_the_matcher_finds(text: str) -> None:
    assert [p.display for p in phones_in_text(text)] == _matcher_phones(text)


@pytest.mark.parametrize(
    "staff", ["남편 010 - 5772 - 1566", "딸 010–3344–5566", "사무실 031166", "(02)/(123)/(4567)"]
)
def test_a_bot_line_does_not_hide_a_number_staff_typed_in_another_form(staff: str) -> None:
    """A 비고 holding the bot's duplicate line was read whole by the matcher before the fast
    path: a number staff typed with spaced hyphens, en dashes or six digits is still found."""
    text = f"010-7578-2764 접수 내용 동일\n{staff}"
    assert [p.display for p in phones_in_text(text)] == _matcher_phones(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_NOTE_PARTS), max_size=5), st.sampled_from(("\n", " ", ", ")))
def test_phones_in_text_on_any_note_the_bot_or_staff_write(parts: list[str], sep: str) -> None:
    """The bot's own duplicate lines are read without the matcher (it is slow); a 비고 mixing
    them with anything else reads exactly as the matcher reads it."""
    text = sep.join(parts)
    assert [p.display for p in phones_in_text(text)] == _matcher_phones(text)
