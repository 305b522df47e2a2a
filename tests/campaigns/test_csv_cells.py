"""CSV cells no spreadsheet runs, and files only their owner reads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from campaigns.csv_cells import open_private, safe_cell
from campaigns.exports import csv_cell

NEUTRALISED = [
    '=HYPERLINK("https://evil.example","click")',
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+",
    "+1 415 555 0123",
    "-12.50.1x",
    "=cmd|' /C calc'!A0",
]
KEPT = [
    "+14155550123",
    "+8613812345678",
    "-12.50",
    "12.50",
    "-1",
    "600.00",
    "2026-11-29T15:00:00+00:00",
    "asked on the phone",
    "texted STOP",
    "a=b",
    "",
    "CA0123456789abcdef0123456789abcdef",
]


@pytest.mark.parametrize("text", NEUTRALISED)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", KEPT)
def test_numbers_phone_numbers_and_plain_text_are_written_as_they_are(text: str) -> None:
    assert safe_cell(text) == text


def test_export_cells_convert_none_and_booleans_and_neutralise_text() -> None:
    assert [csv_cell(v) for v in (None, True, False, 30003, "+14155550123", "=1+1")] == [
        "",
        "true",
        "false",
        "30003",
        "+14155550123",
        "'=1+1",
    ]


@pytest.mark.usefixtures("loose_umask")
def test_a_private_file_is_0600_new_or_replaced(tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    with open_private(new) as handle:
        handle.write("a\r\n")
    existing = tmp_path / "existing.csv"
    existing.write_text("old and longer\n", encoding="utf-8")
    existing.chmod(0o666)
    with open_private(existing) as handle:
        handle.write("b\n")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert new.read_bytes() == b"a\r\n"
    assert existing.read_text(encoding="utf-8") == "b\n"
