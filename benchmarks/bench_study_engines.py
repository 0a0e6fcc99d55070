"""Runs per hour of the study's two engines on this machine: worker processes against Ray tasks.

    python benchmarks/bench_study_engines.py                 # 6 cheap digits runs of the v2 campaign, each engine
    python benchmarks/bench_study_engines.py --ids 3080-3090 --workers 2

Each engine trains the same runs (``python -m study generate v2 --ids ...``) into its own temporary folder, from a
cold start (interpreter, TensorFlow import in the workers, and for Ray the local cluster), so the numbers include
what a short batch pays. The runs are digits runs (scikit-learn's bundled data) because they need no other package
and take seconds each; long runs amortize start-up and bring the two engines closer. Prints the wall time, runs
per hour of each engine, the ratio, and whether each record's gap equals the committed one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from study import records  # noqa: E402
from study.paths import V2  # noqa: E402

CHEAP_DIGITS = "3080,3070,3130,3030,1570,3000"


def measure(engine: str, ids: str, workers: int) -> tuple[float, list[dict]]:
    out = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
    command = [sys.executable, "-m", "study", "generate", "v2", "--engine", engine, "--ids", ids, "--out", str(out),
               "--host", "bench", "--workers", str(workers)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "RAY_DEDUP_LOGS": "0"})
    return time.perf_counter() - started, list(records.trained(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ids", default=CHEAP_DIGITS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes engine's workers")
    args = parser.parse_args()
    committed = {r["id"]: r["gap"] for r in records.trained(V2)}
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} before the first engine")
    rates = {}
    for engine in ("processes", "ray"):
        seconds, made = measure(engine, args.ids, args.workers)
        rates[engine] = 3600 * len(made) / seconds
        same = sum(abs(r["gap"] - committed[r["id"]]) < 1e-9 for r in made)
        print(f"{engine:>9}: {len(made)} runs in {seconds:.0f} s = {rates[engine]:.0f} runs an hour; "
              f"{same} of {len(made)} gaps equal to the committed records'")  # fmt: skip
    print(f"ratio ray / processes: {rates['ray'] / rates['processes']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
