"""The report in the terminal: every cell is text, never markup or a control sequence."""

from __future__ import annotations

import io

from rich.console import Console

from campaigns.report_view import Document, Section
from duecall.report_terminal import print_document


def test_cells_are_printed_as_text_without_control_characters() -> None:
    document = Document(
        title="Northwind [/] report\x1b]0;owned\x07",
        subtitle="day [link=https://evil.example]x[/link]",
        sections=(
            Section(
                title="Runs \x9b2J",
                columns=("campaign", "state"),
                rows=(("[bold]late[/bold]\x1b[31m", "paused: [card ****4242]\r"),),
                note="note\x00 [/]",
            ),
        ),
    )
    out = io.StringIO()
    print_document(Console(file=out, width=200, highlight=False), document)
    text = out.getvalue()
    for shown in (
        "Northwind [/] report]0;owned",
        "day [link=https://evil.example]x[/link]",
        "Runs 2J",
        "[bold]late[/bold][31m",
        "paused: [card ****4242]",
        "note [/]",
    ):
        assert shown in text
    assert not [ch for ch in text if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]
