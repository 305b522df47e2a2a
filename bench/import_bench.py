"""How much the account import costs over a bare load, whether its rate holds as the file grows,
and whether its memory stays flat.

Baseline, measured in the same run on the same machine and engine: the same CSV parsed with the
csv module and inserted with one executemany per batch into a bare table -- no validation, no
phone parsing, no upsert, no consent bookkeeping. The import is then run on the same file into
an empty schema. Reported, for each size asked (``--rows 100000,1000000``):

* rows per second of each, and the time ratio import / baseline (what validation, E.164 parsing,
  upserts and audit cost);
* the import's rate at the largest size against the smallest (linear means a ratio near 1);
* peak traced memory for N and 2N rows (``--memory-rows``; flat streaming means a ratio near 1,
  not 2) and the process's peak RSS.

``--database postgresql+psycopg://...`` runs it on PostgreSQL, each run in a schema of its own
that is dropped afterwards; without it, SQLite files in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import gc
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.scratch import engine_name, peak_rss_mb, scratch_db
from campaigns.importing import ImportOptions, import_accounts
from examples.generate import generate
from store.clock import FixedClock

# The example generator builds its rows in memory; larger files repeat a block of its rows
# under fresh account numbers (ascending, as a bank's extract is).
_BLOCK = 50_000


def write_accounts(path: Path, count: int) -> None:
    """A CSV of ``count`` accounts in the example portfolio's shape, written block by block."""
    template = generate(min(count, _BLOCK))[0]
    step = 37 * (len(template) + 1)  # generated ids grow by at most 37 per account
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(template[0]))
        writer.writeheader()
        written = 0
        cycle = 0
        while written < count:
            for original in template[: count - written]:
                row = original
                if cycle:
                    row = {**row, "account_id": str(int(row["account_id"]) + cycle * step)}
                    if row["customer_id"]:
                        row["customer_id"] = f"{row['customer_id']}-{cycle}"
                writer.writerow(row)
            written += min(len(template), count - written)
            cycle += 1
    del template
    gc.collect()


def _baseline(url: str | None, path: Path, workdir: Path, batch: int) -> float:
    with scratch_db(url, workdir, "baseline") as db, path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        marks = ", ".join("?" if db.engine.dialect.paramstyle == "qmark" else "%s" for _ in header)
        insert = f"INSERT INTO bare_accounts VALUES ({marks})"
        with db.engine.begin() as conn:
            cols = ", ".join(f'"{c}" TEXT' for c in header)
            conn.exec_driver_sql(f"CREATE TABLE bare_accounts ({cols})")
        start = time.perf_counter()
        rows: list[tuple[str, ...]] = []
        for row in reader:
            rows.append(tuple(row))
            if len(rows) >= batch:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql(insert, rows)
                rows = []
        if rows:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(insert, rows)
        return time.perf_counter() - start


def _import(url: str | None, path: Path, workdir: Path, batch: int, *, trace: bool) -> float:
    """Seconds for the import, or (``trace``) the peak traced memory in bytes: tracing slows
    Python several-fold, so time and memory come from separate runs."""
    clock = FixedClock(datetime(2026, 11, 29, 12, tzinfo=UTC))
    with scratch_db(url, workdir, "import") as db:
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        result = import_accounts(db, path, options=ImportOptions(batch_size=batch), clock=clock)
        elapsed = time.perf_counter() - start
        measured = float(tracemalloc.get_traced_memory()[1]) if trace else elapsed
        if trace:
            tracemalloc.stop()
    assert result.rejected == 0, "the benchmark file must import cleanly"
    assert result.inserted == result.total, "every row of the benchmark file is a new account"
    return measured


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench import")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--rows", type=_sizes, default=[20_000, 100_000], help="sizes, e.g. 100000,1000000"
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--memory-rows", type=int, default=None, help="N of the memory runs")
    args = parser.parse_args(argv)
    engine = engine_name(args.database)
    memory_rows = args.memory_rows or min(args.rows)
    print(f"account import, batches of {args.batch} ({engine})")
    rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for rows in args.rows:
            path = workdir / f"{rows}.csv"
            write_accounts(path, rows)
            base = _baseline(args.database, path, workdir, args.batch)
            took = _import(args.database, path, workdir, args.batch, trace=False)
            path.unlink()
            rates.append(rows / took)
            print(
                f"  {rows:>9,} rows: import {rows / took:8,.0f} rows/s ({took:6.1f} s),"
                f" baseline {rows / base:8,.0f} rows/s, ratio import/baseline {took / base:5.1f}x"
            )
        if len(rates) > 1:
            sizes = f"{args.rows[-1]:,} / rate at {args.rows[0]:,}"
            print(f"  rate at {sizes}: {rates[-1] / rates[0]:.2f}  (linear ~1)")
        small, large = workdir / "n.csv", workdir / "2n.csv"
        write_accounts(small, memory_rows)
        write_accounts(large, memory_rows * 2)
        peak_n = _import(args.database, small, workdir, args.batch, trace=True)
        peak_2n = _import(args.database, large, workdir, args.batch, trace=True)
    print(f"  peak memory N={memory_rows:,}: {peak_n / 1e6:.1f} MB; 2N: {peak_2n / 1e6:.1f} MB")
    print(f"  memory ratio 2N/N:  {peak_2n / peak_n:.2f}  (flat streaming ~1)")
    print(f"  peak RSS of the process: {peak_rss_mb():.0f} MB")
