"""What the performance work (issue 15) must not change: the plan and its `--json` output.

The preview of the benchmark's 10k-lead desk (`generate.py`, seed 0, read from an .xlsx) is
pinned by the SHA-256 of its `--json` output as the row-by-row parser and `json.dumps` gave it
before the column-wise parsing and the streamed writer (run id left out: it is random; the
digest was taken again, from main's code, when main's rules changed that output). A rule
change that is meant to change the output changes this digest with it, saying why.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli import main
from bot.engine import plan
from bot.report import change_json, finding_json, skipped_json, write_outcome_json
from bot.runner import RunOutcome
from rules.model import Skipped, WriteResult
from rules.settings import RuleSettings
from rules.settlement import Month

from desk import at, desk, lead

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import generate  # noqa: E402

NOW = "2024-12-04T18:00:00+09:00"
# Taken again for issue 12 (settlement as an event): the run's --json gained
# settlement_snapshot_due / _taken, and re-registration is decided at the run's `now`, so on
# 12.4 the desk's 37 November re-registrations are new DBs (rereg.reuse 148 -> 0 changes,
# rereg.new 86 -> 160), with the 봇 확인 and findings that follow from the rows staying open.
# Then again when rereg.new came to list 진행상황 before 비고 (checked: the same changes and
# findings as before, reordered).
PREVIEW_10K_SHA256 = "4227062143ed6ba2cf0a1a1ca6250b28f81a6aaa6002478dbf5489f59d826190"


def _without_run_id(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if '"run_id"' not in line)


def test_the_preview_of_the_10k_benchmark_desk_is_what_it_was(tmp_path, capsys):
    path = tmp_path / "desk.xlsx"
    generate.generate(10_000, seed=0).write_xlsx(path)

    assert main(["reconcile", "--workbook", str(path), "--now", NOW, "--json"]) == 0

    out = _without_run_id(capsys.readouterr().out)
    assert len(json.loads(out)["changes"]) > 1000
    assert hashlib.sha256(out.encode("utf-8")).hexdigest() == PREVIEW_10K_SHA256


def _dumped(outcome: RunOutcome) -> str:
    """The straightforward way: the whole object built, then json.dumps."""
    p = outcome.plan
    skipped = outcome.result.skipped if outcome.result else ()
    summary: dict[str, Any] = dict(p.summary)
    summary["written"] = len(outcome.result.written) if outcome.result else 0
    summary["skipped"] = len(skipped)
    body = {
        "run_id": outcome.run_id,
        "now": p.now.isoformat(),
        "applied": outcome.applied,
        "changes": [change_json(p, c) for c in p.changes],
        "findings": [finding_json(p, f) for f in p.findings],
        "skipped": [skipped_json(p, s) for s in skipped],
        "summary": summary,
        "settlement_snapshot_due": str(outcome.snapshot_due) if outcome.snapshot_due else None,
        "settlement_snapshot_taken": (
            str(outcome.snapshot_taken) if outcome.snapshot_taken else None
        ),
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def _streamed(outcome: RunOutcome) -> str:
    out = io.StringIO()
    write_outcome_json(outcome, out)
    return out.getvalue()


def test_the_streamed_json_is_what_json_dumps_writes():
    snapshot = desk(
        [
            lead(intake_at=at("2024-11-01 10:00"), status="장기요청", phone="010-1111-2222",
                 move_date="2024-12-20", remarks='따옴표 " 와 역슬래시 \\ 그리고\n줄바꿈'),
            lead(intake_at=at("2024-11-02 10:00"), status="상담요청", phone="010-1111-2222"),
            lead(intake_at=at("2024-11-03 10:00"), status="이상한상태", phone="없음"),
        ]
    )  # fmt: skip
    p = plan(snapshot, at("2024-12-04 18:00"), RuleSettings())
    writes = p.cell_writes()
    assert p.changes and p.findings and len(writes) > 2
    applied = RunOutcome(
        "r1",
        p,
        applied=True,
        result=WriteResult(
            written=writes[:1], skipped=tuple(Skipped(w, "셀이 바뀜") for w in writes[1:])
        ),
    )
    nothing = RunOutcome("r2", plan(desk([]), at("2024-12-04 18:00"), RuleSettings()), False)

    due = RunOutcome("r0", p, applied=False, snapshot_due=Month(2024, 11))
    for outcome in (due, applied, nothing):
        assert _streamed(outcome) == _dumped(outcome)
