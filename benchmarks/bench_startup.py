"""What a cold lint of one large file pays before it reads a byte (issue 26's ResNet50 target: at most 3x the bare parse).

    /tmp/bench/bin/python benchmarks/bench_startup.py --keras-python "$PWD/.venv/bin/python"   # a regular install

Runs, in turn and ``--repeat`` times, cold processes that do more and more of a lint: the bare zip + JSON parse of
ResNet50's config (the target's unit), an empty interpreter, importing click, importing every module a lint of one
file imports (without linting), the same plus loading the risk model and the rule registry, and the lint itself.
Prints the median of each in milliseconds and against the bare parse: the imports alone set a floor under the
lint's ratio that no speed-up of reading, rules or risk can go below.
"""

from __future__ import annotations

import argparse
import statistics

from common import PY, resnet50_keras, run_measured

LINT_PATH = ("cnnlint.cli, cnnlint.commands, cnnlint.pipeline, cnnlint.risk, cnnlint.rules, cnnlint.reports.text, "
             "cnnlint.readers.keras_zip, cnnlint.readers.hdf5_walk, cnnlint.discovery, cnnlint.baseline, cnnlint.output")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keras-python", default=PY, help="interpreter with Keras installed (builds ResNet50 once)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    resnet = str(resnet50_keras(args.keras_python))
    commands = {
        "bare parse": [PY, "-c", f"import zipfile, json; json.loads(zipfile.ZipFile({resnet!r}).read('config.json'))"],
        "empty interpreter": [PY, "-c", "pass"],
        "import click": [PY, "-c", "import click"],
        "import the lint path": [PY, "-c", f"import {LINT_PATH}"],
        "+ risk model, rules": [PY, "-c", f"import {LINT_PATH}; cnnlint.risk.load_model(); "
                                "list(cnnlint.rules.select_rules())"],  # fmt: skip
        "lint ResNet50": [PY, "-m", "cnnlint", resnet, "--samples", "1000", "-q"],
    }
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            # only the lint may exit 1: an import that failed would be timed as a fast one
            runs[name].append(run_measured(command, ok=(0, 1) if name == "lint ResNet50" else (0,))[0])
    bare = statistics.median(runs["bare parse"])
    print(f"cold processes, medians of {args.repeat} rounds:")
    for name, walls in runs.items():
        wall = statistics.median(walls)
        print(f"  {name:<22} {wall * 1000:6.1f} ms  {wall / bare:5.2f}x the bare parse")


if __name__ == "__main__":
    main()
