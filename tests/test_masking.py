"""Masking: what managers and logs may see of a customer (RULES.md §6, DESIGN.md step 6)."""

from __future__ import annotations

import pytest

from bot.masking import (
    RowLabels,
    mask_name,
    mask_phone,
    mask_urls,
    ob_label,
    register_secret,
    row_label,
    scrub,
    scrub_row_text,
)
from rules.model import Desk, Lead, ObCall, Phone


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("김민수", "김*수"),
        ("김수", "김*"),
        ("남궁민수", "남궁**"),
        ("황보영희", "황보**"),
        ("김민수아", "김**아"),
        ("이", "*"),
        ("  김민수 ", "김*수"),
        ("", ""),
    ],
)
def test_a_name_keeps_its_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("cell", "masked"),
    [
        ("010-5373-4269", "010-****-4269"),
        ("01053734269", "010-****-4269"),
        ("010 5373 4269", "010-****-4269"),
        ("+82 10-5373-4269", "010-****-4269"),
        ("02-123-1234", "02-****-1234"),
        ("(02) 1234-1234", "02-****-1234"),
        ("031-123-4567", "031-****-4567"),
        ("0505-1234-1234", "0505-****-1234"),
        ("010-537-4269", "010-****-4269"),  # a suspected typo still shows its shape
        ("010-1111-2222, 010-3333-4444", "010-****-2222, 010-****-4444"),
        ("모름", "***"),
        ("0101234", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_phone_keeps_its_first_group_and_last_four_digits(cell, masked):
    assert mask_phone(cell) == masked


def test_a_phone_stored_as_a_number_gets_its_leading_zero_back():
    assert mask_phone(1053734269) == "010-****-4269"
    assert mask_phone(1053734269.0) == "010-****-4269"
    assert mask_phone(212341234) == "02-****-1234"


def test_row_labels_as_alerts_and_the_digest_show_them():
    assert row_label(41, "김민수", "010-5373-4269") == "행 41 김*수 010-****-4269"
    assert row_label(41, "", 1053734269) == "행 41 010-****-4269"
    assert row_label(41, "김민수", "") == "행 41 김*수"
    assert row_label(41, "김민수", "없음") == "행 41 김*수 ***"
    assert ob_label(7, "010-7181-5385") == "OB 상세 행 7 010-****-5385"


def test_scrub_masks_phones_inside_a_finding_message_and_leaves_dates_and_amounts():
    assert scrub("010-7181-5385 접수 내용 동일") == "010-****-5385 접수 내용 동일"
    assert scrub("연락처01071815385확인") == "연락처010-****-5385확인"
    assert scrub("중복: 최초 접수 12.2 15:13") == "중복: 최초 접수 12.2 15:13"
    assert scrub("이사예정일 '2024. 12. 2 오후 3:19:00'") == "이사예정일 '2024. 12. 2 오후 3:19:00'"
    assert scrub("견적금액 1,200,000원, 120000000원") == "견적금액 1,200,000원, 120000000원"
    assert scrub("실행 r20241203-101500-3f2a") == "실행 r20241203-101500-3f2a"
    assert scrub("번호 1053734269 확인") == "번호 010-****-4269 확인"


@pytest.mark.parametrize(
    "text",
    ["010–7181–5385", "010/7181/5385", "+82 (0)10 7181 5385", "010 - 7181 - 5385"],
)
def test_scrub_finds_phones_written_with_dashes_slashes_and_country_codes(text):
    # phonenumbers' matcher reads these; the older digit-run regex let the first three through
    assert scrub(f"고객 {text} 부재") == "고객 010-****-5385 부재"


@pytest.mark.parametrize(
    "text",
    ["HP01071815385", "010_7181_5385", "010,7181,5385", "010—7181—5385", "010－7181－5385",
     "010‐7181‐5385", "tel010 7181 5385"],
)  # fmt: skip
def test_scrub_masks_phones_glued_to_letters_or_split_by_any_separator(text):
    assert "7181" not in scrub(f"고객 {text} 부재") and "5385" in scrub(f"고객 {text} 부재")


def test_an_amount_with_thousands_commas_is_no_phone():
    assert scrub("견적금액 1,500,000 (짐 2.5톤)") == "견적금액 1,500,000 (짐 2.5톤)"


def test_scrub_cuts_credentials_out_of_urls():
    assert scrub("Unparseable URL slak://T000/B000/XXXX") == "Unparseable URL slak://***"
    assert mask_urls("https://hooks.slack.com/services/T0/B0/abc") == "https://hooks.slack.com/***"
    assert (
        mask_urls("https://chat.googleapis.com/v1/spaces/S/messages?key=K1&token=T1")
        == "https://chat.googleapis.com/***"
    )
    assert (
        mask_urls("https://me:pw@example.com/a?x=1&token=zz")
        == "https://***@example.com/a?x=1&token=***"
    )
    assert mask_urls("see https://sheets.googleapis.com/v4/spreadsheets") == (
        "see https://sheets.googleapis.com/v4/spreadsheets"
    )


def test_registered_secrets_and_their_token_parts_are_scrubbed():
    register_secret("tgram://123456789:ABCdefGHIjklMNO/-1001234")
    text = "POST https://api.telegram.org/bot123456789:ABCdefGHIjklMNO/sendMessage failed"
    assert "ABCdefGHIjklMNO" not in scrub(text)
    assert "123456789" not in scrub(text)


def test_the_user_info_of_an_alert_url_is_a_secret_whatever_it_looks_like():
    register_secret("kakaowork://plain-lowercase-key%2Fx@12345")
    assert scrub("Bearer plain-lowercase-key/x") == "Bearer [secret]"
    assert scrub("key plain-lowercase-key%2Fx") == "key [secret]"
    assert scrub("conversation 12345") == "conversation 12345"


def test_row_labels_of_a_desk_are_masked_and_computed_on_demand():
    phone = Phone(text="010-5373-4269", key="+821053734269", display="010-5373-4269")
    desk = Desk(
        leads=(Lead(row=41, fingerprint="a", name="김민수", phone=phone),),
        obs=(ObCall(row=7, fingerprint="b", phone=phone),),
    )
    labels = RowLabels.from_desk(desk)
    assert labels[("leads", 41)] == "행 41 김*수 010-****-4269"
    assert labels[("ob", 7)] == "OB 상세 행 7 010-****-4269"
    assert ("leads", 42) not in labels
    assert labels.get(("leads", 42)) is None
    assert len(labels) == 2
    assert (
        scrub_row_text("김민수 고객 재문의", labels.name_of(("leads", 41))) == "김*수 고객 재문의"
    )


def test_every_leads_name_is_masked_in_an_alert_not_only_the_rows_own():
    from bot.masking import mask_names

    names = frozenset({"김민수", "남궁민수", "박서"})

    text = mask_names("중복: 남궁민수 고객, 김민수 님과 같은 번호 (박서 메모)", names)

    assert text == "중복: 남궁** 고객, 김*수 님과 같은 번호 (박* 메모)"
