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

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY

ROOT = Path(__file__).resolve().parent.parent


def run_measured(cmd: list[str], env: dict | None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB) of one cold process; CPU time is what a loaded machine inflates
    least (the project machine is shared)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                            env={**os.environ, **(env or {})})  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1, 2):
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    env = {"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": ""} if "--source" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        # built in a child process, so that this (measuring) process stays small: a forked child's peak
        # RSS would otherwise include the parent's pages
        listing = subprocess.run([PY, str(ROOT / "tests" / "hostile_corpus.py"), tmp], capture_output=True,
                                 text=True, check=True, cwd=ROOT).stdout  # fmt: skip
        for path in map(Path, listing.split()):
            wall, cpu, mem = run_measured([PY, "-m", "cnnlint", str(path)], env)
            rows.append((path.name, wall, mem, cpu))
            print(f"{path.name:36s} {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms CPU {mem:6.0f} MiB", flush=True)
    slow = max(rows, key=lambda r: r[1])
    big = max(rows, key=lambda r: r[2])
    busy = max(rows, key=lambda r: r[3])
    print(f"slowest: {slow[0]} {slow[1]:.2f} s = {slow[1] / 2:.2f} of the 2 s limit")
    print(f"most CPU: {busy[0]} {busy[3]:.2f} s = {busy[3] / 2:.2f} of the 2 s limit")
    print(f"largest: {big[0]} {big[2]:.0f} MiB = {big[2] / 200:.2f} of the 200 MiB limit")


if __name__ == "__main__":
    main()
