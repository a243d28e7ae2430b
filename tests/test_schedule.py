"""`movebot run`: when the worker fires (Asia/Seoul), how its jobs are configured, the lock
that keeps two workers on one sheet apart, failures alerted once, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import responses
import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.app import App
from bot.config import AlertsConfig, ScheduleConfig, Settings, SourceConfig
from bot.errors import BadConfig
from bot.journal import Journal, JournalUnavailable
from bot.lock import LockUnavailable, SheetLock
from bot.schedule import (
    Stopper,
    Worker,
    build_scheduler,
    digest_trigger,
    nightly_trigger,
    poll_times,
    poll_trigger,
    run_worker,
)
from rules.values import KST

from conftest import FakeClock, FakeNotifier
from desk import at as kst


def fire_times(trigger, start: datetime, n: int) -> list[str]:
    """The next `n` fire times after `start`, as `Fri 2024-12-06 19:00` in KST."""
    out, previous, now = [], None, start
    for _ in range(n):
        at = trigger.get_next_fire_time(previous, now)
        assert at.utcoffset() == timedelta(hours=9)
        out.append(f"{at:%a %Y-%m-%d %H:%M}")
        previous = now = at
    return out


def day_of(trigger, day: str) -> list[str]:
    """Every fire time on one day (KST), as `HH:MM`."""
    start = kst(f"{day} 00:00") - timedelta(microseconds=1)
    times: list[str] = []
    previous, now = None, start
    while True:
        at = trigger.get_next_fire_time(previous, now)
        if at.date().isoformat() != day:
            return times
        times.append(f"{at:%H:%M}")
        previous = now = at


# --- when ------------------------------------------------------------------------------------


def test_polls_run_through_office_hours_including_the_end_then_resume_monday():
    trigger = poll_trigger(ScheduleConfig())  # every 15 min, 09:00-19:00, mon-fri
    assert fire_times(trigger, kst("2024-12-06 18:50"), 4) == [
        "Fri 2024-12-06 19:00",
        "Mon 2024-12-09 09:00",
        "Mon 2024-12-09 09:15",
        "Mon 2024-12-09 09:30",
    ]
    assert fire_times(trigger, kst("2024-12-06 19:00:01"), 1) == ["Mon 2024-12-09 09:00"]
    monday = day_of(trigger, "2024-12-09")
    assert monday[0] == "09:00" and monday[-1] == "19:00" and len(monday) == 41
    assert day_of(trigger, "2024-12-07") == []  # Saturday


def test_a_poll_period_that_does_not_divide_an_hour_keeps_its_cadence_from_the_start():
    trigger = poll_trigger(ScheduleConfig(poll_minutes=45))
    assert day_of(trigger, "2024-12-09") == [
        "09:00", "09:45", "10:30", "11:15", "12:00", "12:45", "13:30",
        "14:15", "15:00", "15:45", "16:30", "17:15", "18:00", "18:45",
    ]  # fmt: skip
    assert fire_times(trigger, kst("2024-12-09 18:46"), 1) == ["Tue 2024-12-10 09:00"]


def test_the_last_poll_is_never_after_the_end_of_office_hours():
    trigger = poll_trigger(ScheduleConfig(poll_minutes=60, hours="09:30-18:00"))
    assert day_of(trigger, "2024-12-09") == [f"{h:02d}:30" for h in range(9, 18)]
    assert (
        poll_times(*(datetime.strptime(t, "%H:%M").time() for t in ("09:00", "09:40")), 45)[
            -1
        ].isoformat()
        == "09:00:00"
    )


def test_the_nightly_sync_runs_at_two_every_day_and_the_digest_on_working_days_only():
    s = ScheduleConfig()
    assert fire_times(nightly_trigger(s), kst("2024-12-06 18:50"), 3) == [
        "Sat 2024-12-07 02:00",
        "Sun 2024-12-08 02:00",
        "Mon 2024-12-09 02:00",
    ]
    assert fire_times(digest_trigger(s), kst("2024-12-06 08:00"), 3) == [
        "Fri 2024-12-06 08:30",
        "Mon 2024-12-09 08:30",
        "Tue 2024-12-10 08:30",
    ]


def test_fire_times_are_seoul_times_whatever_the_machines_zone():
    utc_now = datetime(2024, 12, 6, 9, 50, tzinfo=ZoneInfo("UTC"))  # 18:50 KST
    at = poll_trigger(ScheduleConfig()).get_next_fire_time(None, utc_now)
    assert at == kst("2024-12-06 19:00")


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("hours", "19:00-09:00", "schedule.hours"),
        ("hours", "25:00-26:00", "schedule.hours"),
        ("working_days", "mon-fry", "schedule.working_days"),
    ],
)
def test_a_schedule_that_does_not_make_sense_is_named(setting, value, named):
    with pytest.raises(BadConfig, match=named):
        poll_trigger(ScheduleConfig(**{setting: value}))


def test_every_job_runs_once_at_a_time_coalesced_with_the_configured_grace():
    settings = Settings(schedule={"misfire_grace_seconds": 120, "nightly": "03:15"})
    scheduler = build_scheduler(
        settings,
        reconcile_job=lambda: None,
        digest_job=lambda: None,
        scheduler_cls=BackgroundScheduler,
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll", "nightly", "digest"}
    for job in jobs.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 120)
    assert str(scheduler.timezone) == "Asia/Seoul"
    at = jobs["nightly"].trigger.get_next_fire_time(None, kst("2024-12-06 18:50"))
    assert at == kst("2024-12-07 03:15")


# --- the lock --------------------------------------------------------------------------------


def worker(tmp_path, journal, notifier=None, **kwargs) -> Worker:
    """A worker on tmp_path/desk.xlsx (not written: the tests that reach the sheet write it),
    its parts built by the App but for the journal, the channels and the clock."""
    source = SourceConfig(kind="workbook", path=tmp_path / "desk.xlsx")
    settings = Settings(base_dir=tmp_path, **{"source": source, **kwargs.pop("settings", {})})
    app = App(settings, kwargs.pop("clock", FakeClock(kst("2024-12-09 09:00"))))
    return Worker(
        settings,
        backend=app.backend,
        journal=journal,
        notifier=notifier or FakeNotifier(),
        lock=app.lock,
        clock=app.clock,
        **kwargs,
    )


def test_two_holders_of_one_lock_file_exclude_each_other(tmp_path):
    first, second = SheetLock(tmp_path / "x.lock"), SheetLock(tmp_path / "x.lock")
    with first.hold() as held:
        assert held
        with second.hold() as also:
            assert not also
    with second.hold() as held:
        assert held


def test_the_lock_file_is_private_and_names_its_last_holder(tmp_path):
    lock = SheetLock(tmp_path / "x.lock")
    with lock.hold() as held:
        assert held and lock.holder() == os.getpid()
    assert lock.path.exists() and lock.holder() == os.getpid()
    if os.name == "posix":
        assert lock.path.stat().st_mode & 0o777 == 0o600


def test_a_lock_file_that_cannot_be_created_names_the_folder_to_fix(tmp_path):
    (tmp_path / "data").write_text("a file where the folder should be")
    with pytest.raises(LockUnavailable) as caught, SheetLock(tmp_path / "data" / "x.lock").hold():
        pass
    assert f"The lock file {tmp_path / 'data' / 'x.lock'} cannot be opened" in str(caught.value)
    assert "that folder must be writable" in str(caught.value)


def test_a_tick_skips_while_another_worker_process_holds_the_lock(tmp_path, journal):
    w = worker(tmp_path, journal)
    w.lock.path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, filelock\n"
            f"lock = filelock.FileLock({str(w.lock.path)!r})\n"
            "lock.acquire()\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        ran: list[datetime] = []
        with structlog.testing.capture_logs() as logs:
            assert w.tick("poll", ran.append) == "skipped"
        assert ran == []
        skipped = [e for e in logs if e["event"] == "tick.skipped"]
        assert skipped and skipped[0]["reason"] == "locked"
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    ran = []
    assert w.tick("poll", ran.append) == "ok" and len(ran) == 1


def test_the_digest_waits_for_a_reconcile_under_way_instead_of_skipping(tmp_path, journal):
    sent: list[datetime] = []
    w = worker(
        tmp_path,
        journal,
        digest=sent.append,
        settings={"schedule": {"misfire_grace_seconds": 5}},
    )
    held, release = threading.Event(), threading.Event()

    def reconcile_under_way() -> None:
        with SheetLock(w.lock.path).hold() as ok:
            assert ok
            held.set()
            release.wait(5)

    t = threading.Thread(target=reconcile_under_way)
    t.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    assert w.digest() == "ok"
    t.join()
    assert len(sent) == 1


def test_each_tick_reads_the_clock_when_it_fires(tmp_path, journal):
    clock = FakeClock(kst("2024-12-09 09:00"))
    seen: list[datetime] = []
    w = worker(tmp_path, journal, clock=clock, reconcile=seen.append)
    w.poll()
    clock.now = kst("2024-12-09 09:15")
    w.poll()
    assert seen == [kst("2024-12-09 09:00"), kst("2024-12-09 09:15")]


# --- failures --------------------------------------------------------------------------------


def test_a_failing_run_is_logged_by_type_and_alerted_once(tmp_path, journal):
    clock = FakeClock(kst("2024-12-09 09:00"))
    notifier = FakeNotifier()

    def broken(now: datetime) -> None:
        raise ValueError("김민수 010-5373-4269 broke it")

    w = worker(tmp_path, journal, notifier, clock=clock, reconcile=broken)
    with structlog.testing.capture_logs() as logs:
        assert w.poll() == "failed"
        clock.now += timedelta(minutes=15)
        assert w.poll() == "failed"
    assert len(notifier.sent) == 1
    title, body, _ = notifier.sent[0]
    assert title.startswith("movebot 실행 실패") and "ValueError" in body
    failed = [e for e in logs if e["event"] == "run.failed"]
    assert len(failed) == 2 and failed[0]["error_type"] == "ValueError"
    text = repr(logs) + body
    assert "5373" not in text and "김민수" not in text
    clock.now += timedelta(hours=25)  # alerts.repeat_after (24h) later: told again
    w.poll()
    assert len(notifier.sent) == 2


def test_a_failure_is_alerted_once_even_when_the_journal_is_failing(tmp_path):
    class BrokenJournal:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise JournalUnavailable("disk full")

            return fail

    notifier = FakeNotifier()

    def broken(now: datetime) -> None:
        raise RuntimeError("boom")

    w = worker(tmp_path, BrokenJournal(), notifier, reconcile=broken)
    w.poll()
    w.poll()
    assert len(notifier.sent) == 1


def test_a_failing_job_does_not_stop_the_schedule(tmp_path, journal):
    notifier = FakeNotifier()
    calls: list[datetime] = []

    def broken(now: datetime) -> None:
        calls.append(now)
        raise RuntimeError("boom")

    w = worker(tmp_path, journal, notifier, reconcile=broken)
    scheduler = build_scheduler(
        w.settings,
        reconcile_job=w.poll,
        digest_job=w.digest,
        scheduler_cls=BackgroundScheduler,
    )
    done = threading.Event()
    scheduler.add_listener(lambda e: done.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        for _ in range(2):
            done.clear()
            scheduler.modify_job("poll", next_run_time=datetime.now(KST))
            assert done.wait(10)
        assert scheduler.running
        assert scheduler.get_job("poll").next_run_time is not None
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) == 2
    assert len(notifier.sent) == 1


def test_a_failed_applied_run_is_journaled_as_failed(tmp_path, journal):
    settings = {"source": SourceConfig(kind="workbook", path=tmp_path / "missing.xlsx")}
    w = worker(tmp_path, journal, settings=settings, clock=FakeClock(kst("2024-12-09 09:00")))
    assert w.poll() == "failed"
    (run,) = journal.runs()
    assert run.outcome == "failed" and "missing.xlsx does not exist" in run.error
    assert len(w.notifier.sent) == 1  # the runner alerted it; the worker does not repeat it
    assert "missing.xlsx does not exist" in w.notifier.sent[0].body


# --- stopping --------------------------------------------------------------------------------


def test_sigterm_stops_the_scheduler_after_the_run_under_way():
    scheduler = BackgroundScheduler(timezone=KST)
    started, finished = threading.Event(), threading.Event()

    def slow_write() -> None:
        started.set()
        time.sleep(0.5)
        finished.set()

    scheduler.add_job(slow_write, "interval", hours=1, next_run_time=datetime.now(KST))
    scheduler.start()
    assert started.wait(10)
    stopper = Stopper(scheduler)
    stopper(signal.SIGTERM)
    stopper.wait(10)
    assert finished.is_set()  # shutdown waited for the write
    assert scheduler.state == STATE_STOPPED
    stopper(signal.SIGINT)  # a second signal while stopping does nothing more


# --- the whole worker ------------------------------------------------------------------------


class OneTickScheduler(BlockingScheduler):
    """Runs the poll then the digest once, as if they fired, and returns as if stopped."""

    def start(self, *args, **kwargs):
        self.get_job("poll").func()
        self.get_job("digest").func()


def test_run_worker_polls_journals_alerts_and_sends_the_digest(tmp_path, book):
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    notifier = FakeNotifier()
    with App(settings, lambda: kst("2024-12-04 18:05")) as app:
        app.notifier = notifier
        with structlog.testing.capture_logs() as logs:
            code = run_worker(app, scheduler_cls=OneTickScheduler)
    assert code == 0
    started = next(e for e in logs if e["event"] == "worker.started")
    assert started["next_poll"] == "2024-12-04T18:15:00+09:00"
    assert started["next_digest"] == "2024-12-05T08:30:00+09:00"
    titles = [sent.title for sent in notifier.sent]
    assert titles[0].startswith("movebot 점검 결과") and titles[1].startswith(
        "movebot 오늘의 할 일"
    )
    with Journal(tmp_path / "desk.movebot.db") as journal:
        at_start, polled = reversed(journal.runs())
        assert at_start.outcome == "ok" and at_start.written > 0  # the run at start
        assert polled.outcome == "ok" and polled.written == 0  # nothing left for the poll
    assert any(e["event"] == "rule" for e in logs)


@responses.activate
def test_a_polling_run_and_the_digest_land_in_a_real_channel_masked(tmp_path, book):
    slack = "https://hooks.slack.com/services/T000/B000/XXXXSLACKSECRET"
    responses.post(slack, body="ok")
    settings = Settings(
        source=SourceConfig(kind="workbook", path=book),
        alerts=AlertsConfig(urls=["slack://T000/B000/XXXXSLACKSECRET"]),
        base_dir=tmp_path,
    )
    with App(settings, lambda: kst("2024-12-04 18:05")) as app:
        code = run_worker(app, scheduler_cls=OneTickScheduler)
    assert code == 0
    posts = [json.loads(c.request.body)["attachments"][0] for c in responses.calls]
    assert [p["title"].split(" (")[0] for p in posts] == [
        "movebot 점검 결과",
        "movebot 오늘의 할 일",
    ]
    text = "\n".join(p["text"] for p in posts)
    assert "행 19 조*린 010-****-6001" in text
    assert "010-2000-" not in text and "조예린" not in text


def test_sigterm_stops_a_running_worker_cleanly(book):
    root = Path(__file__).resolve().parent.parent
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.app import App\n"
        "from bot.config import workbook_settings\n"
        "from bot.logs import configure_logging\n"
        "from bot.schedule import run_worker\n"
        "configure_logging(json=True)\n"
        f"with App(workbook_settings(Path({str(book)!r}), None)) as app:\n"
        "    sys.exit(run_worker(app))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True, env=env
    )
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "worker.started" in line:  # the handlers are in place by then
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=30)
    events = [json.loads(line)["event"] for line in [*lines, *rest.splitlines()] if line.strip()]
    assert proc.returncode == 0
    assert "worker.started" in events
    assert events[-1] == "worker.stopped" and "worker.stopping" in events


class NeverFiringScheduler(BlockingScheduler):
    """Returns from start as if stopped before any slot came."""

    def start(self, *args, **kwargs):
        pass


def test_movebot_run_reconciles_once_at_start_and_says_so_on_a_terminal(tmp_path, book):
    settings = Settings(source=SourceConfig(kind="workbook", path=book), base_dir=tmp_path)
    said: list[str] = []
    with App(settings, lambda: kst("2024-12-04 18:05")) as app:
        app.notifier = FakeNotifier()
        assert run_worker(app, scheduler_cls=NeverFiringScheduler, say=said.append) == 0
    with Journal(tmp_path / "desk.movebot.db") as journal:
        (run,) = journal.runs()
    assert run.written > 0  # before the first slot (18:15)
    assert said[0].startswith(f"movebot run: {book} — reconciling now, then polls every 15 min")
    assert said[1] == (
        f"18:05 reconcile: {run.written} cells written, 0 not written, {run.findings} findings"
        f" (run {run.id})"
    )
