"""The README's rule table is the registry's, not written twice."""

from __future__ import annotations

from pathlib import Path

from bot.cli import rules_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_rule_table_is_generated_from_the_registry():
    assert rules_table(markdown=True) in (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:15]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_the_settlement_page_documents_both_commands_and_every_setting():
    from bot.config import SettlementConfig

    text = (ROOT / "docs" / "SETTLEMENT.md").read_text(encoding="utf-8")
    assert "movebot settlement [YYYY-MM]" in text and "movebot settlement take" in text
    assert all(f"  {key}:" in text for key in SettlementConfig.model_fields)
