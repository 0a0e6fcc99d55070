"""Lint throughput: a cold single file, 200 small model files at -j1 and -j2, and Keras loading the same files.

    /tmp/bench/bin/python benchmarks/bench_lint.py --keras-python "$PWD/.venv/bin/python"   # see bench_inspect.py

Targets (issue 5, 2-core machine): a single ResNet50 .keras under 0.3 s wall
and 80 MiB; 200 small models under 5 s with -j2.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess

from common import CACHE, PY, median_run, resnet50_keras

EXAMPLES = ["example1_reduced", "example1_4x_width", "example2_plain", "example2_regularized", "example3_augmented"]


def small_models(count: int):
    """``count`` small .keras files: copies of the shipped examples (same bytes a repo of models would hold)."""
    from pathlib import Path

    folder = CACHE / f"small_{count}"
    if not folder.exists() or len(list(folder.glob("*.keras"))) != count:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        examples = Path(__file__).resolve().parent.parent / "examples"
        for i in range(count):
            name = EXAMPLES[i % len(EXAMPLES)]
            shutil.copy(examples / f"{name}.keras", folder / f"{i:03d}_{name}.keras")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--keras-python", default=PY,
                        help="interpreter with Keras installed (run this script itself from a regular install)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    resnet = str(resnet50_keras(args.keras_python))
    folder = small_models(args.files)
    single = median_run([PY, "-m", "cnnlint", resnet, "--samples", "1000"], args.repeat)
    j1 = median_run([PY, "-m", "cnnlint", str(folder), "--samples", "1000", "-q", "-j1"], 3)
    j2 = median_run([PY, "-m", "cnnlint", str(folder), "--samples", "1000", "-q", "-j2"], 3)
    keras_code = (
        "import os, glob; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import keras\n"
        f"for p in sorted(glob.glob({str(folder)!r} + '/*.keras')): keras.models.load_model(p).count_params()\n"
    )
    keras = median_run([args.keras_python, "-c", keras_code], 1)
    print(f"single ResNet50 .keras lint: {single[0] * 1000:.0f} ms, {single[1]:.0f} MiB (target < 300 ms, < 80 MiB)")
    print(f"{args.files} small models -j1:     {j1[0]:.2f} s, {j1[1]:.0f} MiB")
    print(f"{args.files} small models -j2:     {j2[0]:.2f} s (target < 5 s)")
    print(f"keras load_model, same files: {keras[0]:.2f} s, {keras[1]:.0f} MiB")
    print(f"ratio keras / cnnlint -j1:    {keras[0] / j1[0]:.1f}x")
    print(f"ratio -j1 / -j2:              {j1[0] / j2[0]:.2f}x")
    subprocess.run([PY, "-c", "import os; print(f'cores: {os.cpu_count()}')"], check=True)


if __name__ == "__main__":
    main()
