"""Logging for every duecall process: one format, and no PII in any line.

A filter masks phone numbers and card numbers in every record's final message, so a careless
``log.info("calling %s", number)`` still cannot leak a full number into the logs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from store.privacy import mask_text


class MaskingFilter(logging.Filter):
    """Rewrites each record's message with phone and card numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


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


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_duecall", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._duecall = True  # type: ignore[attr-defined]
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else _MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
