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
