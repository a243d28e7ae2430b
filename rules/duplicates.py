"""Seed §3 (중복고객 관리): one customer asking again about the same move.

A customer is every row sharing a phone (연락처 or 예비번호, transitively). Their rows are split
into moves: same service, and addresses that match (RULES.md "Same move or another move"). In a
move, the open row furthest along survives (handed to a vendor before not, then the earliest)
and the other open rows are closed as 종결(중복).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from rules.context import (
    DUPLICATE,
    SERVICE_STATUSES,
    Context,
    intake_order,
    is_closed,
    is_open,
    service_of,
    status_mark,
)
from rules.edits import Edits
from rules.model import Finding, Lead, Severity
from rules.registry import finding, rule
from rules.text import md_hm, squash
from rules.values import phones_in_text

# First word of an address -> the short form staff also write (RULES.md: 광주시 may be 경기
# 광주시, so only 광주광역시 becomes 광주).
_PROVINCES = {
    "서울특별시": "서울",
    "서울시": "서울",
    "부산광역시": "부산",
    "부산시": "부산",
    "대구광역시": "대구",
    "대구시": "대구",
    "인천광역시": "인천",
    "인천시": "인천",
    "광주광역시": "광주",
    "대전광역시": "대전",
    "대전시": "대전",
    "울산광역시": "울산",
    "울산시": "울산",
    "세종특별자치시": "세종",
    "세종시": "세종",
    "경기도": "경기",
    "강원도": "강원",
    "강원특별자치도": "강원",
    "충청북도": "충북",
    "충청남도": "충남",
    "전라북도": "전북",
    "전북특별자치도": "전북",
    "전라남도": "전남",
    "경상북도": "경북",
    "경상남도": "경남",
    "제주특별자치도": "제주",
    "제주도": "제주",
}
# The first word of an address once its province is written the short way.
REGIONS = frozenset(_PROVINCES.values())
_PUNCT = re.compile(r"[,()]")


@lru_cache(maxsize=1 << 16)
def address_words(text: str) -> tuple[str, ...]:
    """An address as compared: words, with the province written the short way (remembered:
    every rule that splits a customer into moves compares the same addresses)."""
    words = _PUNCT.sub(" ", text).split()
    if words:
        words[0] = _PROVINCES.get(words[0], words[0])
    return tuple(words)


def same_place(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Equal, or one a word-by-word prefix of the other; an empty address matches anything."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def moves_of(customer: list[Lead]) -> list[list[Lead]]:
    """A customer's rows split into moves, each in intake order. Rows of different services
    never share a move; a row joins a move only when it matches every row already in it."""
    moves: list[list[Lead]] = []
    # per move: its service (its first row's) and the addresses of its rows
    places: list[tuple[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]] = []
    for lead in sorted(customer, key=intake_order):
        service = service_of(lead)
        origin, destination = address_words(lead.origin), address_words(lead.destination)
        for move, (move_service, rows) in zip(moves, places, strict=True):
            if move_service == service and all(
                same_place(origin, o) and same_place(destination, d) for o, d in rows
            ):
                move.append(lead)
                rows.append((origin, destination))
                break
        else:
            moves.append([lead])
            places.append((service, [(origin, destination)]))
    return moves


@dataclass(frozen=True)
class Duplicate:
    survivor: Lead
    row: Lead

    @property
    def same_number(self) -> bool:
        a, b = self.survivor.phone, self.row.phone
        return bool(a and b and a.key and a.key == b.key)


# Statuses of a DB a vendor holds (seed §1: 견적진행 = 업체에게 배정된 상태; 장기견적 /
# 장기무료 = 업체에 제공한 상태).
HANDED_TO_VENDOR = frozenset({"견적진행", "장기견적", "장기무료"})


def survivor_order(lead: Lead) -> tuple[bool, datetime, int]:
    """The row a move keeps sorts first: one a vendor holds before one nobody has handed
    over, then the earliest intake, then the row nearer the top."""
    return (lead.status not in HANDED_TO_VENDOR, *intake_order(lead))


def duplicates_of(customer: list[Lead]) -> tuple[list[Duplicate], list[Duplicate]]:
    """(rows to close, 계약완료 rows that duplicate an earlier open row)."""
    close: list[Duplicate] = []
    contracted: list[Duplicate] = []
    if sum(1 for lead in customer if is_open(lead)) < 2:
        return close, contracted  # no move of theirs can hold two open rows
    for move in moves_of(customer):
        open_rows = [lead for lead in move if is_open(lead)]
        if len(open_rows) < 2:
            continue
        survivor = min(open_rows, key=survivor_order)
        for lead in open_rows:
            if lead is not survivor:
                pair = Duplicate(survivor, lead)
                (contracted if lead.status == "계약완료" else close).append(pair)
    return close, contracted


def _number(lead: Lead) -> str:
    return (
        lead.phone.display
        if lead.phone and lead.phone.key
        else (lead.phone.text if lead.phone else "")
    )


def _intake(survivor: Lead) -> str:
    if survivor.intake_at:
        return md_hm(survivor.intake_at, survivor.intake_has_time)
    return f"행 {survivor.row}"


def _first_note(survivor: Lead) -> str:
    return f"중복: 최초 접수 {_intake(survivor)}"


def _vendor_note(survivor: Lead) -> str:
    return f"중복: 업체 진행 중인 {_intake(survivor)} 접수 유지"


def duplicate_note(survivor: Lead, closed: Lead) -> str:
    """The 비고 note of `closed`, closed as a duplicate of `survivor`: `중복: 최초 접수 12.2
    15:13` when the survivor came first, else `중복: 업체 진행 중인 12.2 15:13 접수 유지` (a
    vendor holds the later row)."""
    if intake_order(survivor) < intake_order(closed):
        return _first_note(survivor)
    return _vendor_note(survivor)


def closed_as_duplicate_of(lead: Lead, survivor: Lead) -> bool:
    """Whether the bot closed `lead` as a duplicate of `survivor` (its note names it; runs
    before the vendor's note wrote `최초 접수` for a later survivor too)."""
    if lead.status != DUPLICATE:
        return False
    notes = (_first_note(survivor), _vendor_note(survivor))
    return any(
        line.strip() in notes or line.strip().startswith(tuple(n + " (" for n in notes))
        for line in lead.remarks.splitlines()
    )


def _close(edits: Edits, d: Duplicate, reason: str) -> None:
    note = duplicate_note(d.survivor, d.row)
    if d.row.status in SERVICE_STATUSES or d.row.status in HANDED_TO_VENDOR:
        # the status is what made it a cleaning / other-service inquiry, or a DB a vendor
        # holds: keep that readable once it says 종결(중복), for staff and for the next run
        # (service_of, dup.vendor_notice)
        note += f" {status_mark(d.row.status)}"
    edits.set_status(d.row, DUPLICATE, reason)
    edits.append(d.row, "remarks", note, reason, d.row.intake_day)


@rule("dup.same", mode="apply", changes=True, title="중복 종결", scope="customer")
def same_customer_same_move(customer: list[Lead], ctx: Context, edits: Edits) -> Iterator[Finding]:
    """dup.same — the same customer asked again about the same move: every open row but the
    one furthest along becomes 종결(중복). That is the row a vendor holds (견적진행, 장기견적,
    장기무료) before one nobody has handed over, then the earliest 인입일.

    Why: seed §3 — "고객이 동일한 정보로 2회 이상 문의하였을 때 1개 DB를 제외한 나머지는
    중복처리": a repeat inquiry (a complaint, a question) is not a new sale. The seed keeps "최초
    1번"; a later row a vendor is already quoting is kept instead of an earlier one nobody
    handed over, so no vendor loses a DB it works on. A row in 계약완료 is never closed; a
    계약완료 row duplicating the surviving open one is flagged instead. A second move to other
    addresses (합가이사) is another move and stays open.

    Example (seed §3 picture): 11-29 17:54 견적진행, 12-02 15:13 (empty), 12-02 15:19 (empty), one
    phone, same addresses → the two 12-02 rows get 진행상황 `종결(중복)` and 비고
    `중복: 최초 접수 11.29 17:54`. Row 9 부재 (12.1) and row 10 견적진행 with 한결이사 (12.2) →
    row 9 closes with `중복: 업체 진행 중인 12.2 … 접수 유지` (the kept row is not the first);
    row 10 stays with its vendor. A closed row a vendor held, or a 청소문의 / 기타 서비스 row,
    keeps its old status in the note: `중복: 최초 접수 12.1 10:00 (종결 전 견적진행)`.
    """
    close, contracted = duplicates_of(customer)
    for d in close:
        if d.same_number:
            _close(edits, d, f"같은 고객·같은 이사 (최초 행 {d.survivor.row})")
    for d in contracted:
        earlier = intake_order(d.survivor) < intake_order(d.row)
        yield finding(
            "dup.same",
            d.row,
            f"계약완료 건인데 같은 이사의 {'이전' if earlier else '다른'} 접수(행 {d.survivor.row})가"
            " 열려 있음 — 중복 확인",
        )


@rule(
    "dup.multi_number",
    mode="apply",
    changes=True,
    title="여러 번호 문의 정리 (중복 종결·번호 메모)",
    scope="customer",
)
def several_numbers(customer: list[Lead], ctx: Context, edits: Edits) -> None:
    """dup.multi_number — one customer asked about the same move from another number (linked
    through 예비번호): every row but the one kept (as dup.same keeps it: the row a vendor holds,
    else the first) becomes 종결(중복) and the numbers are cross-noted.

    Why: seed §3 — "한 고객이 여러 개의 번호로 문의한 경우 1개 DB를 제외한 나머지는
    중복처리", noted the desk's way: `<번호> 접수 내용 동일` on both rows, the other number in
    the surviving row's 예비번호.

    Example (seed §3 picture): 견적진행 010-7181-5385 and, later, 010-5373-4269 with 예비번호
    010-7181-5385 → the later row: `종결(중복)`, 비고 + `010-7181-5385 접수 내용 동일`; the
    견적진행 row: 예비번호 + `010-5373-4269`, 비고 + `010-5373-4269 접수 내용 동일`.
    """
    close, _ = duplicates_of(customer)
    for d in close:
        if d.same_number:
            continue
        survivor, row = d.survivor, d.row
        reason = f"같은 고객(다른 번호)·같은 이사 (최초 행 {survivor.row})"
        _close(edits, d, reason)
        if _number(survivor):
            note = f"{_number(survivor)} 접수 내용 동일"
            edits.append(row, "remarks", note, reason, row.intake_day)
        other = _number(row)
        if other:
            if row.phone and row.phone.key and row.phone.key not in survivor.phone_keys:
                edits.append(survivor, "alt_phones", other, f"행 {row.row}의 번호")
            note = f"{other} 접수 내용 동일"
            edits.append(survivor, "remarks", note, f"행 {row.row}의 번호", row.intake_day)


@rule(
    "dup.name_match",
    mode="suggest",
    title="같은 고객일 수 있음",
    scope="desk",
    severity=Severity.INFO,
)
def same_name_same_move(ctx: Context) -> Iterator[Finding]:
    """dup.name_match — rows with no shared phone but the same name, move date, origin and
    destination are reported on the later row; never changed.

    Why: seed §3's several-number case is only certain when a number links the rows; a name and
    a move alike are a strong hint for staff to check, not proof.

    Example: 김민수 010-1111-2222 on row 2 and, later, 김민수 010-3333-4444 on row 3, both 12.20
    서울 강남구 → 경기 성남시 → on row 3, 봇 확인 `같은 고객일 수 있음, 행 2 (이름·이사예정일·주소
    같음)`.
    """
    leads = ctx.leads
    # Rows with the same name and move date first (cheap), then the same addresses among them.
    candidates: dict[tuple[str, object], list[int]] = defaultdict(list)
    for i, lead in enumerate(leads):
        if lead.name and lead.move_date and lead.origin and lead.destination:
            name = lead.name if lead.name.isalnum() else "".join(lead.name.split())
            candidates[name, lead.move_date].append(i)
    groups: list[list[int]] = []  # positions with the same name, move date and addresses
    for positions in candidates.values():
        if len(positions) < 2:
            continue
        same: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = defaultdict(list)
        for i in positions:
            same[address_words(leads[i].origin), address_words(leads[i].destination)].append(i)
        groups.extend(g for g in same.values() if len(g) > 1)
    groups.sort(key=lambda g: g[0])  # in order of each group's first row, as the sheet reads
    for group in groups:
        rows = sorted(group, key=lambda i: intake_order(leads[i]))
        for n, i in enumerate(rows[1:], start=1):
            lead = leads[i]
            if is_closed(lead):
                continue
            customer = ctx.customer_id(i)
            earlier = next((e for e in rows[:n] if ctx.customer_id(e) != customer), None)
            if earlier is not None:
                yield finding(
                    "dup.name_match",
                    lead,
                    f"같은 고객일 수 있음, 행 {leads[earlier].row} (이름·이사예정일·주소 같음)",
                    Severity.INFO,
                )


# the note of a vendor's DB closed as 종결(중복) (`(견적진행)`: as older runs wrote the mark)
_CLOSED_VENDOR_DB = re.compile(
    r"중복: [^\n]*\((?:종결 전 )?(?:" + "|".join(HANDED_TO_VENDOR) + r")\)"
)
VENDOR_TOLD = "업체 통보"


@rule("dup.vendor_notice", mode="suggest", title="업체에 전달된 DB 중복 종결", scope="lead")
def vendor_notice(lead: Lead, ctx: Context) -> list[Finding]:
    """dup.vendor_notice — a row the bot closed as 종결(중복) had been handed to a vendor:
    the desk must tell that vendor its DB was closed, then write `업체 통보` in 비고 (the 봇
    확인 message says so); the finding stays until then.

    Why: seed §3 closes every repeat but one; when the closed row was a vendor's (견적진행,
    장기견적, 장기무료 — e.g. both rows of the move had gone to vendors), that vendor is still
    working on a DB that no longer counts (and is no longer billed at the settlement). The bot
    keeps the closed row's old status in its note (`중복: 최초 접수 12.1 10:00 (종결 전
    견적진행)`), so the finding stays until staff write `업체 통보` in 비고 after telling the vendor.

    Example: 12.1 견적진행 (한빛이사) and 12.2 견적진행 (한결이사), same customer and move → the
    12.2 row closes and gets 봇 확인 `한결이사에 전달된 DB를 중복 종결 — 업체에 알린 뒤 비고에 '업체 통보'라고 적어 주세요`.
    """
    if lead.status != DUPLICATE:
        return []
    closed = _CLOSED_VENDOR_DB.search(lead.remarks)
    if closed is None or squash(VENDOR_TOLD) in squash(lead.remarks[closed.end() :]):
        return []
    vendor = lead.vendor or "담당 업체"
    return [
        finding(
            "dup.vendor_notice",
            lead,
            f"{vendor}에 전달된 DB를 중복 종결 — 업체에 알린 뒤 비고에 '{VENDOR_TOLD}'라고 적어 주세요",
        )
    ]


@rule(
    "dup.note_number",
    mode="suggest",
    title="비고에 적힌 번호로 들어온 DB",
    scope="desk",
    severity=Severity.INFO,
)
def note_number(ctx: Context) -> Iterator[Finding]:
    """dup.note_number — a phone number written in one lead's 비고 is the 연락처 or 예비번호 of
    another lead of the same move that is not linked to it yet: ask staff to put it in 예비번호.

    Why: seed §3's third picture — one customer asking from several numbers is a duplicate,
    but the bot only knows it once a number links the rows (예비번호). A number staff noted in
    비고 ("남편 번호 …으로도 문의함") is the hint; only a person can say it is the same
    customer, so this is a suggestion, never a change. Once the number stands in 예비번호,
    dup.multi_number closes the later row. Numbers are found in the text as `phonenumbers`
    finds them (region KR); the rows must match as one move (service and addresses, as
    dup.same) and the row whose number it is must be open.

    Example: row 5 비고 `남편 번호 010-5772-1566 으로도 문의함`; row 9, same addresses, from
    010-5772-1566 → on row 9, 봇 확인 `행 5 비고에 적힌 번호로 들어온 DB — 같은 고객이면 행 5의
    예비번호에 적어 주세요`.
    """
    leads = ctx.leads
    for i, lead in enumerate(leads):
        found = phones_in_text(lead.remarks) if lead.remarks else ()
        if not found:
            continue
        for key in dict.fromkeys(p.key for p in found if p.key):
            if key in lead.phone_keys:
                continue  # the customer's own number
            for j in ctx.positions_with(key):
                other = leads[j]
                if (
                    ctx.customer_id(j) != ctx.customer_id(i)
                    and not is_closed(other)
                    and len(moves_of([lead, other])) == 1
                ):
                    yield finding(
                        "dup.note_number",
                        other,
                        f"행 {lead.row} 비고에 적힌 번호로 들어온 DB — 같은 고객이면 행 "
                        f"{lead.row}의 예비번호에 적어 주세요",
                        Severity.INFO,
                    )
