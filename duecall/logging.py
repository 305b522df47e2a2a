"""Logging for every duecall process: one format, and no PII in any line.

A filter masks phone numbers and card numbers in every record's final message, so a careless
``log.info("calling %s", number)`` still cannot leak a full number into the logs.

Lines written anywhere but a terminal (a file, a pipe, a log collector, pytest's capture) carry
no ANSI colour codes: werkzeug colours its request lines (``ESC[35mESC[1mPOST ...``), which a
terminal renders and everything else shows as noise.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from store.privacy import mask_text


class MaskingFilter(logging.Filter):
    """Rewrites each record's message with phone and card numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


#: CSI sequences (colours, bold, cursor moves) and the two-character escapes.
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences."""
    return _ANSI_RE.sub("", text)


class PlainTextFilter(logging.Filter):
    """Rewrites each record's message without ANSI escape sequences (colours, bold)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        plain = strip_ansi(message)
        if plain != message:
            record.msg, record.args = plain, None
        return True


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


class _MaskingFormatter(logging.Formatter):
    def formatException(self, ei: object) -> str:  # noqa: N802 - logging's API
        return mask_text(super().formatException(ei))  # type: ignore[arg-type]


#: Loggers whose records arrive coloured: werkzeug's request lines and its start-up banner.
COLOURED_LOGGERS = ("werkzeug",)


def configure_logging(
    level: str = "INFO", *, json_lines: bool = False, stream: TextIO | None = None
) -> None:
    """Install one handler on the root logger, writing to ``stream`` (stderr), idempotently.

    Unless the stream is a terminal (and the lines are not JSON), every line is written without
    ANSI escape codes. The werkzeug logger gets the same filter itself, so every other handler
    of its records (pytest's capture, a collector's) receives plain text too.
    """
    target = sys.stderr if stream is None else stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_duecall", False):
            root.removeHandler(handler)
    plain = json_lines or not _is_terminal(target)
    for name in COLOURED_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, PlainTextFilter)]:
            logger.removeFilter(old)
        if plain:
            logger.addFilter(PlainTextFilter())
    handler = logging.StreamHandler(target)
    handler._duecall = True  # type: ignore[attr-defined]
    if plain:
        handler.addFilter(PlainTextFilter())
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else _MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
