"""The Google Sheets backend, run end to end through real gspread and google-auth code against
the fake Sheets API of `fake_sheets` (served through `responses`; nothing reaches Google)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import structlog.testing

from bot.engine import plan
from bot.errors import (
    MissingHeader,
    MissingTab,
    ServiceFailure,
    SheetUnavailable,
    UserError,
)
from bot.sheets.google import (
    FORMULA_CELL,
    GoogleBackend,
    WriteInterrupted,
    _spans,
    a1_range,
    spreadsheet_id,
)
from rules.columns import TabSpec
from rules.model import LEADS, OB, CellWrite, SheetKey, Snapshot
from rules.parse import fingerprint, parse_desk
from rules.settings import RuleSettings
from rules.settle import COLUMN_MOVED, NOTE_COLUMN_TAKEN, ROW_LOST
from rules.values import KST, cell_text

from conftest import FakeNotifier
from fake_sheets import (
    FakeSheet,
    FakeSheetsAPI,
    Formula,
    ServiceAccountKey,
    make_service_account_key,
    serial,
)

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-xy"
LEAD_HEADERS = [
    "인입일", "통화예정일", "진행상황", "실패사유/비고", "고객명", "연락처", "예비번호",
    "이사예정일", "출발지", "도착지", "이사종류", "배정업체", "담당자",
]  # fmt: skip
OB_HEADERS = ["OB 날짜", "고객 연락처", "상세내용", "취소 사유", "담당 업체", "짐 양", "견적금액"]

LEAD_ROWS: list[list[Any]] = [
    [datetime(2024, 11, 29, 17, 54), date(2024, 12, 5), "견적진행", "", "김민수",
     "010-2000-1001", None, date(2024, 12, 20), "서울 강남구", "경기 성남시", "가정이사",
     "한빛이사", "이지은"],
    [datetime(2024, 12, 2, 15, 13), None, "장기요청", "업체 연락 지연", "박서준",
     "010-2000-2002"],  # ragged: the row stops after 연락처
    ["2024. 12. 2 오후 3:19:00", None, "종결 (중복)", None, "이서연", 1020003003, None,
     "12월 20일"],
    [],  # an empty row in the middle
    [datetime(2024, 12, 3, 9, 30), None, "", "", "최지우", "010-2000-4004", None, None,
     None, None, None, None, "정해빈"],
]  # fmt: skip
OB_ROWS: list[list[Any]] = [
    [datetime(2024, 12, 2, 16, 2), "010-2000-1001", "업체 전달", "", "한빛이사", 2.5, 1200000],
    [date(2024, 11, 21), "010-2000-5001", "이사 일정 미정으로 취소", "일정 변경"],
]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sa_key(tmp_path_factory: pytest.TempPathFactory) -> ServiceAccountKey:
    return make_service_account_key(tmp_path_factory.mktemp("service-account"))


@pytest.fixture
def fake(sa_key: ServiceAccountKey) -> Iterator[FakeSheetsAPI]:
    api = FakeSheetsAPI()
    api.register_service_account(sa_key.key_id, sa_key.email, sa_key.public_pem)
    with api.serve():
        yield api


def add_desk(
    api: FakeSheetsAPI,
    leads: list[list[Any]] | None = None,
    obs: list[list[Any]] | None = None,
    lead_headers: list[str] = LEAD_HEADERS,
    ob_headers: list[str] = OB_HEADERS,
    spreadsheet: str = SHEET_ID,
    shared_with: set[str] | None = None,
) -> tuple[FakeSheet, FakeSheet]:
    """The desk's two tabs, each grid exactly as wide as its headers (no room for 봇 확인)."""
    book = api.add_spreadsheet(spreadsheet, shared_with=shared_with)
    lead_tab = book.add_sheet("이사 관리자", rows=200, columns=len(lead_headers))
    lead_tab.set_rows([lead_headers, *(LEAD_ROWS if leads is None else leads)])
    ob_tab = book.add_sheet("OB 상세", rows=100, columns=len(ob_headers))
    ob_tab.set_rows([ob_headers, *(OB_ROWS if obs is None else obs)])
    return lead_tab, ob_tab


