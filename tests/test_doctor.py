"""`movebot doctor`: one line per check, ✓ or what to do; exit 0 when all is well, 2 when
something must be fixed."""

from __future__ import annotations

from pathlib import Path

import responses

from bot import demo
from bot.app import App
from bot.config import Settings, SourceConfig
from bot.doctor import doctor_command, run_doctor
from bot.errors import BadConfig
from bot.sheets.workbook import create_workbook

SLACK = "slack://T000/B000/XXXXSLACKSECRET"
SLACK_POST = "https://hooks.slack.com/services/T000/B000/XXXXSLACKSECRET"
KAKAO = {"app_key": "kakao-app-key-0123456789abcdef", "conversation_id": "12345"}
KAKAOWORK = f"kakaowork://{KAKAO['app_key']}@{KAKAO['conversation_id']}"


def settings_for(tmp_path: Path, book: Path, **kwargs) -> Settings:
    alerts = kwargs.pop("alerts", {"urls": [SLACK, KAKAOWORK]})
    return Settings(
        source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path, alerts=alerts, **kwargs
    )


def doctor(settings: Settings, **kwargs) -> tuple[int, list[str]]:
    lines: list[str] = []
    with App(settings) as app:
        code = run_doctor(app, out=lines.append, **kwargs)
    return code, lines


def line_about(lines: list[str], words: str) -> str:
    return next(line for line in lines if words in line)


def test_a_good_workbook_config_passes_every_check(tmp_path, book):
    code, lines = doctor(settings_for(tmp_path, book))
    assert code == 0
    checks, summary = lines[:-1], lines[-1]
    assert all(line.startswith("✓ ") for line in checks), checks
    assert summary == "All checks passed."
    assert line_about(lines, "workbook").startswith(f"✓ config valid: workbook {book}")
    assert "✓ schedule: polls every 15 min 09:00-19:00 mon-fri" in line_about(lines, "schedule")
    assert "tab '이사 관리자': required headers present" in line_about(lines, "tab '이사 관리자':")
    assert (
        line_about(lines, "slack#1") == "✓ alert channel slack#1 (alerts.urls[0]): URL understood"
    )
    assert (
        line_about(lines, "kakaowork#1")
        == "✓ alert channel kakaowork#1 (alerts.urls[1]): URL understood"
    )
    assert "KakaoWork not configured" not in "\n".join(lines)
    assert line_about(lines, "✓ journal").startswith(f"✓ journal {tmp_path / 'desk.movebot.db'}")
    assert "worker lock" in line_about(lines, "worker lock")
    assert not (tmp_path / "desk.movebot.db").exists()  # the first applied run creates it
    text = "\n".join(lines)
    assert "XXXXSLACKSECRET" not in text and KAKAO["app_key"] not in text


def test_a_missing_tab_names_the_tabs_that_exist(tmp_path):
    path = tmp_path / "desk.xlsx"
    create_workbook(path, {"이사 관리자": [demo.LEAD_HEADERS], "Sheet1": [["x"]]})
    code, lines = doctor(settings_for(tmp_path, path))
    assert code == 2
    tabs = line_about(lines, "✗ tabs")
    assert "'OB 상세'" in tabs and "'이사 관리자', 'Sheet1'" in tabs
    assert lines[-1] == "1 problem(s) to fix."


def test_a_missing_required_header_is_named(tmp_path):
    path = tmp_path / "desk.xlsx"
    headers = [h for h in demo.LEAD_HEADERS if h != "연락처"]
    create_workbook(path, {"이사 관리자": [headers], "OB 상세": [demo.OB_HEADERS]})
    code, lines = doctor(settings_for(tmp_path, path))
    assert code == 2
    assert "'연락처'" in line_about(lines, "✗ headers")


def test_missing_optional_headers_are_a_warning_not_a_failure(tmp_path):
    path = tmp_path / "desk.xlsx"
    headers = [h for h in demo.LEAD_HEADERS if h not in ("담당자", "통화예정일")]
    create_workbook(path, {"이사 관리자": [headers], "OB 상세": [demo.OB_HEADERS]})
    code, lines = doctor(settings_for(tmp_path, path))
    assert code == 0
    warning = line_about(lines, "⚠")
    assert "'통화예정일'" in warning and "'담당자'" in warning and "미지정" in warning
    assert lines[-1] == "All checks passed. (1 warning(s))"


def test_a_workbook_that_does_not_exist_says_where_it_looked(tmp_path):
    code, lines = doctor(settings_for(tmp_path, tmp_path / "nowhere.xlsx"))
    assert code == 2
    assert "nowhere.xlsx does not exist" in line_about(lines, "✗ workbook")


def test_an_alert_url_apprise_cannot_read_must_be_fixed(tmp_path, book):
    bad = "nosuchservice://token-abcdef123456/room"
    code, lines = doctor(settings_for(tmp_path, book, alerts={"urls": [SLACK, bad]}))
    assert code == 2
    failed = line_about(lines, "✗ alert channel")
    assert failed.startswith("✗ alert channel nosuchservice#1 (alerts.urls[1]) — ")
    assert "✓ KakaoWork not configured (optional)" in lines
    assert "token-abcdef123456" not in "\n".join(lines)


