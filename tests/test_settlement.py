"""The monthly settlement (docs/SETTLEMENT.md) as the desk meets it: November is settled on
12.3 at 10:00 by the statuses its DBs hold then, and each vendor is billed for them."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import responses
from apscheduler.schedulers.blocking import BlockingScheduler

from bot import demo
from bot.app import App
from bot.cli import main
from bot.config import Settings, SourceConfig
from bot.journal import Journal
from bot.schedule import Worker, run_worker
from bot.sheets.workbook import create_workbook
from rules.settings import RuleSettings
from rules.settlement import Month, SettledRow, build_statement, settled_month
from rules.text import width

from conftest import FakeClock, FakeNotifier
from desk import at


def kst(text: str) -> str:
    return f"{text}+09:00".replace(" ", "T")


# --- which month is settled when -------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "month"),
    [
        ("2024-12-03 09:59", "2024-10"),  # November's cut-off has not come yet
        ("2024-12-03 10:00", "2024-11"),
        ("2024-12-31 23:59", "2024-11"),
        ("2025-01-03 10:00", "2024-12"),  # across the year
        ("2025-01-02 12:00", "2024-11"),
    ],
)
def test_the_settled_month_is_the_last_one_whose_cutoff_has_passed(now, month):
    wall = at(now).replace(tzinfo=None)
    assert str(settled_month(wall, RuleSettings())) == month


def test_a_bad_month_is_named():
    with pytest.raises(ValueError, match="2024-13"):
        Month.parse("2024-13")


# --- a November desk -------------------------------------------------------------------------

# (인입일, 진행상황, 배정업체); names and numbers are invented
NOVEMBER = [
    ("2024-11-05 10:00", "견적진행", "한빛이사"),
    ("2024-11-06 10:00", "계약완료", "한빛 이사"),  # the same vendor, typed with a space
    ("2024-11-07 10:00", "장기견적", "바른이사"),
    ("2024-11-08 10:00", "장기무료", "바른이사"),
    ("2024-11-09 10:00", "종결(고객취소)", "한빛이사"),  # not billed
    ("2024-11-10 10:00", "상담요청", ""),
    ("2024-11-11 10:00", "견적진행", ""),  # no vendor: never billed
    ("2024-10-30 10:00", "견적진행", "한빛이사"),  # October
    ("2024-12-01 10:00", "견적진행", "한빛이사"),  # December
]
NAMES = ["가나다", "나다라", "다라마", "라마바", "마바사", "바사아", "사아자", "아자차", "자차카"]


def write_desk(path: Path, rows=NOVEMBER) -> Path:
    leads = [
        [
            datetime.fromisoformat(intake), None, status, "", NAMES[i], f"010-3000-{i:04d}", "",
            datetime(2025, 1, 20), f"서울 {i}구", "경기 성남시", "가정이사", vendor, "이지은", "",
        ]
        for i, (intake, status, vendor) in enumerate(rows)
    ]  # fmt: skip
    create_workbook(
        path, {"이사 관리자": [demo.LEAD_HEADERS, *leads], "OB 상세": [demo.OB_HEADERS]}
    )
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_desk(tmp_path / "desk.xlsx")


def movebot(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def statement(capsys, book: Path, now: str, *extra: str) -> dict:
    code, out, err = movebot(
        capsys,
        "settlement",
        "2024-11",
        "--workbook",
        str(book),
        "--now",
        kst(now),
        "--json",
        *extra,
    )
    assert code == 0, err
    return json.loads(out)


def apply(capsys, book: Path, now: str) -> dict:
    code, out, err = movebot(
        capsys, "reconcile", "--workbook", str(book), "--now", kst(now), "--apply", "--json"
    )
    assert code == 0, err
    return json.loads(out)


def set_status(book: Path, row: int, status: str) -> None:
    """Staff change a 진행상황 in the workbook."""
    wb = openpyxl.load_workbook(book)
    wb["이사 관리자"].cell(row=row, column=3).value = status
    wb.save(book)


def test_the_statement_bills_each_vendor_by_the_status_at_the_cutoff(book, capsys):
    apply(capsys, book, "2024-12-03 10:00")
    out = statement(capsys, book, "2024-12-03 10:05")
    assert out["final"] is True and out["snapshot"]["late"] is False
    assert out["snapshot"]["rows"] == 7  # November's rows only
    assert out["vendors"] == [
        {
            "vendor": "한빛이사",
            "rows": 3,
            "by_status": {"견적진행": 1, "계약완료": 1, "종결(고객취소)": 1},
            "billed": 2,
            "amount": 60000,
        },
        {
            "vendor": "바른이사",
            "rows": 2,
            "by_status": {"장기견적": 1, "장기무료": 1},
            "billed": 2,
            "amount": 15000,
        },
    ]
    assert out["unassigned"] == {"rows": 2, "by_status": {"상담요청": 1, "견적진행": 1}}
    assert out["total"] == {"rows": 7, "billed": 4, "amount": 75000}


def test_staff_edits_after_the_cutoff_do_not_change_the_months_statement(book, capsys):
    apply(capsys, book, "2024-12-03 10:00")
    set_status(book, 2, "종결(고객취소)")  # 12.5: the 한빛이사 quote falls through
    set_status(book, 7, "견적진행")  # and a November 상담요청 row is handed over
    later = apply(capsys, book, "2024-12-05 11:00")
    assert later["settlement_snapshot_taken"] is None  # November is snapshotted once
    out = statement(capsys, book, "2024-12-10 09:00")
    assert out["total"] == {"rows": 7, "billed": 4, "amount": 75000}
    assert out["vendors"][0]["by_status"]["견적진행"] == 1


def test_the_snapshot_records_the_rows_as_read_before_the_runs_own_changes(tmp_path, capsys):
    # a November row the run closes as a duplicate is billed by what it held at the cut-off
    rows = [
        ("2024-11-05 10:00", "견적진행", "한빛이사"),
        ("2024-11-05 10:00", "종결 (고객취소)", "한빛이사"),  # normalized by this very run
    ]
    book = write_desk(tmp_path / "desk.xlsx", rows)
    out = apply(capsys, book, "2024-12-03 10:00")
    assert out["settlement_snapshot_taken"] == "2024-11"
    assert any(c["rule"] == "status.normalize" for c in out["changes"])
    with Journal(tmp_path / "desk.movebot.db") as journal:
        snapshot = journal.settlement(Month(2024, 11))
    assert snapshot is not None and snapshot.run_id == out["run_id"]
    assert [(r.row, r.status, r.vendor, r.move_type) for r in snapshot.rows] == [
        (2, "견적진행", "한빛이사", "가정이사"),
        (3, "종결(고객취소)", "한빛이사", "가정이사"),
    ]
    assert snapshot.rows[0].intake_at == datetime(2024, 11, 5, 10, 0)
    assert snapshot.source == str(book.resolve())


def test_a_statement_without_a_snapshot_is_headed_unconfirmed(book, capsys):
    code, out, _ = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-10 09:00")
    )
    assert code == 0
    assert out.splitlines()[:2] == [
        "2024년 11월 정산 (정산 시점 2024-12-03 10:00)",
        "미확정 (정산 시점 스냅샷 없음): 지금 시트의 상태로 계산한 금액입니다.",
    ]
    data = statement(capsys, book, "2024-12-10 09:00")
    assert (data["final"], data["snapshot"]) == (False, None)
    assert data["total"]["amount"] == 75000  # from the sheet as it stands
    assert not list(book.parent.glob("*.db"))  # stating a month writes nothing


def test_a_month_asked_for_before_its_cut_off_is_a_running_count_not_unconfirmed(book, capsys):
    code, out, _ = movebot(
        capsys, "settlement", "2024-11", "--workbook", str(book), "--now", kst("2024-11-20 09:00")
    )
    assert code == 0
    assert out.splitlines()[1] == (
        "정산 전: 아직 정산 시점이 되지 않아 지금 시트의 상태로 계산한 중간 집계입니다."
    )


def test_out_into_a_missing_folder_is_refused_before_anything_is_read(book, capsys, tmp_path):
    target = tmp_path / "nowhere" / "statement.xlsx"
    code, out, err = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-10 09:00"),
        "--out", str(target),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert f"there is no folder {target.parent}" in err and "Traceback" not in err


def test_out_says_which_files_it_wrote(book, capsys, tmp_path):
    target = tmp_path / "statement.csv"
    code, out, err = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-10 09:00"),
        "--out", str(target),
    )  # fmt: skip
    assert code == 0
    assert f"Wrote {target}" in err and f"Wrote {tmp_path / 'statement.rows.csv'}" in err


def test_the_demo_run_twice_starts_a_fresh_journal(tmp_path, capsys):
    path = tmp_path / "examples" / "desk.xlsx"
    for _ in range(2):
        assert main(["demo", str(path)]) == 0
    capsys.readouterr()
    with Journal(path.parent / "desk.movebot.db") as journal:
        assert len(journal.runs(limit=50)) == 2  # §4 A on 12.2, then the 12.4 run: once each


def test_a_late_snapshot_says_so(book, capsys):
    # the bot was off over the weekend: the first run after 12.3 10:00 is on 12.4 at 18:00
    apply(capsys, book, "2024-12-04 18:00")
    data = statement(capsys, book, "2024-12-05 09:00")
    assert data["snapshot"]["late"] is True
    assert data["snapshot"]["taken_at"] == "2024-12-04T18:00:00+09:00"
    code, out, _ = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-05 09:00")
    )
    assert "늦은 스냅샷: 2024-12-04 18:00에 기록됨 (정산 시점보다 1일 8시간 늦음)" in out


def test_a_snapshot_within_late_after_is_on_time(book, capsys):
    apply(capsys, book, "2024-12-03 10:30")
    assert statement(capsys, book, "2024-12-03 11:00")["snapshot"]["late"] is False


def test_take_replace_keeps_the_old_snapshot_in_the_journal(book, capsys):
    apply(capsys, book, "2024-12-04 18:00")  # late
    args = ("settlement", "take", "2024-11", "--workbook", str(book))
    code, _, err = movebot(capsys, *args, "--now", kst("2024-12-05 09:00"))
    assert code == 2
    assert "already holds the snapshot of 2024-11" in err and "--replace" in err

    set_status(book, 2, "계약완료")  # staff agree the 12.3 state with the vendor first
    code, out, _ = movebot(capsys, *args, "--replace", "--now", kst("2024-12-05 09:00"))
    assert code == 0 and "replacing snapshot #1" in out
    with Journal(book.parent / "desk.movebot.db") as journal:
        first, second = journal.settlement_history(Month(2024, 11))
    assert second.replaces == first.seq
    assert [r.status for r in first.rows][0] == "견적진행"
    assert [r.status for r in second.rows][0] == "계약완료"
    data = statement(capsys, book, "2024-12-05 09:10")
    assert data["snapshot"]["taken_at"] == "2024-12-05T09:00:00+09:00"
    assert data["vendors"][0]["by_status"]["계약완료"] == 2


def test_take_before_the_cutoff_is_refused(book, capsys):
    code, _, err = movebot(
        capsys, "settlement", "take", "2024-11", "--workbook", str(book),
        "--now", kst("2024-12-03 09:59"),
    )  # fmt: skip
    assert code == 2 and "2024-11 is settled on 2024-12-03 10:00 KST" in err


def test_fees_come_from_the_config(book, tmp_path, capsys):
    config = tmp_path / "desk.yaml"
    config.write_text(
        "settlement:\n  fees:\n    견적진행: 20000\n    계약완료: 50000\n", encoding="utf-8"
    )
    data = statement(capsys, book, "2024-12-10 09:00", "--config", str(config))
    assert data["fees"] == {"견적진행": 20000, "계약완료": 50000}
    assert [(v["vendor"], v["billed"], v["amount"]) for v in data["vendors"]] == [
        ("한빛이사", 2, 70000),
        ("바른이사", 0, 0),  # 장기견적 and 장기무료 carry no fee in this config
    ]


def test_a_preview_says_a_snapshot_is_due_and_writes_nothing(book, capsys):
    code, out, _ = movebot(
        capsys, "reconcile", "--workbook", str(book), "--now", kst("2024-12-03 10:00"), "--json"
    )
    assert json.loads(out)["settlement_snapshot_due"] == "2024-11"
    assert not list(book.parent.glob("*.db"))
    apply(capsys, book, "2024-12-03 10:00")
    code, out, _ = movebot(
        capsys, "reconcile", "--workbook", str(book), "--now", kst("2024-12-03 11:00"), "--json"
    )
    assert json.loads(out)["settlement_snapshot_due"] is None


def test_an_unreadable_month_is_named(book, capsys):
    code, _, err = movebot(capsys, "settlement", "11월", "--workbook", str(book))
    assert code == 2 and "'11월' is not a month; write it as YYYY-MM" in err


# --- what the statement looks like -----------------------------------------------------------


def test_the_terminal_table_is_korean_with_thousands_separators_within_80_columns(book, capsys):
    apply(capsys, book, "2024-12-03 10:00")
    code, out, _ = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-03 10:05")
    )
    lines = out.splitlines()
    assert max(width(line) for line in lines) <= 80
    header = next(line for line in lines if line.startswith("업체"))
    assert header.split() == [
        "업체", "DB", "견적진행", "계약완료", "장기견적", "장기무료", "기타", "청구", "금액(원)",
    ]  # fmt: skip
    body = {line.split()[0]: line.split() for line in lines if line.split()}
    assert body["한빛이사"] == ["한빛이사", "3", "1", "1", "0", "0", "1", "2", "60,000"]
    assert body["(미배정)"][-2:] == ["-", "-"]
    assert body["합계"] == ["합계", "7", "2", "1", "1", "1", "2", "4", "75,000"]
    assert "010-3000" not in out and "가나다" not in out


def test_the_statement_file_lists_the_bill_and_every_billed_row_without_names(
    book, tmp_path, capsys
):
    apply(capsys, book, "2024-12-03 10:00")
    out_file = tmp_path / "statement.xlsx"
    statement(capsys, book, "2024-12-03 10:05", "--out", str(out_file))
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["개요", "정산", "청구 내역"]
    overview = [r[0] for r in wb["개요"].iter_rows(values_only=True)]
    assert overview[0] == "2024년 11월 정산 (정산 시점 2024-12-03 10:00)"
    assert overview[1].startswith("정산 시점 스냅샷 기준 (2024-12-03 10:00 기록")
    assert overview[2].startswith("오더비: 견적진행 30,000원")
    assert overview[3].endswith("4건, 75,000원")
    bill = [list(r) for r in wb["정산"].iter_rows(values_only=True)]
    assert bill[-2][0] == "(미배정)" and bill[-2][-2:] == [None, None]  # not billed: no 0
    assert bill[0] == [
        "업체", "DB", "상담요청", "견적진행", "계약완료", "장기견적", "장기무료",
        "종결(고객취소)", "청구", "금액(원)",
    ]  # fmt: skip
    assert bill[1] == ["한빛이사", 3, 0, 1, 1, 0, 0, 1, 2, 60000]
    assert bill[-1] == ["합계", 7, 1, 2, 1, 1, 1, 1, 4, 75000]
    rows = [list(r) for r in wb["청구 내역"].iter_rows(values_only=True)]
    assert rows[0] == ["행", "인입일", "진행상황", "배정업체", "오더비(원)"]
    assert rows[1] == [2, datetime(2024, 11, 5, 10, 0), "견적진행", "한빛이사", 30000]
    assert len(rows) == 1 + 4
    # amounts read as Excel shows them, 75,000; counts and row numbers stay plain
    total, billed = wb["정산"].cell(len(bill), 10), wb["정산"].cell(len(bill), 9)
    assert total.value == 75000 and total.number_format == "#,##0"
    assert billed.value == 4 and billed.number_format == "General"
    assert wb["청구 내역"]["E2"].number_format == "#,##0"
    assert wb["청구 내역"]["A2"].number_format == "General"
    text = repr(bill) + repr(rows)
    assert "010-3000" not in text and not any(name in text for name in NAMES)


def test_the_statement_as_csv_writes_the_bill_and_the_billed_rows_beside_it(book, tmp_path, capsys):
    statement(capsys, book, "2024-12-10 09:00", "--out", str(tmp_path / "nov.csv"))
    with (tmp_path / "nov.csv").open(encoding="utf-8-sig") as f:
        bill = list(csv.reader(f))
    with (tmp_path / "nov.rows.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert bill[-1][0] == "합계" and bill[-1][-1] == "75000"
    # the CSV is for scripts: (미배정) keeps 0 in 청구 and 금액(원), as before the .xlsx left
    # them empty; an empty cell breaks `int(cell)` over the column
    assert bill[-2][0] == "(미배정)" and bill[-2][-2:] == ["0", "0"]
    assert rows[1] == ["2", "2024-11-05 10:00", "견적진행", "한빛이사", "30000"]


def test_an_out_file_of_another_kind_is_refused(book, capsys):
    code, _, err = movebot(
        capsys, "settlement", "--workbook", str(book), "--out", "bill.pdf",
        "--now", kst("2024-12-10 09:00"),
    )  # fmt: skip
    assert code == 2 and "--out bill.pdf" in err


def test_vendors_are_sorted_by_amount_then_name():
    def row(n: int, status: str, vendor: str) -> SettledRow:
        return SettledRow(n, f"fp{n}", status, vendor, "가정이사", datetime(2024, 11, 1))

    fees = {"견적진행": 30000}
    s = build_statement(
        Month(2024, 11),
        [
            row(2, "견적진행", "다온이사"),
            row(3, "견적진행", "가온이사"),
            row(4, "부재", "나온이사"),
        ],
        fees,
    )
    assert [v.vendor for v in s.vendors] == ["가온이사", "다온이사", "나온이사"]


# --- the worker's job at the cut-off ---------------------------------------------------------


def test_the_worker_snapshots_and_sends_the_statement_at_1000_on_the_3rd(tmp_path):
    book = write_desk(tmp_path / "desk.xlsx")
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    clock = FakeClock(datetime.fromisoformat(kst("2024-12-02 18:00")))
    notifier = FakeNotifier(channels=("slack#1",))

    class FireSettlement(BlockingScheduler):
        """Moves the fake clock to the settlement job's next fire time and runs it there."""

        def start(self, *args, **kwargs):
            job = self.get_job("settlement")
            clock.now = job.trigger.get_next_fire_time(None, clock.now)
            job.func()

    with App(settings, clock) as app:
        app.notifier = notifier
        assert run_worker(app, scheduler_cls=FireSettlement) == 0
    assert clock.now.isoformat() == "2024-12-03T10:00:00+09:00"
    with Journal(tmp_path / "desk.movebot.db") as journal:
        snapshot = journal.settlement(Month(2024, 11))
    assert snapshot is not None and snapshot.late is False and len(snapshot.rows) == 7
    # the worker's first run at start (12.2 18:00) alerts its findings; then the settlement
    ((body, attached),) = [
        (m.body, a) for m, a in zip(notifier.sent, notifier.attached, strict=True)
        if m.title == "2024년 11월 정산"
    ]  # fmt: skip
    assert body.splitlines()[0] == "11월 정산: 업체 2곳, 청구 4건, 75,000원"
    assert attached == ("정산_2024-11.xlsx",)
    # then, in the same tick, November's report with its pictures
    titles = [m.title for m in notifier.sent]
    assert titles.index("2024년 11월 정산") < titles.index("2024년 11월 월간 보고 (11.1–11.30)")


