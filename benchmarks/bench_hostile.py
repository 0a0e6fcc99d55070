"""Time and peak memory of `cnnlint` on every hostile file (tests/hostile_corpus.py), one cold process each.

    python benchmarks/bench_hostile.py [--source] [--only SUBSTRING]

The corpus: broken files (``build``), files dangerous to load (``dangerous``: names Keras resolves, polyglots,
folders that hold models) and the time and memory worst cases (``expensive``: HDF5 link cycles, B-trees HDF5
loops on below what the pure-Python walk reads, heap objects an attribute points at thousands of times, bzip2 and
lzma members, zip64 and 65,535-entry directories, 60 MB of SavedModel JSON, a 100 MB ``model_config``, 16 MiB of
``[{},...]``, a reversed 10,000-layer chain, a 99,000-layer Sequential, a FIFO in a folder), and a folder nested
1,100 deep.  Targets (issues 8, 15 and 28): every model file under 2 s of CPU and under 200 MiB, however many views
it has; a path that holds several models (a folder) is measured per model file.  Prints the worst file for each,
and the ratio to the limits.  ``--source`` measures this checkout instead of the installed package (with bytecode
caching on, as an install has it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PY

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
          "from tests.hostile_corpus import build, dangerous, deep_folder, expensive; out = Path(sys.argv[2]); "
          "print(*build(out), *dangerous(out / 'dangerous'), *expensive(out / 'expensive'), deep_folder(out), "
          "sep='\\n')")  # fmt: skip


#: the text report's last line: "N findings (...) in M models; K files unreadable."
SUMMARY = re.compile(r"in (\d+) models?(?:; (\d+) files? unreadable)?")


def run_measured(cmd: list[str], env: dict | None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS MiB, model files linted) of one cold process; CPU time is what a loaded
    machine inflates least (the project machine is shared).  CPU and memory include the HDF5 child processes."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as report:
        proc = subprocess.Popen(cmd, stdout=report, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
                                env={**os.environ, **(env or {})})  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) not in (0, 1, 2):
            raise SystemExit(f"command failed: {' '.join(cmd)}")
        report.seek(0)
        found = SUMMARY.findall(report.read().decode("utf-8", "replace"))
    models = sum(int(linted) + int(unreadable or 0) for linted, unreadable in found[-1:]) if found else 1
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, max(1, models)


def main() -> None:
    env = {"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": ""} if "--source" in sys.argv else None
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    with tempfile.TemporaryDirectory(dir=tempfile.gettempdir()) as tmp:
        rows = []
        # built in a child process, so that this (measuring) process stays small: a forked child's peak
        # RSS would otherwise include the parent's pages
        listing = subprocess.run([PY, "-c", CORPUS, str(ROOT), tmp], capture_output=True, text=True, check=True,
                                 cwd=ROOT).stdout  # fmt: skip
        for path in map(Path, listing.split()):
            if only not in str(path):
                continue
            wall, cpu, mem, models = run_measured([PY, "-m", "cnnlint", str(path)], env)
            rows.append((path.name, wall / models, mem, cpu / models, models))
            print(f"{path.name:40s} {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms CPU {mem:6.0f} MiB"
                  f"{f'  ({models} model files)' if models > 1 else ''}", flush=True)  # fmt: skip
        from tests.hostile_corpus import remove_tree  # shutil.rmtree recurses: the deep folder would defeat it

        remove_tree(Path(tmp) / "deep_folder")
    slow = max(rows, key=lambda r: r[1])
    big = max(rows, key=lambda r: r[2])
    busy = max(rows, key=lambda r: r[3])
    print(f"slowest: {slow[0]} {slow[1]:.2f} s per model file = {slow[1] / 2:.2f} of the 2 s limit")
    print(f"most CPU: {busy[0]} {busy[3]:.2f} s per model file = {busy[3] / 2:.2f} of the 2 s limit")
    print(f"largest: {big[0]} {big[2]:.0f} MiB = {big[2] / 200:.2f} of the 200 MiB limit")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
