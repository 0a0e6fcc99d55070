"""GPU check for `cnnlint confirm`: the same confirm run on the GPU and on the CPU, with both times.

    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py      # or tensorflow / torch
    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py --samples 500 --epochs 1   # smoke test, no GPU needed
    KERAS_BACKEND=jax python benchmarks/confirm_gpu.py --forecast --samples 20000 --full-epochs 30 --json-dir OUT

--forecast checks the forecast instead: on learnable synthetic data with 20 %
noisy labels (so the gap widens as the model memorizes), it runs the short
confirm (--full-epochs E, default --fraction 0.2, early stop on) and then the
full E-epoch run, both on --device (auto), and prints both wall times, the
forecast gap with its 80 % interval, and the gap the full run measured.

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

LEARNABLE_DATA = (
    "t = r.rand(10, 32, 32, 3).astype('float32')\n"
    "y = r.randint(0, 10, {samples})\n"
    "x = (0.35 * t[y] + 0.65 * r.rand({samples}, 32, 32, 3)).astype('float32')\n"
    "noisy = r.rand({samples}) < 0.2\n"
    "y[noisy] = r.randint(0, 10, int(noisy.sum()))\n"
)
RANDOM_DATA = "x, y = r.rand({samples}, 32, 32, 3).astype('float32'), r.randint(0, 10, {samples})\n"


def build_model_and_data(folder: Path, samples: int, learnable: bool = False) -> tuple[Path, Path]:
    model, data = folder / "cnn.keras", folder / "data.npz"
    build = (
        "import numpy as np, keras\n"
        "from keras import layers\n"
        "m = keras.Sequential([keras.Input((32, 32, 3))] + [layers.Conv2D(c, 3, padding='same', activation='relu')"
        " for c in (64, 64, 128, 128)] + [layers.MaxPooling2D(), layers.Conv2D(256, 3, activation='relu'),"
        " layers.GlobalAveragePooling2D(), layers.Dense(10, activation='softmax')])\n"
        f"m.save({str(model)!r})\n"
        "r = np.random.RandomState(0)\n"
        + (LEARNABLE_DATA if learnable else RANDOM_DATA).format(samples=samples)
        + f"np.savez({str(data)!r}, x=x, y=y)\n"
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


def run_json(name: str, command: list[str], json_dir: Path | None) -> tuple[dict | None, float]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "cnnlint", "confirm", *command, "--format", "json"],
                            capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    if result.returncode != 0:
        print(f"{name}: failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return None, wall
    if json_dir:
        (json_dir / f"forecast-{os.environ.get('KERAS_BACKEND', 'tensorflow')}-{name}.json").write_text(result.stdout)
    return json.loads(result.stdout)["models"][0]["confirm"], wall


def forecast_check(model: Path, data: Path, args: argparse.Namespace) -> None:
    common = [str(model), "--data", str(data), "--batch-size", "128", "--device", args.device,
              "--full-epochs", str(args.full_epochs)]  # fmt: skip
    short, short_wall = run_json("short", common, args.json_dir)
    if short is None:
        return
    f = short["forecast"]
    print(f"short run: {short_wall:.1f} s wall, {short['seconds']:.1f} s training on {short['device']} "
          f"({short['backend']} backend), {short['epochs_run']} of {short['planned_epochs']} planned epochs "
          f"(budget saved {short['budget_saved']:.0%})")  # fmt: skip
    if f:
        print(f"forecast: gap at epoch {f['full_epochs']} {f['gap']:.3f} (80 % interval {f['interval'][0]:.3f} to "
              f"{f['interval'][1]:.3f}); gap now {f['gap_now']:.3f}; verdict {short['verdict']}")  # fmt: skip
    full, full_wall = run_json("full", [*common, "--epochs", str(args.full_epochs)], args.json_dir)
    if full is None:
        return
    print(f"full run: {full_wall:.1f} s wall, {full['seconds']:.1f} s training, {full['epochs_run']} epochs; "
          f"measured gap {full['measured_gap']:.3f} (train {full['train_accuracy']:.3f}, "
          f"validation {full['val_accuracy']:.3f}); verdict {full['verdict']}")  # fmt: skip
    if f:
        inside = f["interval"][0] <= full["measured_gap"] <= f["interval"][1]
        print(f"forecast error {f['gap'] - full['measured_gap']:+.3f}; measured gap {'inside' if inside else 'outside'}"
              f" the 80 % interval; short/full wall time {short_wall / full_wall:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json-dir", type=Path)
    parser.add_argument("--forecast", action="store_true", help="check the forecast against the full run")
    parser.add_argument("--full-epochs", type=int, default=30)
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="with --forecast")
    args = parser.parse_args()
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    folder = Path(tempfile.mkdtemp(prefix="cnnlint-gpu-"))
    model, data = build_model_and_data(folder, args.samples, learnable=args.forecast)
    if args.json_dir:
        args.json_dir.mkdir(parents=True, exist_ok=True)
    if args.forecast:
        forecast_check(model, data, args)
        return
    times = {device: run_confirm(model, data, device, args.epochs, args.json_dir) for device in ("gpu", "cpu")}
    if times["gpu"] and times["cpu"]:
        print(f"backend {backend}: cpu/gpu wall-time ratio {times['cpu'] / times['gpu']:.1f}x")


if __name__ == "__main__":
    main()
