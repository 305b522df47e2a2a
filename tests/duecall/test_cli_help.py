"""--help lists what each command needs: the import columns, the variables, the files."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from campaigns.import_rows import ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS, PAYMENT_COLUMNS
from duecall.cli import cli
from simulator.personas import PRESETS


def _help(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, title: str) -> set[str]:
    """The comma-separated names in the indented lines under ``title``."""
    match = re.search(rf"{re.escape(title)}\n((?:    .*\n)+)", text)
    assert match is not None, f"no {title!r} in:\n{text}"
    return {name.strip() for name in match.group(1).replace("\n", " ").split(",")}


def test_accounts_import_help_lists_the_required_and_optional_columns() -> None:
    text = _help("accounts", "import")
    assert _section(text, "Required columns (every one in the header):") == set(ACCOUNT_COLUMNS)
    assert _section(text, "Optional columns:") == set(ACCOUNT_OPTIONAL_COLUMNS)
    assert "FILE.rejects.csv" in text


def test_payments_import_help_lists_its_columns() -> None:
    text = _help("payments", "import")
    assert _section(text, "Columns (all required):") == set(PAYMENT_COLUMNS)


@pytest.mark.parametrize(
    "variable", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DUECALL_PUBLIC_URL"]
)
def test_simulator_help_names_the_variables_it_reads(variable: str) -> None:
    assert variable in _help("simulator")


def test_simulator_help_shows_the_personas_format_with_every_preset() -> None:
    text = _help("simulator")
    assert "personas:" in text and "simulator/personas.py" in text
    presets = re.search(r"Presets: (.*?); see", text, re.DOTALL)
    assert presets is not None
    assert {p.strip() for p in presets.group(1).replace("\n", " ").split(",")} == set(PRESETS)
    assert "/_simulator/inbound/calls" in text and "/_simulator/inbound/messages" in text


@pytest.mark.parametrize(
    "needed",
    [
        "TWILIO_AUTH_TOKEN",
        "DUECALL_SECRET_KEY",
        "DUECALL_PUBLIC_URL",
        "DUECALL_DATABASE_URL",
        "DUECALL_TWILIO_API_URL",
        "duecall db upgrade",
        "/healthz",
    ],
)
def test_serve_help_says_what_it_needs(needed: str) -> None:
    assert needed in _help("serve")
