"""Reading the values staff type: phones, dates, money, tons, and status spelling (RULES.md §3).

Pure functions. A reader raises `ValueError` with a short English reason when the text is not
a value of its kind; the caller turns that into a `value.unparseable` finding. Readers are
called once per cell on sheets of 100k rows, so patterns are compiled once, here.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers.phonenumberutil import _VALID_PUNCTUATION  # the matcher's own

from rules.model import CellValue, Phone

# The desk's time: every date on the sheet is a KST wall-clock time; `now` is read in KST.
KST = ZoneInfo("Asia/Seoul")

ACTIVE_STATUSES: tuple[str, ...] = (
    "상담요청", "견적진행", "청소문의", "확인요청", "계약완료",
    "부재", "장기견적", "장기무료", "장기요청", "기타 서비스",
)  # fmt: skip
CLOSED_STATUSES: tuple[str, ...] = (
    "수행불가", "종결(일정)", "종결(지역)", "종결(중복)", "종결(번호오류)", "종결(고객취소)",
    "종결(연락두절)", "종결(단순문의)", "종결(이사미정)", "종결(기타)",
)  # fmt: skip
STATUSES: tuple[str, ...] = ACTIVE_STATUSES + CLOSED_STATUSES

# ---------------------------------------------------------------------------------------------
# Statuses

# Every whitespace character (str.isspace: nbsp, full-width space, ...) and the zero-width
# characters that copy-paste leaves behind are dropped; bracket variants become ( ).
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_STATUS_TABLE: dict[int, int | None] = {c: None for c in range(0x3001) if chr(c).isspace()}
_STATUS_TABLE |= {ord(c): None for c in _ZERO_WIDTH}
_STATUS_TABLE |= {ord(c): ord("(") for c in "（[［【〔{｛"}
_STATUS_TABLE |= {ord(c): ord(")") for c in "）]］】〕}｝"}


def _status_key(text: str) -> str:
    return text.translate(_STATUS_TABLE)


_STATUS_BY_KEY: dict[str, str] = {_status_key(s): s for s in STATUSES}


@lru_cache(maxsize=4096)
def canonical_status(text: str) -> str | None:
    """The canonical spelling of a known status written differently, `text` itself when it is
    already canonical, "" for empty, None when it is no known status."""
    key = _status_key(text)
    if not key:
        return ""
    return _STATUS_BY_KEY.get(key)


@lru_cache(maxsize=4096)
def nearest_status(text: str) -> str | None:
    """The known status most similar to `text` when similarity >= 0.5, else None."""
    key = _status_key(text)
    if not key:
        return None
    known = _STATUS_BY_KEY.get(key)
    if known is not None:
        return known
    best: str | None = None
    best_ratio = 0.5
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(key)
    for status_key, status in _STATUS_BY_KEY.items():
        matcher.set_seq1(status_key)
        ratio = matcher.ratio()
        if ratio > best_ratio or (best is None and ratio >= best_ratio):
            best, best_ratio = status, ratio
    return best


# ---------------------------------------------------------------------------------------------
# Cell text


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return f"{value:.15g}"


def cell_text(value: CellValue) -> str:
    """A cell as the text a person sees (numbers without a trailing .0, dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        if value.second or value.microsecond:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _normalize_text(text: str) -> str:
    """Full-width digits and punctuation to ASCII; Hangul is left as it is."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _integral(value: int | float) -> int | None:
    """The integer a number cell holds, None for a fraction, nan or inf."""
    if isinstance(value, int):
        return value
    if math.isfinite(value) and value.is_integer():
        return int(value)
    return None


# ---------------------------------------------------------------------------------------------
# Phones

PROBLEM_010_LENGTH = "010 번호 자릿수 오류: {n}자리"
PROBLEM_PARTIAL = "번호 일부 누락"
PROBLEM_INVALID = "유효하지 않은 번호"

# Digits with the punctuation people put between them: - (and dash variants), space, dots,
# parentheses, and a leading +. Anything else makes the text no phone.
_NOT_PHONE_CHAR = re.compile(r"[^0-9\s\-.()+\u2010-\u2015\u2212]", re.ASCII)
_NON_DIGIT = re.compile(r"[^0-9]")
# The way most numbers are typed (010-5373-4269, 01053734269): read without the general path.
_PLAIN_MOBILE = re.compile(r"010-?([0-9]{4})-?([0-9]{4})")

_KR_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("KR")
_KR_MOBILE_DESC = _KR_METADATA.mobile if _KR_METADATA else None
_KR_MOBILE_PATTERN = _KR_MOBILE_DESC.national_number_pattern if _KR_MOBILE_DESC else None
_KR_MOBILE = re.compile(_KR_MOBILE_PATTERN) if _KR_MOBILE_PATTERN else None


def _national_digits(digits: str, international: bool) -> str | None:
    """The national digits (with their leading 0) of a KR number, None for another country.

    `digits` are the digits as typed or as a number cell holds them. A leading 82 (or 0082)
    is the country code when the number was written internationally, or when a leading 0
    cannot explain it (no KR number starts 082). Nine or more digits without a leading 0
    have lost it (a number cell, or text copied from one); eight (1588-1234) have not.
    """
    if digits.startswith("0082"):
        rest = digits[4:]
    elif international:
        if not digits.startswith("82"):
            return None
        rest = digits[2:]
    elif digits.startswith("82") and len(digits) >= 10:
        rest = digits[2:]
    elif not digits.startswith("0") and len(digits) >= 9:
        return "0" + digits
    else:
        return digits
    return rest if rest.startswith("0") else "0" + rest


def _kr_display(nat: str) -> str | None:
    """The desk's way of writing a valid KR number (0505-1234-5678, 02-123-4567,
    031-1234-5678, 1588-1234), None when no simple rule covers it."""
    n = len(nat)
    if nat.startswith("050") and n in (11, 12):
        return f"{nat[:4]}-{nat[4:-4]}-{nat[-4:]}"
    if nat.startswith("02") and n in (9, 10):
        return f"02-{nat[2:-4]}-{nat[-4:]}"
    if nat.startswith("0") and n in (10, 11):
        return f"{nat[:3]}-{nat[3:-4]}-{nat[-4:]}"
    if n == 8 and nat[0] == "1":
        return f"{nat[:4]}-{nat[4:]}"
    return None


def _kr_mobile(middle: str, last: str) -> tuple[str | None, str, str | None]:
    """(key, display, problem) for the mobile 010-`middle`-`last` (with KR metadata)."""
    display = f"010-{middle}-{last}"
    if _KR_MOBILE is not None and _KR_MOBILE.fullmatch(national := "10" + middle + last):
        return "+82" + national, display, None
    return None, display, PROBLEM_INVALID


@lru_cache(maxsize=65536)
def _kr_phone(nat: str) -> tuple[str | None, str, str | None]:
    """(key, display, problem) for KR national digits."""
    if nat.startswith("010"):
        if len(nat) != 11:
            return None, _hyphenated_or_digits(nat), PROBLEM_010_LENGTH.format(n=len(nat))
        if _KR_MOBILE is not None:
            return _kr_mobile(nat[3:7], nat[7:])
    if len(nat) < 8:
        return None, nat, PROBLEM_PARTIAL
    if nat.startswith("00") or len(nat) > 17:
        return None, nat, PROBLEM_INVALID
    nsn = nat[1:] if nat.startswith("0") else nat
    number = phonenumbers.PhoneNumber(country_code=82, national_number=int(nsn))
    if not phonenumbers.is_valid_number(number):
        problem = PROBLEM_INVALID if nat.startswith("0") else PROBLEM_PARTIAL
        return None, _hyphenated_or_digits(nat), problem
    display = _kr_display(nat) or phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL
    )
    return "+82" + nsn, display, None


def _hyphenated_or_digits(nat: str) -> str:
    """phonenumbers' national format when it keeps every digit (010-537-3426), else digits."""
    try:
        number = phonenumbers.parse(nat, "KR")
    except phonenumbers.NumberParseException:
        return nat
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national if _NON_DIGIT.sub("", national) == nat else nat


