"""The import's CSV side: records with their line numbers and byte progress, the header check,
and the rejects file."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from campaigns.import_csv import ImportFileError, RejectsWriter, header_problems, read_rows
from campaigns.import_fields import Row
from campaigns.import_rows import ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS, PAYMENT_COLUMNS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "payments.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_records_carry_their_start_line_and_progress_reaches_the_file_size(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, 'id,note\n1,"two\nlines"\n\n2,é\n')
    progress: list[int] = []
    rows = list(read_rows(path, ("id", "note"), (), progress.append))
    assert [(r.line, r.raw) for r in rows] == [
        (2, {"id": "1", "note": "two\nlines"}),
        (5, {"id": "2", "note": "é"}),
    ]
    assert progress[-1] == path.stat().st_size
    assert progress == sorted(progress)


def test_a_record_with_the_wrong_field_count_is_rejected_not_fatal(tmp_path: Path) -> None:
    rows = list(read_rows(write(tmp_path, "id,note\n1\n2,b\n"), ("id", "note"), (), None))
    assert [str(e) for e in rows[0].errors] == ["line 2: (row): has 1 fields, the header has 2"]
    assert rows[1].errors == []


def test_the_header_is_checked_before_the_first_record(tmp_path: Path) -> None:
    path = write(tmp_path, "id,id,extra\n1,1,x\n")
    with pytest.raises(ImportFileError) as caught:
        next(read_rows(path, ("id", "note"), (), None))
    assert str(caught.value) == (
        f"{path}: line 1: missing column(s): note; unknown column(s): extra; repeated column(s): id"
    )


def test_an_unreadable_or_empty_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot open"):
        next(read_rows(tmp_path / "missing.csv", ("id",), (), None))
    with pytest.raises(ImportFileError, match="empty file, expected a header row"):
        next(read_rows(write(tmp_path, ""), ("id",), (), None))


def test_the_rejects_file_appears_only_when_a_row_is_rejected(tmp_path: Path) -> None:
    source = write(tmp_path, "")
    stale = source.with_name("payments.csv.rejects.csv")
    stale.write_text("old report\n", encoding="utf-8")
    assert RejectsWriter(source, ("id",)).close() is None
    assert not stale.exists()

    writer = RejectsWriter(source, ("id", "amount"))
    bad = Row(3, {"id": "p\udcff1", "amount": "-1"})
    bad.reject("amount", "must not be negative")
    writer.write(bad)
    assert writer.close() == stale
    with stale.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["line", "column", "reason", "id", "amount"],
            ["3", "amount", "must not be negative", "p\ufffd1", "-1"],
        ]


@pytest.mark.usefixtures("loose_umask")
def test_the_rejects_file_is_private_masks_verification_secrets_and_neutralises_formulas(
    tmp_path: Path,
) -> None:
    source = write(tmp_path, "")
    columns = ("account_id", "phone", "balance", "card_last4", "birth_date", "name")
    writer = RejectsWriter(source, columns)
    bad = Row(
        7,
        {
            "account_id": "A-17",
            "phone": "+1 415 555 0123",
            "balance": "-12.50",
            "card_last4": "4242",
            "birth_date": "1980-01-31",
            "name": '=HYPERLINK("https://evil.example","fix me")',
        },
    )
    bad.reject("balance", "must not be negative")
    bad.reject("name", "@SUM(A1:A2) is not a name")
    writer.write(bad)
    empty = Row(8, {"account_id": "+14155550123", "card_last4": "", "birth_date": ""})
    empty.reject("card_last4", "missing")
    writer.write(empty)
    path = writer.close()
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8", newline="") as handle:
        got = list(csv.reader(handle))
    assert got[1:] == [
        [
            "7",
            "balance",
            "must not be negative",
            "A-17",
            "'+1 415 555 0123",
            "-12.50",
            "****",
            "****-**-**",
            '\'=HYPERLINK("https://evil.example","fix me")',
        ],
        [
            "7",
            "name",
            "'@SUM(A1:A2) is not a name",
            "A-17",
            "'+1 415 555 0123",
            "-12.50",
            "****",
            "****-**-**",
            '\'=HYPERLINK("https://evil.example","fix me")',
        ],
        # An empty secret stays empty (masking it would hide that it was missing); a plain
        # E.164 number is data, not a formula.
        ["8", "card_last4", "missing", "+14155550123", "", "", "", "", ""],
    ]
    assert "4242" not in path.read_text(encoding="utf-8")
    assert "1980" not in path.read_text(encoding="utf-8")


def test_an_unknown_column_suggests_the_nearest_valid_column_the_header_lacks(
    tmp_path: Path,
) -> None:
    header = [*ACCOUNT_COLUMNS, "sms_consnet", "shoe_size"]
    path = write(tmp_path, ",".join(header) + "\n")
    with pytest.raises(ImportFileError) as caught:
        next(read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS, None))
    assert str(caught.value) == (
        f"{path}: line 1: unknown column(s): sms_consnet (did you mean `sms_consent`?), shoe_size"
    )
    # A near name already in the header is not offered again.
    assert header_problems(["id", "note", "notes"], ("id", "note"), ()) == [
        "unknown column(s): notes"
    ]


def test_a_payments_file_imported_as_accounts_names_the_right_command(tmp_path: Path) -> None:
    path = write(tmp_path, "payment_id,account_id,amount,paid_at\nP1,A1,5.00,2026-12-01\n")
    with pytest.raises(ImportFileError) as caught:
        next(read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL_COLUMNS, None))
    assert str(caught.value) == (
        f"{path}: line 1: this looks like a payments file: use `duecall payments import`"
    )


def test_an_accounts_file_imported_as_payments_names_the_right_command(tmp_path: Path) -> None:
    path = write(tmp_path, ",".join([*ACCOUNT_COLUMNS, "sms_consent"]) + "\n")
    with pytest.raises(ImportFileError) as caught:
        next(read_rows(path, PAYMENT_COLUMNS, (), None))
    assert str(caught.value) == (
        f"{path}: line 1: this looks like an accounts file: use `duecall accounts import`"
    )
    # A payments file that lacks a column is still a payments file with a missing column.
    assert header_problems(["payment_id", "account_id", "amount"], PAYMENT_COLUMNS, ()) == [
        "missing column(s): paid_at"
    ]
