"""Text from the store as the terminal shows it: never markup, never a control sequence.

Cardholders write the texts in the SMS inbox, and imported files write names: a ``[/]`` in one
is a rich markup error that stops the whole table, ``[link=...]`` a clickable link, and an escape
sequence (``ESC [31m``, ``ESC ]8;;...``) recolours, retitles or rewrites the agent's terminal.
Every such value is printed through :func:`plain`.
"""

from __future__ import annotations

import re

from rich.text import Text

__all__ = ["plain", "printable"]

# C0 controls but tab and newline, DEL, and C1 controls (U+0080-U+009F: a lone U+009B is CSI
# on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters other than newline and tab."""
    return _CONTROL.sub("", text)


def plain(text: str, style: str = "") -> Text:
    """``text`` as a rich :class:`~rich.text.Text`: shown literally, brackets and all, with its
    control characters removed."""
    return Text(printable(text), style=style)
