"""`make bench`: run every benchmark and print its ratios."""

from __future__ import annotations

import sys

from bench import import_bench


def main() -> int:
    import_bench.main(sys.argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
