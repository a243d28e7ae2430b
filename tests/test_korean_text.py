"""What staff and managers read (봇 확인, skip reasons, alerts, digest) is Korean without English
fragments (STYLE.md): every string literal in those modules that holds Korean is checked."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The modules whose Korean strings reach staff. rules/values.py holds the patterns that read
# what staff type (`am`, `krw`, `tons`), not text shown to them.
STAFF_TEXT = sorted(
    [p for p in (ROOT / "rules").glob("*.py") if p.name != "values.py"]
    + [ROOT / "bot" / n for n in ("alerts.py", "digest.py", "runner.py", "schedule.py")]
    + [ROOT / "bot" / "sheets" / n for n in ("workbook.py", "google.py")]
)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
ALLOWED = {"movebot"}  # the product's name; OB and DB are the desk's own words (two letters)


def _korean_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if HANGUL.search(text):
            found.append((node.lineno, re.sub(r"\{\w*\}", "{}", text)))
    return found


@pytest.mark.parametrize("path", STAFF_TEXT, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_english_fragment_in_a_korean_line_staff_read(path):
    mixed = [
        f"{path.name}:{line}: {text}"
        for line, text in _korean_literals(path)
        if set(ENGLISH_WORD.findall(text)) - ALLOWED
    ]
    assert mixed == []
