"""How much the account import costs over a bare load, and whether its memory stays flat.

Baseline, measured in the same run on the same machine: the same CSV parsed with the csv module
and inserted with one executemany per batch into a bare table on SQLite -- no validation, no phone
parsing, no upsert, no consent bookkeeping. The import is then run on the same file. Reported:

* time ratio import / baseline (what validation, E.164 parsing, upserts and audit cost);
* peak traced memory for N and 2N rows (flat streaming means a ratio near 1, not 2).
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from campaigns.importing import ImportOptions, import_accounts
from examples.generate import generate, write
from store.clock import FixedClock
from store.db import Database
from store.migrate import upgrade


def _baseline(path: Path, workdir: Path, batch: int) -> float:
    conn = sqlite3.connect(workdir / "baseline.db")
    conn.execute("PRAGMA journal_mode=WAL")
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        cols = ", ".join(f'"{c}" TEXT' for c in header)
        conn.execute(f"CREATE TABLE accounts ({cols})")
        marks = ", ".join("?" for _ in header)
        start = time.perf_counter()
        rows: list[list[str]] = []
        for row in reader:
            rows.append(row)
            if len(rows) >= batch:
                conn.executemany(f"INSERT INTO accounts VALUES ({marks})", rows)
                conn.commit()
                rows = []
        if rows:
            conn.executemany(f"INSERT INTO accounts VALUES ({marks})", rows)
            conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _import(path: Path, workdir: Path, name: str, batch: int, *, trace: bool) -> float:
    """Seconds for the import, or (``trace``) the peak traced memory in bytes: tracing slows
    Python several-fold, so time and memory come from separate runs."""
    db = Database(f"sqlite:///{workdir / name}")
    upgrade(db)
    clock = FixedClock(datetime(2026, 11, 29, 12, tzinfo=UTC))
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = import_accounts(db, path, options=ImportOptions(batch_size=batch), clock=clock)
    elapsed = time.perf_counter() - start
    measured = float(tracemalloc.get_traced_memory()[1]) if trace else elapsed
    if trace:
        tracemalloc.stop()
    db.dispose()
    assert result.rejected == 0, "the benchmark file must import cleanly"
    return measured


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench import")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        small, large = workdir / "n.csv", workdir / "2n.csv"
        write(small, generate(args.rows)[0])
        write(large, generate(args.rows * 2)[0])

        base = _baseline(small, workdir, args.batch)
        took = _import(small, workdir, "time.db", args.batch, trace=False)
        peak_n = _import(small, workdir, "n.db", args.batch, trace=True)
        peak_2n = _import(large, workdir, "2n.db", args.batch, trace=True)

    print(f"account import, {args.rows:,} rows, batches of {args.batch} (SQLite)")
    print(f"  baseline (csv + bare executemany): {args.rows / base:10,.0f} rows/s")
    print(f"  duecall accounts import:           {args.rows / took:10,.0f} rows/s")
    print(f"  time ratio import/baseline:        {took / base:10.1f}x")
    print(f"  peak memory N={args.rows:,}: {peak_n / 1e6:.1f} MB; 2N: {peak_2n / 1e6:.1f} MB")
    print(f"  memory ratio 2N/N:                 {peak_2n / peak_n:10.2f}  (flat streaming ~1)")
