"""A realistic desk of any size, for benchmarks: deterministic, seedable, invented data only.

`generate(n_leads, n_obs, seed)` builds the two tabs the way a desk fills them over a year:
mostly single inquiries, with the seed's cases mixed in at roughly the rates a desk sees them —

- repeated inquiries of the same move (~5% of leads), a few already closed as 종결(중복);
- customers asking from several numbers (~1%), linked through 예비번호;
- second moves of one customer to other addresses (합가이사), and cleaning-only inquiries;
- 장기요청 / 장기견적 / 장기무료 leads (~3%), some due for promotion, some past;
- re-registrations of closed customers around the settlement cut-off (day 3, 10:00);
- vendor returns (확인요청, 비고 `업체 : ...`), with and without the OB call that checks them;
- customer cancellations with and without OB rows, price cancellations with and without
  짐 양 / 견적금액;
- rows with the same name and move but another number;
- typos: 10-digit 010 numbers, unreadable dates, statuses spelt with spaces or unknown;
- dates as staff type them (`2024. 12. 2 오후 3:19:00`, `12.2`, `12월 2일`) and phones stored
  as numbers (the leading 0 lost).

Names, numbers and addresses are invented. The same `(n_leads, n_obs, seed)` always gives the
same desk. A desk can be written as .xlsx (`write_xlsx`), as the rows a fake Sheets API holds
(`sheet_rows`), as the `values.batchGet` answer the Sheets API would send for it
(`batch_get_payload`: UNFORMATTED_VALUE, dates as SERIAL_NUMBER), or as an in-memory `Snapshot`
built from that answer the way the Google backend builds it (`snapshot`).

    python benchmarks/generate.py --leads 100000 --xlsx desk.xlsx --json batchget.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from rules.columns import find_columns
from rules.model import CellValue, Snapshot, Tab
from rules.values import KST

# The clock of every generated desk: the week the desk wrote its process down (as the demo).
NOW = datetime(2024, 12, 4, 18, 0, tzinfo=KST)
LEADS_TITLE = "이사 관리자"
OB_TITLE = "OB 상세"
LEAD_HEADERS = [
    "인입일↓", "통화예정일", "진행상황", "실패사유/비고", "고객명", "연락처", "예비번호",
    "이사예정일", "출발지", "도착지", "이사종류", "배정업체", "담당자",
]  # fmt: skip
OB_HEADERS = ["OB 날짜", "고객 연락처", "상세내용", "취소 사유", "담당 업체", "짐 양", "견적금액"]
BOT_NOTE_HEADER = "봇 확인"
OB_SHARE = 0.3  # OB rows per lead when not given

# column indexes of the rows built here
I_INTAKE, I_DUE, I_STATUS, I_REMARKS, I_NAME, I_PHONE, I_ALT = range(7)
I_MOVE, I_ORIGIN, I_DEST, I_TYPE, I_VENDOR, I_MANAGER = range(7, 13)
O_DATE, O_PHONE, O_DETAIL, O_REASON, O_VENDOR, O_TONS, O_QUOTE = range(7)

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
_SYLLABLES = "민서준지현우예도하윤수연은성재영진호유아정원승태희나경주다소혜시상동채보해미빈새한솔"
_PLACES = [
    ("서울특별시", "서울", ["강남구 역삼동", "마포구 합정동", "송파구 잠실동", "노원구 상계동",
                         "관악구 신림동", "은평구 불광동", "강서구 화곡동", "성북구 정릉동"]),
    ("경기도", "경기", ["성남시 분당구", "수원시 영통구", "고양시 일산동구", "용인시 수지구",
                     "부천시 원미구", "화성시 동탄", "광주시 오포읍", "안양시 동안구"]),
    ("인천광역시", "인천", ["남동구 구월동", "연수구 송도동", "부평구 부평동", "서구 청라동"]),
    ("부산광역시", "부산", ["해운대구 우동", "수영구 광안동", "부산진구 부전동", "동래구 온천동"]),
    ("대구광역시", "대구", ["수성구 범어동", "달서구 월성동", "중구 동인동"]),
    ("대전광역시", "대전", ["서구 둔산동", "유성구 봉명동", "중구 은행동"]),
    ("광주광역시", "광주", ["북구 용봉동", "서구 치평동", "광산구 수완동"]),
    ("울산광역시", "울산", ["남구 삼산동", "동구 방어동"]),
]  # fmt: skip
_MOVE_TYPES = [("가정이사", 55), ("원룸이사", 18), ("소형이사", 15), ("사무실이사", 5),
               ("합가이사", 2), ("보관이사", 5)]  # fmt: skip
_VENDORS = ["한빛이사", "바른이사", "새봄익스프레스", "든든이사", "온누리이사", "스마일이사",
            "하나로이사", "미래로이사"]  # fmt: skip
_MANAGERS = ["이지은", "정해빈", "김도영", "박소라", "최윤호", "한서진"]
_REMARKS = ["", "", "", "", "고객 요청으로 견적 일정 조율", "방문견적 희망, 오전 선호",
            "에어컨 이전설치 문의 포함", "피아노 있음", "엘리베이터 없음 (4층)",
            "사다리차 필요", "주말 이사 희망", "견적 비교 중", "카톡 상담 희망",
            "보관 기간 2주 문의", "업체 연락 지연 문의"]  # fmt: skip
_CLOSED_PLAIN = [("종결(일정)", 6), ("종결(지역)", 3), ("종결(번호오류)", 1),
                 ("종결(연락두절)", 8), ("종결(단순문의)", 6), ("종결(이사미정)", 5),
                 ("종결(기타)", 3), ("수행불가", 2)]  # fmt: skip
_OB_DETAILS = ["고객 통화 완료, 방문견적 일정 확정", "부재, 문자 남김", "업체 전달 완료",
               "견적 받고 고민 중", "이사 날짜 변경 예정, 재연락 요청", "업체 연락 지연으로 인입",
               "계약 진행 확인", "고객 요청으로 다른 업체 배정 희망"]  # fmt: skip
_CANCEL = [("자체 해결", "지인 트럭으로 직접 이사하기로 함"), ("일정 변경", "이사 일정 미정으로 취소"),
           ("타 업체 계약", "타 업체와 계약 완료 확인"), ("이사 취소", "집 계약 파기로 이사 취소"),
           ("업체 불친절", "방문 견적 시 응대 불만으로 취소")]  # fmt: skip
_RETURNS = ["업체 : 고객 연락 안 됨", "업체 : 타 업체 계약했다고 함", "업체 : 일정 불가",
            "업체 : 지역 외", "업체: 고객이 견적 거부"]  # fmt: skip


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclass
class _Customer:
    name: str
    phone: str  # 010-XXXX-XXXX


@dataclass
class _Lead:
    """A lead row being built, with what the generator knows of it."""

    intake: datetime
    cells: list[CellValue]
    phones: list[str] = field(default_factory=list)  # the numbers it can be reached on


@dataclass
class GeneratedDesk:
    """The rows of both tabs (headers first), as staff left them, and the run's clock."""

    now: datetime
    lead_headers: list[str]
    ob_headers: list[str]
    leads: list[list[CellValue]]
    obs: list[list[CellValue]]

    def sheets(self) -> dict[str, list[list[CellValue]]]:
        """Tab title -> rows, the header row first: what `create_workbook` takes."""
        lead_headers: list[CellValue] = list(self.lead_headers)
        ob_headers: list[CellValue] = list(self.ob_headers)
        return {LEADS_TITLE: [lead_headers, *self.leads], OB_TITLE: [ob_headers, *self.obs]}

    def write_xlsx(self, path: Path) -> None:
        from bot.sheets.workbook import create_workbook

        create_workbook(Path(path), self.sheets())

    def api_values(self, title: str) -> list[list[object]]:
        """A tab as `values.batchGet` returns it (UNFORMATTED_VALUE, SERIAL_NUMBER): header
        row included, dates as serial numbers, empty cells "", trailing empty cells dropped."""
        return [api_row(r) for r in self.sheets()[title]]

    def batch_get_payload(self) -> str:
        """The JSON body of the one `values.batchGet` that reads both tabs."""
        ranges = []
        for title, headers in ((LEADS_TITLE, self.lead_headers), (OB_TITLE, self.ob_headers)):
            last = get_column_letter(len(headers))
            ranges.append(
                {
                    "range": f"'{title}'!A1:{last}{len(self.sheets()[title])}",
                    "majorDimension": "ROWS",
                    "values": self.api_values(title),
                }
            )
        body = {"spreadsheetId": "bench", "valueRanges": ranges}
        return json.dumps(body, ensure_ascii=False)

    def snapshot(self, payload: str | None = None) -> Snapshot:
        """The desk as the Google backend reads it: a `Snapshot` built from the batchGet answer."""
        return snapshot_from_answer(json.loads(payload or self.batch_get_payload()))

    def without_latest(
        self, leads: int, obs: int
    ) -> tuple[GeneratedDesk, list[list[CellValue]], list[list[CellValue]]]:
        """(the desk before its newest `leads` lead rows and `obs` OB rows came in, those lead
        rows, those OB rows): rows are in arrival order, so the newest are the last."""
        earlier = GeneratedDesk(
            self.now,
            self.lead_headers,
            self.ob_headers,
            self.leads[: len(self.leads) - leads],
            self.obs[: len(self.obs) - obs],
        )
        return earlier, self.leads[len(earlier.leads) :], self.obs[len(earlier.obs) :]


