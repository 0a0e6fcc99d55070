"""GPU check for `cnnlint confirm`: the same confirm run on the GPU and on the CPU, with both times.

    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py      # or tensorflow / torch
    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py --samples 500 --epochs 1   # smoke test, no GPU needed

Run on a machine with a GPU and whichever Keras 3 backend it has.  It builds a
CIFAR-sized CNN (32x32x3, 557,898 parameters) and synthetic data (10,000 samples
by default), then runs `cnnlint confirm` in two fresh processes, --device gpu
and --device cpu, and prints the wall times (process start, Keras import and
compilation included), the training times that confirm itself reports, and the
cpu/gpu ratio.  Without a GPU the gpu run fails with confirm's one-line error
and only the CPU time is printed.  --json-dir keeps each run's JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_model_and_data(folder: Path, samples: int) -> tuple[Path, Path]:
    model, data = folder / "cnn.keras", folder / "data.npz"
    build = (
        "import numpy as np, keras\n"
        "from keras import layers\n"
        "m = keras.Sequential([keras.Input((32, 32, 3))] + [layers.Conv2D(c, 3, padding='same', activation='relu')"
        " for c in (64, 64, 128, 128)] + [layers.MaxPooling2D(), layers.Conv2D(256, 3, activation='relu'),"
        " layers.GlobalAveragePooling2D(), layers.Dense(10, activation='softmax')])\n"
        f"m.save({str(model)!r})\n"
        "r = np.random.RandomState(0)\n"
        f"np.savez({str(data)!r}, x=r.rand({samples}, 32, 32, 3).astype('float32'), y=r.randint(0, 10, {samples}))\n"
    )
    result = subprocess.run([sys.executable, "-c", build], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"building the test model failed: {result.stderr.strip()[-2000:]}")
    return model, data


def run_confirm(model: Path, data: Path, device: str, epochs: int, json_dir: Path | None) -> float | None:
    command = [sys.executable, "-m", "cnnlint", "confirm", str(model), "--data", str(data), "--epochs", str(epochs),
               "--batch-size", "128", "--device", device, "--format", "json"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        print(f"{device}: failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return None
    if json_dir:
        (json_dir / f"confirm-{os.environ.get('KERAS_BACKEND', 'tensorflow')}-{device}.json").write_text(result.stdout)
    confirm = json.loads(result.stdout)["models"][0]["confirm"]
    print(f"{device}: {wall:.1f} s wall, {confirm['seconds']:.1f} s training on {confirm['device']} "
          f"({confirm['backend']} backend, {confirm['epochs_run']} epochs, {confirm['train_samples']} samples); "
          f"verdict {confirm['verdict']}, gap {confirm['measured_gap']:.3f}")  # fmt: skip
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json-dir", type=Path)
    args = parser.parse_args()
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    model, data = build_model_and_data(Path(tempfile.mkdtemp(prefix="cnnlint-gpu-")), args.samples)
    if args.json_dir:
        args.json_dir.mkdir(parents=True, exist_ok=True)
    times = {device: run_confirm(model, data, device, args.epochs, args.json_dir) for device in ("gpu", "cpu")}
    if times["gpu"] and times["cpu"]:
        print(f"backend {backend}: cpu/gpu wall-time ratio {times['cpu'] / times['gpu']:.1f}x")


if __name__ == "__main__":
    main()
