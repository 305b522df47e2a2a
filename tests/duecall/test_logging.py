"""duecall's logging setup: plain lines off a terminal, and masking on every line (every
record's message passes store.privacy.mask_text)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from duecall.logging import MaskingFilter, PlainTextFilter, configure_logging

# What werkzeug logs for a request answered 201: the request line coloured bold magenta.
COLOURED = "\x1b[35m\x1b[1mPOST /2010-04-01/Accounts/AC1/Calls.json HTTP/1.1\x1b[0m"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back after each test."""
    root = logging.getLogger()
    werkzeug = logging.getLogger("werkzeug")
    handlers, level = list(root.handlers), root.level
    filters = list(werkzeug.filters)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    werkzeug.filters[:] = filters


def _werkzeug_request_line() -> None:
    # The shape of werkzeug.serving.WSGIRequestHandler.log_request's call.
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - [07/Dec/2026 09:00:00] "%s" %s %s', COLOURED, "201", "-"
    )


def test_a_coloured_werkzeug_line_is_written_plain_to_a_stream_that_is_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    _werkzeug_request_line()
    written = stream.getvalue()
    assert "\x1b" not in written
    assert '"POST /2010-04-01/Accounts/AC1/Calls.json HTTP/1.1" 201 -' in written


def test_other_handlers_of_werkzeug_records_get_them_plain_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("INFO", stream=io.StringIO())
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        _werkzeug_request_line()
    assert "POST /2010-04-01/Accounts/AC1/Calls.json HTTP/1.1" in caplog.text
    assert "\x1b" not in caplog.text


def test_a_terminal_keeps_its_colours() -> None:
    stream = Terminal()
    configure_logging("INFO", stream=stream)
    _werkzeug_request_line()
    assert COLOURED in stream.getvalue()
    assert not any(isinstance(f, PlainTextFilter) for f in logging.getLogger("werkzeug").filters)


def test_json_lines_carry_no_escape_codes_even_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging("INFO", json_lines=True, stream=stream)
    _werkzeug_request_line()
    written = stream.getvalue()
    assert "\x1b" not in written and "\\u001b" not in written
    assert "POST /2010-04-01/Accounts/AC1/Calls.json HTTP/1.1" in written


def test_configuring_twice_leaves_one_filter_and_one_handler() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=io.StringIO())
    configure_logging("INFO", stream=stream)
    werkzeug_filters = [
        f for f in logging.getLogger("werkzeug").filters if isinstance(f, PlainTextFilter)
    ]
    assert len(werkzeug_filters) == 1
    _werkzeug_request_line()
    assert stream.getvalue().count("Calls.json") == 1


def test_phone_numbers_are_still_masked_on_a_plain_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    logging.getLogger("werkzeug").info("\x1b[33mcalling %s\x1b[0m", "+14155550123")
    written = stream.getvalue()
    assert "+14155550123" not in written
    assert "calling +1******0123" in written


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
