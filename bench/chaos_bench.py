"""A campaign on a bad carrier day, larger than the test's: what the faults cost in time.

Runs :func:`tests.dialer.chaos_rig.run_chaos` twice on PostgreSQL with three real workers and
the simulator over HTTP: once on a good day (no fault), once with the faults, the 429 storm and a
worker killed and restarted. Prints both times, their ratio, what was injected and every
violation of the checks (none expected). Needs PostgreSQL (``--database-url``, else
``DUECALL_TEST_DATABASE_URL``, else the test default); each run gets its own schema, dropped after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.dialer.chaos_rig import (
    cap_violations,
    double_dials,
    lost_contacts,
    run_chaos,
    summary,
    violations,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def _schema(base: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str]) -> None:
    """`python -m bench chaos [--contacts N] [--seed S] [--database URL]`."""
    parser = argparse.ArgumentParser(prog="python -m bench chaos")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database",
        "--database-url",
        dest="database_url",
        default=os.environ.get("DUECALL_TEST_DATABASE_URL", "").strip() or DEFAULT_URL,
    )
    args = parser.parse_args(argv)
    print(f"chaos: {args.contacts} contacts, three workers, PostgreSQL")
    try:
        create_engine(args.database_url).connect().close()
    except Exception as exc:  # any reason: say it and skip
        print(f"  skipped: PostgreSQL is not available ({type(exc).__name__})")
        return
    times: dict[str, float] = {}
    for label, faults in (("good day", False), ("bad day", True)):
        with tempfile.TemporaryDirectory() as tmp, _schema(args.database_url) as url:
            run = run_chaos(url, Path(tmp), contacts=args.contacts, seed=args.seed, faults=faults)
        times[label] = run.seconds
        # A good day has no storm to pause for: every other check holds on both.
        found = (
            violations(run)
            if faults
            else [*double_dials(run), *lost_contacts(run), *cap_violations(run)]
        )
        print(f"  {label}: {run.seconds:.1f} s")
        if faults:
            for line in summary(run):
                print(f"    {line}")
        print(f"    violations: {len(found)}")
        for problem in found[:20]:
            print(f"      {problem}")
    print(f"  ratio bad day / good day: {times['bad day'] / times['good day']:.2f}")