def _foreign_phone(digits: str) -> tuple[str | None, str, str | None]:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None, "+" + digits, PROBLEM_INVALID
    if not phonenumbers.is_valid_number(number):
        return None, "+" + digits, PROBLEM_INVALID
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        None,
    )


def _phone_from_digits(text: str, digits: str, international: bool) -> Phone:
    if len(digits) > 30:
        return Phone(text=text, key=None, display=digits, problem=PROBLEM_INVALID)
    nat = _national_digits(digits, international)
    key, display, problem = _foreign_phone(digits) if nat is None else _kr_phone(nat)
    return Phone(text=text, key=key, display=display, problem=problem)


def parse_phone(value: CellValue) -> Phone | None:
    """None for an empty cell; a Phone (maybe with `problem` and no `key`) for something that
    looks like a number; ValueError for text that is no phone at all."""
    if value is None:
        return None
    if type(value) is str and _KR_MOBILE is not None and (plain := _PLAIN_MOBILE.fullmatch(value)):
        key, display, problem = _kr_mobile(*plain.groups())  # as the path below reads it
        return Phone(value, key, display, problem)
    if isinstance(value, bool | date):
        raise ValueError("not a phone number")
    if isinstance(value, int | float):
        number = _integral(value)
        if number is None or number < 0:
            raise ValueError("not a phone number")
        text = cell_text(value)
        return _phone_from_digits(text, str(number), international=False)
    text = value
    stripped = _normalize_text(text).strip()
    if not stripped:
        return None
    if _NOT_PHONE_CHAR.search(stripped):
        raise ValueError("not a phone number")
    digits = _NON_DIGIT.sub("", stripped)
    international = stripped.lstrip("( ").startswith("+")
    if not digits or stripped.count("+") > int(international):
        raise ValueError("not a phone number")
    return _phone_from_digits(text, digits, international)


