"""The journal: every applied run, each cell's old and new value, findings, alerts sent."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.journal import (
    Journal,
    JournalUnavailable,
    UnknownRun,
)
from rules.model import CellWrite, Finding, Severity, Skipped, WriteResult
from rules.values import KST

NOW = datetime(2024, 12, 3, 10, 15, tzinfo=KST)
DAY = timedelta(hours=24)


def promotion(row: int = 41) -> tuple[CellWrite, CellWrite]:
    return (
        CellWrite(
            "leads", row, 2, "status", "장기요청", "상담요청", f"fp{row}", ("longterm.promote",)
        ),
        CellWrite(
            "leads",
            row,
            3,
            "remarks",
            "",
            "장기요청→상담요청 (이사 D-60)",
            f"fp{row}",
            ("longterm.promote",),
        ),
    )


def test_the_journal_file_and_its_directory_are_created_in_wal_mode(tmp_path):
    path = tmp_path / "a" / "b" / "movebot.db"
    Journal(path).close()
    assert path.exists()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_an_applied_run_is_recorded_with_each_cell_old_and_new(journal):
    run_id = journal.start_run("reconcile", "desk.xlsx", NOW)
    assert re.fullmatch(r"r20241203-101500-[0-9a-f]{4}", run_id)
    written = promotion()
    skipped = (
        Skipped(
            CellWrite("leads", 50, 2, "status", "", "상담요청", "fp50", ("rereg.new",)), "행이 바뀜"
        ),
    )
    journal.record_writes(run_id, WriteResult(written=written, skipped=skipped))
    journal.record_findings(
        run_id, [Finding("ob", 7, "ob.orphan", "OB 상세 번호의 DB 없음", Severity.ACTION, "fp-ob7")]
    )
    journal.finish_run(
        run_id, NOW + timedelta(seconds=3), "ok", {"changes": {"longterm.promote": 2}}
    )

    run = journal.require_run(run_id)
    assert run.kind == "reconcile" and run.outcome == "ok" and run.applied
    assert run.started == NOW and run.finished == NOW + timedelta(seconds=3)
    assert run.started.tzinfo is not None and run.started.utcoffset() == timedelta(hours=9)
    assert run.counts == {"changes": {"longterm.promote": 2}}
    assert (run.written, run.skipped, run.findings) == (2, 1, 1)

    writes = journal.writes_of(run_id)
    assert [(w.field, w.column, w.column_letter, w.old, w.new) for w in writes] == [
        ("status", 2, "C", "장기요청", "상담요청"),
        ("remarks", 3, "D", "", "장기요청→상담요청 (이사 D-60)"),
    ]
    assert writes[0].fingerprint == "fp41" and writes[0].rules == ("longterm.promote",)


def test_a_journaled_write_reverses_into_the_restoring_write(journal):
    run_id = journal.start_run("reconcile", "desk.xlsx", NOW)
    journal.record_writes(run_id, WriteResult(written=promotion()))
    back = journal.writes_of(run_id)[0].reverse()
    assert (back.old, back.new, back.row, back.column, back.fingerprint) == (
        "상담요청",
        "장기요청",
        41,
        2,
        "fp41",
    )
    assert back.rules == ("undo",)


def test_empty_runs_are_recorded_and_history_is_newest_first(journal):
    first = journal.start_run("reconcile", "desk.xlsx", NOW)
    journal.finish_run(first, NOW, "ok", {})
    second = journal.start_run("reconcile", "desk.xlsx", NOW)  # same second: a fresh id
    journal.finish_run(second, NOW, "failed", {}, error="Sheets API 503")
    undo = journal.start_run("undo", "desk.xlsx", NOW + timedelta(minutes=5), undo_of=first)
    assert len({first, second, undo}) == 3
    assert [r.id for r in journal.runs(10)] == [undo, second, first]
    assert [r.id for r in journal.runs(1)] == [undo]
    assert journal.run(undo).undo_of == first
    assert journal.run(undo).outcome == "running"
    assert journal.run(second).error == "Sheets API 503"
    journal.finish_run(undo, NOW + timedelta(minutes=5), "ok", {})
    assert journal.undone_by(first) == [undo]


def test_an_unknown_run_id_is_a_clear_error(journal):
    known = journal.start_run("reconcile", "desk.xlsx", NOW)
    assert journal.run("r19990101-000000-0000") is None
    with pytest.raises(UnknownRun) as err:
        journal.require_run("r19990101-000000-0000")
    assert "r19990101-000000-0000" in str(err.value) and known in str(err.value)
    with pytest.raises(UnknownRun):
        journal.writes_of("nope")
    with pytest.raises(UnknownRun):
        journal.start_run("undo", "desk.xlsx", NOW, undo_of="nope")
    with pytest.raises(UnknownRun):
        journal.finish_run("nope", NOW, "ok", {})


def test_a_run_is_kept_across_reopening(tmp_path):
    path = tmp_path / "movebot.db"
    with Journal(path) as j:
        run_id = j.start_run("reconcile", "sheet-id", NOW)
        j.record_writes(run_id, WriteResult(written=promotion()))
        j.finish_run(run_id, NOW, "ok", {"written": 2})
    with Journal(path) as j:
        assert j.require_run(run_id).counts == {"written": 2}
        assert len(j.writes_of(run_id)) == 2


def test_recently_alerted_counts_only_delivered_keys_within_the_window(journal):
    run_id = journal.start_run("reconcile", "desk.xlsx", NOW)
    journal.record_alerts(run_id, ["k1", "k2"], "slack#1", NOW, ok=True)
    journal.record_alerts(run_id, ["k3"], "slack#1", NOW, ok=False)
    journal.record_alerts(run_id, ["k4"], "tgram#1", NOW, ok=True)
    keys = ["k1", "k2", "k3", "k4", "k5"]
    assert journal.recently_alerted(keys, NOW - timedelta(hours=24)) == {"k1", "k2", "k4"}
    assert journal.recently_alerted(keys, NOW - timedelta(hours=24), channel="slack#1") == {
        "k1",
        "k2",
    }
    assert journal.recently_alerted(keys, NOW) == set()  # sent exactly at `since`: due again
    # the window compares instants, whatever the offset they are written in
    utc = ZoneInfo("UTC")
    assert journal.recently_alerted(["k1"], (NOW - DAY).astimezone(utc)) == {"k1"}


def test_recently_alerted_handles_many_keys(journal):
    run_id = journal.start_run("reconcile", "desk.xlsx", NOW)
    keys = [f"k{i}" for i in range(1500)]
    journal.record_alerts(run_id, keys, "slack#1", NOW, ok=True)
    assert journal.recently_alerted(keys, NOW - timedelta(seconds=1)) == set(keys)


def test_times_must_be_aware(journal):
    with pytest.raises(ValueError):
        journal.start_run("reconcile", "desk.xlsx", datetime(2024, 12, 3, 10, 15))


def test_a_file_that_is_not_a_journal_is_refused(tmp_path):
    path = tmp_path / "desk.xlsx"
    path.write_bytes(b"PK\x03\x04 not a database at all" * 100)
    with pytest.raises(JournalUnavailable) as err:
        Journal(path)
    assert str(path) in str(err.value)


def test_a_database_of_something_else_is_refused(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(JournalUnavailable):
        Journal(path)


def test_the_scheduler_thread_may_use_a_journal_the_main_thread_opened(journal):
    ids: list[str] = []
    worker = threading.Thread(target=lambda: ids.append(journal.start_run("reconcile", "x", NOW)))
    worker.start()
    worker.join()
    assert journal.run(ids[0]) is not None


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_journal_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "movebot.db"
    with Journal(path) as journal:
        journal.start_run("reconcile", "desk.xlsx", datetime(2024, 12, 4, 18, 0, tzinfo=KST))
        for name in (path, path.with_name("movebot.db-wal")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
