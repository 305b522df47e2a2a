"""CSV cells a spreadsheet will not run, and files only their owner can read.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking) is taken for a formula when the file is opened in Excel or
LibreOffice: a cardholder's text or an imported field such as ``=HYPERLINK("https://...")`` would
become a live link or worse in the operator's hands (OWASP, "CSV Injection"). Such a cell is
written with a leading ``'``, which spreadsheets show as text and do not evaluate.

Plain numbers are the exception: an E.164 number (``+14155550123``) and a signed decimal
(``-12.50``) start with ``+`` or ``-`` but are data the bank's systems read as they are, and a
spreadsheet shows them as numbers, never runs them. Only a whole cell of sign, digits and at most
one decimal point is spared: ``+1+1``, ``-2+3`` and ``+1 415 555 0123`` are prefixed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

__all__ = ["open_private", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_cell(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet evaluates (see the module docstring)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def open_private(path: Path) -> IO[str]:
    """Open ``path`` for writing UTF-8 text (CSV newlines untranslated), created or truncated,
    readable and writable by its owner only (0600) before the first byte is written.

    Raises ``OSError`` when it cannot be opened.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # An existing file keeps its mode on O_CREAT, and the umask may narrow a new one.
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        raise