_PHONE_SEPARATORS = re.compile(r"[,，、/;；\n\r]")
_MIDDLE_DOT = re.compile(r"[·ㆍ・•]")
_LABEL = re.compile(r"^[^0-9:：+()]{1,20}[:：]\s*")
_LEADING_NOTE = re.compile(r"^[(\[（［]([^()\[\]（）［］]*)[)\]）］]\s*")
_TRAILING_NOTE = re.compile(r"[(\[（［]([^()\[\]（）［］]*)[)\]）］]$")
_NOTE_IS_WORDS = re.compile(r"[^0-9０-９\s\-.]")


def _strip_label_and_notes(part: str) -> str:
    part = _LABEL.sub("", part, count=1)
    m = _TRAILING_NOTE.search(part)
    if m and _NOTE_IS_WORDS.search(m.group(1)):
        part = part[: m.start()]
    m = _LEADING_NOTE.match(part)
    if m and _NOTE_IS_WORDS.search(m.group(1)):
        part = part[m.end() :]
    return part.strip()


def _try_phone(text: str) -> Phone | None:
    try:
        return parse_phone(text)
    except ValueError:
        return None


def _read_phone_part(part: str, core: str, phones: list[Phone], unreadable: list[str]) -> None:
    """Read one part of 예비번호: `part` as written, `core` without its label and notes."""
    phone = _try_phone(core) if core else None
    if phone is not None and phone.key is None and len(core.split()) > 1:
        # "010-1111-2222 010-3333-4444": two numbers written side by side.
        several = [_try_phone(token) for token in core.split()]
        if all(p is not None and p.key for p in several):
            phones.extend(p for p in several if p is not None)
            return
    if phone is None:
        unreadable.append(part)
    else:
        phones.append(Phone(text=part, key=phone.key, display=phone.display, problem=phone.problem))


