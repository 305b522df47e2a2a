"""`python -m bench webhook` end to end at a tiny size: both servers, every endpoint, checked.

Nothing here is timed: the benchmark's numbers are for reading, not for asserting.
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench import webhook_bench

pytestmark = pytest.mark.slow  # gunicorn and client processes, on sockets


@pytest.mark.parametrize("tool", ["wrk", "processes"])
def test_the_webhook_bench_runs_end_to_end(tool: str) -> None:
    if tool == "wrk" and shutil.which("wrk") is None:
        message = "wrk is not installed (the bench then uses client processes)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": .ci/run installs it")
        print(message)
        pytest.skip(message)
    lines: list[str] = []
    args = webhook_bench.parser().parse_args(
        [
            "--requests",
            "120",
            "--rounds",
            "1",
            "--accounts",
            "20",
            "--connections",
            "4",
            "--tool",
            tool,
        ]
    )

    ratios = webhook_bench.run(args, out=lines.append)

    assert set(ratios) == set(webhook_bench.ENDPOINTS)
    assert all(ratio > 0 for ratio in ratios.values())
    report = "\n".join(lines)
    for name in webhook_bench.ENDPOINTS:
        assert f"  {name} " in report
    for name in webhook_bench.PACED:
        assert f"  {name} " in report and "p99 ratio" in report
    assert "steps that ended in the fault barrier: 0" in report
