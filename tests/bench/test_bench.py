"""Each benchmark runs end to end, as `make bench` runs it, at a tiny size on both engines.

Nothing here is timed: the numbers are the benchmark's to print, not the suite's to judge.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _database(engine: str, request: pytest.FixtureRequest) -> list[str]:
    if engine == "sqlite":
        return []
    # The bench makes (and drops) schemas of its own in the fixture's database.
    url: str = request.getfixturevalue("pg_url")
    return ["--database", url.split("?", maxsplit=1)[0]]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_import_benchmark_runs(engine: str, request: pytest.FixtureRequest) -> None:
    out = _bench("import", "--rows", "200,400", *_database(engine, request))
    assert f"({'SQLite' if engine == 'sqlite' else 'PostgreSQL'})" in out
    assert "      200 rows: import" in out and "      400 rows: import" in out
    assert "rate at 400 / rate at 200" in out
    assert "memory ratio 2N/N" in out


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_launch_benchmark_runs(engine: str, request: pytest.FixtureRequest) -> None:
    out = _bench("launch", "--accounts", "200", "--chunk", "50", *_database(engine, request))
    assert f"({'SQLite' if engine == 'sqlite' else 'PostgreSQL'})" in out
    # Every seeded account is in the benchmark's segment, and the launch took each one.
    assert "200 accounts, 200 in the segment" in out
    assert "contacts/s" in out and "peak RSS" in out


def test_the_dispatch_benchmark_runs() -> None:
    out = _bench("dispatch", "--contacts", "20", "--latency", "0.05", "--concurrency", "4")
    assert "ratio worker / bare" in out
