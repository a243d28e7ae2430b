"""The journal: one SQLite file recording every applied run, so any run can be listed and undone.

Tables: `runs` (one per applied run, empty ones too, and per undo), `changes` (every cell
written, with its value before and after), `skipped` (writes that did not land, and why),
`findings`, `alerts` (which finding keys went to which channel, and whether it worked), and
`settlements` with `settlement_rows` (each month's rows as read at its settlement cut-off;
a replaced snapshot stays beside its replacement).

The journal is written ahead: `pending` holds the cells a write is about to send, recorded
before the request goes out and cleared when it answers (`record_writes`). Cells still pending
belong to a run that was killed or cut off: the next run (or undo) reads them and moves those
that landed into `changes` (`settle_pending`), and `start_run` closes a run of the same source
still marked `running` as `interrupted` (a writing run holds the sheet's lock, so none is
live). `suspects` holds written cells the read-back found on a row that moved inside the
write's window (staff are told to check them).

A preview writes nothing anywhere, the journal included: only `--apply` paths construct a
`Journal`, and constructing one is the only thing that creates or opens the file.

Times are stored as UTC ISO 8601 text (so they compare as text) and handed back as aware
datetimes in Asia/Seoul.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.errors import UserError
from bot.sheets import column_letter
from rules.figures import BotActivity
from rules.model import CellWrite, Finding, SheetKey, WriteResult
from rules.settlement import Month, SettledRow
from rules.values import KST

SCHEMA_VERSION = 2  # 2: settlements, settlement_rows

RunKind = Literal["reconcile", "undo"]
# "running" until finish_run; then "ok", "failed" (an error stopped it) or "interrupted"
# (stopped by a signal before it finished).
Outcome = Literal["running", "ok", "failed", "interrupted"]


class JournalUnavailable(UserError):
    """The journal file cannot be opened, created or written, or is not a movebot journal."""


class UnknownRun(UserError):
    """No run with that id in the journal."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL CHECK (kind IN ('reconcile', 'undo')),
    undo_of   TEXT REFERENCES runs(id),
    started   TEXT NOT NULL,
    recorded  TEXT,
    finished  TEXT,
    source    TEXT NOT NULL,
    applied   INTEGER NOT NULL DEFAULT 1,
    outcome   TEXT NOT NULL DEFAULT 'running',
    counts    TEXT NOT NULL DEFAULT '{}',
    error     TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs(id),
    sheet        TEXT NOT NULL,
    row          INTEGER NOT NULL,
    fingerprint  TEXT NOT NULL,
    field        TEXT NOT NULL,
    column       TEXT NOT NULL,
    column_index INTEGER NOT NULL,
    old          TEXT NOT NULL,
    new          TEXT NOT NULL,
    rules        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_run ON changes(run_id);
