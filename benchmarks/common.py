"""Helpers for the benchmark scripts: cold-process timing and peak memory of a command."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
PY = sys.executable


def run_measured(cmd: list[str], env: dict | None = None, ok: tuple[int, ...] = (0, 1, 2)) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one cold process; it must exit with one of ``ok`` (a lint's 0, 1 or 2)."""
    start = time.perf_counter()
    # cwd outside the repository, so `python -m cnnlint` runs the installed package, not the source tree
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                            env={**os.environ, **(env or {})})  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def median_run(cmd: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    runs = [run_measured(cmd, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def resnet50_keras(python: str = PY) -> Path:
    """ResNet50 (weights=None) saved as Keras 3 .keras, built once (with ``python``) and cached."""
    path = CACHE / "resnet50.keras"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        code = (
            "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import keras; "
            f"keras.applications.ResNet50(weights=None).save({str(path)!r})"
        )
        subprocess.run([python, "-c", code], check=True)
    return path