def snapshot_from_answer(answer: dict[str, Any]) -> Snapshot:
    """What the Google backend makes of a `values.batchGet` answer for the two tabs."""
    leads, obs = (
        _tab(key, title, vr.get("values", []))
        for key, title, vr in zip(
            ("leads", "ob"), (LEADS_TITLE, OB_TITLE), answer["valueRanges"], strict=True
        )
    )
    return Snapshot(source="bench", leads_tab=leads, ob_tab=obs)


# -- the API's shape of values ------------------------------------------------------------------

_EPOCH = datetime(1899, 12, 30)


def serial(value: date | datetime) -> int | float:
    """A date as a sheet serial number (days since 1899-12-30; the time as a fraction)."""
    if not isinstance(value, datetime):
        return (value - _EPOCH.date()).days
    delta = value.replace(tzinfo=None) - _EPOCH
    number = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    return int(number) if float(number).is_integer() else number


def api_value(value: CellValue) -> object:
    """One cell as the Sheets API answers it with UNFORMATTED_VALUE / SERIAL_NUMBER."""
    if value is None:
        return ""
    if isinstance(value, date):
        return serial(value)
    return value


def api_row(row: Sequence[CellValue]) -> list[object]:
    out = [api_value(v) for v in row]
    while out and out[-1] == "":
        out.pop()
    return out


