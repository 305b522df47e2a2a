from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.clock import FixedClock, OffsetClock
from store.privacy import luhn_valid, mask_mapping, mask_phone, mask_text, redact_card_numbers


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(minutes=2)) == datetime(2026, 3, 8, 7, 1, tzinfo=UTC)


def test_clocks_refuse_naive_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 3, 8, 7, 0))


def test_offset_clock_runs_faster_from_its_start() -> None:
    base = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    clock = OffsetClock(datetime(2026, 11, 29, 13, 0, tzinfo=UTC), speed=60, base=base)
    base.advance(timedelta(seconds=10))
    assert clock.now() == datetime(2026, 11, 29, 13, 10, tzinfo=UTC)


def test_phone_numbers_are_masked_to_country_and_last_four() -> None:
    assert mask_phone("+14155550123") == "+1******0123"
    assert mask_phone("+8613812345678") == "+86*******5678"
    assert "4155550123" not in mask_text("calling +1 415 555 0123 now")


def test_dates_addresses_and_paths_stay_readable() -> None:
    line = "127.0.0.1 POST /2010-04-01/Accounts on 2026-11-29, call (212) 555-0123"
    assert mask_text(line) == "127.0.0.1 POST /2010-04-01/Accounts on 2026-11-29, call (******0123"


def test_twilio_sids_are_not_mistaken_for_phone_numbers() -> None:
    sid = "CA1234567890abcdef1234567890abcdef"
    assert mask_text(f"call {sid} from +14155550123") == f"call {sid} from +1******0123"


def test_card_numbers_are_redacted_only_when_luhn_valid() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    text = "my card 4111 1111 1111 1111 and ref 4111111111111112"
    redacted = redact_card_numbers(text)
    assert "4111 1111 1111 1111" not in redacted
    assert "[card ****1111]" in redacted
    assert "4111111111111112" in redacted  # not a card number: left alone


def test_payload_masking_blanks_secret_keys_and_masks_numbers() -> None:
    masked = mask_mapping({"From": "+14155550123", "Digits": "19800101"}, frozenset({"Digits"}))
    assert masked == {"From": "+1******0123", "Digits": "***"}


SID = "CA0123456789abcdef0123456789abcdef"
# A SID whose digit run passes the Luhn check: must not be taken for a card number.
LUHN_SID = "CAab4111111111111111abcdef12345678"

# Lines a log may carry as they are: nothing in them is a person's number or card.
READABLE = [
    "2026-12-03 20:55:01",
    "2026-12-03 20:55:01,123 INFO dialer: tick",
    "2026-12-03T20:55:01+00:00",
    "2026-12-03T20:55:01.250Z",
    "window 2026-12-03 20:55 to 2026-12-03 21:00",
    "20261203T205501Z",
    "20261203T2055",
    "127.0.0.1",
    "10.1.2.3:5000",
    "192.168.100.200:5000 POST /twilio/voice",
    "client 203.0.113.254 port 443",
    f"call {SID} completed",
    f"message SM0123456789abcdef0123456789abcdef to {SID}",
    f"sid {LUHN_SID}",
    "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json",
    "attempt 123456 run 42",
    "version 3.11.9",
    "https://api.twilio.com/2010-04-01",
    "postgresql+psycopg://duecall@/duecall?host=/run/postgresql",
]

# Lines that carry a number, a card or a password, and what is left of each.
MASKED = [
    ("calling +14155550123", "calling +1******0123"),
    ("calling +1 415 555 0123", "calling +1******0123"),
    ("calling 4155550123", "calling ******0123"),
    ("calling 415.555.0123", "calling ******0123"),
    ("from +8613812345678", "from +86*******5678"),
    ("POST /twilio/voice?From=%2B12125550123", "POST /twilio/voice?From=%2B1******0123"),
    ("To=%2b447700900123&CallSid=" + SID, "To=%2B44******0123&CallSid=" + SID),
    ("From=%2B8613812345678&Body=hi", "From=%2B86*******5678&Body=hi"),
    (
        "2026-12-03 20:55:01 call +14155550123 from 10.1.2.3:5000",
        "2026-12-03 20:55:01 call +1******0123 from 10.1.2.3:5000",
    ),
    (f"{SID} to +14155550123", f"{SID} to +1******0123"),
    ("card 4111 1111 1111 1111 please", "card [card ****1111] please"),
    ("card 4111111111111111", "card [card ****1111]"),
    ("postgresql://app:s3cret@db.internal/duecall", "postgresql://app:***@db.internal/duecall"),
    (
        "https://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef"
        "@api.example.com/2010-04-01",
        "https://AC0123456789abcdef0123456789abcdef:***@api.example.com/2010-04-01",
    ),
    ("url http://u:p@127.0.0.1:8080/x", "url http://u:***@127.0.0.1:8080/x"),
    (
        "postgresql+psycopg://app@db/duecall?password=s3cret&sslmode=require",
        "postgresql+psycopg://app@db/duecall?password=***&sslmode=require",
    ),
]


@pytest.mark.parametrize("line", READABLE)
def test_timestamps_addresses_and_sids_stay_readable(line: str) -> None:
    assert mask_text(line) == line


@pytest.mark.parametrize(("line", "masked"), MASKED)
def test_numbers_cards_and_url_passwords_are_masked(line: str, masked: str) -> None:
    assert mask_text(line) == masked


def test_a_luhn_valid_e164_number_is_masked_as_a_number_not_a_card() -> None:
    assert luhn_valid("8613812345678")
    assert redact_card_numbers("+8613812345678") == "+8613812345678"
    assert mask_text("+8613812345678") == "+86*******5678"