class Sleeps(list[float]):
    """Records the backoff waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_backend(
    key: ServiceAccountKey, spreadsheet: str = SHEET_ID, **options: Any
) -> GoogleBackend:
    options.setdefault("sleep", Sleeps())
    return GoogleBackend(
        spreadsheet, TabSpec("이사 관리자"), TabSpec("OB 상세"), credentials=key.path, **options
    )


def change(snap: Snapshot, sheet: SheetKey, row: int, field: str, new: str) -> CellWrite:
    """A planned write of `new` into `field` of sheet row `row`, as the engine makes it."""
    tab = snap.tab(sheet)
    i = row - tab.header_row - 1
    return CellWrite(
        sheet=sheet,
        row=row,
        column=tab.columns[field],
        field=field,
        old=cell_text(tab.cell(i, field)),
        new=new,
        fingerprint=fingerprint(tab, i),
        rules=("test",),
    )


def note(snap: Snapshot, sheet: SheetKey, row: int, column: int, new: str) -> CellWrite:
    """A 봇 확인 write into a column the tab does not have yet (row 1: its header)."""
    tab = snap.tab(sheet)
    i = row - tab.header_row - 1
    return CellWrite(
        sheet=sheet,
        row=row,
        column=column,
        field="bot_note",
        old="",
        new=new,
        fingerprint="" if row == tab.header_row else fingerprint(tab, i),
        rules=("bot.note",),
    )


# --- reading ------------------------------------------------------------------------------------


def test_read_gives_the_rows_with_serial_dates_and_ragged_rows(fake, sa_key):
    add_desk(fake)
    snap = make_backend(sa_key).read()

    assert snap.source == SHEET_ID
    leads = snap.leads_tab
    assert leads.title == "이사 관리자" and leads.header_row == 1
    assert leads.headers == tuple(LEAD_HEADERS)
    assert leads.columns["status"] == 2 and leads.columns["phone"] == 5
    assert "bot_note" not in leads.columns
    assert leads.grid_columns == 13
    assert leads.rows[0][0] == serial(datetime(2024, 11, 29, 17, 54))
    assert leads.rows[0][1] == 45631  # 2024-12-05: days since 1899-12-30
    assert leads.rows[1] == (serial(datetime(2024, 12, 2, 15, 13)), None, "장기요청",
                             "업체 연락 지연", "박서준", "010-2000-2002")  # fmt: skip
    assert leads.rows[2][5] == 1020003003 and leads.rows[2][3] is None
    assert leads.rows[3] == ()
    assert len(leads.rows[4]) == 13
    assert snap.ob_tab.rows[0][5:] == (2.5, 1200000)
    assert snap.ob_tab.rows[1] == (45617, "010-2000-5001", "이사 일정 미정으로 취소", "일정 변경")


def test_read_costs_one_metadata_get_and_one_batch_get(fake, sa_key):
    add_desk(fake)
    make_backend(sa_key).read()

    assert fake.count() == 2
    assert fake.count("spreadsheets.get") == 1
    assert fake.count("values.batchGet") == 1
    assert fake.count("token") == 1
    batch = next(c for c in fake.calls if c.kind == "values.batchGet")
    assert batch.params["ranges"] == ["'이사 관리자'!A1:M", "'OB 상세'!A1:G"]
    assert batch.params["valueRenderOption"] == "UNFORMATTED_VALUE"
    assert batch.params["dateTimeRenderOption"] == "SERIAL_NUMBER"


def test_google_snapshot_reads_as_the_workbook_does(fake, sa_key, tmp_path):
    from bot.sheets.workbook import WorkbookBackend, create_workbook

    add_desk(fake)
    path = tmp_path / "desk.xlsx"
    create_workbook(
        path, {"이사 관리자": [LEAD_HEADERS, *LEAD_ROWS], "OB 상세": [OB_HEADERS, *OB_ROWS]}
    )
    from_workbook = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세")).read()
    from_google = make_backend(sa_key).read()

    for key in (LEADS, OB):
        book, google = from_workbook.tab(key), from_google.tab(key)
        assert google.headers == book.headers
        assert google.columns == book.columns
        assert [tuple(_as_serial(v) for v in r) for r in book.rows] == list(google.rows)
    today = date(2024, 12, 4)
    assert parse_desk(from_google, today) == parse_desk(from_workbook, today)


def _as_serial(value: Any) -> Any:
    return serial(value) if isinstance(value, date) else value


def test_a_sheet_url_works_as_the_spreadsheet(fake, sa_key):
    add_desk(fake)
    url = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0"
    snap = make_backend(sa_key, spreadsheet=url).read()
    assert snap.source == SHEET_ID
    assert len(snap.leads_tab.rows) == len(LEAD_ROWS)


def test_spreadsheet_id_rejects_what_is_neither_an_id_nor_a_url():
    assert spreadsheet_id(f" {SHEET_ID} ") == SHEET_ID
    with pytest.raises(UserError, match="neither a spreadsheet id"):
        spreadsheet_id("이사 관리자 시트")
    with pytest.raises(UserError, match="without a spreadsheet id"):
        spreadsheet_id("https://docs.google.com/document/x")


def test_a1_helpers():
    assert [a1_range("t", 1, i) for i in (0, 25, 26, 701, 702)] == [
        "'t'!A1",
        "'t'!Z1",
        "'t'!AA1",
        "'t'!ZZ1",
        "'t'!AAA1",
    ]
    assert a1_range("Kim's 시트", 2, 0, 2) == "'Kim''s 시트'!A2:C"
    assert a1_range("OB 상세", 5, 3) == "'OB 상세'!D5"
    assert a1_range("OB 상세", 5, 3, 4, 9) == "'OB 상세'!D5:E9"


# --- access errors ------------------------------------------------------------------------------


def test_403_names_the_service_account_to_share_with(fake, sa_key):
    add_desk(fake, shared_with={"someone@example.com"})
    with pytest.raises(SheetUnavailable) as caught:
        make_backend(sa_key).read()
    assert sa_key.email in str(caught.value)
    assert "Share" in str(caught.value)
    assert caught.value.exit_code == 2


def test_403_for_missing_scopes_says_to_grant_the_scope_not_to_share_the_sheet(fake, sa_key):
    add_desk(fake)
    fake.fail(403, message="Request had insufficient authentication scopes.")
    with pytest.raises(SheetUnavailable) as caught:
        make_backend(sa_key).read()
    message = str(caught.value)
    assert "https://www.googleapis.com/auth/spreadsheets" in message and "scope" in message
    assert "Share" not in message
    assert caught.value.exit_code == 2


def test_403_without_a_service_account_reads_without_a_doubled_word(fake, sa_key, monkeypatch):
    monkeypatch.setattr(GoogleBackend, "service_account_email", property(lambda self: None))
    add_desk(fake, shared_with={"someone@example.com"})
    with pytest.raises(SheetUnavailable) as caught:
        make_backend(sa_key).read()
    assert "Share the sheet with the Google account movebot uses as an Editor" in str(caught.value)
    assert " as as " not in str(caught.value)


def test_404_names_the_spreadsheet_id(fake, sa_key):
    add_desk(fake)
    other = "1ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    with pytest.raises(SheetUnavailable, match=other) as caught:
        make_backend(sa_key, spreadsheet=other).read()
    assert caught.value.exit_code == 2


def test_a_missing_tab_names_the_tabs_there_are(fake, sa_key):
    book = fake.add_spreadsheet(SHEET_ID)
    book.add_sheet("이사 관리자").set_rows([LEAD_HEADERS])
    book.add_sheet("OB상세 (12월)").set_rows([OB_HEADERS])
    with pytest.raises(MissingTab) as caught:
        make_backend(sa_key).read()
    message = str(caught.value)
    assert "'OB 상세'" in message and "'OB상세 (12월)'" in message and "'이사 관리자'" in message
    assert fake.count("values.batchGet") == 0


def test_a_tab_title_differing_only_in_spaces_is_found(fake, sa_key):
    book = fake.add_spreadsheet(SHEET_ID)
    book.add_sheet("이사관리자").set_rows([LEAD_HEADERS, *LEAD_ROWS])
    book.add_sheet("OB 상세").set_rows([OB_HEADERS])
    snap = make_backend(sa_key).read()
    assert snap.leads_tab.title == "이사관리자" and len(snap.leads_tab.rows) == len(LEAD_ROWS)


def test_a_missing_header_names_the_spreadsheet_and_the_headers_found(fake, sa_key):
    add_desk(fake, ob_headers=["OB 날짜", "연락처", "상세내용"])
    with pytest.raises(MissingHeader) as caught:
        make_backend(sa_key).read()
    message = str(caught.value)
    assert (
        SHEET_ID in message
        and "'고객 연락처'" in message
        and "OB 날짜, 연락처, 상세내용" in message
    )


def test_without_any_credentials_the_message_says_what_to_set(fake, monkeypatch):
    import google.auth
    import google.auth.exceptions

    def no_default(**_: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("no ADC")

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setattr(google.auth, "default", no_default)
    backend = GoogleBackend(SHEET_ID, TabSpec("이사 관리자"), TabSpec("OB 상세"))
    with pytest.raises(UserError, match="source.credentials"):
        backend.read()


def test_a_missing_key_file_is_a_user_error_naming_it(fake, tmp_path):
    missing = tmp_path / "nowhere.json"
    backend = GoogleBackend(
        SHEET_ID, TabSpec("이사 관리자"), TabSpec("OB 상세"), credentials=missing
    )
    with pytest.raises(UserError, match="nowhere.json"):
        backend.read()
    not_json = tmp_path / "key.json"
    not_json.write_text("-----BEGIN PRIVATE KEY-----", encoding="utf-8")
    backend = GoogleBackend(
        SHEET_ID, TabSpec("이사 관리자"), TabSpec("OB 상세"), credentials=not_json
    )
    with pytest.raises(UserError, match="key.json"):
        backend.read()
    assert fake.count() == 0


def test_the_credentials_file_comes_from_the_environment(fake, sa_key, monkeypatch):
    add_desk(fake)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_key.path))
    backend = GoogleBackend(SHEET_ID, TabSpec("이사 관리자"), TabSpec("OB 상세"))
    assert backend.read().leads_tab.rows
    assert backend.service_account_email == sa_key.email


def test_a_key_google_does_not_know_is_a_user_error(fake, tmp_path):
    add_desk(fake)
    stranger = make_service_account_key(tmp_path, email="stranger@other.iam.gserviceaccount.com")
    with pytest.raises(UserError, match="refused the credentials"):
        make_backend(stranger).read()


# --- writing ------------------------------------------------------------------------------------


def test_a_write_costs_one_verify_read_one_batch_update_and_one_read_back(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    result = backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청"),
                                  change(snap, LEADS, 3, "remarks", "업체 연락 지연\n장기요청→상담요청"),
                                  change(snap, LEADS, 4, "status", "종결(중복)")])  # fmt: skip

    assert len(result.written) == 3 and not result.skipped
    assert fake.count() == 5  # get, read, verify, write, read-back
    assert fake.count("values.batchGet") == 3 and fake.count("values.batchUpdate") == 1
    assert lead_tab.get("C3") == "상담요청" and lead_tab.get("C4") == "종결(중복)"
    assert lead_tab.get("D3") == "업체 연락 지연\n장기요청→상담요청"
    update = next(c for c in fake.calls if c.kind == "values.batchUpdate")
    assert update.body["valueInputOption"] == "RAW"
    assert [d["range"] for d in update.body["data"]] == [
        "'이사 관리자'!C3:C4",
        "'이사 관리자'!D3",
    ]
    verify = [c for c in fake.calls if c.kind == "values.batchGet"][1]
    # only the header and the touched rows (adjacent rows in one range), never whole columns
    assert verify.params["ranges"] == ["'이사 관리자'!A1:F1", "'이사 관리자'!A3:F4"]
    assert verify.params["valueRenderOption"] == "FORMULA"


def test_the_verify_read_asks_for_the_touched_rows_not_the_rows_between(fake, sa_key):
    lead_tab, _ = add_desk(
        fake,
        leads=[
            [f"2024-12-{1 + i % 28}", "", "견적진행", "", "", f"010-3000-{i:04d}"]
            for i in range(190)
        ],
    )
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [change(snap, LEADS, row, "status", "부재") for row in range(2, 192, 2)]

    result = backend.write(snap, writes)

    assert len(result.written) == len(writes)
    verify = [c for c in fake.calls if c.kind == "values.batchGet"][1]
    assert len(verify.params["ranges"]) == 1 + len(writes)  # the header, then each row
    assert all(lead_tab.get(f"C{w.row}") == "부재" for w in writes)


def test_many_scattered_rows_are_verified_in_at_most_100_ranges_covering_each():
    rows = set(range(2, 100_000, 97)) | {5, 6, 7}

    spans = _spans(rows, header_row=1)

    assert len(spans) <= 100 and spans[0] == (1, 1)
    assert all(any(a <= r <= b for a, b in spans) for r in rows)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))


def test_a_row_moved_since_the_read_is_looked_for_in_whole_columns(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    lead_tab.insert_rows(2, 1)  # staff insert a row at the top

    result = backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청")])

    assert [w.row for w in result.written] == [4]
    assert lead_tab.get("C4") == "상담요청"
    verify, back = [c.params["ranges"] for c in fake.calls if c.kind == "values.batchGet"][-2:]
    assert verify == ["'이사 관리자'!A1:A", "'이사 관리자'!C1:C", "'이사 관리자'!F1:F"]
    assert back == ["'이사 관리자'!A1:F1", "'이사 관리자'!A4:F4"]  # the read-back: the row written


def test_a_last_row_staff_emptied_since_the_read_is_skipped_as_lost(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    for column in "ABCDEFGHIJKLM":
        lead_tab.set(f"{column}6", None)  # the sheet now ends at row 5

    result = backend.write(snap, [change(snap, LEADS, 6, "status", "부재")])

    assert not result.written and result.skipped[0].reason == ROW_LOST
    assert lead_tab.get("C6") is None


def _delete_rows(tab, first: int, count: int = 1) -> None:
    """Staff delete sheet rows first..first+count-1: the rows below move up, the grid shrinks."""
    at = first - 1
    cells = {}
    for (r, c), v in tab.cells.items():
        if r < at:
            cells[(r, c)] = v
        elif r >= at + count:
            cells[(r - count, c)] = v
    tab.cells = cells
    tab.row_count -= count


def test_rows_deleted_at_the_bottom_after_the_write_do_not_fail_the_landed_write(fake, sa_key):
    """The read-back asks for the written rows only: when staff delete the last of them
    (the grid shrinks) before it, Google answers 400 "exceeds grid limits"."""
    lead_tab, _ = add_desk(fake)
    lead_tab.row_count = 6
    backend = make_backend(sa_key)
    snap = backend.read()
    fake.before(
        "values.batchUpdate",
        lambda api: api.before("values.batchGet", lambda _: _delete_rows(lead_tab, 6)),
    )

    result = backend.write(snap, [change(snap, LEADS, 6, "status", "부재")])

    # the cell landed (on the right row: staff deleted it only after): the run must say so and
    # journal it, not fail with "changed shape ... Nothing more was written"
    assert len(result.written) == 1


def test_rows_deleted_at_the_bottom_before_the_verify_read_skip_only_that_row(fake, sa_key):
    """The verify read asks for the touched rows only: when staff delete the last of them (the
    grid shrinks) before it, Google answers 400 "exceeds grid limits"; the whole columns are
    read instead, the other row is written and the deleted one skipped."""
    lead_tab, _ = add_desk(fake)
    lead_tab.row_count = 6
    backend = make_backend(sa_key)
    snap = backend.read()
    fake.before("values.batchGet", lambda api: _delete_rows(lead_tab, 6))

    result = backend.write(
        snap,
        [change(snap, LEADS, 3, "status", "상담요청"), change(snap, LEADS, 6, "status", "부재")],
    )

    assert [(w.row, w.field) for w in result.written] == [(3, "status")]
    assert [(s.write.row, s.write.field) for s in result.skipped] == [(6, "status")]
    assert lead_tab.get("C3") == "상담요청"


def test_writing_nothing_makes_no_request(fake, sa_key):
    add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    assert backend.write(snap, []).written == ()
    assert fake.count() == 2


def test_the_bot_note_column_is_appended_once_when_the_grid_is_too_narrow(fake, sa_key):
    lead_tab, ob_tab = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        note(snap, LEADS, 1, 13, "봇 확인"),
        note(snap, LEADS, 2, 13, "연락처 확인 필요"),
        note(snap, OB, 1, 7, "봇 확인"),
        note(snap, OB, 3, 7, "이사 관리자에 없는 번호"),
    ]
    result = backend.write(snap, writes)

    assert fake.count("spreadsheets.batchUpdate") == 1
    widen = next(c for c in fake.calls if c.kind == "spreadsheets.batchUpdate")
    assert widen.body == {"requests": [
        {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 1}},
        {"appendDimension": {"sheetId": 1, "dimension": "COLUMNS", "length": 1}},
    ]}  # fmt: skip
    assert lead_tab.column_count == 14 and ob_tab.column_count == 8
    assert lead_tab.get("N1") == "봇 확인" and lead_tab.get("N2") == "연락처 확인 필요"
    assert ob_tab.get("H3") == "이사 관리자에 없는 번호"
    assert len(result.written) == 4
    assert fake.count() == 6  # get, read, widen, verify, write, read-back

    # the next run finds the column and needs no widening
    again = make_backend(sa_key)
    snap = again.read()
    assert snap.leads_tab.columns["bot_note"] == 13 and snap.leads_tab.grid_columns == 14
    again.write(snap, [change(snap, LEADS, 2, "bot_note", "")])
    assert fake.count("spreadsheets.batchUpdate") == 1
    assert lead_tab.get("N2") is None


def test_adding_bot_note_reads_that_column_whole_and_the_others_on_the_touched_rows(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [note(snap, LEADS, 1, 13, "봇 확인"), note(snap, LEADS, 3, 13, "연락처 확인 필요")]

    result = backend.write(snap, writes)

    assert len(result.written) == 2 and lead_tab.get("N3") == "연락처 확인 필요"
    verify = [c for c in fake.calls if c.kind == "values.batchGet"][1]
    assert verify.params["ranges"] == [
        "'이사 관리자'!A1:F1",
        "'이사 관리자'!A3:F3",
        "'이사 관리자'!N1:N",
    ]


def test_a_value_staff_type_anywhere_in_the_new_bot_note_column_keeps_it_from_being_added(
    fake, sa_key
):
    lead_tab, _ = add_desk(fake)
    lead_tab.column_count = 14  # room for 봇 확인
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [note(snap, LEADS, 1, 13, "봇 확인"), note(snap, LEADS, 3, 13, "연락처 확인 필요")]
    fake.before("values.batchGet", lambda api: lead_tab.set("N6", "직원 메모"))  # not row 3

    result = backend.write(snap, writes)

    assert not result.written
    assert {s.reason for s in result.skipped} == {NOTE_COLUMN_TAKEN}
    assert lead_tab.get("N1") is None and lead_tab.get("N3") is None


def test_a_staff_edit_between_read_and_write_is_never_overwritten(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 3, "status", "상담요청"),
        change(snap, LEADS, 3, "remarks", "업체 연락 지연\n장기요청→상담요청 (이사 D-60)"),
        change(snap, LEADS, 4, "status", "종결(중복)"),
    ]
    lead_tab.set("D3", "고객이 직접 취소 요청")  # a member of staff, while the bot runs

    result = backend.write(snap, writes)

    assert lead_tab.get("D3") == "고객이 직접 취소 요청"
    assert lead_tab.get("C3") == "장기요청"  # the row's writes land together or not at all
    assert lead_tab.get("C4") == "종결(중복)"
    assert [(s.write.row, s.write.field) for s in result.skipped] == [(3, "status"), (3, "remarks")]
    assert all("직원" in s.reason for s in result.skipped)
    assert [(w.row, w.field) for w in result.written] == [(4, "status")]


def test_no_collector_pass_can_fall_between_the_verify_read_and_the_write(fake, sa_key):
    add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    collector_on: list[bool] = []
    fake.before("values.batchGet", lambda api: collector_on.append(gc.isenabled()))
    fake.before("values.batchUpdate", lambda api: collector_on.append(gc.isenabled()))

    backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청")])

    assert collector_on == [False, False]  # the verify read, the write
    assert gc.isenabled()  # and on again after


def test_a_staff_edit_just_before_the_verify_read_is_caught_too(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    fake.before("values.batchGet", lambda api: lead_tab.set("C3", "견적진행"))

    result = backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청")])

    assert lead_tab.get("C3") == "견적진행"
    assert not result.written and len(result.skipped) == 1
    assert fake.count("values.batchUpdate") == 0


def test_rows_inserted_above_are_found_again_by_fingerprint(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 3, "status", "상담요청"),
        change(snap, LEADS, 6, "status", "부재"),
    ]
    lead_tab.insert_rows(2, 2)  # staff insert two rows at the top
    lead_tab.set("A2", datetime(2024, 12, 4, 9, 0))
    lead_tab.set("F2", "010-2000-9999")

    result = backend.write(snap, writes)

    assert [(w.row, w.field) for w in result.written] == [(5, "status"), (8, "status")]
    assert lead_tab.get("C5") == "상담요청" and lead_tab.get("C8") == "부재"
    assert lead_tab.get("C3") is None and lead_tab.get("C6") == "종결 (중복)"  # untouched


def test_a_column_inserted_between_read_and_write_skips_the_writes_under_it(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [change(snap, LEADS, 6, "status", "부재")]
    lead_tab.insert_columns(2)  # a new column C: 진행상황 moves to D
    lead_tab.set("C1", "메모")

    result = backend.write(snap, writes)

    assert not result.written
    assert result.skipped[0].reason == COLUMN_MOVED.format(fields="진행상황")
    assert lead_tab.get("C6") is None and lead_tab.get("D6") is None


def test_a_formula_cell_is_never_overwritten(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    lead_tab.set("C6", Formula('=IF(B6="","부재","")', value="부재"))
    backend = make_backend(sa_key)
    snap = backend.read()
    assert snap.leads_tab.rows[4][2] == "부재"  # reads show the formula's value

    result = backend.write(snap, [change(snap, LEADS, 6, "status", "상담요청")])

    assert not result.written and result.skipped[0].reason == FORMULA_CELL
    assert lead_tab.get("C6") == Formula('=IF(B6="","부재","")', value="부재")


def test_text_starting_with_equals_is_written_raw_and_stays_text(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    backend.write(snap, [change(snap, LEADS, 6, "remarks", "=견적 재확인 필요"),
                         change(snap, LEADS, 6, "alt_phones", "010-2000-4005")])  # fmt: skip

    assert lead_tab.get("D6") == "=견적 재확인 필요"
    assert lead_tab.get("G6") == "010-2000-4005"  # RAW: not turned into a number
    assert make_backend(sa_key).read().leads_tab.rows[4][3] == "=견적 재확인 필요"


def test_a_write_over_two_megabytes_is_split_without_splitting_a_row(fake, sa_key):
    rows = [[datetime(2024, 12, 1, 9, 0) + (n * (datetime(2024, 1, 2) - datetime(2024, 1, 1))),
             None, "견적진행", "", f"고객{n}", f"010-3000-{n:04d}"] for n in range(300)]  # fmt: skip
    lead_tab, _ = add_desk(fake, leads=rows)
    lead_tab.row_count = 400
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = []
    for row in range(2, 302):
        writes.append(change(snap, LEADS, row, "remarks", f"{row}:" + "x" * 7_000))
        writes.append(change(snap, LEADS, row, "status", "부재"))

    result = backend.write(snap, writes)

    updates = [c for c in fake.calls if c.kind == "values.batchUpdate"]
    assert len(updates) == 2
    assert all(c.body_bytes <= 2_000_000 for c in updates)
    assert sum(c.body_bytes for c in updates) > 2_000_000
    first_rows = {int(d["range"].split("!")[1][1:].split(":")[0]) for d in updates[0].body["data"]}
    second_rows = {int(d["range"].split("!")[1][1:].split(":")[0]) for d in updates[1].body["data"]}
    assert max(first_rows) < min(second_rows)  # a row's cells go in one request
    assert len(result.written) == 600
    assert lead_tab.get("D301") == "301:" + "x" * 7_000 and lead_tab.get("C2") == "부재"
    assert fake.count() == 2 + 1 + 2 + 1  # get, read; verify; two writes; read-back


def test_the_write_body_goes_as_utf8_json_not_as_unicode_escapes(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청"),
                         change(snap, LEADS, 2, "remarks", 'say "hi" \\ 줄\n바꿈 😀')])  # fmt: skip

    (update,) = [c for c in fake.calls if c.kind == "values.batchUpdate"]
    assert update.content_type == "application/json; charset=UTF-8"
    assert "상담요청".encode() in update.raw and "'이사 관리자'!C3".encode() in update.raw
    assert b"\\u" not in update.raw  # no escaped Korean (nor anything else)
    assert update.raw == json.dumps(update.body, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )
    assert update.body_bytes == len(update.raw) < len(json.dumps(update.body).encode())
    assert lead_tab.get("C3") == "상담요청" and lead_tab.get("D2") == 'say "hi" \\ 줄\n바꿈 😀'


def test_the_split_threshold_is_the_size_of_the_bytes_sent(fake, sa_key):
    """Sized on the UTF-8 bytes sent: a body of exactly `max_body_bytes` goes in one request,
    one byte less splits it, and no part is ever over. The tab's title needs JSON escapes,
    and the written rows cross from 1 to 2 and 3 digits, in runs with gaps."""
    title = 'Kim\'s "이사" \\ 관리자'
    rows = [[datetime(2024, 12, 1, 9, n % 60), None, "견적진행", "", f"고객{n}",
             f"010-4000-{n:04d}"] for n in range(130)]  # fmt: skip
    writes_on = [r for r in range(2, 132) if r % 7 not in (0, 3)]

    def run(limit: int, n: int) -> tuple[list[Any], Any, FakeSheet]:
        sid = f"{SHEET_ID[:-2]}{n:02d}"
        book = fake.add_spreadsheet(sid)
        tab = book.add_sheet(title, rows=200, columns=len(LEAD_HEADERS))
        tab.set_rows([LEAD_HEADERS, *rows])
        book.add_sheet("OB 상세", rows=10, columns=len(OB_HEADERS)).set_rows([OB_HEADERS])
        backend = GoogleBackend(
            sid, TabSpec(title), TabSpec("OB 상세"), credentials=sa_key.path,
            max_body_bytes=limit, sleep=Sleeps(),
        )  # fmt: skip
        snap = backend.read()
        writes = []
        for row in writes_on:
            writes.append(
                change(snap, LEADS, row, "remarks", f"{row}번 " + "견적 재확인" * (row % 5))
            )
            if row % 2:
                writes.append(change(snap, LEADS, row, "status", "부재"))
        before = len(fake.calls)
        result = backend.write(snap, writes)
        assert len(result.written) == len(writes) and not result.skipped
        return [c for c in fake.calls[before:] if c.kind == "values.batchUpdate"], result, tab

    (whole,), _, _ = run(10_000_000, 1)
    size = whole.body_bytes
    assert len(whole.body["data"]) > 2  # several runs of consecutive rows
    assert size < len(json.dumps(whole.body).encode())  # escaped, it would not fit in `size`
    (exact,), _, _ = run(size, 2)
    assert exact.raw == whole.raw
    for n, limit in enumerate((size - 1, size // 2, size // 3, 1_500, 300), 3):
        parts, result, tab = run(limit, n)
        assert len(parts) > 1
        assert all(p.body_bytes <= limit for p in parts) or limit == 300  # 300: a row alone
        assert sum(len(vr["values"]) for p in parts for vr in p.body["data"]) == len(result.written)
        part_rows = [{int(d["range"].split("!")[1][1:].split(":")[0]) for d in p.body["data"]}
                     for p in parts]  # fmt: skip
        assert all(max(a) < min(b) for a, b in zip(part_rows, part_rows[1:], strict=False))
        assert tab.get("D131") == "131번 " + "견적 재확인" and tab.get("C131") == "부재"


def test_a_cell_over_googles_limit_is_skipped_not_sent(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    result = backend.write(snap, [change(snap, LEADS, 6, "remarks", "가" * 50_001),
                                  change(snap, LEADS, 6, "status", "부재"),
                                  change(snap, LEADS, 3, "status", "상담요청")])  # fmt: skip
    assert [(s.write.row, s.write.field) for s in result.skipped] == [(6, "remarks"), (6, "status")]
    assert lead_tab.get("C6") is None and lead_tab.get("C3") == "상담요청"


def test_a_split_write_that_fails_midway_reports_the_part_that_landed(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key, max_attempts=2, max_body_bytes=30_000)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 2, "remarks", "a" * 20_000),
        change(snap, LEADS, 3, "remarks", "b" * 20_000),
    ]
    fake.before("values.batchUpdate", lambda api: api.fail(500, "values.batchUpdate", times=5))

    with pytest.raises(WriteInterrupted) as caught:
        backend.write(snap, writes)

    assert caught.value.exit_code == 3
    assert [w.row for w in caught.value.result.written] == [2]
    assert lead_tab.get("D2") == "a" * 20_000 and lead_tab.get("D3") == "업체 연락 지연"


# --- a write is never resent blind ------------------------------------------------------------


def test_a_staff_edit_during_the_backoff_wins_and_the_rest_still_lands(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 2, "status", "부재"),
        change(snap, LEADS, 3, "status", "상담요청"),
    ]

    def staff(api: FakeSheetsAPI) -> None:
        lead_tab.set("C3", "고객 취소")

    fake.fail(503, kind="values.batchUpdate", then=staff)

    result = backend.write(snap, writes)

    assert lead_tab.get("C3") == "고객 취소"  # the member of staff's edit stands
    assert lead_tab.get("C2") == "부재"
    assert [w.row for w in result.written] == [2]
    assert [(s.write.row, "직원" in s.reason) for s in result.skipped] == [(3, True)]
    retried = [c for c in fake.calls if c.kind == "values.batchUpdate"][-1]
    assert [d["range"] for d in retried.body["data"]] == ["'이사 관리자'!C2"]


def test_every_retry_verifies_again(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    reads = fake.count("values.batchGet")
    fake.fail(503, kind="values.batchUpdate", times=3)

    backend.write(snap, [change(snap, LEADS, 2, "status", "부재")])

    assert lead_tab.get("C2") == "부재"
    assert fake.count("values.batchUpdate") == 4
    # the verify read, one a retry, the read-back
    assert fake.count("values.batchGet") - reads == 1 + 3 + 1


def test_a_write_whose_answer_was_lost_counts_as_written_and_is_not_sent_again(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 2, "status", "부재"),
        change(snap, LEADS, 2, "remarks", "세 번 부재"),
        change(snap, LEADS, 3, "status", "상담요청"),
    ]
    fake.lose_answer("values.batchUpdate")

    result = backend.write(snap, writes)

    assert (lead_tab.get("C2"), lead_tab.get("D2"), lead_tab.get("C3")) == (
        "부재",
        "세 번 부재",
        "상담요청",
    )
    assert sorted((w.row, w.field) for w in result.written) == [
        (2, "remarks"),
        (2, "status"),
        (3, "status"),
    ]
    assert not result.skipped
    assert fake.count("values.batchUpdate") == 1  # nothing left to send again


def test_a_lost_answer_then_a_staff_edit_keeps_the_staff_value_and_journals_the_landed_row(
    fake, sa_key
):
    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key)
    snap = backend.read()
    writes = [
        change(snap, LEADS, 2, "status", "부재"),
        change(snap, LEADS, 2, "remarks", "세 번 부재"),
    ]
    fake.lose_answer("values.batchUpdate")
    # a member of staff edits the cell after the write landed, before the bot reads it again
    fake.before(
        "values.batchUpdate",
        lambda api: api.before("values.batchGet", lambda _: lead_tab.set("D2", "직원 메모")),
    )

    result = backend.write(snap, writes)

    assert lead_tab.get("D2") == "직원 메모"
    assert lead_tab.get("C2") == "부재"
    # the bot wrote both cells: both are journaled (undo will leave the staff's memo alone)
    assert sorted(w.field for w in result.written) == ["remarks", "status"]
    assert fake.count("values.batchUpdate") == 1


# --- the write-ahead journal --------------------------------------------------------------------


class Killed(BaseException):
    """The process killed (SIGKILL) while the bot waited for an answer: nothing after runs."""


def _changed(tabs: dict[SheetKey, FakeSheet], before: dict) -> dict[tuple, Any]:
    """The cells that differ from `before`, by (sheet, sheet row, 0-based column)."""
    return {
        (key, r + 1, c): v
        for key, tab in tabs.items()
        for (r, c), v in tab.cells.items()
        if before.get((key, r, c)) != v
    }


def _cells(tabs: dict[SheetKey, FakeSheet]) -> dict[tuple, Any]:
    return {(key, r, c): v for key, tab in tabs.items() for (r, c), v in tab.cells.items()}


def _journaled(journal, run_id: str) -> dict[tuple, Any]:
    return {(w.sheet, w.row, w.column): w.new for w in journal.writes_of(run_id)}


def _apply_run(sa_key, tmp_path, journal, **options):
    from bot.config import workbook_settings
    from bot.runner import apply

    settings = workbook_settings(tmp_path / "desk.xlsx", None)  # names the journal's source
    now = datetime(2024, 12, 4, 18, 0, tzinfo=KST)
    return apply(settings, make_backend(sa_key, **options), journal, FakeNotifier(()), now)


def test_a_write_that_landed_but_never_answered_is_journaled_by_the_next_run(
    fake, sa_key, tmp_path, journal
):
    tabs = dict(zip((LEADS, OB), add_desk(fake), strict=True))
    before = _cells(tabs)
    fake.lose_answer("values.batchUpdate")  # the write lands, its answer is lost ...
    fake.before(  # ... and every read after it fails, so the run gives up
        "values.batchUpdate", lambda api: api.fail(503, "values.batchGet", times=100)
    )
    with pytest.raises(ServiceFailure):
        _apply_run(sa_key, tmp_path, journal, max_attempts=2)
    first = journal.runs()[0]
    assert first.outcome == "failed" and first.written == 0
    assert len(journal.pending(first.source)) > 0
    landed = _changed(tabs, before)
    assert landed  # cells did change

    fake.failures.clear()
    _apply_run(sa_key, tmp_path, journal)

    # every cell the first run changed is now in its journal, so undo can restore it
    assert _journaled(journal, first.id) == landed
    assert journal.pending(first.source) == []


def test_a_run_killed_waiting_for_its_write_is_closed_and_journaled_by_the_next(
    fake, sa_key, tmp_path, journal, monkeypatch
):
    tabs = dict(zip((LEADS, OB), add_desk(fake), strict=True))
    before = _cells(tabs)
    fake.lose_answer("values.batchUpdate", error=Killed())
    with monkeypatch.context() as killed:
        killed.setattr(type(journal), "finish_run", lambda *a, **k: None)  # dead: no more lines
        with pytest.raises(Killed):
            _apply_run(sa_key, tmp_path, journal)
    first = journal.runs()[0]
    assert first.outcome == "running"
    landed = _changed(tabs, before)
    assert landed

    _apply_run(sa_key, tmp_path, journal)

    first = journal.require_run(first.id)
    assert first.outcome == "interrupted"  # never `running` forever
    assert _journaled(journal, first.id) == landed

    from bot.config import workbook_settings
    from bot.runner import undo

    settings = workbook_settings(tmp_path / "desk.xlsx", None)
    now = datetime(2024, 12, 4, 19, 0, tzinfo=KST)
    undo(settings, make_backend(sa_key), journal, first.id, now, apply=True)
    # every cell is back, but the 봇 확인 header the run created (it stays, emptied)
    after = _cells(tabs)
    assert {k: v for k, v in after.items() if k[1] > 0} == {
        k: v for k, v in before.items() if k[1] > 0
    }


def test_a_row_moved_inside_the_window_is_found_by_the_read_back_and_staff_told_which_cell(
    fake, sa_key, tmp_path, journal
):
    lead_tab, _ = add_desk(fake)
    # staff insert a row at the top after Google answered the verify read, before the write
    fake.before("values.batchUpdate", lambda api: lead_tab.insert_rows(2, 1))

    outcome = _apply_run(sa_key, tmp_path, journal)

    assert outcome.result is not None
    assert (LEADS, 4, "status") in {(w.sheet, w.row, w.field) for w in outcome.result.suspect}
    told = [f.message for f in outcome.plan.findings if f.rule == "write.suspect"]
    assert any(m.startswith("C4 칸(진행상황)에 봇이 쓰는 사이 행이 옮겨져") for m in told)
    assert all("확인해 주세요" in m for m in told)
    assert fake.count("values.batchGet") == 3  # read, verify, read-back: nothing more
    # journaled with the run's findings, the suspect ones among them
    assert journal.require_run(outcome.run_id).findings == len(outcome.plan.findings)


def test_the_read_back_finds_nothing_when_no_row_moved(fake, sa_key, tmp_path, journal):
    add_desk(fake)

    outcome = _apply_run(sa_key, tmp_path, journal)

    assert outcome.result is not None and outcome.result.written
    assert outcome.result.suspect == ()
    assert not [f for f in outcome.plan.findings if f.rule == "write.suspect"]


# --- one bad cell stops nothing but itself -----------------------------------------------------


def test_a_lone_surrogate_in_one_cell_blocks_that_row_only(fake, sa_key, tmp_path, journal):
    lead_tab, _ = add_desk(fake)
    lead_tab.set("D2", "메모 \ud83d")  # half an emoji: no UTF-8 body can carry it

    outcome = _apply_run(sa_key, tmp_path, journal)

    assert lead_tab.get("D2") == "메모 \ud83d"  # the row with the broken cell is left alone
    assert lead_tab.get("C4") == "종결(중복)"  # the rest of the sheet is written
    blocked = [f for f in outcome.plan.findings if f.rule == "write.blocked"]
    assert [(f.sheet, f.row) for f in blocked] == [(LEADS, 2)]
    assert "쓸 수 없는 글자" in blocked[0].message
    assert "\ud83d" not in lead_tab.get("N2")  # 봇 확인 says so, holding no broken character
    assert "쓸 수 없는 글자" in lead_tab.get("N2")
    assert journal.runs()[0].outcome == "ok"


def test_remarks_at_googles_cell_limit_become_a_finding_not_a_row_held_back(
    fake, sa_key, tmp_path, journal
):
    lead_tab, _ = add_desk(fake)
    lead_tab.set("D2", "가" * 49_995)

    first = _apply_run(sa_key, tmp_path, journal)
    second = _apply_run(sa_key, tmp_path, journal)

    assert lead_tab.get("D2") == "가" * 49_995
    assert "글자 수 한도" in lead_tab.get("N2")
    assert [f.row for f in first.plan.findings if f.rule == "write.blocked"] == [2]
    assert first.result is not None and first.result.skipped == ()
    assert second.plan.changes == ()  # a fixed point: nothing held back, nothing retried


def test_a_rule_group_never_straddles_two_parts_of_a_split_write(fake, sa_key):
    from dataclasses import replace

    lead_tab, _ = add_desk(fake)
    backend = make_backend(sa_key, max_attempts=2, max_body_bytes=30_000)
    snap = backend.read()
    # rows 2 and 4 change in one go (a duplicate closed and the cross-note on its survivor)
    writes = [
        replace(change(snap, LEADS, 2, "remarks", "a" * 20_000), groups=(7,)),
        change(snap, LEADS, 3, "remarks", "b" * 20_000),
        replace(change(snap, LEADS, 4, "status", "종결(중복)"), groups=(7,)),
    ]
    fake.before("values.batchUpdate", lambda api: api.fail(500, "values.batchUpdate", times=5))

    with pytest.raises(WriteInterrupted) as caught:
        backend.write(snap, writes)

    assert sorted(w.row for w in caught.value.result.written) == [2, 4]  # the group whole
    assert lead_tab.get("D3") == "업체 연락 지연" and lead_tab.get("C4") == "종결(중복)"


# --- retries ------------------------------------------------------------------------------------


def test_a_429_storm_is_retried_then_fails_with_no_cell_changed(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    sleeps = Sleeps()
    backend = make_backend(sa_key, max_attempts=4, sleep=sleeps)
    snap = backend.read()
    before = dict(lead_tab.cells)
    fake.fail(429, kind="values.batchUpdate", times=50)

    with pytest.raises(ServiceFailure) as caught:
        backend.write(snap, [change(snap, LEADS, 3, "status", "상담요청")])

    assert caught.value.exit_code == 3
    assert "429" in str(caught.value) and "4 attempt" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert fake.count("values.batchUpdate") == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= min(60, 2.0 * 2**i) for i, s in enumerate(sleeps))  # full jitter
    assert lead_tab.cells == before


def test_retries_stop_at_the_total_time_budget(fake, sa_key):
    add_desk(fake)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    backend = make_backend(
        sa_key, max_attempts=1000, max_retry_seconds=30.0, sleep=sleep, clock=lambda: now[0]
    )
    fake.fail(500, times=10_000)
    with pytest.raises(ServiceFailure, match="500"):
        backend.read()
    assert now[0] <= 30.0
    assert fake.count() < 1000


def test_a_502_html_page_is_retried(fake, sa_key):
    add_desk(fake)
    fake.fail(502, kind="values.batchGet")  # Google's HTML error page: gspread's code is -1
    sleeps = Sleeps()
    with structlog.testing.capture_logs() as logs:
        snap = make_backend(sa_key, sleep=sleeps).read()

    assert len(snap.leads_tab.rows) == len(LEAD_ROWS)
    [retry] = [e for e in logs if e["event"] == "sheets.retry"]
    assert retry["cause"].startswith("HTTP 502") and retry["attempt"] == 1
    assert retry["delay"] == round(sleeps[0], 3)
    assert fake.count("values.batchGet") == 2 and fake.count("values.batchGet", ok=True) == 1
    assert len(sleeps) == 1


def test_408_and_503_are_retried_on_the_metadata_read(fake, sa_key):
    add_desk(fake)
    fake.fail(408, kind="spreadsheets.get")
    fake.fail(503, kind="spreadsheets.get")
    assert make_backend(sa_key).read().ob_tab.rows
    assert fake.count("spreadsheets.get") == 3


def test_token_endpoint_failures_are_retried(fake, sa_key):
    add_desk(fake)
    fake.fail(503, kind="token", times=2)
    sleeps = Sleeps()
    assert make_backend(sa_key, sleep=sleeps).read().leads_tab.rows
    assert fake.count("token") == 3 and len(sleeps) == 2


def test_a_token_endpoint_that_keeps_failing_is_a_service_failure(fake, sa_key):
    add_desk(fake)
    fake.fail(500, kind="token", times=100)
    with pytest.raises(ServiceFailure, match="token endpoint"):
        make_backend(sa_key, max_attempts=3).read()
    assert fake.count("token") == 3 and fake.count() == 0


# --- the seed scenario, through both backends ---------------------------------------------------


def test_the_seed_cases_give_the_same_sheet_through_google_as_through_the_workbook(
    fake, sa_key, tmp_path, journal
):
    from bot.config import workbook_settings
    from bot.demo import LEAD_HEADERS as DEMO_LEADS
    from bot.demo import LEADS as DEMO_LEAD_ROWS
    from bot.demo import OB_HEADERS as DEMO_OBS
    from bot.demo import OBS as DEMO_OB_ROWS
    from bot.demo import write_demo_workbook
    from bot.runner import apply
    from bot.sheets.workbook import WorkbookBackend
    from rules.values import KST

    now = datetime(2024, 12, 4, 18, 0, tzinfo=KST)
    path = tmp_path / "desk.xlsx"
    write_demo_workbook(path)
    settings = workbook_settings(path, None)
    workbook = WorkbookBackend(path, TabSpec("이사 관리자"), TabSpec("OB 상세"))
    add_desk(fake, DEMO_LEAD_ROWS, DEMO_OB_ROWS, DEMO_LEADS, DEMO_OBS)
    google = make_backend(sa_key)

    notifier = FakeNotifier(channels=())
    by_workbook = apply(settings, workbook, journal, notifier, now)
    calls = fake.count()
    by_google = apply(settings, google, journal, notifier, now)

    # get, read, widen (first time only), verify, write, read-back
    assert fake.count() - calls <= 6
    assert by_google.plan.changes == by_workbook.plan.changes
    assert by_google.result is not None and by_workbook.result is not None
    assert len(by_google.result.written) == len(by_workbook.result.written) > 0
    after_workbook, after_google = workbook.read(), google.read()
    for key in (LEADS, OB):
        assert after_google.tab(key).headers == after_workbook.tab(key).headers
        assert list(after_google.tab(key).rows) == [
            tuple(_as_serial(v) for v in r) for r in after_workbook.tab(key).rows
        ]

    calls = fake.count()
    second = apply(settings, google, journal, notifier, now)
    assert second.plan.changes == ()
    assert fake.count() - calls == 2  # a run with nothing to change: metadata and one read


# --- the fake itself ----------------------------------------------------------------------------


@pytest.fixture
def http(fake, sa_key):
    """gspread's own HTTP client, authorised with the test service account."""
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    from gspread.http_client import HTTPClient

    creds = service_account.Credentials.from_service_account_file(
        str(sa_key.path), scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    return HTTPClient(auth=creds, session=AuthorizedSession(creds))


def test_fake_rejects_parameters_and_fields_the_api_does_not_have(fake, http):
    from gspread.exceptions import APIError

    add_desk(fake)
    with pytest.raises(APIError, match="bogus"):
        http.values_batch_get(SHEET_ID, ["'OB 상세'!A1:B2"], {"bogus": "1"})
    with pytest.raises(APIError, match="valueInputOptions"):
        http.values_batch_update(SHEET_ID, {"valueInputOptions": "RAW", "data": []})
    with pytest.raises(APIError, match="rnage"):
        http.values_batch_update(
            SHEET_ID, {"valueInputOption": "RAW", "data": [{"rnage": "A1", "values": [["x"]]}]}
        )
    with pytest.raises(APIError, match="RAWISH"):
        http.values_batch_get(SHEET_ID, ["A1"], {"valueRenderOption": "RAWISH"})
    with pytest.raises(APIError, match="nonsense"):
        http.spreadsheets_get(SHEET_ID, {"fields": "sheets.properties(nonsense)"})
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET_ID}/values:batchUpdate"
    body = {"valueInputOption": "RAW", "data": [{"rnage": "'OB 상세'!C2", "values": [["취소"]]}]}
    text = json.dumps(body, ensure_ascii=False)
    utf8 = {"Content-Type": "application/json; charset=UTF-8"}
    with pytest.raises(APIError, match="rnage"):  # raw UTF-8: checked like any body
        http.request("post", url, data=text.encode("utf-8"), headers=utf8)
    with pytest.raises(APIError, match="not UTF-8"):
        http.request("post", url, data=text.encode("euc-kr"), headers=utf8)
    with pytest.raises(APIError, match="charset euc-kr"):
        http.request(
            "post",
            url,
            data=text.encode("euc-kr"),
            headers={"Content-Type": "application/json; charset=EUC-KR"},
        )
    with pytest.raises(APIError, match="not application/json"):
        http.request("post", url, data=text.encode(), headers={"Content-Type": "text/plain"})
    assert len(fake.violations) == 9
    fake.violations.clear()


