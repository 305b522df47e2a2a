"""The collections report in the terminal, drawn with rich from its view model."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from campaigns.report_view import Document
from duecall.terminal import plain


def print_document(console: Console, document: Document) -> None:
    """The report in the terminal. Every cell is plain text: a ``[`` in data is not markup, and
    a control character in it is dropped (:func:`duecall.terminal.plain`)."""
    console.print(plain(document.title, style="bold"))
    console.print(plain(document.subtitle))
    for section in document.sections:
        table = Table(title=plain(section.title, style="bold"), title_justify="left")
        for column, numeric in zip(section.columns, section.numeric, strict=True):
            table.add_column(Text(column), justify="right" if numeric else "left")
        for row in section.rows:
            table.add_row(*(plain(cell) for cell in row))
        if not section.rows:
            table.add_row(Text("none", style="dim"), *([""] * (len(section.columns) - 1)))
        console.print(table)
        if section.note:
            console.print(plain(section.note, style="dim"))