def parse_phones(value: CellValue) -> tuple[tuple[Phone, ...], tuple[str, ...]]:
    """예비번호: phones separated by `,` `/` or newline -> (phones, unreadable parts).

    `;` and a middle dot separate too. A part may carry a label (`예비번호: 010-…`) and a
    note in brackets (`010-…(배우자)`); both are dropped. Each Phone's `text` is its part as
    written; an unreadable part is returned as written (stripped).
    """
    if value is None:
        return (), ()
    if not isinstance(value, str):
        try:
            phone = parse_phone(value)
        except ValueError:
            return (), (cell_text(value),)
        return ((phone,) if phone else ()), ()
    phones: list[Phone] = []
    unreadable: list[str] = []
    for raw in _PHONE_SEPARATORS.split(value):
        part = raw.strip()
        if not part:
            continue
        core = _strip_label_and_notes(part)
        if _MIDDLE_DOT.search(core):
            # A middle dot separates numbers, unless it sits between the parts of one number.
            whole = _try_phone(_MIDDLE_DOT.sub("-", core))
            if whole is None or whole.key is None:
                for sub in _MIDDLE_DOT.split(part):
                    if sub.strip():
                        sub_part = sub.strip()
                        _read_phone_part(
                            sub_part, _strip_label_and_notes(sub_part), phones, unreadable
                        )
                continue
            core = _MIDDLE_DOT.sub("-", core)
        _read_phone_part(part, core, phones, unreadable)
    return tuple(phones), tuple(unreadable)


# Seven or more digits, maybe split by spaces, hyphens or dots: the only text worth handing to
# PhoneNumberMatcher (slow), which most 비고 cells are not.
_DIGIT_RUN = re.compile(r"\d(?:[\s\-.]?\d){6,}")


# A mobile number alone at the start of a line, before a Korean word or the line's end: how the
# bot's own duplicate notes name a number (`010-7578-2764 접수 내용 동일`). PhoneNumberMatcher
# finds such a number exactly as written (no punctuation, digit or Latin letter next to it).
_LINE_MOBILE = re.compile(r"^010-[0-9]{4}-[0-9]{4}(?= [가-힣]|$)", re.MULTILINE)
# What else the matcher could take for a number: six digits or more (no valid KR number has
# fewer), joined by up to four of its punctuation marks or spaces (`010 - 5772 - 1566`,
# en dashes, `031166`), where `_DIGIT_RUN` allows one of `[\s\-.]`.
_MATCHER_DIGITS = re.compile(r"\d(?:[" + _VALID_PUNCTUATION + r"\s]{0,4}\d){5,}")


def phones_in_text(text: str) -> tuple[Phone, ...]:
    """The phone numbers written in free text (비고), found as `phonenumbers` finds them
    (region KR), each read as a phone cell would be: `남편 010-5772-1566 으로도 문의함` →
    (Phone 010-5772-1566,)."""
    if not _DIGIT_RUN.search(text):
        return ()
    # The matcher costs ~0.1 ms a cell: a cell whose only digit runs are line-start mobiles
    # that are valid numbers (what the matcher yields) is read without it.
    if not _MATCHER_DIGITS.search(_LINE_MOBILE.sub("#", text)):
        plain = [_try_phone(m) for m in _LINE_MOBILE.findall(text)]
        if all(p is not None and p.key for p in plain):
            return tuple(p for p in plain if p is not None)
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "KR"):
        phone = _try_phone(match.raw_string)
        if phone is not None:
            found.append(phone)
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Dates


@dataclass(frozen=True, slots=True)
class DateText:
    year: int | None
    month: int
    day: int
    time: time | None = None


