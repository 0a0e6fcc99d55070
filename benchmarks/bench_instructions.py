"""Lint cost per file in CPU instructions (issue 26): a count that does not move with the load on a shared machine.

    python -m venv /tmp/bench && /tmp/bench/bin/pip install .          # a regular (non-editable) install
    /tmp/bench/bin/python benchmarks/bench_instructions.py --keras-python "$PWD/.venv/bin/python"

Wall-clock ratios (``bench_floor.py``) swing by a third between runs on the 2-core project machines, whose cores
other jobs share; so small changes are judged here.  ``valgrind --tool=callgrind`` counts the instructions of
one cold process (about 50x slower than native: 100 files take about half a minute) over the first file of the
``bench_floor.py`` corpus and over the first ``--files``; their difference divided by ``--files - 1`` is the cost
of one more file, the start-up (interpreter, imports, risk model) falling out.  The floor is ``bench_floor.py``'s:
open each file and JSON-parse its config.  ``-j1`` only: callgrind gives a forked worker the instructions its
parent ran before the fork, so worker counts need that subtracted (``-j2`` costs the same per file, measured so).

Prints, per format, the start-up and the instructions per file, and the ratio to the floor's per-file count.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench_floor import FLOOR, distinct_models
from common import PY


def instructions(cmd: list[str]) -> int:
    """Instructions callgrind counts for one run of ``cmd`` (cwd outside the checkout: the installed package)."""
    # the readers' per-file CPU budget (1.3 s) is raised: under callgrind's ~50x slowdown a large file could run
    # out of it and take the h5py child process's path, whose instructions are not counted
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         capture_output=True, text=True, cwd=tempfile.gettempdir(),
                         env={**os.environ, "CNNLINT_HDF5_TIMEOUT": "600"})  # fmt: skip
    if run.returncode not in (0, 1):  # cnnlint exits 1 when the gate fails, as it does for this corpus
        raise SystemExit(f"{' '.join(cmd)} exited with {run.returncode}: {run.stderr[-300:]}")
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count for {' '.join(cmd)}: {run.stderr[-300:]}")
    return int(found.group(1))


def first_files(corpus: Path, count: int, into: Path) -> Path:
    """A folder of links to the first ``count`` files of the corpus."""
    folder = into / str(count)
    folder.mkdir()
    for path in sorted(corpus.iterdir())[:count]:
        (folder / path.name).symlink_to(path)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--corpus-files", type=int, default=2000, help="the bench_floor.py corpus to take them from")
    parser.add_argument("--keras-python", default=PY, help="interpreter with Keras installed (builds the models)")
    parser.add_argument("--formats", default="json,text,sarif,github")
    args = parser.parse_args()
    if not 2 <= args.files <= args.corpus_files:
        parser.error("--files must be at least 2 and at most --corpus-files")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    corpus = distinct_models(args.corpus_files, args.keras_python)
    with tempfile.TemporaryDirectory() as scratch:
        one, many = first_files(corpus, 1, Path(scratch)), first_files(corpus, args.files, Path(scratch))

        def per_file(*cmd: str) -> tuple[int, float]:
            start = instructions([*cmd, str(one)])
            return start, (instructions([*cmd, str(many)]) - start) / (args.files - 1)

        floor_start, floor = per_file(PY, "-c", FLOOR)
        print(f"{args.files} files of {corpus.name}, instructions (callgrind, one cold process each):")
        print(f"  floor           start-up {floor_start / 1e6:6.0f} M   per file {floor / 1e6:6.2f} M")
        for fmt in args.formats.split(","):
            start, cost = per_file(PY, "-m", "cnnlint", "--samples", "1000", "--format", fmt, "-j1")
            print(f"  {fmt + ' -j1':<15} start-up {start / 1e6:6.0f} M   per file {cost / 1e6:6.2f} M   "
                  f"{cost / floor:5.1f}x the floor's per file")  # fmt: skip


if __name__ == "__main__":
    main()