def test_fake_reads_like_the_api(fake, http):
    book = fake.add_spreadsheet(SHEET_ID)
    sheet = book.add_sheet("Kim's 시트", rows=10, columns=4)
    sheet.set_rows([["a", 1, 2.5, True], [datetime(2024, 12, 2, 12, 0), None, "x"], [], []])
    got = http.values_batch_get(
        SHEET_ID,
        ["'Kim''s 시트'!A1:D", "'Kim''s 시트'!C5:D", "'Kim''s 시트'!B:C", "'Kim''s 시트'!1:2"],
        {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"},
    )["valueRanges"]
    assert got[0] == {"range": "'Kim''s 시트'!A1:D10", "majorDimension": "ROWS",
                      "values": [["a", 1, 2.5, True], [45628.5, "", "x"]]}  # fmt: skip
    assert "values" not in got[1]
    assert got[2]["values"] == [[1, 2.5], ["", "x"]]
    assert got[3]["range"] == "'Kim''s 시트'!A1:D2"
    formatted = http.values_get(SHEET_ID, "'Kim''s 시트'!A1:D2")
    assert formatted["values"] == [["a", "1", "2.5", "TRUE"], ["2024-12-02 12:00:00", "", "x"]]
    from gspread.exceptions import APIError

    with pytest.raises(APIError, match="exceeds grid limits"):
        http.values_get(SHEET_ID, "'Kim''s 시트'!A1:ZZ")
    with pytest.raises(APIError, match="Unable to parse range"):
        http.values_get(SHEET_ID, "'없는 탭'!A1")


def test_fake_writes_like_the_api(fake, http):
    from gspread.exceptions import APIError

    book = fake.add_spreadsheet(SHEET_ID)
    sheet = book.add_sheet("Sheet1", rows=5, columns=3)
    http.values_update(
        SHEET_ID, "Sheet1!A1:C1", {"valueInputOption": "USER_ENTERED"},
        {"values": [["=SUM(B2:B3)", "1,200", "2024-12-02"]]},
    )  # fmt: skip
    assert sheet.get("A1") == Formula("=SUM(B2:B3)")
    assert sheet.get("B1") == 1200 and sheet.get("C1") == date(2024, 12, 2)
    http.values_update(
        SHEET_ID,
        "Sheet1!A2:B2",
        {"valueInputOption": "RAW"},
        {"values": [["=SUM(B2:B3)", "1,200"]]},
    )
    assert sheet.get("A2") == "=SUM(B2:B3)" and sheet.get("B2") == "1,200"
    http.values_batch_update(
        SHEET_ID,
        {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A2:B2", "values": [[None, ""]]}]},
    )
    assert sheet.get("A2") == "=SUM(B2:B3)" and sheet.get("B2") is None  # null skips, "" clears
    raw = json.dumps(
        {"valueInputOption": "RAW", "data": [{"range": "Sheet1!C2", "values": [["부재 😀"]]}]},
        ensure_ascii=False,
    ).encode("utf-8")
    http.request(
        "post",
        f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET_ID}/values:batchUpdate",
        data=raw,
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert sheet.get("C2") == "부재 😀" and fake.calls[-1].raw == raw
    with pytest.raises(APIError, match="exceeds grid limits"):
        http.values_batch_update(
            SHEET_ID,
            {"valueInputOption": "RAW", "data": [
                {"range": "Sheet1!A3", "values": [["lands?"]]},
                {"range": "Sheet1!D1", "values": [["beyond"]]},
            ]},
        )  # fmt: skip
    assert sheet.get("A3") is None  # a rejected batch changes nothing
    http.batch_update(
        SHEET_ID,
        {"requests": [{"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 2}}]},
    )
    assert sheet.column_count == 5
    assert fake.count("spreadsheets.batchUpdate") == 1


def test_a_reregistration_lands_whole_or_not_at_all_when_staff_edit_one_of_its_rows(fake, sa_key):
    # RULES.md §5: the changes one rule makes land together. rereg.reuse reopens the old row
    # and closes the new one; a staff edit on the old row must hold back the new row too,
    # or the customer's new inquiry would be closed with nothing reopened.
    from bot.engine import plan
    from rules.settings import RuleSettings
    from rules.values import KST

    lead_tab, _ = add_desk(
        fake,
        leads=[
            [45616.4, "", "종결(고객취소)", "가격 비쌈", "김민수", "010-2000-1001", "", 45646],
            [45628.5, "", "", "", "김민수", "010-2000-1001", "", 45646],
        ],
        obs=[[45621, "010-2000-1001", "가격 비쌈", "비싼 가격", "한빛이사", "2.5톤", "120만원"]],
    )
    backend = make_backend(sa_key)
    snap = backend.read()
    p = plan(snap, datetime(2024, 12, 2, 18, tzinfo=KST), RuleSettings())  # before 12.3 10:00
    assert {c.rule for c in p.changes} >= {"rereg.reuse"}
    lead_tab.set("D2", "가격 비쌈 / 고객 재통화 예정")  # staff, while the bot runs

    result = backend.write(snap, p.cell_writes())

    assert lead_tab.get("C2") == "종결(고객취소)" and lead_tab.get("C3") in (None, "")
    assert {s.write.row for s in result.skipped} >= {2, 3}
    assert any("행 2" in s.reason for s in result.skipped if s.write.row == 3)
    # the next run sees the same situation and plans the re-registration again
    again = plan(backend.read(), datetime(2024, 12, 2, 19, tzinfo=KST), RuleSettings())
    assert "rereg.reuse" in {c.rule for c in again.changes}


# --- the optional vendor list ------------------------------------------------------------------


VENDOR_ROWS = [
    ["업체명", "기존 영업지역", "영업 외 지역"],
    ["한결이사", "서울 강남구, 서울 서초구"],
]


def test_the_vendor_list_is_read_in_the_same_batch_get_when_the_tab_exists(fake, sa_key):
    add_desk(fake)
    fake.spreadsheets[SHEET_ID].add_sheet(" 장기고객 업체 리스트", columns=3).set_rows(VENDOR_ROWS)
    snap = make_backend(sa_key, vendors=TabSpec("장기고객 업체 리스트")).read()

    assert fake.count("spreadsheets.get") == 1 and fake.count("values.batchGet") == 1
    batch = next(c for c in fake.calls if c.kind == "values.batchGet")
    assert batch.params["ranges"][2] == "' 장기고객 업체 리스트'!A1:C"
    assert snap.vendors_tab is not None
    assert snap.vendors_tab.rows == (("한결이사", "서울 강남구, 서울 서초구"),)
    assert parse_desk(snap, date(2024, 12, 4)).vendors is not None


def test_without_the_vendor_list_tab_the_read_asks_for_the_two_tabs_only(fake, sa_key):
    add_desk(fake)
    snap = make_backend(sa_key, vendors=TabSpec("장기고객 업체 리스트")).read()

    batch = next(c for c in fake.calls if c.kind == "values.batchGet")
    assert batch.params["ranges"] == ["'이사 관리자'!A1:M", "'OB 상세'!A1:G"]
    assert snap.vendors_tab is None


def test_a_vendor_list_without_its_headers_is_named(fake, sa_key):
    add_desk(fake)
    vendors = fake.spreadsheets[SHEET_ID].add_sheet("장기고객 업체 리스트", columns=2)
    vendors.set_rows([["업체", "지역"], ["한결이사", "서울"]])
    with pytest.raises(MissingHeader) as err:
        make_backend(sa_key, vendors=TabSpec("장기고객 업체 리스트")).read()
    assert "'장기고객 업체 리스트'" in str(err.value) and "'업체명'" in str(err.value)


# --- merged blocks ------------------------------------------------------------------------------


def test_bot_note_goes_right_of_a_staff_note_merged_over_three_columns(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    lead_tab.column_count = 20
    lead_tab.set("N3", "직원 메모: 병합된 칸")
    lead_tab.merge("N3:P4")  # the desk's last column is M; the note spans N to P
    backend = make_backend(sa_key)

    snap = backend.read()
    assert snap.leads_tab.merges == ((3, 13, 4, 15),)
    assert fake.count("spreadsheets.get") == 1  # the merges came with the metadata
    result = backend.write(
        snap, plan(snap, datetime(2024, 12, 4, 18, tzinfo=KST), RuleSettings()).cell_writes()
    )

    assert lead_tab.get("Q1") == "봇 확인"
    assert lead_tab.get("O1") is None and lead_tab.get("N3") == "직원 메모: 병합된 칸"
    assert not [s for s in result.skipped if s.write.sheet == LEADS]


def test_merged_and_protected_cells_come_with_the_sheet_so_the_plan_never_writes_them(fake, sa_key):
    lead_tab, _ = add_desk(fake)
    lead_tab.merge("D2:D3")  # 실패사유/비고 of rows 2 and 3 merged
    lead_tab.protected_ranges.append(  # 진행상황 of row 4 protected from the service account
        {
            "range": {"sheetId": lead_tab.sheet_id, "startRowIndex": 3, "endRowIndex": 4},
            "unprotectedRanges": [
                {
                    "sheetId": lead_tab.sheet_id,
                    "startRowIndex": 3,
                    "endRowIndex": 4,
                    "startColumnIndex": 3,
                }
            ],  # fmt: skip
            "requestingUserCanEdit": False,
        }
    )

    snap = make_backend(sa_key).read()

    assert snap.leads_tab.blocked == {(3, 3): "merged", (4, 2): "protected"}
    p = plan(snap, datetime(2024, 12, 4, 18, 0, tzinfo=KST), RuleSettings())
    assert not [c for c in p.changes if (c.row, c.field) in ((3, "remarks"), (4, "status"))]
    assert [f.message for f in p.findings if f.rule == "write.blocked"] == [
        "진행상황이 보호된 범위라 봇이 쓸 수 없음 — 서비스 계정에 편집 권한을 주세요 "
        "(쓰려던 내용: 종결(중복))"
    ]


def test_an_applied_run_keeps_the_collector_paused_from_its_read_to_its_journal(
    fake, sa_key, tmp_path, journal
):
    """A run's rows, plan and cell writes live until it ends: a collector pass between its
    steps (journaling the writes included) would go over all of them (~0.5 s at 100k)."""
    add_desk(fake)
    collector_on: list[bool] = []
    for kind in ("spreadsheets.get", *["values.batchGet"] * 3, "values.batchUpdate"):
        fake.before(kind, lambda api: collector_on.append(gc.isenabled()))  # once each
    record_writes = journal.record_writes

    def record_writes_seen(*args: Any, **kwargs: Any) -> Any:
        collector_on.append(gc.isenabled())
        return record_writes(*args, **kwargs)

    journal.record_writes = record_writes_seen

    outcome = _apply_run(sa_key, tmp_path, journal)

    assert outcome.result is not None and outcome.result.written
    assert collector_on == [False] * 6  # metadata, read, verify, write, read-back, journal
    assert gc.isenabled()


def test_the_google_backend_loads_no_openpyxl(tmp_path):
    """openpyxl (and numpy, which it imports) writes .xlsx files; a Google run has none to
    write, and importing them cost each run ~0.2 s (DESIGN.md's deferred imports)."""
    code = "import sys, bot.sheets.google; print(sorted({'openpyxl', 'numpy'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
