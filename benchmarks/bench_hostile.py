"""Time and peak memory of `cnnlint` on every hostile file (tests/hostile_corpus.py), one cold process each.

    python benchmarks/bench_hostile.py [--source]

The corpus: broken files (``build``), files dangerous to load (``dangerous``)
and the time and memory worst cases (``expensive``: HDF5 link cycles, bzip2 and
lzma members, zip64 and 65,535-entry directories, 60 MB of SavedModel JSON, a
100 MB ``model_config``, 16 MiB of ``[{},...]``, a reversed 10,000-layer chain,
a 99,000-layer Sequential, a FIFO in a folder).  Targets (issues 8 and 15):
every file under 2 s and under 200 MiB.  Prints the worst file for each, and
the ratio to the limits.  ``--source`` measures this checkout instead of the
installed package (with bytecode caching on, as an install has it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from common import PY, run_measured

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    env = {"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": ""} if "--source" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        # built in a child process, so that this (measuring) process stays small: a forked child's peak
        # RSS would otherwise include the parent's pages
        listing = subprocess.run([PY, str(ROOT / "tests" / "hostile_corpus.py"), tmp], capture_output=True,
                                 text=True, check=True, cwd=ROOT).stdout  # fmt: skip
        for path in map(Path, listing.split()):
            wall, mem = run_measured([PY, "-m", "cnnlint", str(path)], env)
            rows.append((path.name, wall, mem))
            print(f"{path.name:36s} {wall * 1000:7.0f} ms {mem:6.0f} MiB", flush=True)
    slow = max(rows, key=lambda r: r[1])
    big = max(rows, key=lambda r: r[2])
    print(f"slowest: {slow[0]} {slow[1]:.2f} s = {slow[1] / 2:.2f} of the 2 s limit")
    print(f"largest: {big[0]} {big[2]:.0f} MiB = {big[2] / 200:.2f} of the 200 MiB limit")


if __name__ == "__main__":
    main()