def test_the_settlement_summary_and_the_monthly_report_are_sent_once_per_month(tmp_path, journal):
    book = write_desk(tmp_path / "desk.xlsx")
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    notifier = FakeNotifier(channels=("slack#1",))
    clock = FakeClock(datetime.fromisoformat(kst("2024-12-03 10:00")))
    with App(settings, clock) as app:
        w = Worker(
            settings,
            backend=app.backend,
            journal=journal,
            notifier=notifier,
            lock=app.lock,
            clock=clock,
        )
        assert w.settlement() == "ok"
        clock.now = datetime.fromisoformat(kst("2024-12-03 10:02"))  # a restarted worker
        assert w.settlement() == "ok"
    assert [m.title for m in notifier.sent] == [  # the statement, then the month's report
        "2024년 11월 정산",
        "2024년 11월 월간 보고 (11.1–11.30)",
    ]


def test_an_old_journal_gains_the_settlement_tables(tmp_path):
    path = tmp_path / "desk.movebot.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE runs (id TEXT); PRAGMA user_version = 1;")
    db.close()
    with Journal(path) as journal:
        assert journal.settlement(Month(2024, 11)) is None


@responses.activate
def test_send_delivers_the_summary_to_a_real_channel(book, tmp_path, capsys, monkeypatch):
    responses.post("https://hooks.slack.com/services/T000/B000/XXXXSLACKSECRET", body="ok")
    monkeypatch.setenv("MOVEBOT_ALERTS__URLS", '["slack://T000/B000/XXXXSLACKSECRET"]')
    apply(capsys, book, "2024-12-03 10:00")
    code, _, err = movebot(
        capsys, "settlement", "--workbook", str(book), "--now", kst("2024-12-03 10:05"), "--send"
    )
    assert code == 0, err
    posts = [json.loads(c.request.body) for c in responses.calls]
    text = json.dumps(posts, ensure_ascii=False)
    assert "11월 정산: 업체 2곳, 청구 4건, 75,000원" in text
    assert "2024년 11월 정산" in text
    assert "010-3000" not in text and not any(name in text for name in NAMES)