CREATE TABLE IF NOT EXISTS skipped (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs(id),
    sheet        TEXT NOT NULL,
    row          INTEGER NOT NULL,
    fingerprint  TEXT NOT NULL,
    field        TEXT NOT NULL,
    column       TEXT NOT NULL,
    old          TEXT NOT NULL,
    new          TEXT NOT NULL,
    rules        TEXT NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS skipped_run ON skipped(run_id);
CREATE TABLE IF NOT EXISTS findings (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs(id),
    sheet        TEXT NOT NULL,
    row          INTEGER NOT NULL,
    fingerprint  TEXT NOT NULL,
    rule         TEXT NOT NULL,
    message      TEXT NOT NULL,
    severity     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_run ON findings(run_id);
CREATE TABLE IF NOT EXISTS alerts (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT REFERENCES runs(id),
    key      TEXT NOT NULL,
    channel  TEXT NOT NULL,
    sent_at  TEXT NOT NULL,
    ok       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_key ON alerts(key, sent_at);
CREATE TABLE IF NOT EXISTS settlements (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    month     TEXT NOT NULL,
    cutoff    TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    late      INTEGER NOT NULL,
    run_id    TEXT NOT NULL,
    source    TEXT NOT NULL,
    replaces  INTEGER REFERENCES settlements(seq)
);
CREATE INDEX IF NOT EXISTS settlements_month ON settlements(month, seq);
CREATE TABLE IF NOT EXISTS settlement_rows (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    settlement   INTEGER NOT NULL REFERENCES settlements(seq),
    row          INTEGER NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       TEXT NOT NULL,
    vendor       TEXT NOT NULL,
    move_type    TEXT NOT NULL,
    intake_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS settlement_rows_of ON settlement_rows(settlement);
"""

# Added to journals of every version (additive: older movebots never read it): the columns of
# `changes`, for cells sent whose answer is not known yet.
_CHANGES_SCHEMA = re.search(r"CREATE TABLE IF NOT EXISTS changes \(.*?\n\)", _SCHEMA, re.DOTALL)
_PENDING_SCHEMA = _CHANGES_SCHEMA.group(0).replace(" changes ", " pending ", 1)  # type: ignore[union-attr]
# ... and `suspects`: cells written on a row the read-back found moved (staff check them)
_SUSPECTS_SCHEMA = _CHANGES_SCHEMA.group(0).replace(" changes ", " suspects ", 1)  # type: ignore[union-attr]
_CHANGE_COLUMNS = "run_id, sheet, row, fingerprint, field, column, column_index, old, new, rules"

_CHUNK = 500  # SQLite host parameters per IN (...) list


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the journal holds it. Times are aware, in Asia/Seoul."""

    id: str
    kind: RunKind
    started: datetime  # the run's clock (`--now`)
    finished: datetime | None
    source: str
    applied: bool
    outcome: str
    counts: dict[str, Any]
    undo_of: str | None = None
    error: str | None = None
    written: int = 0  # cells written
    recorded: datetime | None = None  # when the run really started (None in older journals)
    skipped: int = 0  # writes that did not land
    findings: int = 0


@dataclass(frozen=True, slots=True)
class JournaledWrite:
    """One cell a run wrote: what `undo` needs to put it back."""

    run_id: str
    sheet: SheetKey
    row: int  # the sheet row it landed on
    fingerprint: str
    field: str
    column: int  # 0-based
    column_letter: str
    old: str  # the value before the run
    new: str  # the value the run left
    rules: tuple[str, ...]

    def forward(self) -> CellWrite:
        """The write as the run sent it."""
        return CellWrite(
            sheet=self.sheet,
            row=self.row,
            column=self.column,
            field=self.field,
            old=self.old,
            new=self.new,
            fingerprint=self.fingerprint,
            rules=self.rules,
        )

    def reverse(self, rule: str = "undo") -> CellWrite:
        """The write that restores the cell: planned from `new`, back to `old`."""
        return replace(self.forward(), old=self.new, new=self.old, rules=(rule,))


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One snapshot of a month's rows at its settlement. Times are aware, in Asia/Seoul."""

    seq: int
    month: Month
    cutoff: datetime
    taken_at: datetime  # when the rows were read (the run's clock)
    late: bool  # read more than settlement.late_after after the cut-off
    run_id: str  # the run that took it (a reconcile's id, or `settlement take`'s own)
    source: str  # the spreadsheet id or workbook path
    rows: tuple[SettledRow, ...]
    replaces: int | None = None  # the snapshot this one replaced (`take --replace`)


def settlement_recorded(path: Path, month: Month) -> bool:
    """Whether the journal at `path` holds a snapshot of `month`, read without creating,
    upgrading or writing the file (a preview writes nothing anywhere)."""
    if not path.exists():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT 1 FROM settlements WHERE month = ?", (str(month),))
            return row.fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return False  # no settlements table yet, or unreadable: an applied run would take one


def _stamp(when: datetime) -> str:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"journal times must be timezone-aware, got {when.isoformat()}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _read_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(KST) if text else None


def new_run_id(started: datetime) -> str:
    """`r20241203-101500-3f2a`: the start time in KST and four random hex digits."""
    local = started.astimezone(KST) if started.tzinfo else started
    return f"r{local:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class Journal:
    """The journal at `path` (created, with its parent directory, on first use).

    One connection, guarded by a lock, so the scheduler's worker thread may use a journal the
    main thread opened. Use as a context manager or call `close()`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # readable by its owner only (it holds what cells held); SQLite gives its -wal
            # and -shm files the same mode
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise JournalUnavailable(
                f"Journal {self.path} cannot be opened: {e}. Check journal.path (or --journal) "
                "and that the directory is writable."
            ) from None
        self._lock = threading.RLock()
        try:
            self._setup()
        except sqlite3.OperationalError as e:
            self._db.close()
            raise JournalUnavailable(
                f"Journal {self.path} cannot be opened: {e}. Check journal.path (or --journal) "
                "and that the file and its directory are writable."
            ) from None
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise JournalUnavailable(
                f"Journal {self.path} is not a movebot journal ({e}). Point journal.path "
                "(or --journal) at a new file."
            ) from None

    def _setup(self) -> None:
        db = self._db
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        with self._lock:
            db.execute("BEGIN IMMEDIATE")  # two processes creating the file: one at a time
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(
                        f"schema version {version}, newer than this movebot's {SCHEMA_VERSION}"
                    )
                if version < SCHEMA_VERSION:
                    tables = db.execute(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite_%'"
                    ).fetchone()[0]
                    if tables and version == 0:
                        raise sqlite3.DatabaseError("it holds tables of something else")
                    # every statement is IF NOT EXISTS: an older journal gains the new tables
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
                if "recorded" not in columns:  # a journal from before runs kept their clock
                    db.execute("ALTER TABLE runs ADD COLUMN recorded TEXT")
                db.execute(_PENDING_SCHEMA)
                db.execute(_SUSPECTS_SCHEMA)
                db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as e:
                self._rollback()
                raise JournalUnavailable(f"Journal {self.path} cannot be written: {e}.") from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require(self, run_id: str) -> None:
        if not self._query("SELECT 1 FROM runs WHERE id = ?", (run_id,)):
            raise self._unknown(run_id)

    def _unknown(self, run_id: str) -> UnknownRun:
        recent = [r["id"] for r in self._query("SELECT id FROM runs ORDER BY seq DESC LIMIT 5")]
        hint = f" Recent runs: {', '.join(recent)}." if recent else " The journal has no runs."
        return UnknownRun(
            f"No run {run_id!r} in the journal {self.path}.{hint} `movebot history` lists them."
        )

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self,
        kind: RunKind,
        source: str,
        started: datetime,
        undo_of: str | None = None,
        applied: bool = True,
    ) -> str:
        """Record a run as started (outcome `running`) and return its new id."""
        if kind not in ("reconcile", "undo"):
            raise ValueError(f"run kind must be 'reconcile' or 'undo', not {kind!r}")
        if (kind == "undo") != (undo_of is not None):
            raise ValueError("an undo run names the run it undoes (undo_of), and only an undo")
        if undo_of is not None:
            self._require(undo_of)
        stamp = _stamp(started)
        recorded = _stamp(datetime.now(KST))  # the real clock, whatever `started` says
        for _ in range(20):
            run_id = new_run_id(started)
            try:
                with self._tx() as db:
                    db.execute(
                        "UPDATE runs SET outcome = 'interrupted', finished = ?, error = ? "
                        "WHERE outcome = 'running' AND source = ?",
                        (recorded, f"found unfinished by run {run_id}", source),
                    )
                    db.execute(
                        "INSERT INTO runs (id, kind, undo_of, started, recorded, source, applied) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (run_id, kind, undo_of, stamp, recorded, source, int(applied)),
                    )
                return run_id
            except sqlite3.IntegrityError:
                continue  # the same second and the same four hex digits: draw again
        raise JournalUnavailable(f"Journal {self.path}: could not allocate a run id.")

    def record_pending(self, run_id: str, writes: Iterable[CellWrite]) -> None:
        """The cells a request is about to send: pending until `record_writes` settles them."""
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO pending ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_change_row(run_id, w) for w in writes],
            )

    def record_writes(self, run_id: str, result: WriteResult, answered: bool = True) -> None:
        """Every cell the write landed (old and new value) and every write it skipped. The
        run's pending cells are settled with it: all of them when the write answered, only
        the landed ones when it failed (the rest stay pending for the next run to read)."""
        self._require(run_id)
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO changes ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_change_row(run_id, w) for w in result.written],
            )
            db.executemany(
                f"INSERT INTO suspects ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_change_row(run_id, w) for w in result.suspect],
            )
            if answered:
                db.execute("DELETE FROM pending WHERE run_id = ?", (run_id,))
            else:
                db.executemany(
                    "DELETE FROM pending WHERE run_id = ? AND sheet = ? AND row = ? "
                    "AND column_index = ?",
                    [(run_id, w.sheet, w.row, w.column) for w in result.written],
                )
            db.executemany(
                "INSERT INTO skipped (run_id, sheet, row, fingerprint, field, column, old, new, "
                "rules, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        s.write.sheet,
                        s.write.row,
                        s.write.fingerprint,
                        s.write.field,
                        column_letter(s.write.column + 1),
                        _storable(s.write.old),
                        _storable(s.write.new),
                        json.dumps(list(s.write.rules)),
                        s.reason,
                    )
                    for s in result.skipped
                ],
            )

    def record_findings(self, run_id: str, findings: Iterable[Finding]) -> None:
        self._require(run_id)
        with self._tx() as db:
            db.executemany(
                "INSERT INTO findings (run_id, sheet, row, fingerprint, rule, message, severity) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        f.sheet,
                        f.row,
                        _storable(f.fingerprint),
                        f.rule,
                        _storable(f.message),
                        str(f.severity),
                    )
                    for f in findings
                ],
            )

    def finish_run(
        self,
        run_id: str,
        finished: datetime,
        outcome: Outcome,
        counts: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Close a run: its outcome, its counts (any JSON-able mapping) and, when it failed,
        a one-line error (already scrubbed of phones by the caller's logs)."""
        if outcome == "running":
            raise ValueError("finish_run needs a final outcome, not 'running'")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET finished = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (
                    _stamp(finished),
                    outcome,
                    json.dumps(dict(counts or {}), ensure_ascii=False, default=str),
                    error,
                    run_id,
                ),
            )
            if cur.rowcount == 0:
                raise self._unknown(run_id)

    _RUN_SELECT = (
        "SELECT r.*, "
        "(SELECT count(*) FROM changes c WHERE c.run_id = r.id) AS n_written, "
        "(SELECT count(*) FROM skipped s WHERE s.run_id = r.id) AS n_skipped, "
        "(SELECT count(*) FROM findings f WHERE f.run_id = r.id) AS n_findings "
        "FROM runs r"
    )

    @staticmethod
    def _run_record(row: sqlite3.Row) -> RunRecord:
        started = _read_time(row["started"])
        assert started is not None
        return RunRecord(
            id=row["id"],
            kind=row["kind"],
            started=started,
            finished=_read_time(row["finished"]),
            source=row["source"],
            applied=bool(row["applied"]),
            outcome=row["outcome"],
            counts=json.loads(row["counts"] or "{}"),
            undo_of=row["undo_of"],
            error=row["error"],
            written=row["n_written"],
            recorded=_read_time(row["recorded"]),
            skipped=row["n_skipped"],
            findings=row["n_findings"],
        )

    def runs(self, limit: int | None = 20) -> list[RunRecord]:
        """The latest runs, newest first (in the order they were started)."""
        sql = self._RUN_SELECT + " ORDER BY r.seq DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(limit, 0),)
        return [self._run_record(r) for r in self._query(sql, params)]

    def run(self, run_id: str) -> RunRecord | None:
        """The run with that id, or None. `require_run` raises `UnknownRun` instead."""
        rows = self._query(self._RUN_SELECT + " WHERE r.id = ?", (run_id,))
        return self._run_record(rows[0]) if rows else None

    def require_run(self, run_id: str) -> RunRecord:
        """The run with that id; an unknown id is an `UnknownRun` naming the recent ids."""
        record = self.run(run_id)
        if record is None:
            raise self._unknown(run_id)
        return record

    def writes_of(self, run_id: str) -> list[JournaledWrite]:
        """The cells a run wrote, in the order it wrote them. Unknown id: `UnknownRun`."""
        self._require(run_id)
        rows = self._query("SELECT * FROM changes WHERE run_id = ? ORDER BY seq", (run_id,))
        return [_journaled(r) for r in rows]

    def pending(self, source: str) -> list[JournaledWrite]:
        """The cells runs on `source` sent without learning whether they landed."""
        rows = self._query(
            "SELECT p.* FROM pending p JOIN runs r ON r.id = p.run_id WHERE r.source = ? "
            "ORDER BY p.seq",
            (source,),
        )
        return [_journaled(r) for r in rows]

    def settle_pending(self, landed: Iterable[JournaledWrite], source: str) -> None:
        """Pending cells of `source` settled: `landed` (found holding the value sent, on the
        row given) join their run's changes; the others are dropped (they never landed)."""
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO changes ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_change_row(w.run_id, w.forward()) for w in landed],
            )
            db.execute(
                "DELETE FROM pending WHERE run_id IN (SELECT id FROM runs WHERE source = ?)",
                (source,),
            )

    def undone_by(self, run_id: str) -> list[str]:
        """The undo runs that undid `run_id` and finished ok, oldest first."""
        rows = self._query(
            "SELECT id FROM runs WHERE undo_of = ? AND outcome = 'ok' ORDER BY seq", (run_id,)
        )
        return [r["id"] for r in rows]

    def activity(self, start: datetime, end: datetime) -> BotActivity:
        """What the bot did in [start, end) (the runs whose `now` falls there), for the report
        (docs/REPORTS.md `bot`): reconcile runs that finished ok, the cells reconcile runs wrote
        and the writes they skipped, undo runs that finished ok, and cells written per rule."""
        window = (_stamp(start), _stamp(end))
        in_window = "r.started >= ? AND r.started < ?"
        runs = self._query(
            f"SELECT r.kind, count(*) AS n FROM runs r WHERE {in_window} AND r.outcome = 'ok' "
            "GROUP BY r.kind",
            window,
        )
        per_kind = {r["kind"]: r["n"] for r in runs}
        written = self._query(
            f"SELECT c.rules FROM changes c JOIN runs r ON r.id = c.run_id "
            f"WHERE {in_window} AND r.kind = 'reconcile'",
            window,
        )
        skipped = self._query(
            f"SELECT count(*) AS n FROM skipped s JOIN runs r ON r.id = s.run_id "
            f"WHERE {in_window} AND r.kind = 'reconcile'",
            window,
        )
        by_rule: Counter[str] = Counter()
        for row in written:
            by_rule.update(json.loads(row["rules"]))
        return BotActivity(
            runs=per_kind.get("reconcile", 0),
            cells_written=len(written),
            skipped=skipped[0]["n"],
            undone=per_kind.get("undo", 0),
            by_rule=dict(sorted(by_rule.items())),
        )

    # -- alerts ---------------------------------------------------------------------------

    def recently_alerted(
        self, keys: Iterable[str], since: datetime, channel: str | None = None
    ) -> set[str]:
        """Of `keys`, those delivered (ok) after `since` — to `channel`, or to any channel.

        A key sent exactly `repeat_after` before `now` (`since = now - repeat_after`) is due again."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        stamp = _stamp(since)
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT DISTINCT key FROM alerts WHERE ok = 1 AND sent_at > ? AND key IN ({marks})"
            )
            params: list[Any] = [stamp, *chunk]
            if channel is not None:
                sql += " AND channel = ?"
                params.append(channel)
            found.update(r["key"] for r in self._query(sql, params))
        return found

    def record_alerts(
        self,
        run_id: str | None,
        keys: Iterable[str],
        channel: str,
        sent_at: datetime,
        ok: bool,
    ) -> None:
        """That `keys` were sent to `channel` at `sent_at`, and whether it worked. Only ok
        rows count for `recently_alerted`, so a failed channel is retried next run."""
        if run_id is not None:
            self._require(run_id)
        stamp = _stamp(sent_at)
        with self._tx() as db:
            db.executemany(
                "INSERT INTO alerts (run_id, key, channel, sent_at, ok) VALUES (?, ?, ?, ?, ?)",
                [(run_id, key, channel, stamp, int(ok)) for key in dict.fromkeys(keys)],
            )

    # -- settlements ----------------------------------------------------------------------

    def record_settlement(
        self,
        month: Month,
        rows: Sequence[SettledRow],
        *,
        cutoff: datetime,
        taken_at: datetime,
        late: bool,
        run_id: str,
        source: str,
        replace: bool = False,
    ) -> SettlementRecord | None:
        """Record the snapshot of `month`, unless one is already recorded (then None: another
        run took it first). With `replace` the new one is recorded beside the old one and
        becomes the month's snapshot."""
        with self._tx() as db:
            current = db.execute(
                "SELECT max(seq) FROM settlements WHERE month = ?", (str(month),)
            ).fetchone()[0]
            if current is not None and not replace:
                return None
            seq = db.execute(
                "INSERT INTO settlements (month, cutoff, taken_at, late, run_id, source, "
                "replaces) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (str(month), _stamp(cutoff), _stamp(taken_at), int(late), run_id, source, current),
            ).lastrowid
            db.executemany(
                "INSERT INTO settlement_rows (settlement, row, fingerprint, status, vendor, "
                "move_type, intake_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        seq,
                        r.row,
                        r.fingerprint,
                        r.status,
                        r.vendor,
                        r.move_type,
                        r.intake_at.isoformat(),
                    )
                    for r in rows
                ],  # fmt: skip
            )
        assert seq is not None
        record = self._settlement(seq)
        assert record is not None
        return record

    def settlement(self, month: Month) -> SettlementRecord | None:
        """The month's snapshot (the latest, when it was replaced), or None."""
        rows = self._query("SELECT max(seq) AS seq FROM settlements WHERE month = ?", (str(month),))
        return self._settlement(rows[0]["seq"]) if rows[0]["seq"] is not None else None

    def settlement_history(self, month: Month) -> list[SettlementRecord]:
        """Every snapshot of the month, oldest first (a replaced one and its replacement)."""
        rows = self._query(
            "SELECT seq FROM settlements WHERE month = ? ORDER BY seq", (str(month),)
        )
        return [r for r in (self._settlement(row["seq"]) for row in rows) if r is not None]

    def _settlement(self, seq: int) -> SettlementRecord | None:
        head = self._query("SELECT * FROM settlements WHERE seq = ?", (seq,))
        if not head:
            return None
        h = head[0]
        rows = self._query(
            "SELECT * FROM settlement_rows WHERE settlement = ? ORDER BY seq", (seq,)
        )
        cutoff, taken_at = _read_time(h["cutoff"]), _read_time(h["taken_at"])
        assert cutoff is not None and taken_at is not None
        return SettlementRecord(
            seq=seq,
            month=Month.parse(h["month"]),
            cutoff=cutoff,
            taken_at=taken_at,
            late=bool(h["late"]),
            run_id=h["run_id"],
            source=h["source"],
            replaces=h["replaces"],
            rows=tuple(
                SettledRow(
                    r["row"],
                    r["fingerprint"],
                    r["status"],
                    r["vendor"],
                    r["move_type"],
                    datetime.fromisoformat(r["intake_at"]),
                )
                for r in rows
            ),
        )


def _storable(text: str) -> str:
    """Text SQLite can store (UTF-8): a lone surrogate (half an emoji in a cell) becomes `?`."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _change_row(run_id: str, w: CellWrite) -> tuple[Any, ...]:
    """A cell write as a row of `changes` (or `pending`), in `_CHANGE_COLUMNS` order."""
    return (
        run_id,
        w.sheet,
        w.row,
        _storable(w.fingerprint),
        w.field,
        column_letter(w.column + 1),
        w.column,
        _storable(w.old),
        _storable(w.new),
        json.dumps(list(w.rules)),
    )


def _journaled(r: sqlite3.Row) -> JournaledWrite:
    return JournaledWrite(
        run_id=r["run_id"],
        sheet=r["sheet"],
        row=r["row"],
        fingerprint=r["fingerprint"],
        field=r["field"],
        column=r["column_index"],
        column_letter=r["column"],
        old=r["old"],
        new=r["new"],
        rules=tuple(json.loads(r["rules"])),
    )
