"""The reminder text at send time: the real values are measured, and the text is shortened, or
refused, rather than sent in more segments than ``sms.max_segments``."""

from __future__ import annotations

from typing import Unpack

import pytest

from campaigns.sms import count_segments
from dialer.messages import Sender, SmsTooLongError, reminder_text
from store.db import Database
from tests.factories import AccountFields, add_account

NOTICES = {"en-US": "Reply STOP to opt out.", "zh-CN": "回复TD退订"}
EN_TEMPLATE = "{business_name}: hi {first_name}, a payment of {minimum_due} is past due."
FULL_NAME_TEMPLATE = "{business_name}: {name}, a payment of {minimum_due} is past due."
ZH_TEMPLATE = "{business_name}：{first_name}您好，您的最低还款额{minimum_due}已逾期。"


def sender(max_segments: int, business_name: str = "Northwind") -> Sender:
    return Sender(business_name, "+18005550100", "+18005550100", NOTICES, max_segments)


def text_for(
    db: Database, template: str, max_segments: int, **fields: Unpack[AccountFields]
) -> str:
    with db.session() as s:
        account = add_account(s, "A1", "+12125550123", **fields)
        return reminder_text(s, account, template, sender(max_segments))


def test_the_name_is_said_without_its_title(db: Database) -> None:
    text = text_for(db, FULL_NAME_TEMPLATE, 3, name="SMITH, DR. JOHN")
    assert text == (
        "Northwind: John Smith, a payment of $35.00 is past due. Reply STOP to opt out."
    )


def test_a_text_that_fits_is_sent_as_written(db: Database) -> None:
    text = text_for(db, EN_TEMPLATE, 1, name="Mrs Jane Doe")
    assert text == "Northwind: hi Jane, a payment of $35.00 is past due. Reply STOP to opt out."


def test_a_long_full_name_falls_back_to_the_first_name(db: Database) -> None:
    long_name = "Jane " + "Abcdefghij-" * 14 + "Doe"
    assert count_segments(f"Northwind: {long_name}, ...").count == 2
    text = text_for(db, FULL_NAME_TEMPLATE, 1, name=long_name)
    assert text == "Northwind: Jane, a payment of $35.00 is past due. Reply STOP to opt out."
    assert count_segments(text).count == 1


def test_a_name_that_turns_the_text_into_ucs2_is_left_out(db: Database) -> None:
    # "Zoë": ë is not in GSM-7, so the whole text would go as UCS-2, 70 units a segment.
    template = "{business_name}: hi {first_name}, " + "a" * 40 + " {minimum_due}."
    text = text_for(db, template, 1, name="Zoë Martin")
    assert "Zoë" not in text
    assert text.startswith("Northwind: hi " + "a" * 40)
    parts = count_segments(text)
    assert (parts.encoding, parts.count) == ("GSM-7", 1)


def test_a_200_character_chinese_name_is_left_out_of_a_chinese_text(db: Database) -> None:
    text = text_for(db, ZH_TEMPLATE, 1, name="欧" * 200, language="zh-CN", currency="CNY")
    assert text == "Northwind：您好，您的最低还款额35.00元已逾期。回复TD退订"
    assert count_segments(text).count == 1


def test_the_full_text_is_kept_when_the_limit_allows_it(db: Database) -> None:
    text = text_for(db, ZH_TEMPLATE, 10, name="欧" * 200, language="zh-CN", currency="CNY")
    assert "欧" * 200 in text
    assert count_segments(text).count <= 10


def test_a_text_over_the_limit_even_without_a_name_is_refused(db: Database) -> None:
    template = "{first_name}, " + "x" * 400
    with pytest.raises(SmsTooLongError) as raised:
        text_for(db, template, 2, name="Jane Doe")
    assert (raised.value.segments, raised.value.encoding, raised.value.max_segments) == (
        3,
        "GSM-7",
        2,
    )
    assert "sms.max_segments is 2" in str(raised.value)