def test_send_without_a_channel_is_a_config_error(book, capsys):
    code, _, err = movebot(capsys, "settlement", "--workbook", str(book), "--send")
    assert code == 2 and "no alert channel is configured" in err


def test_the_demo_shows_a_and_b_as_the_seed_tells_them_and_states_november(tmp_path, capsys):
    path = tmp_path / "desk.xlsx"
    assert main(["demo", str(path)]) == 0
    out = capsys.readouterr().out
    wb = openpyxl.load_workbook(path)
    status = [r[2] for r in wb["이사 관리자"].iter_rows(min_row=2, values_only=True)]
    assert status[11:13] == ["상담요청", "종결(중복)"]  # A, met on 12.2: the old row reused
    assert status[13:15] == ["종결(연락두절)", "상담요청"]  # B, met on 12.4: a new DB
    assert status[15:17] == ["종결(이사미정)", "상담요청"]  # C: an October row, a new DB
    statement = out[out.index("2024년 11월 정산") :]
    assert statement.splitlines()[1].startswith("정산 시점 스냅샷 기준 (2024-12-03 10:00 기록")
    assert "합계" in statement and "120,000" in statement


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["2024-11", "--replace"], "--replace goes with `movebot settlement take`"),
        (["take", "--json"], "not with `take`"),
        (["take", "2024-11", "2024-10"], "unexpected '2024-10'"),
    ],
)
def test_options_that_do_not_go_together_are_named(book, capsys, args, named):
    code, _, err = movebot(capsys, "settlement", *args, "--workbook", str(book))
    assert code == 2 and named in err
