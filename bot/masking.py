"""Masking what managers and logs may see of a customer: names, phones, and secrets.

RULES.md §6: no unmasked phone or name ever reaches an alert or a log. A name keeps its first and
last character (`김*수`, `김*`; a four-character name with a two-character surname keeps the
surname: `남궁**`); a phone keeps its first group and last four digits (`010-****-4269`,
`02-****-1234`, `0505-****-1234`); anything unreadable in a phone cell shows as `***`.

`scrub(text)` masks every phone number inside free text (a finding's message, an exception) that
phonenumbers' `PhoneNumberMatcher` finds (region KR) — and a mistyped number too: any run of 7 or more digits, whatever its shape, except dates, times,
amounts and run ids — and every secret registered with `register_secret` (alert URLs' tokens,
the KakaoWork app key), so that text from anywhere can be handed to an alert or a log line.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from urllib.parse import unquote

import phonenumbers

from rules.model import LEADS, OB, VENDORS, CellValue, Desk, Lead, ObCall

# Two-character surnames: a four-character name starting with one keeps it whole (남궁**).
COMPOUND_SURNAMES = frozenset(
    {
        "남궁",
        "황보",
        "제갈",
        "선우",
        "독고",
        "사공",
        "서문",
        "동방",
        "어금",
        "망절",
        "공손",
        "소봉",
        "장곡",
    }
)

UNREADABLE = "***"

# A run of digits in a phone cell that could be a Korean phone number, with the separators staff
# type. Validated afterwards by `_national` (a date or an amount is left alone).
_PHONE_RUN = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:\+\s?82[\s.-]?)?"
    r"\(?0?\d{1,3}\)?[\s.-]?"
    r"\d{3,4}[\s.-]?"
    r"\d{4}"
    r"(?![0-9A-Za-z])"
)
# A number cell that lost its leading 0: a mobile number (1053734269) or, in a phone cell only,
# an area-code number (212341234); in free text an amount like 250000000 is no phone (though
# `scrub` still hides it as a long run of digits unless it reads `250000000원`).
_LOST_ZERO_MOBILE = re.compile(r"1[016789]\d{7,8}")
_LOST_ZERO_AREA = re.compile(r"[2-6]\d{7,9}")

# What `scrub` leaves readable although it is made of digits: a date (2024-12-02, 2024. 12. 2.,
# 20241202), a time (15:19, 10:15:00.123456), an amount (120000000원, 120만원), a run id
# (r20241203-101500-3f2a), the desk's short date (12.2; `12.1, 12.2` and `11.25–12.1` too) and
# a phone `scrub` has masked already (010-****-4269).
_KEEP = (
    r"(?<![0-9A-Za-z_])r\d{8}-\d{6}-[0-9a-f]{4}(?![0-9A-Za-z_])"
    r"|(?<!\d)(?:19|20)\d\d[ ]?[-./][ ]?(?:1[0-2]|0?[1-9])[ ]?[-./][ ]?(?:3[01]|[12]\d|0?[1-9])"
    r"(?!\d)\.?"
    r"|(?<!\d)(?:19|20)\d\d(?:1[0-2]|0[1-9])(?:3[01]|[12]\d|0[1-9])(?!\d)"
    r"|(?<!\d)\d{1,2}:\d\d(?::\d\d(?:[.,]\d{1,9})?)?(?!\d)"
    r"|(?<![\d.])(?:1[0-2]|0?[1-9])\.(?:3[01]|[12]\d|0?[1-9])(?![\d.])"
    r"|(?<!\d)[1-9]\d*(?:,\d{3})*(?:\.\d+)?[ ]?(?:원|만|천|억)"
    r"|(?<!\d)(?:0\d{1,3}-)?\*{4}(?:-\d{4})?(?!\d)"
)
_KEEP_RE = re.compile(_KEEP)
# Any run of digits with the separators staff type between them (-, space, ., `)`), stopping
# before something kept; `scrub` masks it when it holds `_MIN_RUN_DIGITS` or more digits.
# Every dash-like character counts (‐ ‑ ‒ – — ― − －), and `_`, `/`, and a comma that does
# not group thousands (`010,5555,6666`; `1,500,000` is an amount). A run glued to letters
# (`HP01055556666`) is a run too: it is the letters that are kept.
_DASHES = "\u2010-\u2015\u2212\uff0d"
_RUN_SEP = rf"(?:[-. )_/\t\u00a0\u3000{_DASHES}]|,(?![ \d]{{3}}(?!\d))){{1,3}}"
_KEEP_OR_RUN = re.compile(
    f"(?P<keep>{_KEEP})"
    rf"|(?<![0-9_])(?:\+ ?)?\(?\d+(?:{_RUN_SEP}(?!{_KEEP})\d+)*"
)
_MIN_RUN_DIGITS = 7


def mask_name(name: str) -> str:
    """`김민수` -> `김*수`, `김수` -> `김*`, `남궁민수` -> `남궁**`, `` -> ``."""
    name = (name or "").strip()
    n = len(name)
    if n == 0:
        return ""
    if n == 1:
        return "*"
    if n == 2:
        return name[0] + "*"
    if n == 4 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "**"
    return name[0] + "*" * (n - 2) + name[-1]


def _national(run: str, cell: bool = False) -> str | None:
    """The digits of a phone-looking run as a Korean national number (leading 0), or None.

    `cell`: the run is a whole phone cell, where an area-code number may have lost its 0 too."""
    digits = re.sub(r"\D", "", run)
    if run.lstrip().startswith("+"):
        if not digits.startswith("82"):
            return None
        digits = "0" + digits[2:].lstrip("0")
    elif not digits.startswith("0"):
        # a cell stored as a number has lost its leading 0 (1053734269)
        lost_zero = _LOST_ZERO_MOBILE.fullmatch(digits) or (
            cell and _LOST_ZERO_AREA.fullmatch(digits)
        )
        if not lost_zero:
            return None
        digits = "0" + digits
    return digits if 9 <= len(digits) <= 12 else None


def _mask_national(digits: str) -> str | None:
    if digits.startswith("02"):
        head = "02"
    elif digits.startswith("050") and len(digits) >= 11:
        head = digits[:4]  # 0502..0508 safe numbers (안심번호)
    else:
        head = digits[:3]
    if len(digits) - len(head) not in (7, 8):
        return None
    return f"{head}-****-{digits[-4:]}"


def _cell_text(value: CellValue) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def mask_phone(value: CellValue) -> str:
    """A phone cell as managers may see it: `010-****-4269`; several numbers comma-joined;
    an empty cell ``; anything else `***`."""
    text = _cell_text(value)
    if not text:
        return ""
    masked = []
    for m in _PHONE_RUN.finditer(text):
        digits = _national(m.group(0), cell=True)
        shown = _mask_national(digits) if digits else None
        if shown:
            masked.append(shown)
    return ", ".join(masked) if masked else UNREADABLE


def row_label(sheet_row: int, name: str, phone_text: CellValue) -> str:
    """A 이사 관리자 row as alerts and the digest show it: `행 41 김*수 010-****-4269`."""
    parts = [f"행 {sheet_row}", mask_name(name), mask_phone(phone_text)]
    return " ".join(p for p in parts if p)


def ob_label(sheet_row: int, phone_text: CellValue) -> str:
    """An OB 상세 row as alerts show it: `OB 상세 행 7 010-****-4269`."""
    phone = mask_phone(phone_text)
    return f"OB 상세 행 {sheet_row} {phone}" if phone else f"OB 상세 행 {sheet_row}"


def fallback_label(sheet: str, sheet_row: int) -> str:
    """A row the caller has no label for: its sheet row only."""
    if sheet == VENDORS:
        return f"장기고객 업체 리스트 행 {sheet_row}"
    return f"OB 상세 행 {sheet_row}" if sheet == OB else f"행 {sheet_row}"


# --- secrets ---------------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MIN_SECRET = 6


def register_secret(*values: object) -> None:
    """Remember secrets (str or SecretStr) so `scrub` masks them wherever they appear.

    An alert URL also registers the token-like parts of it (path segments, query values) and its
    user info whole, as written and percent-decoded, since a service logs them on their own
    (`api.telegram.org/bot<token>/...`).
    """
    found: set[str] = set()
    for value in values:
        getter = getattr(value, "get_secret_value", None)
        text = getter() if callable(getter) else value
        if not isinstance(text, str) or len(text.strip()) < _MIN_SECRET:
            continue
        text = text.strip()
        found.add(text)
        if "://" in text:
            rest = text.split("://", 1)[1]
            # user info is a credential whatever it looks like (kakaowork://APP_KEY@ROOM)
            userinfo = rest.split("/", 1)[0].rpartition("@")[0]
            found.update(s for s in (userinfo, unquote(userinfo)) if len(s) >= _MIN_SECRET)
            for piece in re.split(r"[/@:?&=#]", rest):
                # skip plain words (hooks, services, messages): they carry no secret
                if len(piece) >= 8 and not re.fullmatch(r"[a-z.-]+", piece):
                    found.add(piece)
    with _secrets_lock:
        _secrets.update(found)


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _secrets_lock:
        _secrets.clear()


def _hide_secrets(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[secret]")
    return text


# --- URLs ------------------------------------------------------------------------------------

_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{1,30})://([^\s'\"<>]*)")
# Hosts whose URL paths or queries are themselves the credential (incoming webhooks, bot APIs).
_WEBHOOK_HOSTS = re.compile(
    r"(^|\.)(hooks\.slack(-gov)?\.com|api\.telegram\.org|chat\.googleapis\.com|discord(app)?\.com"
    r"|webhook\.office\.com|outlook\.office\.com|logic\.azure\.com|environment\.api\.powerplatform"
    r"\.com)$",
    re.IGNORECASE,
)
_SECRET_PARAM = re.compile(
    r"([?&](?:key|token|sig|signature|secret|access_token|api[_-]?key|password|code)=)[^&#\s]*",
    re.IGNORECASE,
)


def _mask_url(m: re.Match[str]) -> str:
    scheme, rest = m.group(1), m.group(2)
    if scheme.lower() not in ("http", "https"):
        # apprise URLs (slack://, tgram://, mailto://, ...) carry their tokens in every part
        return f"{scheme}://***" if rest else m.group(0)
    authority, sep, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0]
    if _WEBHOOK_HOSTS.search(host):
        return f"{scheme}://{authority}/***" if sep or tail else f"{scheme}://{authority}"
    return f"{scheme}://{authority}{sep}" + _SECRET_PARAM.sub(r"\1***", tail)


def mask_urls(text: str) -> str:
    """Credentials out of every URL in `text`: apprise URLs become `slack://***`, webhook URLs
    keep their host only, user info and key/token/sig query values become `***`."""
    return _URL.sub(_mask_url, text) if "://" in text else text


def scrub(text: str) -> str:
    """`text` with registered secrets, URL credentials and phone numbers masked.

    `010-7181-5385 접수 내용 동일` -> `010-****-5385 접수 내용 동일`. A mistyped number is
    masked too, keeping what the convention keeps: `010-5373-426` -> `010-****-3426`,
    `01053734` -> `***` (see `mask_digit_run`). Dates, times, amounts and run ids are left as
    they are.
    """
    if not text:
        return text
    text = mask_urls(_hide_secrets(text))

    def digit_run(m: re.Match[str]) -> str:
        if m.group("keep") is not None:
            return m.group(0)
        return mask_digit_run(m.group(0))

    return _KEEP_OR_RUN.sub(digit_run, _mask_phones(text))


def _mask_phones(text: str) -> str:
    """Every Korean phone number phonenumbers' matcher finds in `text` (region KR: `010-5373-4269`,
    `+82 10 5373 4269`, `(02)1234-5678`), masked; a match inside something kept (a date, a run
    id) or without its trunk 0 (an amount like 250000000) is left to the digit-run pass."""
    if not any(c.isdigit() for c in text):
        return text
    kept = [m.span() for m in _KEEP_RE.finditer(text)]
    parts, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, "KR"):
        if any(start < match.end and match.start < end for start, end in kept):
            continue
        digits = _national(match.raw_string)
        if digits is None:
            continue
        parts += [text[last : match.start], _mask_national(digits) or UNREADABLE]
        last = match.end
    return "".join(parts) + text[last:]


def mask_digit_run(run: str) -> str:
    """A run of digits (with separators) as alerts and logs may show it.

    Fewer than 7 digits: as it is. A phone: `010-****-4269`. Anything else keeps its first group
    when that starts with 0 and has 2–4 digits, and its last 4 digits when it has 10 or more:
    `010-5373-426` -> `010-****-3426`, `010-53734` -> `010-****`, `01053734` -> `***`.
    """
    groups = re.findall(r"\d+", run)
    digits = "".join(groups)
    if len(digits) < _MIN_RUN_DIGITS:
        return run
    national = _national(run)
    shown = _mask_national(national) if national else None
    if shown:
        return shown
    head = groups[0] if groups[0].startswith("0") and 2 <= len(groups[0]) <= 4 else ""
    tail = digits[-4:] if len(digits) >= 10 else ""
    if not head and not tail:
        return UNREADABLE
    return "-".join(part for part in (head, "****", tail) if part)


# --- row labels ------------------------------------------------------------------------------


class RowLabels(Mapping[tuple[str, int], str]):
    """Masked labels of a desk's rows, keyed by (sheet, row) and computed when asked for.

    `labels[("leads", 41)]` -> `행 41 김*수 010-****-4269`; `labels[("ob", 7)]` ->
    `OB 상세 행 7 010-****-4269`. `name_of(key)` gives the raw name, so text about that row can
    be scrubbed of it too.
    """

    def __init__(self, leads: Iterable[Lead] = (), obs: Iterable[ObCall] = ()) -> None:
        self._leads = {lead.row: lead for lead in leads}
        self._obs = {ob.row: ob for ob in obs}

    @classmethod
    def from_desk(cls, desk: Desk) -> RowLabels:
        return cls(desk.leads, desk.obs)

    def __getitem__(self, key: tuple[str, int]) -> str:
        sheet, row = key
        if sheet == LEADS and row in self._leads:
            lead = self._leads[row]
            return row_label(row, lead.name, lead.phone.text if lead.phone else None)
        if sheet == OB and row in self._obs:
            ob = self._obs[row]
            return ob_label(row, ob.phone.text if ob.phone else None)
        raise KeyError(key)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        yield from ((LEADS, row) for row in self._leads)
        yield from ((OB, row) for row in self._obs)

    def __len__(self) -> int:
        return len(self._leads) + len(self._obs)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        sheet, row = key
        return row in (self._leads if sheet == LEADS else self._obs if sheet == OB else {})

    def name_of(self, key: tuple[str, int]) -> str:
        sheet, row = key
        lead = self._leads.get(row) if sheet == LEADS else None
        return lead.name if lead else ""

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """Every lead's name (2 characters or more), to mask wherever one appears."""
        return frozenset(
            name for lead in self._leads.values() if len(name := (lead.name or "").strip()) >= 2
        )


def scrub_row_text(text: str, name: str = "", names: Collection[str] = ()) -> str:
    """`scrub(text)`, and the row's customer name — and every name in `names` (all the desk's
    leads: a finding may quote another row's text) — masked wherever it appears in it."""
    text = scrub(text)
    name = (name or "").strip()
    if len(name) >= 2 and name in text:
        text = text.replace(name, mask_name(name))
    return mask_names(text, names) if names else text


_LONGEST_NAME = 10  # characters: longer text is not looked up as a name


def mask_names(text: str, names: Collection[str]) -> str:
    """Every occurrence in `text` of a name in `names` (stripped, 2 characters or more)
    masked, the longest name first where names overlap; a lookup per position, so a desk's
    100,000 names cost no more than a few."""
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(min(_LONGEST_NAME, len(text) - i), 1, -1):
            if text[i : i + size] in names:
                out.append(mask_name(text[i : i + size]))
                i += size
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
