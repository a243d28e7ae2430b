"""The rule tables, the example config's rule modes and `movebot rules ID` are the registry's,
not written twice."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from bot.cli import build_parser, main, rules_table
from rules import RULE_IDS, RULES

ROOT = Path(__file__).resolve().parent.parent
TABLE_HEAD = "| id | default | what |"


def _block(text: str, first: str) -> list[str]:
    """The lines from the one starting with `first` to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("doc", ["README.md", "docs/RULES.md"])
def test_the_rule_table_is_the_one_generated_from_the_registry(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert text.count(TABLE_HEAD) == 1
    assert _block(text, TABLE_HEAD) == rules_table(markdown=True).splitlines()


def test_the_example_config_lists_every_rule_with_its_default_mode():
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    listed = _block(text, "rules: {}")[1:]
    assert listed == [f"#   {r.id}: {r.default_mode}" for r in RULES.values()]


def test_movebot_rules_id_prints_the_rules_documentation_mode_and_settings(capsys):
    assert main(["rules", "rereg.reuse"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# rereg.reuse · 재접수 처리 (정산 전, 기존 DB 활용)\n")
    assert "Default mode: apply (change rule). Severity: action." in out
    # what it does, why, and its example: every word, in order (wrapped to the terminal)
    assert " ".join(RULES["rereg.reuse"].doc.split()) in " ".join(out.split())
    assert out.endswith(
        "Settings it reads (default):\n  settlement.day: 3\n  settlement.time: 10:00\n"
    )


def test_movebot_rules_id_shows_a_mapping_setting_one_entry_a_line(capsys):
    assert main(["rules", "ob.status_hint"]) == 0
    out = capsys.readouterr().out
    assert "  ob.status_hints:\n    일정 불가: 종결(일정)\n    지역: 종결(지역)\n" in out
    assert "Default mode: suggest (finding rule). Severity: info." in out


def test_movebot_rules_with_an_unknown_id_exits_2_naming_the_rules(capsys):
    assert main(["rules", "dup.sam"]) == 2
    err = capsys.readouterr().err
    assert err == f"movebot: dup.sam: no such rule. Rules: {', '.join(RULE_IDS)}.\n"
    assert "dup.same" in err and "bot.note" in err


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:15]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_the_settlement_page_documents_both_commands_and_every_setting():
    from bot.config import SettlementConfig

    text = (ROOT / "docs" / "SETTLEMENT.md").read_text(encoding="utf-8")
    assert "movebot settlement [YYYY-MM]" in text and "movebot settlement take" in text
    assert all(f"  {key}:" in text for key in SettlementConfig.model_fields)


def test_every_workbook_a_readme_example_names_is_the_one_make_demo_writes():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"--workbook ([\w./-]+\.xlsx)", text))
    assert named == {"examples/desk.xlsx"}
    assert build_parser().parse_args(["demo"]).path == "examples/desk.xlsx"  # what make demo runs


def _columns(line: str) -> int:
    """Terminal columns: a Hangul syllable takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_the_rule_list_fits_an_80_column_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(_columns(line) for line in lines) <= 80
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == list(RULE_IDS)


def test_a_rules_documentation_fits_an_80_column_terminal_counting_hangul_as_two(
    capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["rules", "dup.same"]) == 0
    out = capsys.readouterr().out
    assert max(_columns(line) for line in out.splitlines()) <= 80
    assert "\n\nWhy: seed §3" in out  # paragraphs stay paragraphs
