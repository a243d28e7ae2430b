"""Review: OB 상세 rows with a mistyped phone (ob.orphan) or no readable date (ob.sync)."""

from __future__ import annotations

import pytest

from rules import ob as ob_rules
from rules.values import parse_phone

from desk import desk, lead, ob, run


def _problem(text: str) -> str:
    phone = parse_phone(text)
    assert phone is not None and phone.key is None and phone.problem
    return phone.problem


# --- ob.orphan: a mistyped phone --------------------------------------------------------


@pytest.mark.parametrize("typed", ["010-2000-100", "010-2000-10011", "02-123-12"])
def test_an_ob_row_with_a_mistyped_phone_is_an_orphan_naming_the_problem(typed):
    snap = desk([lead()], obs=[ob(phone=typed)])
    after = run(snap)
    assert after.findings(2, sheet="ob") == [
        f"ob.orphan: 고객 연락처 확인 필요: {typed} ({_problem(typed)})"
        " — 이사 관리자 DB를 찾을 수 없음"
    ]
    assert "ob.sync" not in after.rules_changed


def test_a_mistyped_phone_stored_as_a_number_is_an_orphan_too():
    snap = desk([lead()], obs=[ob(phone=10200010)])
    (found,) = run(snap).findings(2, sheet="ob")
    assert found.startswith("ob.orphan: 고객 연락처 확인 필요: 10200010 (")
    assert found.endswith(" — 이사 관리자 DB를 찾을 수 없음")


def test_a_mistyped_phone_is_an_orphan_even_when_a_lead_has_the_same_typo():
    # a suspected typo links nothing: the OB note can reach no lead
    snap = desk([lead(phone="010-2000-100")], obs=[ob(phone="010-2000-100")])
    after = run(snap)
    assert after.rules_found(2, sheet="ob") == {"ob.orphan"}
    assert after.remarks(2) == ""


@pytest.mark.parametrize(
    ("phone", "rule"),
    [
        (None, "ob.required"),
        ("", "ob.required"),
        ("  ", "ob.required"),
        ("모름", "value.unparseable"),
    ],
)
def test_an_empty_or_unreadable_phone_is_not_reported_twice(phone, rule):
    snap = desk([lead()], obs=[ob(phone=phone)])
    assert run(snap).rules_found(2, sheet="ob") == {rule}


def test_a_good_phone_with_no_lead_is_still_an_orphan_and_one_with_a_lead_is_not():
    snap = desk([lead()], obs=[ob(phone="010-2000-9999"), ob()])
    after = run(snap)
    assert after.findings(2, sheet="ob") == ["ob.orphan: 이사 관리자에 이 번호의 DB 없음"]
    assert "ob.orphan" not in after.rules_found(3, sheet="ob")


def test_the_orphan_docstring_speaks_of_mistyped_phones():
    doc = ob_rules.orphan.__doc__ or ""
    assert "mistyped" in doc and "010-2000-100" in doc


# --- ob.sync: an unreadable or missing OB date ------------------------------------------


@pytest.mark.parametrize(
    ("ob_date", "rule"),
    [("어제", "value.unparseable"), (None, "ob.required"), ("", "ob.required")],
)
def test_an_ob_row_without_a_readable_date_is_not_synced(ob_date, rule):
    snap = desk(
        [
            lead(intake="2024-11-01 10:00", status="종결(고객취소)", remarks="첫 문의"),
            lead(intake="2024-12-01 10:00", status="견적진행", origin="부산 해운대구"),
        ],
        obs=[ob(ob_date=ob_date, detail="견적 안내")],
    )
    after = run(snap)
    assert "ob.sync" not in after.rules_changed
    assert after.remarks(2) == "첫 문의" and after.remarks(3) == ""
    assert rule in after.rules_found(2, sheet="ob")


def test_the_same_row_is_synced_in_the_desks_format_once_its_date_is_fixed():
    snap = desk(
        [
            lead(intake="2024-11-01 10:00", status="종결(고객취소)"),
            lead(intake="2024-12-01 10:00", status="견적진행", origin="부산 해운대구"),
        ],
        obs=[ob(ob_date="2024-11-20", detail="견적 안내")],
    )
    after = run(snap)
    assert after.remarks(2) == "11.20 OB 견적 안내"
    assert after.remarks(3) == ""


def test_the_sync_docstring_says_an_undated_row_waits():
    doc = " ".join((ob_rules.sync_note.__doc__ or "").split())
    assert "an OB row without a readable date waits until staff fix it" in doc