_SERIAL_EPOCH = date(1899, 12, 30)
_SERIAL_MIN = 20000  # 1954-10-03
_SERIAL_MAX = 80000  # 2119-01-10 (exclusive)
_YEAR_MIN = 1900
_YEAR_MAX = 2999
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_WEEKDAY = re.compile(r"[(\[]\s*[월화수목금토일](?:요일)?\s*[)\]]|[월화수목금토일]요일")
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # 2024-12-02, 2024/12/02, 2024. 12. 2., 2024년 12월 2일, 2024-12-02T15:19
    re.compile(
        r"(?P<y>[0-9]{4})\s*(?:[-./]|년)\s*(?P<m>[0-9]{1,2})\s*(?:[-./]|월)\s*"
        r"(?P<d>[0-9]{1,2})(?![0-9])\s*(?:일|\.)?"
    ),
    # 24.12.03, 24년 12월 3일
    re.compile(
        r"(?P<y>[0-9]{2})\s*(?:[-./]|년)\s*(?P<m>[0-9]{1,2})\s*(?:[-./]|월)\s*"
        r"(?P<d>[0-9]{1,2})(?![0-9])\s*(?:일|\.)?"
    ),
    # 20241203
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})(?![0-9])"),
    # 12.2, 12/2, 12월 2일 (not 12-2: that reads as a range or a code)
    re.compile(r"(?P<m>[0-9]{1,2})\s*(?:[./]|월)\s*(?P<d>[0-9]{1,2})(?![0-9])\s*(?:일|\.)?"),
)
_TIME_PATTERN = re.compile(
    r"""
    (?:T\s*)?
    (?P<ap>오전|오후|am|pm|a\.m\.|p\.m\.)?\s*
    (?P<h>[0-9]{1,2})
    (?:
        \s*:\s*(?P<mi>[0-9]{2})(?:\s*:\s*(?P<s>[0-9]{2})(?:\.[0-9]+)?)?
      | \s*(?P<si>시)(?:\s*(?P<half>반)|\s*(?P<mi2>[0-9]{1,2})\s*분(?:\s*(?P<s2>[0-9]{1,2})\s*초)?)?
    )?
    \s*(?P<ap2>am|pm|a\.m\.|p\.m\.)?
    \s*(?:경|쯤|정도)?
    """,
    re.VERBOSE | re.IGNORECASE,
)


