"""Cold-process `cnnlint inspect` on ResNet50 .keras against Keras and a bare zip+JSON parse.

    python -m venv /tmp/bench && /tmp/bench/bin/pip install .          # a regular (non-editable) install
    /tmp/bench/bin/python benchmarks/bench_inspect.py --keras-python "$PWD/.venv/bin/python"

An editable install adds its import hook (~15 ms) to every Python process, which distorts the ratios.

Targets (issue 2, on the 2-core project machine): at most 3x the bare parse,
at least 40x faster than keras.models.load_model + count_params(), and peak
memory under 80 MiB.
"""

from __future__ import annotations

import argparse

from common import PY, median_run, resnet50_keras


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keras-python", default=PY,
                        help="interpreter with Keras installed (run this script itself from a regular install)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    path = str(resnet50_keras(args.keras_python))
    bare = [PY, "-c", f"import zipfile, json; json.loads(zipfile.ZipFile({path!r}).read('config.json'))"]
    cnnlint = [PY, "-m", "cnnlint", "inspect", path]
    keras = [args.keras_python, "-c", ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import keras; "
                        f"print(keras.models.load_model({path!r}).count_params())")]  # fmt: skip
    t_bare, m_bare = median_run(bare, args.repeat)
    t_lint, m_lint = median_run(cnnlint, args.repeat)
    t_keras, m_keras = median_run(keras, max(2, args.repeat // 3))
    print(f"bare zip+json parse       {t_bare * 1000:8.0f} ms  {m_bare:6.0f} MiB")
    print(f"cnnlint inspect           {t_lint * 1000:8.0f} ms  {m_lint:6.0f} MiB")
    print(f"keras load_model+count    {t_keras * 1000:8.0f} ms  {m_keras:6.0f} MiB")
    print(f"ratio cnnlint / bare parse: {t_lint / t_bare:.2f}x  (target <= 3x)")
    print(f"ratio keras / cnnlint:      {t_keras / t_lint:.1f}x  (target >= 40x)")
    print(f"cnnlint peak memory:        {m_lint:.0f} MiB (target < 80 MiB)")


if __name__ == "__main__":
    main()
