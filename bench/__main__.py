"""`make bench`: run every benchmark and print its ratios."""

from __future__ import annotations

import sys

import bench.webhook_bench  # the webhook benchmark: `python -m bench webhook`
from bench import import_bench, launch_bench


def main() -> int:
    """`python -m bench [import|launch] [options]`: one benchmark, or all with defaults."""
    args = sys.argv[1:]
    benches = {"import": import_bench.main, "launch": launch_bench.main}
    benches["webhook"] = bench.webhook_bench.main  # the webhook benchmark
    if args and args[0] in benches:
        benches[args[0]](args[1:])
        return 0
    for run in benches.values():
        run(args)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