def test_the_old_kakaowork_section_still_works_and_says_how_to_move_it(tmp_path, book):
    code, lines = doctor(settings_for(tmp_path, book, alerts={"urls": [SLACK], "kakaowork": KAKAO}))
    assert code == 0
    assert (
        line_about(lines, "kakaowork#1")
        == "✓ alert channel kakaowork#1 (alerts.kakaowork): URL understood"
    )
    deprecated = line_about(lines, "⚠")
    assert deprecated.startswith(
        "⚠ alerts.kakaowork is deprecated — write it as one of alerts.urls"
    )
    assert "kakaowork://APP_KEY@CONVERSATION_ID" in deprecated
    assert KAKAO["app_key"] not in "\n".join(lines)


def test_no_alert_channel_is_a_warning(tmp_path, book):
    code, lines = doctor(settings_for(tmp_path, book, alerts={}))
    assert code == 0
    assert line_about(lines, "⚠").startswith("⚠ no alert channel configured — ")


def test_nothing_is_sent_unless_asked_and_a_test_message_when_asked(tmp_path, book):
    settings = settings_for(tmp_path, book, alerts={"urls": [SLACK]})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        http.add(responses.POST, SLACK_POST, body="ok")
        assert doctor(settings)[0] == 0
        assert len(http.calls) == 0
        code, lines = doctor(settings, send_test=True)
        assert code == 0 and len(http.calls) == 1
    assert "✓ test message delivered to slack#1" in lines


def test_a_test_message_that_fails_must_be_fixed(tmp_path, book):
    settings = settings_for(tmp_path, book, alerts={"urls": [SLACK]})
    with responses.RequestsMock() as http:
        http.add(responses.POST, SLACK_POST, status=404, body="no_service")
        code, lines = doctor(settings, send_test=True)
    assert code == 2
    assert line_about(lines, "✗ test message to slack#1")


def test_an_unwritable_journal_directory_must_be_fixed(tmp_path, book):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the journal's directory should be")
    settings = settings_for(tmp_path, book, journal={"path": str(blocker / "movebot.db")})
    code, lines = doctor(settings)
    assert code == 2
    journal = line_about(lines, "✗ journal")
    assert "not-a-dir is not a directory" in journal and "journal.path" in journal


def test_an_existing_journal_that_is_not_one_must_be_fixed(tmp_path, book):
    (tmp_path / "movebot.db").write_text("hello, not sqlite")
    code, lines = doctor(settings_for(tmp_path, book))
    assert code == 2
    assert line_about(lines, "✗ journal")


def test_a_running_worker_holding_the_lock_is_fine(tmp_path, book):
    settings = settings_for(tmp_path, book)
    with App(settings).lock.hold() as held:  # the worker's
        assert held
        code, lines = doctor(settings)
    assert code == 0
    assert "held by a running worker" in line_about(lines, "worker lock")


def test_a_schedule_that_does_not_make_sense_must_be_fixed(tmp_path, book):
    settings = settings_for(tmp_path, book, schedule={"hours": "19:00-09:00"})
    code, lines = doctor(settings)
    assert code == 2
    assert "schedule.hours" in line_about(lines, "✗ schedule")


def test_a_config_that_does_not_load_is_the_first_line(tmp_path):
    def load() -> App:
        raise BadConfig("desk.yaml: unknown setting 'alerts.repeat_afer'.")

    lines: list[str] = []
    assert doctor_command(load, out=lines.append) == 2
    assert lines[0] == "✗ config — desk.yaml: unknown setting 'alerts.repeat_afer'."


def test_google_credentials_that_do_not_load_say_what_to_do(tmp_path):
    settings = Settings(
        source={"kind": "google", "spreadsheet": "1AbC-sheet-id", "credentials": "sa.json"},
        base_dir=tmp_path,
    )
    code, lines = doctor(settings)
    assert code == 2
    assert "Google credentials file not found" in line_about(lines, "✗ Google credentials")
    assert lines[-1] == "1 problem(s) to fix."


def test_a_read_only_workbook_is_a_problem_to_fix(tmp_path, book):
    book.chmod(0o444)
    code, lines = doctor(settings_for(tmp_path, book))
    assert code == 2
    problem = line_about(lines, "writable")
    assert problem.startswith(f"✗ workbook {book} writable")
    assert "the file is read-only" in problem


def test_on_a_terminal_a_path_with_spaces_is_never_split_across_lines(
    tmp_path, book, capsys, monkeypatch
):
    """doctor's lines wrap at the terminal's width, but a user copies the paths in them: a
    folder named with spaces (a synced drive, `이사 데스크 2024`) stays on one line."""
    folder = tmp_path / "My Shared Drive" / "이사 데스크 2024"
    folder.mkdir(parents=True)
    desk = folder / "desk.xlsx"
    desk.write_bytes(book.read_bytes())
    monkeypatch.setenv("COLUMNS", "80")
    with App(settings_for(tmp_path, desk, journal={"path": folder / "desk.movebot.db"})) as app:
        assert run_doctor(app) == 0
    out = capsys.readouterr().out
    paths = [
        str(desk),
        str(folder / "desk.movebot.db"),
        str(folder / "desk.movebot.db.worker.lock"),
    ]
    for path in paths:
        assert path in out, (path, out)
    assert "\u00a0" not in out
