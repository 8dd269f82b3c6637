"""Run the benchmark suite: ``python benchmarks/run.py [--quick] [--json FILE]``."""

import sys

from segdend.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", *sys.argv[1:]]))
