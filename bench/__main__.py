"""Run every benchmark: ``python -m bench [--quick]``. Results land in bench/results/."""

import sys

from bench import cost, ingest, local, processor, rollup, worker


def main(argv: list[str]) -> int:
    flags = ["--quick"] if "--quick" in argv else []
    status = 0
    for bench in (ingest, processor, worker, rollup, cost, local):
        status = bench.main(flags) or status
        print()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
