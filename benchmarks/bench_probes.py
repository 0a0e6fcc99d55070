"""What ``--data`` adds to a lint: a 50,000 x 32x32x3 uint8 .npz (CIFAR-10's size), cold processes.

    python benchmarks/bench_probes.py            # from the repository root; measures this checkout's code

Target (issue 13, 2-core machine): the probes add at most 10 s and 500 MiB.  Measured for an uncompressed
.npz (rows read at their offsets), a compressed one (streamed) and a repeated run (cached by content hash), each against
the same lint without ``--data``.  The data is random (the slowest case for the linear probe, which then runs
all its iterations) and built in a child process, so that this process stays small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import CACHE, PY

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_MIB = 10.0, 500.0
MAKE_DATA = """
import numpy as np, sys
rng = np.random.default_rng(0)
x = rng.integers(0, 256, size=(50_000, 32, 32, 3), dtype=np.uint8)
y = rng.integers(0, 10, size=50_000)
np.savez(sys.argv[1], x_train=x, y_train=y)
np.savez_compressed(sys.argv[2], x_train=x, y_train=y)
"""
MAKE_MODEL = """
import os, sys; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"; import keras
keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
                  keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.Flatten(),
                  keras.layers.Dense(10, activation="softmax")]).save(sys.argv[1])
"""


def inputs(keras_python: str) -> tuple[Path, Path, Path]:
    CACHE.mkdir(exist_ok=True)
    plain, packed, model = CACHE / "cifar_sized.npz", CACHE / "cifar_sized_compressed.npz", CACHE / "cifar_cnn.keras"
    if not plain.exists() or not packed.exists():
        subprocess.run([PY, "-c", MAKE_DATA, str(plain), str(packed)], check=True)
    if not model.exists():
        subprocess.run([keras_python, "-c", MAKE_MODEL, str(model)], check=True)
    return plain, packed, model


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one cold process; CPU time shows the work when other jobs share the cores."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=tempfile.gettempdir(), env={**os.environ, **env})  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"command failed: {' '.join(command)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def medians(
    command: list[str], env: dict[str, str], repeat: int, cache: str | None = None
) -> tuple[float, float, float]:
    """Medians of ``repeat`` cold processes, each with an empty probe cache unless ``cache`` is given."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as fresh:
            runs.append(measure(command, {**env, "CNNLINT_CACHE_DIR": cache or fresh}))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keras-python", default=PY, help="interpreter with Keras, to build the 32x32x3 model once")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plain, packed, model = inputs(args.keras_python)
    env = {"PYTHONPATH": str(ROOT)}
    base = medians([PY, "-m", "cnnlint", str(model), "--samples", "50000"], env, args.repeat)
    print(f"{'lint without --data':36s} {base[0]:6.2f} s wall {base[1]:6.2f} s CPU {base[2]:5.0f} MiB")
    for name, data in (("uncompressed .npz (pread)", plain), ("compressed .npz (streamed)", packed)):
        command = [PY, "-m", "cnnlint", str(model), "--data", str(data)]
        cold = medians(command, env, args.repeat)
        with tempfile.TemporaryDirectory() as cache:
            measure(command, {**env, "CNNLINT_CACHE_DIR": cache})  # fills the cache
            warm = medians(command, env, args.repeat, cache)
        for label, (wall, cpu, mib) in (("first run", cold), ("cached", warm)):
            added, more = wall - base[0], mib - base[2]
            print(f"{name:26s} {label:9s} {wall:6.2f} s wall {cpu:6.2f} s CPU {mib:5.0f} MiB: adds {added:5.2f} s "
                  f"= {added / TARGET_SECONDS:.2f} of {TARGET_SECONDS:.0f} s, {more:4.0f} MiB = "
                  f"{more / TARGET_MIB:.2f} of {TARGET_MIB:.0f} MiB")  # fmt: skip
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, data: "
          f"{plain.stat().st_size / 2**20:.0f} MiB uncompressed")  # fmt: skip


if __name__ == "__main__":
    main()
