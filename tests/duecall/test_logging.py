"""The logging filter: every record's message passes store.privacy.mask_text."""

from __future__ import annotations

import logging

from duecall.logging import MaskingFilter


def _filtered(msg: str, *args: object) -> str:
    record = logging.LogRecord("duecall", logging.INFO, __file__, 1, msg, args, None)
    assert MaskingFilter().filter(record)
    return record.getMessage()


def test_the_filter_masks_url_encoded_numbers_and_url_passwords() -> None:
    assert _filtered("%s %s", "GET /x?From=%2B12125550123", "x") == "GET /x?From=%2B1******0123 x"
    assert _filtered("db postgresql://a:pw@h/d at 2026-12-03 20:55:01") == (
        "db postgresql://a:***@h/d at 2026-12-03 20:55:01"
    )


def test_the_filter_leaves_timestamps_addresses_and_sids_alone() -> None:
    line = "2026-12-03 20:55:01 10.1.2.3:5000 CAab4111111111111111abcdef12345678"
    assert _filtered(line) == line
