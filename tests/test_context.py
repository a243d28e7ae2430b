"""The look-ups a run's steps share (`Context.after`): carried from one change rule to the next,
they must answer exactly as if they were built afresh for the sheet the step left."""

from __future__ import annotations

import random
from datetime import datetime

from rules.context import Context
from rules.model import Lead, ObCall, Phone
from rules.parse import with_cell
from rules.settings import RuleSettings

NOW = datetime(2024, 12, 4, 18, 0)


def _number(n: int) -> str:
    return f"010-2000-{n:04d}"


def _phone(n: int) -> Phone:
    return Phone(_number(n), f"+82102000{n:04d}", _number(n))


def _desk(rng: random.Random) -> tuple[Lead, ...]:
    leads = []
    for i in range(rng.randint(2, 12)):
        alts = tuple(_phone(rng.randint(0, 8)) for _ in range(rng.choice((0, 0, 1, 2))))
        leads.append(
            Lead(
                row=i + 2,
                fingerprint=str(i),
                intake_at=datetime(2024, 12, 1, rng.randint(0, 23)),
                intake_has_time=rng.random() < 0.8,
                phone=_phone(rng.randint(0, 8)) if rng.random() < 0.9 else None,
                alt_phones=alts,
                alt_phones_text=", ".join(a.text for a in alts),
            )
        )
    return tuple(leads)


def _answers(ctx: Context, rng: random.Random) -> tuple[object, ...]:
    calls = [
        ObCall(
            row=2,
            fingerprint="",
            ob_at=datetime(2024, 12, 1, rng.randint(0, 23)),
            ob_has_time=rng.random() < 0.5,
            phone=_phone(n),
        )
        for n in range(11)
    ]
    return (
        ctx.customers,
        ctx.repeat_customers,
        [ctx.customer_id(i) for i in range(len(ctx.leads))],
        [ctx.lead_of(ob) for ob in calls],
    )


def test_customer_lookups_carried_to_the_next_step_answer_as_built_afresh():
    rng = random.Random(6)
    for _ in range(400):
        leads = _desk(rng)
        ctx = Context(leads, (), NOW, RuleSettings())
        assert ctx.repeat_customers is not None  # built here, then carried
        rewritten, changed = list(leads), []
        for _ in range(rng.randint(1, 3)):  # the bot appends numbers to 예비번호, or a status
            i = rng.randrange(len(leads))
            if rng.random() < 0.3:
                rewritten[i] = with_cell(rewritten[i], "status", "종결(중복)")
            else:
                text, number = rewritten[i].alt_phones_text, _number(rng.randint(0, 10))
                rewritten[i] = with_cell(
                    rewritten[i], "alt_phones", f"{text}, {number}" if text else number
                )
            changed.append(i)
        after = tuple(rewritten)

        carried = ctx.after(after, changed)
        fresh = Context(after, (), NOW, RuleSettings())

        seed = rng.random()
        assert _answers(carried, random.Random(seed)) == _answers(fresh, random.Random(seed))
