"""Applied runs as managers live with them: journaled, alerted once, listed and undone."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import responses

from bot.cli import main

NOW = "2024-12-04T18:00:00+09:00"
LATER = "2024-12-04T19:00:00+09:00"
NEXT_DAY = "2024-12-05T19:00:00+09:00"
SLACK = "slack://T000/B000/XXXXSLACKSECRET"
SLACK_POST = "https://hooks.slack.com/services/T000/B000/XXXXSLACKSECRET"


@pytest.fixture
def config(tmp_path: Path, book: Path) -> Path:
    path = tmp_path / "desk.yaml"
    path.write_text(
        f"source:\n  kind: workbook\n  path: {book.name}\nalerts:\n  urls: ['{SLACK}']\n"
    )
    return path


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def cell(path: Path, row: int, header: str) -> object:
    ws = openpyxl.load_workbook(path)["이사 관리자"]
    headers = [c.value for c in ws[1]]
    return ws.cell(row=row, column=headers.index(header) + 1).value


def history(capsys, *args: str) -> list[dict]:
    code, out = cli(capsys, "history", *args, "--json")
    assert code == 0
    return json.loads(out)


def test_applied_run_is_journaled_and_listed(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    runs = history(capsys, "--workbook", str(book))
    assert [(r["kind"], r["outcome"]) for r in runs] == [("reconcile", "ok")]
    assert runs[0]["written"] > 0 and runs[0]["findings"] > 0
    assert (book.parent / "desk.movebot.db").exists()  # one journal per workbook


def test_undo_restores_the_cells_a_run_wrote_and_keeps_what_staff_changed_since(book, capsys):
    original = {r: cell(book, r, "진행상황") for r in (3, 4, 9)}
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    run_id = history(capsys, "--workbook", str(book))[0]["id"]
    assert cell(book, 9, "진행상황") == "상담요청"

    # a member of staff works row 4 after the run
    wb = openpyxl.load_workbook(book)
    ws = wb["이사 관리자"]
    ws.cell(row=4, column=3).value = "견적진행"
    wb.save(book)

    code, preview = cli(capsys, "undo", run_id, "--workbook", str(book))
    assert code == 0 and "Preview: nothing was written" in preview
    # the count of cells it restores leaves out the 봇 확인 headings the run added: it says so
    assert "The 봇 확인 headings the run added stay (2 cells)." in preview
    assert cell(book, 9, "진행상황") == "상담요청"

    code, out = cli(capsys, "undo", run_id, "--workbook", str(book), "--apply")
    assert code == 0
    kept = " ".join(out.split("Kept as they are")[1].split())
    assert "행 4 진행상황 실행 뒤 직원이 바꾼 값이라 그대로 둠 (진행상황)" in kept
    assert cell(book, 9, "진행상황") == original[9] == "장기요청"
    assert cell(book, 3, "진행상황") in (None, original[3])
    assert cell(book, 4, "진행상황") == "견적진행"  # the person's value stays
    assert "봇 확인" in [c.value for c in openpyxl.load_workbook(book)["이사 관리자"][1]]

    runs = history(capsys, "--workbook", str(book))
    assert [(r["kind"], r["undo_of"]) for r in runs] == [("undo", run_id), ("reconcile", None)]

    # an undo is a run of its own, and can itself be undone
    cli(capsys, "undo", runs[0]["id"], "--workbook", str(book), "--apply")
    assert cell(book, 9, "진행상황") == "상담요청"


def test_undo_of_an_unknown_run_names_the_recent_ones(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    code, out = cli(capsys, "undo", "r-nope", "--workbook", str(book))
    assert code == 2 and "r-nope" in out and "r2024" in out


@responses.activate
def test_applied_run_alerts_managers_masked_and_not_again_within_a_day(config, capsys):
    responses.post(SLACK_POST, body="ok")
    code, _ = cli(capsys, "reconcile", "--config", str(config), "--now", NOW, "--apply")
    assert code == 0
    assert len(responses.calls) == 1
    text = json.loads(responses.calls[0].request.body)["attachments"][0]["text"]
    assert "장기요청→상담요청" in text
    assert "010-****-" in text
    assert "010-2000-" not in text and "김민수" not in text and "조예린" not in text

    # an hour later: nothing written, nothing new -> nothing sent
    cli(capsys, "reconcile", "--config", str(config), "--now", LATER, "--apply")
    assert len(responses.calls) == 1
    # a day later the open findings are told again
    cli(capsys, "reconcile", "--config", str(config), "--now", NEXT_DAY, "--apply")
    assert len(responses.calls) == 2


@responses.activate
def test_a_failing_channel_never_fails_the_run(config, capsys):
    responses.post(SLACK_POST, status=500)
    code, _ = cli(capsys, "reconcile", "--config", str(config), "--now", NOW, "--apply")
    assert code == 0
    assert history(capsys, "--config", str(config))[0]["outcome"] == "ok"


def test_a_preview_sends_nothing_and_journals_nothing(config, capsys):
    with responses.RequestsMock() as mock:  # any request would fail the test
        code, _ = cli(capsys, "reconcile", "--config", str(config), "--now", NOW)
        assert code == 0 and not mock.calls
    assert not (config.parent / "desk.movebot.db").exists()


@responses.activate
def test_a_failed_applied_run_is_journaled_and_alerted_once(config, book, capsys):
    responses.post(SLACK_POST, body="ok")
    wb = openpyxl.load_workbook(book)
    wb["OB 상세"].title = "OB"
    wb.save(book)
    assert cli(capsys, "reconcile", "--config", str(config), "--now", NOW, "--apply")[0] == 2
    assert cli(capsys, "reconcile", "--config", str(config), "--now", LATER, "--apply")[0] == 2
    runs = history(capsys, "--config", str(config))
    assert [r["outcome"] for r in runs] == ["failed", "failed"]
    assert "OB 상세" in runs[0]["error"]
    assert len(responses.calls) == 1
    assert "실패" in json.loads(responses.calls[0].request.body)["attachments"][0]["text"]


def test_undo_without_a_journal_says_so_and_creates_none(book, capsys):
    code, out = cli(capsys, "undo", "r20241204-180000-abcd", "--workbook", str(book))
    assert code == 2 and "No journal" in out
    assert not (book.parent / "desk.movebot.db").exists()


def test_undo_of_a_run_on_another_workbook_is_refused_naming_both_and_writes_nothing(book, capsys):
    other = book.with_name("other.xlsx")
    other.write_bytes(book.read_bytes())
    journal = str(book.with_name("desk.movebot.db"))
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    run_id = history(capsys, "--workbook", str(book))[0]["id"]
    before = other.read_bytes()

    code, out = cli(
        capsys, "undo", run_id, "--workbook", str(other), "--journal", journal, "--apply"
    )

    assert code == 2
    assert str(book) in out and str(other) in out and "Nothing was written" in out
    assert other.read_bytes() == before
    assert [r["kind"] for r in history(capsys, "--workbook", str(book))] == ["reconcile"]


def test_two_workbooks_in_one_folder_keep_their_own_journals(book, capsys):
    other = book.with_name("other.xlsx")
    other.write_bytes(book.read_bytes())
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    cli(capsys, "reconcile", "--workbook", str(other), "--now", LATER, "--apply")

    mine, theirs = (
        history(capsys, "--workbook", str(book)),
        history(capsys, "--workbook", str(other)),
    )

    assert [r["source"] for r in mine] == [str(book.resolve())]
    assert [r["source"] for r in theirs] == [str(other.resolve())]


def test_an_older_shared_journal_is_still_read_while_the_workbook_has_none(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    book.with_name("desk.movebot.db").rename(book.with_name("movebot.db"))  # an older movebot's
    for suffix in ("-wal", "-shm"):
        book.with_name("desk.movebot.db" + suffix).unlink(missing_ok=True)

    runs = history(capsys, "--workbook", str(book))

    assert [r["kind"] for r in runs] == ["reconcile"]
    assert not book.with_name("desk.movebot.db").exists()


def test_history_shows_each_runs_source_and_when_it_really_ran_beside_its_clock(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")

    code, out = cli(capsys, "history", "--workbook", str(book))

    assert code == 0
    assert "2024-12-04 18:00 KST (--now; run at " in out
    assert str(book.resolve()) in out


def test_the_undo_preview_promises_only_the_cells_the_apply_restores(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    run_id = history(capsys, "--workbook", str(book))[0]["id"]
    wb = openpyxl.load_workbook(book)
    wb["이사 관리자"].cell(row=4, column=3).value = "견적진행"  # staff work row 4 since
    wb.save(book)

    _, preview = cli(capsys, "undo", run_id, "--workbook", str(book))
    _, applied = cli(capsys, "undo", run_id, "--workbook", str(book), "--apply")

    promised = preview.split("Would restore (")[1].split(" cells)")[0]
    assert f"Restored ({promised} cells)" in applied
    assert f"Applied: {promised} cells restored, 2 kept." in applied
    promised_rows = preview.split("Kept as they are")[0]
    assert "이사 관리자 행 4\n" not in promised_rows  # row 4 is not among the promised cells
    assert "실행 중" not in preview and "(remarks)" not in preview
    # an appended line the undo takes away is shown as such
    assert "이사 관리자 행 3 진행상황 종결(중복) → (빈칸) 비고 - 중복: 최초 접수 11.29 17:54" in (
        " ".join(preview.split())
    )


def test_a_journal_path_typed_on_the_command_line_is_relative_to_the_current_folder(
    book, capsys, tmp_path, monkeypatch
):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    monkeypatch.chdir(tmp_path.parent)
    journal = str((book.parent / "desk.movebot.db").relative_to(tmp_path.parent))
    code, out = cli(capsys, "history", "--workbook", str(book), "--journal", journal)
    assert code == 0 and "No journal" not in out and "reconcile" in out


def test_undoing_a_run_again_says_which_undo_already_did_it_and_blames_no_staff(book, capsys):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    run_id = history(capsys, "--workbook", str(book))[0]["id"]
    cli(capsys, "undo", run_id, "--workbook", str(book), "--now", LATER, "--apply")
    undo_id = history(capsys, "--workbook", str(book))[0]["id"]
    before = book.read_bytes()

    code, out = cli(capsys, "undo", run_id, "--workbook", str(book), "--now", NEXT_DAY, "--apply")

    assert code == 2
    assert f"already undone by run {undo_id}" in out and "Nothing was written" in out
    assert "직원" not in out
    assert book.read_bytes() == before


def test_history_fits_an_80_column_terminal(book, capsys, monkeypatch):
    cli(capsys, "reconcile", "--workbook", str(book), "--now", NOW, "--apply")
    run_id = history(capsys, "--workbook", str(book))[0]["id"]
    cli(capsys, "undo", run_id, "--workbook", str(book), "--now", LATER, "--apply")
    monkeypatch.setenv("COLUMNS", "80")

    code, out = cli(capsys, "history", "--workbook", str(book))

    assert code == 0 and f"undo of {run_id}  ok" in out
    assert max(len(line) for line in out.splitlines() if str(book) not in line) <= 80