def _check_day(year: int | None, month: int, day: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError("month out of range")
    if year is not None and not _YEAR_MIN <= year <= _YEAR_MAX:
        raise ValueError("year out of range")
    if year is not None and month == 2 and day == 29 and not _is_leap(year):
        raise ValueError("day out of range")
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise ValueError("day out of range")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _read_time(text: str) -> time | None:
    """The time of day in what follows a date; None when nothing follows."""
    if not text:
        return None
    m = _TIME_PATTERN.fullmatch(text)
    if m is None:
        raise ValueError("not a date")
    ampm = (m["ap"] or m["ap2"] or "").lower().replace(".", "")
    if m["mi"] is None and m["si"] is None and not ampm:
        raise ValueError("not a date")  # a bare number ("12.2 15") is no time
    hour = int(m["h"])
    if m["mi"] is not None:
        minute = int(m["mi"])
        second = int(m["s"]) if m["s"] is not None else 0
    else:
        minute = 30 if m["half"] else int(m["mi2"]) if m["mi2"] is not None else 0
        second = int(m["s2"]) if m["s2"] is not None else 0
    if ampm in ("오전", "am"):
        if hour > 12:
            raise ValueError("hour out of range")
        hour = 0 if hour == 12 else hour
    elif ampm in ("오후", "pm"):
        if not 1 <= hour <= 23:
            raise ValueError("hour out of range")
        hour = hour if hour >= 12 else hour + 12
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("time out of range")
    return time(hour, minute, second)


@lru_cache(maxsize=65536)
def _read_date_text(text: str) -> DateText:
    text = _normalize_text(text).strip()
    if not text:
        raise ValueError("empty")
    text = _WEEKDAY.sub(" ", text).strip()
    problem = "not a date"
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        groups = m.groupdict()
        year = int(groups["y"]) if groups.get("y") else None
        if year is not None and len(groups["y"]) == 2:
            year += 2000
        month, day = int(m["m"]), int(m["d"])
        try:
            moment = _read_time(text[m.end() :].strip())
            _check_day(year, month, day)
        except ValueError as exc:
            problem = str(exc)
            continue
        return DateText(year, month, day, moment)
    raise ValueError(problem)


def _days_and_seconds(serial: float) -> tuple[int, int]:
    """A serial's whole days since 1899-12-30 and its time of day in seconds, rounded."""
    days = math.floor(serial)
    seconds = round((serial - days) * 86400)
    if seconds >= 86400:
        days, seconds = days + 1, 0
    return days, seconds


def _read_serial(number: float) -> DateText:
    if 10_000_000 <= number <= 99_999_999 and float(number).is_integer():
        n = int(number)
        year, month, day = n // 10000, n // 100 % 100, n % 100
        _check_day(year, month, day)
        return DateText(year, month, day)
    if not _SERIAL_MIN <= number < _SERIAL_MAX:
        raise ValueError("number is not a date")
    days, seconds = _days_and_seconds(number)
    when = _SERIAL_EPOCH + timedelta(days=days)
    moment = time(seconds // 3600, seconds // 60 % 60, seconds % 60) if seconds else None
    return DateText(when.year, when.month, when.day, moment)


_SERIAL_EPOCH_AT = datetime(1899, 12, 30)


def read_serial(number: int | float) -> tuple[datetime, bool]:
    """A number cell as the moment it stands for (a sheet serial, or 20241203), and whether it
    has a time of day: what `read_date` and either resolver give for it, in one step (a number
    always has its year). ValueError as `read_date`. Called for every date cell of a sheet
    read through the API."""
    if _SERIAL_MIN <= number < _SERIAL_MAX:
        days, seconds = _days_and_seconds(number)
        return _SERIAL_EPOCH_AT + timedelta(days=days, seconds=seconds), seconds != 0
    d = read_date(number)
    assert d.year is not None
    return _at(d.year, d), d.time is not None


def read_datetime(value: datetime) -> tuple[datetime, bool]:
    """A datetime cell as `read_date` and either resolver read it, in one step: the moment to
    the second, and whether it has a time of day (midnight counts as none)."""
    moment = value
    if value.microsecond or value.tzinfo is not None:
        moment = value.replace(microsecond=0, tzinfo=None)
    return moment, bool(moment.hour or moment.minute or moment.second)


def read_date(value: CellValue) -> DateText:
    """A date as staff type it, a sheet serial number, or a datetime (RULES.md §3).

    `year` is None when the text has none (`12.2`); `time` is None when the value has no
    time of day (a datetime or serial at exactly midnight counts as none; a time typed in
    text, `0:00` included, is kept). ValueError for anything else, `미정` included.
    """
    if value is None:
        raise ValueError("empty")
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, datetime):
        moment = value.time().replace(microsecond=0)
        return DateText(value.year, value.month, value.day, moment if moment != time() else None)
    if isinstance(value, date):
        return DateText(value.year, value.month, value.day)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("number is not a date")
        return _read_serial(value)
    return _read_date_text(value)


def _has_day(year: int, d: DateText) -> bool:
    return not (d.month == 2 and d.day == 29 and not _is_leap(year))


def _at(year: int, d: DateText) -> datetime:
    return datetime.combine(date(year, d.month, d.day), d.time or time())


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


def resolve_after(d: DateText, anchor: date, slack_days: int = 7) -> datetime:
    """A move date: its own year, else the first year that puts it no more than `slack_days`
    before `anchor` (the row's intake date)."""
    if d.year is not None:
        return _at(d.year, d)
    anchor = _as_date(anchor)
    earliest = anchor - timedelta(days=slack_days)
    year = anchor.year - 1
    while not (_has_day(year, d) and date(year, d.month, d.day) >= earliest):
        year += 1
    return _at(year, d)


def resolve_not_after(d: DateText, today: date) -> datetime:
    """An intake or OB date: its own year, else the latest year that puts it not after
    `today`."""
    if d.year is not None:
        return _at(d.year, d)
    today = _as_date(today)
    year = today.year
    while not (_has_day(year, d) and date(year, d.month, d.day) <= today):
        year -= 1
    return _at(year, d)


# ---------------------------------------------------------------------------------------------
# Money and tons

_MONEY_PREFIX = re.compile(r"^(?:약|대략|총|일금)\s*|^[₩\\]\s*|^krw\s*", re.IGNORECASE)
_MONEY_SUFFIX = re.compile(r"(?:[(\[][^()\[\]]*[)\]]|원정?|krw)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DIGIT_COMMA = re.compile(r"(?<=[0-9]),(?=[0-9]{3})")
_KOREAN_TOKEN = re.compile(r"([0-9]+(?:\.[0-9]+)?)|([십백천만억조])")
_SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
_BIG_UNITS = {"만": 10**4, "억": 10**8, "조": 10**12}


def _round(amount: Fraction) -> int:
    return math.floor(amount + Fraction(1, 2))


def _korean_amount(text: str) -> Fraction:
    """120만, 1억 2천만, 1.5만, 120만 5천 (no spaces left in `text`)."""
    total = Fraction(0)
    section = Fraction(0)
    number: Fraction | None = None
    last_big: int | None = None
    end = 0
    for m in _KOREAN_TOKEN.finditer(text):
        if m.start() != end:
            raise ValueError("not an amount")
        end = m.end()
        if m[1] is not None:
            if number is not None:
                raise ValueError("not an amount")
            number = Fraction(m[1])
        elif m[2] in _SMALL_UNITS:
            section += (number if number is not None else 1) * _SMALL_UNITS[m[2]]
            number = None
        else:
            big = _BIG_UNITS[m[2]]
            if last_big is not None and big >= last_big:
                raise ValueError("not an amount")
            section += number if number is not None else (0 if section else 1)
            total += section * big
            section, number, last_big = Fraction(0), None, big
    if end != len(text) or end == 0:
        raise ValueError("not an amount")
    return total + section + (number or 0)


def parse_money(value: CellValue) -> int:
    """Won: 1200000, "1,200,000", "1,200,000원", "120만원", "1.5만", "1억 2천만", "₩1,200,000"."""
    if value is None or isinstance(value, bool | date):
        raise ValueError("not an amount")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not an amount")
        if value < 0:
            raise ValueError("negative amount")
        return value if isinstance(value, int) else _round(Fraction(value))
    text = _normalize_text(value).strip()
    for _ in range(2):
        text = _MONEY_PREFIX.sub("", text)
        text = _MONEY_SUFFIX.sub("", text).rstrip()
    text = _DIGIT_COMMA.sub("", text)
    text = "".join(text.split())
    if not text:
        raise ValueError("not an amount")
    if _PLAIN_NUMBER.fullmatch(text):
        return _round(Fraction(text))
    return _round(_korean_amount(text))


_TONS_PREFIX = re.compile(r"^(?:약|대략)\s*")
_TONS_SUFFIXES = ("정도", "쯤", "가량")
_TONS = re.compile(
    r"(?P<n>[0-9]+(?:\.[0-9]+)?)(?:\s*(?:톤|tons?|t)(?:\s*(?P<half>반))?)?|(?P<only_half>반)\s*톤",
    re.IGNORECASE,
)


def parse_tons(value: CellValue) -> float:
    """Tons: 2.5, "2.5", "2.5톤", "2.5t", "2.5 톤", "약 2.5톤", "1톤 반" (1.5), "반톤" (0.5)."""
    if value is None or isinstance(value, bool | date):
        raise ValueError("not a number of tons")
    if isinstance(value, int | float):
        try:
            tons = float(value)
        except OverflowError:
            raise ValueError("not a number of tons") from None
    else:
        text = _TONS_PREFIX.sub("", _normalize_text(value).strip())
        for suffix in _TONS_SUFFIXES:
            if text.endswith(suffix):
                text = text[: -len(suffix)].rstrip()
                break
        m = _TONS.fullmatch(text)
        if m is None:
            raise ValueError("not a number of tons")
        if m["only_half"]:
            return 0.5
        tons = float(m["n"]) + (0.5 if m["half"] else 0.0)
    if not math.isfinite(tons) or tons < 0:
        raise ValueError("not a number of tons")
    return tons
