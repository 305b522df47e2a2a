"""The import's CSV files: reading records with byte progress, checking the header, and writing
``FILE.rejects.csv``.

The file is streamed one record at a time. A malformed record or one with the wrong number of
fields becomes a rejected :class:`~campaigns.import_fields.Row` and reading goes on; only a file
that cannot be read at all, or whose header is wrong, raises :class:`ImportFileError`.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from campaigns.csv_cells import open_private, safe_cell
from campaigns.import_fields import Row
from campaigns.import_rows import ACCOUNT_COLUMNS, PAYMENT_COLUMNS

__all__ = ["FILE_KINDS", "ImportFileError", "RejectsWriter", "header_problems", "read_rows"]


class ImportFileError(Exception):
    """Raised when the file as a whole cannot be imported (missing, not CSV, wrong header)."""


# The files the import knows, by their required columns: a header that holds another kind's
# columns is that kind's file given to the wrong command, and saying so beats a column list.
FILE_KINDS: dict[str, tuple[str, ...]] = {
    "accounts": ACCOUNT_COLUMNS,
    "payments": PAYMENT_COLUMNS,
}


class _ByteCounter:
    """Wraps a text file so progress can be measured while csv iterates over it."""

    def __init__(self, handle: IO[str], on_progress: Callable[[int], None] | None) -> None:
        self._handle = handle
        self._on_progress = on_progress
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._handle:
            self.consumed += len(line.encode("utf-8", "surrogateescape"))
            if self._on_progress is not None:
                self._on_progress(self.consumed)
            yield line


def read_rows(
    path: Path,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    on_progress: Callable[[int], None] | None,
) -> Iterator[Row]:
    """The records of ``path`` after its header; ``on_progress`` gets the bytes read so far.

    The header is checked when the first record is asked for, so a bad file raises before the
    caller has written anything. Blank records are skipped.
    """
    try:
        handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot open: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(_ByteCounter(handle, on_progress))
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(f"{path}: empty file, expected a header row") from None
        except csv.Error as exc:
            raise ImportFileError(f"{path}: line 1: {exc}") from exc
        header = [h.strip() for h in header]
        problems = header_problems(header, required, optional)
        if problems:
            raise ImportFileError(f"{path}: line 1: " + "; ".join(problems))
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row = Row(line, {})
                row.reject("(row)", f"malformed CSV: {exc}")
                yield row
                line = reader.line_num + 1
                continue
            start, line = line, reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            row = Row(start, dict(zip(header, values, strict=False)))
            if len(values) != len(header):
                row.reject("(row)", f"has {len(values)} fields, the header has {len(header)}")
            yield row


def header_problems(
    header: Sequence[str], required: tuple[str, ...], optional: tuple[str, ...]
) -> list[str]:
    """What is wrong with ``header``: another kind's file, or missing, unknown (with the nearest
    valid name) and repeated columns; [] when it is right."""
    missing = [c for c in required if c not in header]
    if missing:
        for kind, columns in FILE_KINDS.items():
            if columns != required and all(c in header for c in columns):
                article = "an" if kind[0] in "aeiou" else "a"
                return [f"this looks like {article} {kind} file: use `duecall {kind} import`"]
    valid = (*required, *optional)
    # A misspelt column's right name is one the header lacks.
    absent = [c for c in valid if c not in header]
    unknown = [_with_nearest(c, absent) for c in header if c not in valid]
    dupes = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if dupes:
        problems.append(f"repeated column(s): {', '.join(dupes)}")
    return problems


def _with_nearest(column: str, candidates: Sequence[str]) -> str:
    near = difflib.get_close_matches(column, candidates, n=1)
    return f"{column} (did you mean `{near[0]}`?)" if near else column


# The verification secrets: with a name and a number they pass the hotline's verification, so a
# rejects file (which may be mailed to whoever fixes the data) never carries them. The line
# number and account_id find the row in the source file; every other field is kept as it was.
_MASKED_COLUMNS = {"card_last4": "****", "birth_date": "****-**-**"}


class RejectsWriter:
    """Writes ``FILE.rejects.csv`` lazily: only a run with rejects leaves one behind.

    The file is readable by its owner only (0600). Each reject is ``line, column, reason`` and
    the row's original fields, except that a non-empty ``card_last4`` is written ``****`` and a
    non-empty ``birth_date`` ``****-**-**``; every cell that a spreadsheet would take for a
    formula is neutralised (:func:`campaigns.csv_cells.safe_cell`).
    """

    def __init__(self, source: Path, columns: Iterable[str]) -> None:
        self.path = source.with_name(source.name + ".rejects.csv")
        self._columns = list(columns)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        if self.path.exists():
            self.path.unlink()  # a stale report from an earlier run would mislead

    def write(self, row: Row) -> None:
        if self._writer is None:
            self._handle = open_private(self.path)
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "reason", *self._columns])
        fields = [_shown(column, row.raw.get(column) or "") for column in self._columns]
        for reject in row.errors:
            self._writer.writerow(
                [reject.line, safe_cell(reject.column), safe_cell(reject.reason), *fields]
            )

    def close(self) -> Path | None:
        if self._handle is None:
            return None
        self._handle.close()
        return self.path


def _shown(column: str, value: str) -> str:
    """One original field as the rejects file shows it: masked if secret, never a formula."""
    if value and column in _MASKED_COLUMNS:
        return _MASKED_COLUMNS[column]
    return safe_cell(value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
