"""`make bench`: run every benchmark and print its ratios."""

from __future__ import annotations

import sys

from bench import chaos_bench, dispatch_bench, import_bench, launch_bench, webhook_bench


def main() -> int:
    """`python -m bench [import|launch|webhook|dispatch|chaos] [options]`: one benchmark, or
    all with their default sizes (``--database URL``, the option they share, is handed to
    each)."""
    args = sys.argv[1:]
    benches = {
        "import": import_bench.main,
        "launch": launch_bench.main,
        "webhook": webhook_bench.main,
        "dispatch": dispatch_bench.main,
        "chaos": chaos_bench.main,
    }
    if args and args[0] in benches:
        benches[args[0]](args[1:])
        return 0
    for run in benches.values():
        run(args)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
