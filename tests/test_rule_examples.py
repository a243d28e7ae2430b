"""Each rule's example, run: one fixture per rule, tests/rule_examples/<id>.yaml (the way
sqlfluff keeps its rule fixtures).

A fixture gives the run's `now`, the rows before (`leads`, `ob`: cells by field name of
RULES.md §1 over the defaults of tests/desk.py, all read as text the way staff type it;
`vendors`: the rows of 장기고객 업체 리스트, name / regular_areas / outside_areas) and
the cells the backend found the bot may not write (`blocked`), and what that rule alone plans after: `changes` (sheet, default `leads`; row; field; the cell's
new value) and `findings` (sheet; row; message), each in the order the run makes them. The
run names only that rule (`--rule ID`), so the other rules' output does not show.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.engine import plan
from rules import RULE_IDS, RULES
from rules.model import Snapshot
from rules.registry import declared
from rules.settings import RuleSettings

from desk import at, desk, lead, ob

FIXTURES = Path(__file__).parent / "rule_examples"


def _expected(entries: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"sheet": "leads", **entry} for entry in entries or ()]


def _with_blocked(snap: Snapshot, cells: list[dict[str, str]]) -> Snapshot:
    """The snapshot with the backend's facts of cells the bot may not write (`blocked`:
    sheet, default `leads`; row; field; why: merged, formula, protected)."""
    for cell in cells:
        tab = snap.tab(cell.get("sheet", "leads"))  # type: ignore[arg-type]
        blocked = {**tab.blocked, (int(cell["row"]), tab.columns[cell["field"]]): cell["why"]}
        tab = replace(tab, blocked=blocked)
        snap = replace(snap, **{"leads_tab" if tab.key == "leads" else "ob_tab": tab})  # type: ignore[arg-type]
    return snap


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_example(rule_id):
    path = FIXTURES / f"{rule_id}.yaml"
    assert path.exists(), f"rule {rule_id} has no example: write tests/rule_examples/{path.name}"
    case = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # all text
    vendors = case.get("vendors")  # the optional 장기고객 업체 리스트
    snap = desk(
        [lead(**r) for r in case.get("leads", ())],
        [ob(**r) for r in case.get("ob", ())],
        vendors,  # rows by field name, as desk() takes them
    )
    snap = _with_blocked(snap, case.get("blocked", ()))
    p = plan(snap, at(case["now"]), RuleSettings(only_rules=frozenset({rule_id})))
    assert {c.rule for c in p.changes} <= {rule_id}
    assert {f.rule for f in p.findings} <= {rule_id}
    changes = [
        {"sheet": c.sheet, "row": str(c.row), "field": c.field, "new": c.new} for c in p.changes
    ]
    findings = [{"sheet": f.sheet, "row": str(f.row), "message": f.message} for f in p.findings]
    assert changes == _expected(case.get("changes"))
    assert findings == _expected(case.get("findings"))
    assert changes or findings, "an example shows what the rule does"


def test_every_fixture_is_a_registered_rules_example():
    assert sorted(p.stem for p in FIXTURES.glob("*.yaml")) == sorted(RULE_IDS)


def test_every_rule_declared_with_its_decorator_is_in_the_registry():
    assert sorted(r.id for r in declared()) == sorted(RULE_IDS)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_documents_what_why_and_an_example(rule_id):
    paragraphs = RULES[rule_id].doc.split("\n\n")
    assert paragraphs[0].startswith(f"{rule_id} — ")
    assert any(p.startswith("Why: ") and "seed §" in p for p in paragraphs)
    assert any(p.startswith("Example") for p in paragraphs)
