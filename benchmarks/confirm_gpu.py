"""GPU check for `cnnlint confirm`: the same confirm run on the GPU and on the CPU, with both times.

    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py      # or tensorflow / torch

Run on a machine with a GPU and whichever Keras 3 backend it has.  It builds a
CIFAR-sized CNN (32x32x3, ~1 M parameters) and 10,000 synthetic samples,
then runs `cnnlint confirm` in two fresh processes: --device gpu and
--device cpu, 3 epochs each, and prints the wall times and their ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    folder = Path(tempfile.mkdtemp(prefix="cnnlint-gpu-"))
    build = (
        "import numpy as np, keras\n"
        "from keras import layers\n"
        "m = keras.Sequential([keras.Input((32, 32, 3))] + [layers.Conv2D(c, 3, padding='same', activation='relu')"
        " for c in (64, 64, 128, 128)] + [layers.MaxPooling2D(), layers.Conv2D(256, 3, activation='relu'),"
        " layers.GlobalAveragePooling2D(), layers.Dense(10, activation='softmax')])\n"
        f"m.save({str(folder / 'cnn.keras')!r})\n"
        "r = np.random.RandomState(0)\n"
        f"np.savez({str(folder / 'data.npz')!r}, x=r.rand(10000, 32, 32, 3).astype('float32'),"
        " y=r.randint(0, 10, 10000))\n"
    )
    subprocess.run([sys.executable, "-c", build], check=True)
    times = {}
    for device in ("gpu", "cpu"):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "cnnlint", "confirm", str(folder / "cnn.keras"), "--data", str(folder / "data.npz"),
             "--epochs", "3", "--batch-size", "128", "--device", device, "--format", "json"],
            capture_output=True, text=True,
        )  # fmt: skip
        times[device] = time.perf_counter() - start
        if result.returncode != 0:
            print(f"{device}: failed: {result.stderr.strip()[-500:]}")
            continue
        confirm = json.loads(result.stdout)["models"][0]["confirm"]
        print(f"{device}: {times[device]:.1f} s wall, {confirm['seconds']:.1f} s training on {confirm['device']} "
              f"({confirm['backend']} backend)")  # fmt: skip
    if len(times) == 2:
        print(f"backend {backend}: cpu/gpu wall-time ratio {times['cpu'] / times['gpu']:.1f}x")


if __name__ == "__main__":
    main()
