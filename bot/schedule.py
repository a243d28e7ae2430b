"""`movebot run`: the scheduled worker (DESIGN.md "Scheduling").

An APScheduler 3.x `BlockingScheduler` in Asia/Seoul with these jobs:

- `poll`: an applied reconcile every `schedule.poll_minutes` during `schedule.hours` on
  `schedule.working_days`. Polls are counted from the start of office hours and include the
  end: `09:00-19:00` every 15 minutes polls at 09:00, 09:15, ..., 18:45 and 19:00 (so edits
  made in the last minutes of the day are picked up). A period that does not divide 60 keeps
  its own cadence from the start: every 45 minutes polls at 09:00, 09:45, 10:30, ..., 18:45
  (19:30 would be past the end). Office hours must end after they start on the same day.
- `nightly`: the same applied reconcile every day at `schedule.nightly` (the full sync).
- `digest`: the morning digest at `schedule.digest` on working days.
- `settlement`: at each month's settlement cut-off (`settlement.day`, `settlement.time`): the
  snapshot of the month just settled and its statement summary (docs/SETTLEMENT.md), then
  last month's report unless `schedule.report_monthly` is false (in the same tick, so the
  report never goes out before the snapshot).
- `report_weekly`: last week's report on Mondays at `schedule.report_weekly` (unless `off`).
  Each report is written beside the journal and sent once per channel (docs/REPORTS.md).

Every job has `max_instances=1`, `coalesce=True` and `misfire_grace_time =
schedule.misfire_grace_seconds`, and takes its `now` from the clock when it fires.

Two workers on one sheet never overlap: each tick takes an exclusive, non-blocking `flock` on
`<journal>.worker.lock` (one journal per sheet; the lock is per open file, so it also keeps the
jobs of one worker apart). A reconcile tick that finds the lock held skips with a log line
(`tick.skipped reason=locked`); the digest waits for it up to the misfire grace time, and a
day's digest is journaled so a second worker does not send it again.

A failing tick is logged (its exception type and where it was raised; the message only for
movebot's own errors, which carry no customer data), alerted once per `alerts.repeat_after`
while runs on the sheet keep failing, and the schedule goes on. `runner.apply` alerts a
failed reconcile itself; the worker alerts what fails outside it (the digest, the lock, the
journal). Both go through the journal's failure key for the sheet, so a failure is told once
either way; when the journal itself is failing, the worker remembers in memory. SIGTERM and Ctrl-C stop the scheduler after the run under
way has finished its write (`scheduler.shutdown(wait=True)`).
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobSubmissionEvent
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from bot import runner
from bot.alerts import compose_failure_alert, send_failure_alert
from bot.app import App
from bot.config import ScheduleConfig, Settings, SettlementConfig
from bot.digest import digest_of, send_digest
from bot.errors import BadConfig, MovebotError
from bot.lock import SheetLock
from bot.ports import Clock, Journal, Notifier, SheetBackend
from bot.reporting import scheduled_report
from bot.settlement import settlement_job
from rules.values import KST

log = structlog.get_logger(__name__)

Job = Callable[[], object]
TickOutcome = Literal["ok", "skipped", "failed"]

POLL, NIGHTLY, DIGEST = "poll", "nightly", "digest"
REPORT_WEEKLY = "report_weekly"
SETTLEMENT = "settlement"
JOB_NAMES = {
    POLL: "polling reconcile",
    NIGHTLY: "nightly full sync",
    DIGEST: "morning digest",
    REPORT_WEEKLY: "weekly report",
    SETTLEMENT: "settlement snapshot and statement",
}


# --- when ------------------------------------------------------------------------------------


def office_hours(schedule: ScheduleConfig) -> tuple[time_of_day, time_of_day]:
    """`schedule.hours` (`09:00-19:00`) as (start, end). BadConfig when it does not read or
    does not end after it starts."""
    try:
        start_text, end_text = (part.strip() for part in schedule.hours.split("-"))
        start, end = (time_of_day.fromisoformat(t.zfill(5)) for t in (start_text, end_text))
    except ValueError:
        raise BadConfig(
            f"Setting schedule.hours {schedule.hours!r} is not a range of office hours; "
            "write e.g. 09:00-19:00."
        ) from None
    if end <= start:
        raise BadConfig(
            f"Setting schedule.hours {schedule.hours!r} ends before it starts; office hours "
            "must end after they start on the same day (e.g. 09:00-19:00)."
        )
    return start, end


def poll_times(start: time_of_day, end: time_of_day, every_minutes: int) -> list[time_of_day]:
    """Every `every_minutes` from `start`, up to and including `end`."""
    first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    return [time_of_day(m // 60, m % 60) for m in range(first, last + 1, every_minutes)]


def _cron_list(values: Sequence[int]) -> str:
    """`[9, 10, 11, 13]` -> `9-11,13`."""
    parts: list[str] = []
    run: list[int] = []
    for v in sorted(values):
        if run and v == run[-1] + 1:
            run.append(v)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [v]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(parts)


def _cron(setting: str, **fields: Any) -> CronTrigger:
    try:
        return CronTrigger(timezone=KST, **fields)
    except ValueError as e:
        raise BadConfig(
            f"Setting {setting}: {e}. Working days are written like mon-fri or mon,wed,fri."
        ) from None


def poll_trigger(schedule: ScheduleConfig) -> BaseTrigger:
    """The polling times as cron triggers in Asia/Seoul: one per set of hours sharing the same
    minutes (09:00-19:00 every 15: hours 9-18 at :00,:15,:30,:45, and 19 at :00)."""
    start, end = office_hours(schedule)
    minutes_by_hour: dict[int, list[int]] = defaultdict(list)
    for t in poll_times(start, end, schedule.poll_minutes):
        minutes_by_hour[t.hour].append(t.minute)
    hours_by_minutes: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for hour, minutes in minutes_by_hour.items():
        hours_by_minutes[tuple(minutes)].append(hour)
    triggers = [
        _cron(
            "schedule.working_days",
            day_of_week=schedule.working_days,
            hour=_cron_list(hours),
            minute=_cron_list(minutes),
        )
        for minutes, hours in hours_by_minutes.items()
    ]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def nightly_trigger(schedule: ScheduleConfig) -> CronTrigger:
    """Every day at `schedule.nightly`, Asia/Seoul."""
    at = schedule.nightly
    return _cron("schedule.nightly", hour=at.hour, minute=at.minute)


def digest_trigger(schedule: ScheduleConfig) -> CronTrigger:
    """On working days at `schedule.digest`, Asia/Seoul."""
    at = schedule.digest
    return _cron(
        "schedule.working_days",
        day_of_week=schedule.working_days,
        hour=at.hour,
        minute=at.minute,
    )


def settlement_trigger(settlement: SettlementConfig) -> CronTrigger:
    """Every month on `settlement.day` at `settlement.time`, Asia/Seoul: the cut-off itself."""
    at = settlement.time
    return _cron("settlement.day", day=settlement.day, hour=at.hour, minute=at.minute)


def report_triggers(settings: Settings) -> dict[str, CronTrigger]:
    """The report jobs that are on: Mondays at `schedule.report_weekly`. (The monthly report
    is sent by the settlement job, after its snapshot.)"""
    triggers = {}
    weekly = settings.schedule.report_weekly
    if weekly is not None:
        triggers[REPORT_WEEKLY] = _cron(
            "schedule.report_weekly", day_of_week="mon", hour=weekly.hour, minute=weekly.minute
        )
    return triggers


def job_options(schedule: ScheduleConfig) -> dict[str, Any]:
    return {
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": schedule.misfire_grace_seconds,
    }


def build_scheduler(
    settings: Settings,
    *,
    reconcile_job: Job,
    digest_job: Job,
    nightly_job: Job | None = None,
    settlement_job: Job | None = None,
    report_jobs: dict[str, Job] | None = None,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """A scheduler (not started) in Asia/Seoul with the `poll`, `nightly` and `digest` jobs,
    and the `settlement` and report jobs given.

    The jobs are called with no arguments (the `Worker`'s take their `now` from the clock);
    `nightly_job` defaults to `reconcile_job`. BadConfig when the
    schedule settings do not make a schedule."""
    s = settings.schedule
    triggers: dict[str, BaseTrigger] = {
        POLL: poll_trigger(s),
        NIGHTLY: nightly_trigger(s),
        DIGEST: digest_trigger(s),
    }
    jobs = {POLL: reconcile_job, NIGHTLY: nightly_job or reconcile_job, DIGEST: digest_job}
    for job_id, trigger in report_triggers(settings).items():
        if report_jobs and job_id in report_jobs:
            triggers[job_id], jobs[job_id] = trigger, report_jobs[job_id]
    if settlement_job is not None:
        triggers[SETTLEMENT] = settlement_trigger(settings.settlement)
        jobs[SETTLEMENT] = settlement_job
    scheduler = scheduler_cls(timezone=KST)
    for job_id, trigger in triggers.items():
        scheduler.add_job(
            jobs[job_id],
            trigger,
            id=job_id,
            name=JOB_NAMES[job_id],
            replace_existing=True,
            **job_options(s),
        )
    return scheduler


def next_fire_times(scheduler: BaseScheduler, now: datetime) -> dict[str, datetime | None]:
    """Each job's next fire time after `now` (Asia/Seoul), started or not."""
    return {
        job.id: job.trigger.get_next_fire_time(None, now.astimezone(KST))
        for job in scheduler.get_jobs()
    }


def describe_schedule(settings: Settings, now: datetime) -> str:
    """One line for people: `polls every 15 min 09:00-19:00 mon-fri (next 12.9 09:00), ...`."""
    s = settings.schedule
    start, end = office_hours(s)
    now = now.astimezone(KST)

    def nxt(trigger: BaseTrigger) -> str:
        at = trigger.get_next_fire_time(None, now)
        return f"{at.month}.{at.day} {at:%H:%M}" if at else "never"

    return (
        f"polls every {s.poll_minutes} min {start:%H:%M}-{end:%H:%M} {s.working_days} "
        f"(next {nxt(poll_trigger(s))}), nightly sync {s.nightly:%H:%M} "
        f"(next {nxt(nightly_trigger(s))}), digest {s.digest:%H:%M} {s.working_days} "
        f"(next {nxt(digest_trigger(s))}), Asia/Seoul"
    )


# --- the jobs' work ---------------------------------------------------------------------------


def scheduled_digest(
    settings: Settings,
    backend: SheetBackend,
    journal: Journal,
    notifier: Notifier,
    now: datetime,
) -> None:
    """The worker's morning digest: read, build, send once per day per channel."""
    d = digest_of(backend.read(), now, settings)
    if notifier.channels:
        send_digest(d, notifier, journal=journal)
    else:
        log.info("digest.not_sent", reason="no alert channels", rows=sum(d.counts.values()))


# --- the worker ------------------------------------------------------------------------------


def _where(error: BaseException) -> list[str]:
    """Where an error was raised (file:line function), without its message."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames]


def _silent(line: str) -> None:
    pass


class Worker:
    """The jobs of `movebot run`: each tick takes the sheet's lock, reads the clock, runs, and
    turns a failure into a log line and (once) an alert. The tick methods never raise."""

    def __init__(
        self,
        settings: Settings,
        *,
        backend: SheetBackend,
        journal: Journal,
        notifier: Notifier,
        lock: SheetLock,
        clock: Clock,
        reconcile: Callable[[datetime], object] | None = None,
        digest: Callable[[datetime], object] | None = None,
        say: Callable[[str], object] = _silent,
    ) -> None:
        """`reconcile` and `digest` stand in for the jobs' own work (tests); `say` tells a
        person at a terminal what each job did, in a line."""
        self.settings = settings
        self.backend = backend
        self.journal = journal
        self.notifier = notifier
        self.lock = lock
        self.clock = clock
        self.source = runner.source_name(settings)
        self._reconcile = reconcile or self._applied_run
        self._digest = digest or self._scheduled_digest
        self._alerted: dict[str, datetime] = {}  # failure message -> sent (journal fallback)
        self.say = say

    def _applied_run(self, now: datetime) -> object:
        """The polling and nightly run: it journals the run and alerts what it changed and
        found (and a failure, once)."""
        outcome = runner.apply(self.settings, self.backend, self.journal, self.notifier, now)
        result = outcome.result
        written, skipped = (len(result.written), len(result.skipped)) if result else (0, 0)
        self.say(
            f"{now:%H:%M} reconcile: {written} cells written, {skipped} not written, "
            f"{len(outcome.plan.findings)} findings (run {outcome.run_id})"
        )
        return outcome

    def _scheduled_digest(self, now: datetime) -> None:
        scheduled_digest(self.settings, self.backend, self.journal, self.notifier, now)
        self.say(
            f"{now:%H:%M} digest: {'sent' if self.notifier.channels else 'no channel to send to'}"
        )

    # the scheduler's jobs
    def poll(self) -> TickOutcome:
        return self.tick(POLL, self._reconcile)

    def nightly(self) -> TickOutcome:
        return self.tick(NIGHTLY, self._reconcile)

    def digest(self) -> TickOutcome:
        wait = float(self.settings.schedule.misfire_grace_seconds)
        return self.tick(DIGEST, self._digest, wait=wait)

    def settlement(self) -> TickOutcome:
        """At the cut-off; a poll firing at the same minute may hold the lock (and take the
        snapshot itself): wait for it like the digest does."""
        wait = float(self.settings.schedule.misfire_grace_seconds)
        return self.tick(SETTLEMENT, self._settlement, wait=wait)

    def _settlement(self, now: datetime) -> None:
        """The snapshot and the statement summary, then last month's report (when
        `schedule.report_monthly`): one tick, so the report never goes out before the
        snapshot."""
        settlement_job(
            self.settings, self.backend, self.journal, self.notifier, now, source=self.source
        )
        if self.settings.schedule.report_monthly:
            scheduled_report(self.settings, self.backend, self.journal, self.notifier, now, "month")

    def weekly_report(self) -> TickOutcome:
        return self._report(REPORT_WEEKLY, "week")

    def _report(self, job: str, kind: Literal["week", "month"]) -> TickOutcome:
        """A report waits for a run holding the lock, like the digest (at the settlement
        cut-off, the settlement's own run goes first)."""

        def run(now: datetime) -> object:
            s = self.settings
            scheduled_report(s, self.backend, self.journal, self.notifier, now, kind)
            return None

        return self.tick(job, run, wait=float(self.settings.schedule.misfire_grace_seconds))

    def tick(
        self, job: str, run: Callable[[datetime], object], *, wait: float = 0.0
    ) -> TickOutcome:
        """Run `run(now)` under the lock, `now` read from the clock as the tick fires."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(job=job)
        now = self.clock()
        try:
            with self.lock.hold(wait=wait) as held:
                if not held:
                    log.info(
                        "tick.skipped",
                        reason="locked",
                        lock=str(self.lock.path),
                        holder_pid=self.lock.holder(),
                    )
                    return "skipped"
                log.info("tick.started", now=now.isoformat())
                run(now)
        except Exception as error:  # noqa: BLE001 - a failing run must not stop the schedule
            self._failed(job, now, error)
            return "failed"
        finally:
            structlog.contextvars.clear_contextvars()
        self._alerted.clear()
        return "ok"

    def _failed(self, job: str, now: datetime, error: Exception) -> None:
        run_id = structlog.contextvars.get_contextvars().get("run_id")
        kind = type(error).__name__
        if isinstance(error, MovebotError):
            message = str(error)
            log.error("run.failed", error_type=kind, error=message)
        else:
            message = f"내부 오류 ({kind}) — 운영자는 로그를 확인해 주세요"
            log.error("run.failed", error_type=kind, where=_where(error))
        self._alert_failure(now, message, run_id if isinstance(run_id, str) else None)

    def _alert_failure(self, now: datetime, message: str, run_id: str | None) -> None:
        if not self.notifier.channels:
            return
        repeat_after: timedelta = self.settings.alerts.repeat_after
        try:
            send_failure_alert(
                self.journal,
                self.notifier,
                run_id=run_id,
                now=now,
                source=self.source,
                error=message,
                repeat_after=repeat_after,
            )
            return
        except Exception as error:  # noqa: BLE001 - the journal failing: remember in memory
            log.warning("alert.journal_unavailable", error_type=type(error).__name__)
        last = self._alerted.get(message)
        if last is not None and now - last < repeat_after:
            return
        try:
            alert = compose_failure_alert(run_id=run_id, now=now, source=self.source, error=message)
            results = self.notifier.send(alert.title, alert.body)
        except Exception as error:  # noqa: BLE001 - alerting must not stop the schedule
            log.warning("alert.failed", error_type=type(error).__name__)
            return
        if any(r.ok for r in results):
            self._alerted[message] = now


# --- stopping --------------------------------------------------------------------------------


class Stopper:
    """The SIGTERM / SIGINT handler: the first signal shuts the scheduler down after the run
    under way (`shutdown(wait=True)`); a second one only says it is still waiting.

    The shutdown runs on a thread of its own: the handler interrupts the scheduler's own loop,
    and shutting down from inside it (its locks are reentrant) would empty the job store under
    the loop's feet. `wait()` joins that thread."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self.scheduler = scheduler
        self.stopping = threading.Event()
        self.main_done = threading.Event()  # the worker's main loop has returned (or never ran)
        self._thread: threading.Thread | None = None

    def __call__(self, signum: int, frame: FrameType | None = None) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            log.warning("worker.stopping", signal=name, waiting="for the run under way")
            return
        self.stopping.set()
        log.info("worker.stopping", signal=name)
        self._thread = threading.Thread(target=self._shutdown, name="movebot-stop")
        self._thread.start()

    def _shutdown(self) -> None:
        # a signal may land just before the scheduler starts: keep asking until it has
        # started and stopped, or the main loop has given up starting it
        while True:
            try:
                self.scheduler.shutdown(wait=True)
                return
            except SchedulerNotRunningError:
                if self.main_done.wait(0.05):
                    return

    def wait(self, timeout: float | None = None) -> None:
        """Until the shutdown (and so the run under way) has finished."""
        if self._thread is not None:
            self._thread.join(timeout)


def stop_on_signals(
    scheduler: BaseScheduler,
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> tuple[Stopper, Callable[[], None]]:
    """Install a `Stopper` for `signals` (main thread only); returns it and a function that
    restores the previous handlers."""
    stopper = Stopper(scheduler)
    if threading.current_thread() is not threading.main_thread():
        return stopper, lambda: None
    previous = {s: signal.signal(s, stopper) for s in signals}

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    return stopper, restore


def _log_skipped_events(event: JobSubmissionEvent) -> None:
    reason = "missed" if event.code == EVENT_JOB_MISSED else "still_running"
    log.warning("tick.skipped", job=event.job_id, reason=reason)


def run_worker(
    app: App,
    *,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
    say: Callable[[str], object] = _silent,
) -> int:
    """`movebot run`: the worker in the foreground until SIGTERM or Ctrl-C. Returns 0. It
    reconciles once at start, then keeps the schedule; `say` tells a person at a terminal
    what it does.

    BadConfig (exit 2) for a schedule that does not read; JournalUnavailable (exit 2) when the
    journal cannot be opened."""
    settings = app.settings
    for check in (poll_trigger, nightly_trigger, digest_trigger):
        check(settings.schedule)  # a bad schedule fails before anything is opened
    worker = Worker(
        settings,
        backend=app.backend,
        journal=app.journal,
        notifier=app.notifier,
        lock=app.lock,
        clock=app.clock,
        say=say,
    )
    scheduler = build_scheduler(
        settings,
        reconcile_job=worker.poll,
        nightly_job=worker.nightly,
        digest_job=worker.digest,
        settlement_job=worker.settlement,
        report_jobs={REPORT_WEEKLY: worker.weekly_report},
        scheduler_cls=scheduler_cls,
    )
    scheduler.add_listener(_log_skipped_events, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    stopper, restore = stop_on_signals(scheduler)
    try:
        nexts = next_fire_times(scheduler, worker.clock())
        log.info(
            "worker.started",
            source=worker.source,
            journal=str(worker.journal.path),
            lock=str(worker.lock.path),
            channels=list(worker.notifier.channels),
            **{f"next_{job}": at.isoformat() if at else None for job, at in nexts.items()},
        )
        if not worker.notifier.channels:
            log.warning("worker.no_alert_channels", fix="set alerts.urls")
        say(
            f"movebot run: {worker.source} — reconciling now, then "
            f"{describe_schedule(settings, worker.clock())}. Ctrl-C stops."
        )
        try:
            if not stopper.stopping.is_set():
                worker.poll()  # once at start: nobody waits for the next slot
            if not stopper.stopping.is_set():
                scheduler.start()
        finally:
            stopper.main_done.set()
        stopper.wait()
    finally:
        restore()
    log.info("worker.stopped")
    return 0