def _tab(key: str, title: str, values: list[list[object]]) -> Tab:
    """What the Google backend makes of one tab of the answer ("" is an empty cell)."""
    headers = tuple("" if v is None else str(v) for v in (values[0] if values else []))
    columns = find_columns(key, title, 1, headers)  # type: ignore[arg-type]
    rows = []
    for r in values[1:]:
        row = [None if v == "" else v for v in r]
        while row and row[-1] is None:
            row.pop()
        rows.append(tuple(row))
    return Tab(key, title, 1, headers, columns, tuple(rows))  # type: ignore[arg-type]


# -- the generator -------------------------------------------------------------------------------


class _Builder:
    def __init__(self, seed: int, now: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.now = now.astimezone(KST).replace(tzinfo=None)
        self.start = self.now - timedelta(days=days)
        self.days = days
        self.leads: list[_Lead] = []
        self.obs: list[tuple[datetime, list[CellValue]]] = []
        self._numbers: set[int] = set()

    # -- invented people, places, times

    def number(self) -> str:
        """A fresh, valid 010 number no other customer has."""
        from rules.values import parse_phone

        while True:
            n = self.rng.randrange(20_000_000, 100_000_000)
            if n in self._numbers:
                continue
            text = f"010-{n // 10000:04d}-{n % 10000:04d}"
            phone = parse_phone(text)
            if phone is not None and phone.key:
                self._numbers.add(n)
                return text

    def customer(self) -> _Customer:
        rng = self.rng
        given = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 2, 1))))
        return _Customer(rng.choice(_SURNAMES) + given, self.number())

    def place(self, province: int | None = None) -> tuple[int, str]:
        rng = self.rng
        p = rng.randrange(len(_PLACES)) if province is None else province
        full, short, towns = _PLACES[p]
        town = rng.choice(towns)
        if rng.random() < 0.3:
            town = town.split()[0]  # only the district: a word-by-word prefix of the full one
        return p, f"{full if rng.random() < 0.35 else short} {town}"

    def addresses(self) -> tuple[str, str]:
        p, origin = self.place()
        _, dest = self.place(p if self.rng.random() < 0.8 else None)
        return origin, dest

    def intake(self, lo_days: float = 0.0, hi_days: float | None = None) -> datetime:
        """An intake between `lo_days` and `hi_days` days after the desk's first day, in
        office hours mostly, to the minute."""
        hi = self.days if hi_days is None else hi_days
        day = self.start + timedelta(days=self.rng.uniform(lo_days, hi))
        hour = self.rng.choice((8, 9, 9, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 18, 20, 22))
        at = day.replace(hour=hour, minute=self.rng.randrange(60), second=0, microsecond=0)
        if at > self.now:
            at -= timedelta(days=1)  # today's late inquiries have not arrived yet
        return at

    def move_after(self, intake: datetime, lo: int = 5, hi: int = 45) -> date:
        return (intake + timedelta(days=self.rng.randint(lo, hi))).date()

    # -- how staff type values

    def intake_cell(self, at: datetime) -> CellValue:
        r = self.rng.random()
        if r < 0.02:  # pasted as text in the sheet's Korean locale
            half = "오후" if at.hour >= 12 else "오전"
            hour = at.hour - 12 if at.hour > 12 else (12 if at.hour == 0 else at.hour)
            return f"{at.year}. {at.month}. {at.day} {half} {hour}:{at.minute:02d}:00"
        if r < 0.025:
            return f"{at:%Y-%m-%d %H:%M}"
        return at

    def date_cell(self, d: date, typo: bool = True) -> CellValue:
        r = self.rng.random()
        if typo and r < 0.003:
            return self.rng.choice(("12월 말", "미정 (3월쯤)", f"{d.month}월 {d.day + 40}일", "??"))
        if r < 0.02:
            return f"{d.month}.{d.day}"
        if r < 0.035:
            return f"{d.month}월 {d.day}일"
        if r < 0.045:
            return f"{d.year}. {d.month}. {d.day}"
        if r < 0.05:
            return f"{d:%Y-%m-%d}"
        return d

    def phone_cell(self, phone: str, typo: bool = True) -> CellValue:
        r = self.rng.random()
        if typo and r < 0.003:  # a digit lost: the 10-digit 010 typo
            digits = phone.replace("-", "")
            cut = self.rng.randrange(3, 11)
            short = digits[:cut] + digits[cut + 1 :]
            return f"{short[:3]}-{short[3:6]}-{short[6:]}"
        if r < 0.033:
            return int(phone.replace("-", ""))  # a number cell: the leading 0 is gone
        if r < 0.04:
            return phone.replace("-", "")
        return phone

    def status_cell(self, status: str) -> str:
        r = self.rng.random()
        if r < 0.0005:
            return self.rng.choice(("종결(고객췌소)", "견적 진행중", "확인바람"))
        if r < 0.003 and status.startswith("종결("):
            return status.replace("(", " (")
        if r < 0.004 and status.startswith("종결("):
            return status.replace("(", "（").replace(")", "）")
        return status

    # -- rows

    def lead(
        self,
        c: _Customer,
        at: datetime,
        status: str,
        *,
        remarks: str | None = None,
        move: date | None | str = None,
        origin: str | None = None,
        dest: str | None = None,
        move_type: str | None = None,
        alt: str = "",
        phone: CellValue | None = None,
        typos: bool = True,
    ) -> _Lead:
        rng = self.rng
        at = at.replace(second=0, microsecond=0)  # staff's sheets keep intakes to the minute
        if origin is None or dest is None:
            origin, dest = self.addresses()
        if move is None:
            move = self.move_after(at)
        move_cell: CellValue = move if isinstance(move, str) else self.date_cell(move, typos)
        if rng.random() < 0.01 and status not in ("계약완료", "견적진행"):
            move_cell = "미정"
        if status == "상담요청" and rng.random() < 0.05:
            dest = ""  # 필수 정보 누락
        due: CellValue = None
        if status in ("", "상담요청", "견적진행", "부재", "확인요청") and rng.random() < 0.4:
            due = (at + timedelta(days=rng.randint(1, 6))).date()
        vendor = rng.choice(_VENDORS) if status in ("견적진행", "계약완료") else ""
        cells: list[CellValue] = [
            self.intake_cell(at),
            due,
            self.status_cell(status) if typos else status,
            rng.choice(_REMARKS) if remarks is None else remarks,
            c.name,
            (self.phone_cell(c.phone, typos) if phone is None else phone),
            alt,
            move_cell,
            origin,
            dest,
            move_type or _weighted(rng, _MOVE_TYPES),
            vendor,
            rng.choice(_MANAGERS),
        ]
        lead = _Lead(at, cells, [c.phone] + ([alt] if alt else []))
        self.leads.append(lead)
        return lead

    def ob(
        self,
        lead: _Lead,
        at: datetime,
        detail: str,
        reason: str = "",
        *,
        tons: CellValue = None,
        quote: CellValue = None,
        synced: float = 0.75,
    ) -> None:
        """An OB call to `lead`; with probability `synced` staff already copied it to 비고."""
        at = min(at.replace(second=0, microsecond=0), self.now - timedelta(minutes=1))
        rng = self.rng
        date_cell: CellValue = at if rng.random() < 0.6 else at.date()
        if rng.random() < 0.02:
            date_cell = f"{at.month}.{at.day}"
        vendor = lead.cells[I_VENDOR] or (rng.choice(_VENDORS) if rng.random() < 0.5 else "")
        row: list[CellValue] = [
            date_cell,
            lead.phones[0] if rng.random() < 0.97 else int(lead.phones[0].replace("-", "")),
            detail,
            reason,
            vendor,
            tons,
            quote,
        ]
        self.obs.append((at, row))
        if rng.random() < synced:
            note = f"{at.month}.{at.day} OB {detail}"
            old = str(lead.cells[I_REMARKS] or "")
            lead.cells[I_REMARKS] = f"{old}\n{note}" if old else note

    # -- the desk's stories

    def plain(self) -> None:
        rng = self.rng
        c = self.customer()
        at = self.intake()
        age = (self.now - at).days
        if age <= 2:
            status = _weighted(rng, [("", 30), ("상담요청", 30), ("부재", 15), ("견적진행", 25)])
        elif age <= 20:
            status = _weighted(
                rng,
                [("견적진행", 40), ("계약완료", 20), ("부재", 8), ("상담요청", 6), ("청소문의", 3),
                 ("기타 서비스", 2), ("종결(고객취소)", 4), *_CLOSED_PLAIN],
            )  # fmt: skip
        else:
            status = _weighted(
                rng,
                [("계약완료", 35), ("견적진행", 12), ("종결(고객취소)", 5), ("청소문의", 2),
                 ("기타 서비스", 1), ("부재", 2), *_CLOSED_PLAIN],
            )  # fmt: skip
        move_type = "입주청소" if status == "청소문의" else None
        lead = self.lead(c, at, status, move_type=move_type)
        if status == "종결(고객취소)":
            self.cancellation_ob(lead)
        elif status in ("부재", "견적진행") and rng.random() < 0.25:
            self.ob(lead, at + timedelta(hours=rng.uniform(2, 72)), rng.choice(_OB_DETAILS))

    def cancellation_ob(self, lead: _Lead) -> None:
        """A cancelled lead: most have the OB row with the reason, some none; price reasons
        with and without 짐 양 / 견적금액."""
        rng = self.rng
        if rng.random() < 0.2:
            return  # cancel.ob_missing
        at = lead.intake + timedelta(hours=rng.uniform(3, 24 * 10))
        if rng.random() < 0.3:
            r = rng.random()
            tons: CellValue = rng.choice((1, 2.5, "2.5톤", "1톤 반", "5t")) if r < 0.6 else None
            quote: CellValue = (
                rng.choice((1_200_000, "1,500,000", "120만원", "80만", 950000))
                if r < 0.4 or r > 0.8
                else None
            )
            reason = rng.choice(("비싼 가격", "비싼 가격", "가격", "금액 부담"))
            self.ob(lead, at, "견적이 비싸다고 취소", reason, tons=tons, quote=quote)
        else:
            reason, detail = rng.choice(_CANCEL)
            self.ob(lead, at, detail, reason)

    def repeat(self) -> None:
        """The same move asked again (a complaint, a question): 2 or 3 rows, one number."""
        rng = self.rng
        c = self.customer()
        at = self.intake()
        origin, dest = self.addresses()
        move = self.move_after(at)
        mt = _weighted(rng, _MOVE_TYPES[:3])
        first = rng.choice(("견적진행", "견적진행", "상담요청", "부재", "계약완료"))
        self.lead(c, at, first, move=move, origin=origin, dest=dest, move_type=mt)
        for _ in range(rng.choice((1, 1, 1, 2))):
            at = min(at + timedelta(hours=rng.uniform(0.1, 96)), self.now - timedelta(minutes=5))
            handled = rng.random() < 0.5  # staff already closed it
            self.lead(
                c,
                at,
                "종결(중복)" if handled else rng.choice(("", "", "상담요청")),
                remarks=rng.choice(("업체 연락 지연 문의", "견적 언제 오나요", "")),
                move=move,
                origin=origin if rng.random() < 0.7 else origin.split()[0],
                dest=dest,
                move_type=mt,
            )

    def several_numbers(self) -> None:
        """One customer, one move, two numbers: the later row names the first in 예비번호."""
        rng = self.rng
        c = self.customer()
        at = self.intake()
        origin, dest = self.addresses()
        move = self.move_after(at)
        self.lead(c, at, "견적진행", move=move, origin=origin, dest=dest, move_type="원룸이사")
        other = _Customer(c.name, self.number())
        later = min(at + timedelta(hours=rng.uniform(1, 72)), self.now - timedelta(minutes=5))
        alt = c.phone if rng.random() < 0.8 else f"예비번호: {c.phone}"
        self.lead(
            other, later, "", move=move, origin=origin, dest=dest, move_type="원룸이사", alt=alt
        )

    def second_move(self) -> None:
        """One customer, two moves to other addresses (합가이사): both stay."""
        rng = self.rng
        c = self.customer()
        at = self.intake(0, self.days - 10)
        move = self.move_after(at)
        _, dest = self.place()
        note = "합가이사 -> 동일 가맹점 배정 필요"
        for status in ("계약완료", rng.choice(("계약완료", "견적진행"))):
            _, origin = self.place()
            self.lead(
                c,
                at,
                status,
                remarks=note,
                move=move,
                origin=origin,
                dest=dest,
                move_type="합가이사",
            )
            at += timedelta(minutes=rng.randint(3, 60))

    def cleaning_too(self) -> None:
        """A moving inquiry and a cleaning-only inquiry of the same customer: no duplicate."""
        c = self.customer()
        at = self.intake(0, self.days - 5)
        origin, dest = self.addresses()
        move = self.move_after(at)
        self.lead(c, at, "견적진행", move=move, origin=origin, dest=dest, move_type="가정이사")
        self.lead(c, at + timedelta(hours=5), "청소문의", remarks="입주청소만 문의", move=move,
                  origin=dest, dest="", move_type="입주청소")  # fmt: skip

    def longterm(self) -> None:
        """장기요청 / 장기견적 / 장기무료: moves 60–90+ days after intake; some due for
        promotion now, some past, some outside their window."""
        rng = self.rng
        c = self.customer()
        status = _weighted(rng, [("장기요청", 60), ("장기견적", 25), ("장기무료", 15)])
        today = self.now.date()
        r = rng.random()
        if status == "장기요청" and r < 0.15:
            move = today + timedelta(days=rng.randint(30, 60))  # due: promote
        elif r < 0.25:
            move = today - timedelta(days=rng.randint(1, 40))  # past
        else:
            move = today + timedelta(days=rng.randint(61, 120))
        lo = max(0, (move - self.start.date()).days - 95)
        hi = max(lo + 1, min(self.days, (move - self.start.date()).days - 55))
        at = self.intake(lo, hi)
        self.lead(c, at, status, move=move)

    def reregistration(self) -> None:
        """A closed customer asks again, around the settlement of the old row's month."""
        rng = self.rng
        c = self.customer()
        months = max(1, self.days // 31 - 1)
        index = self.now.year * 12 + self.now.month - 1 - rng.randrange(1, months + 1)
        old_month = datetime(index // 12, index % 12 + 1, 1)
        old_at = old_month + timedelta(days=rng.randint(0, 27), hours=rng.randint(9, 18))
        cutoff = datetime((index + 1) // 12, (index + 1) % 12 + 1, 3, 10, 0)
        new_at = cutoff + timedelta(minutes=rng.choice((-1, 0, 1, -60 * 30, 60 * 30, -2, 60 * 24)))
        if new_at >= self.now:
            new_at = self.now - timedelta(hours=1)
        if old_at >= new_at:
            old_at = new_at - timedelta(days=3)
        origin, dest = self.addresses()
        move = self.move_after(new_at, 10, 30)
        closed = rng.choice(("종결(고객취소)", "종결(연락두절)", "종결(이사미정)", "종결(일정)"))
        old = self.lead(c, old_at, closed, remarks="고객 변심", move=move, origin=origin, dest=dest)
        if closed == "종결(고객취소)":
            self.cancellation_ob(old)
        mt = str(old.cells[I_TYPE])
        self.lead(c, new_at, "", remarks="", move=move, origin=origin, dest=dest, move_type=mt)

    def vendor_return(self) -> None:
        """A vendor handed the DB back (확인요청, 비고 `업체 : ...`); some checked by an OB call
        already (and then a status hint from its reason), some waiting."""
        rng = self.rng
        c = self.customer()
        at = self.intake(self.days - 30, self.days)
        lead = self.lead(c, at, "확인요청", remarks=rng.choice(_RETURNS))
        if rng.random() < 0.6:
            reason, detail = rng.choice(_CANCEL + [("연락 두절", "3회 통화 시도, 연락 안 됨")])
            self.ob(lead, at + timedelta(hours=rng.uniform(2, 60)), detail, reason)

    def name_match(self) -> None:
        """Two numbers, same name, same move: reported, never changed."""
        c = self.customer()
        at = self.intake()
        origin, dest = self.addresses()
        move = self.move_after(at)
        self.lead(c, at, "견적진행", move=move, origin=origin, dest=dest, typos=False)
        twin = _Customer(c.name, self.number())
        self.lead(
            twin, at + timedelta(hours=6), "", move=move, origin=origin, dest=dest, typos=False
        )

    def orphan_obs(self, n: int) -> None:
        """OB rows for numbers that are on no lead (a typo, a lead never registered), and rows
        missing their phone or detail."""
        rng = self.rng
        for _ in range(n):
            at = self.intake(self.days - 60, self.days)
            r = rng.random()
            phone: CellValue = self.number() if r < 0.8 else None
            detail = "부재, 문자 남김" if r < 0.9 else ""
            self.obs.append((at, [at.date(), phone, detail, "", "", None, None]))


_STORIES = (
    # (story, leads per story, share of the desk's leads)
    ("repeat", 2.25, 0.090),  # ~5% of leads are the repeated inquiries
    ("several_numbers", 2, 0.020),  # ~1% of leads: the customer's other number
    ("second_move", 2, 0.008),
    ("cleaning_too", 2, 0.006),
    ("longterm", 1, 0.030),
    ("reregistration", 2, 0.016),
    ("vendor_return", 1, 0.020),
    ("name_match", 2, 0.003),
)


def generate(
    n_leads: int, n_obs: int | None = None, seed: int = 0, now: datetime = NOW, days: int = 365
) -> GeneratedDesk:
    """A desk of exactly `n_leads` leads and `n_obs` OB rows (default 30% of the leads) whose
    intakes spread over the `days` before `now`."""
    if n_obs is None:
        n_obs = round(n_leads * OB_SHARE)
    b = _Builder(seed, now, days)
    plan: list[str] = []
    for story, size, share in _STORIES:
        plan += [story] * int(n_leads * share / size)
    b.rng.shuffle(plan)
    for story in plan:
        if len(b.leads) + 3 > n_leads:
            break
        getattr(b, story)()
    while len(b.leads) < n_leads:
        b.plain()
    leads = sorted(b.leads, key=lambda lead: lead.intake)
    # OB rows: the stories' calls first, then follow-ups on random leads, then a few orphans.
    orphans = max(1, n_obs // 100) if n_obs else 0
    while len(b.obs) < n_obs - orphans:
        lead = b.rng.choice(leads)
        at = lead.intake + timedelta(hours=b.rng.uniform(1, 24 * 14))
        b.ob(lead, at, b.rng.choice(_OB_DETAILS))
    b.orphan_obs(max(0, n_obs - len(b.obs)))
    obs = [row for _, row in sorted(b.obs, key=lambda o: o[0])[:n_obs]]
    return GeneratedDesk(
        now=now,
        lead_headers=list(LEAD_HEADERS),
        ob_headers=list(OB_HEADERS),
        leads=[lead.cells for lead in leads],
        obs=obs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--obs", type=int, default=None, help="default: 30%% of --leads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--xlsx", type=Path, help="write the desk as a workbook")
    parser.add_argument("--json", type=Path, help="write the batchGet answer for the desk")
    args = parser.parse_args(argv)
    d = generate(args.leads, args.obs, args.seed)
    print(f"{len(d.leads)} leads, {len(d.obs)} OB rows, now {d.now.isoformat()}")
    if args.xlsx:
        d.write_xlsx(args.xlsx)
        print(f"wrote {args.xlsx}")
    if args.json:
        args.json.write_text(d.batch_get_payload(), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
