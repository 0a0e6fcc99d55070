"""Lint speed against the parse floor (issue 26): ratios of cold processes, measured side by side in one run.

    python -m venv /tmp/bench && /tmp/bench/bin/pip install .          # a regular (non-editable) install
    /tmp/bench/bin/python benchmarks/bench_floor.py --keras-python "$PWD/.venv/bin/python"
    # before and after in the same rounds: --before-python /tmp/before/bin/python (an install of main before)

The floor is one Python process that only opens each file and JSON-parses its config: ``zipfile`` + ``json`` for a
``.keras``, h5py's root attribute + ``json`` for an ``.h5``.  The corpus is ``--files`` distinct small models,
``.keras`` and ``.h5`` alternating, whose layer names carry the file's index (``distinct_models.py``, built once
with the Keras interpreter), so no two files share bytes; every run is a cold first run over them.  Each round runs
the floor and every cnnlint command once, in turn, so load from other processes falls on all of them alike; the
medians of ``--repeat`` rounds are compared.

Targets (2-core machine): 2,000 files, ``--format json``: ``-j2`` at most 3x the floor, ``-j1`` at most 5x;
text, SARIF and GitHub within 10 % of JSON; a cold lint of ResNet50 ``.keras`` at most 3x its bare parse and at
most 40 MiB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess

from common import CACHE, PY, resnet50_keras, run_measured

FLOOR = """
import glob, json, sys, zipfile
import h5py
for path in sorted(glob.glob(sys.argv[1] + "/*")):
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            json.loads(archive.read("config.json"))
    else:
        with h5py.File(path, "r") as f:
            json.loads(f.attrs["model_config"])
"""


def distinct_models(count: int, python: str):
    folder = CACHE / f"distinct_{count}"
    if not folder.exists() or len(list(folder.iterdir())) != count:
        from pathlib import Path

        script = Path(__file__).parent / "distinct_models.py"
        subprocess.run([python, str(script), str(folder), str(count)], check=True, stderr=subprocess.DEVNULL)
    return folder


def rounds(commands: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, float]]:
    """Median wall seconds and largest peak MiB of each command, the commands run in turn in every round."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(run_measured(cmd))
    return {name: (statistics.median(r[0] for r in got), max(r[1] for r in got)) for name, got in runs.items()}


def lint(path: str, *options: str, python: str = PY) -> list[str]:
    return [python, "-m", "cnnlint", path, "--samples", "1000", *options]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--keras-python", default=PY, help="interpreter with Keras installed (builds the models)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--before-python", help="interpreter of another install (main before a change): its JSON "
                        "runs join every round, so before and after meet the same load")  # fmt: skip
    args = parser.parse_args()
    folder = str(distinct_models(args.files, args.keras_python))
    commands = {
        "floor": [PY, "-c", FLOOR, folder],
        "json -j2": lint(folder, "--format", "json", "-j2"),
        "json -j1": lint(folder, "--format", "json", "-j1"),
        "text -j2": lint(folder, "--format", "text", "-j2"),
        "sarif -j2": lint(folder, "--format", "sarif", "-j2"),
        "github -j2": lint(folder, "--format", "github", "-j2"),
    }
    if args.before_python:
        for jobs in ("-j2", "-j1"):
            commands[f"before {jobs}"] = lint(folder, "--format", "json", jobs, python=args.before_python)
    many = rounds(commands, args.repeat)
    floor = many["floor"][0]
    print(f"{args.files} distinct small files (.keras and .h5), medians of {args.repeat} rounds:")
    for name, (wall, mib) in many.items():
        print(f"  {name:<11} {wall:7.2f} s  {mib:5.0f} MiB  {wall / floor:5.2f}x floor")
    print(f"ratio json -j2 / floor: {many['json -j2'][0] / floor:.2f}x (target <= 3x)")
    print(f"ratio json -j1 / floor: {many['json -j1'][0] / floor:.2f}x (target <= 5x)")
    for fmt in ("text", "sarif", "github"):
        print(f"ratio {fmt} / json (-j2): {many[f'{fmt} -j2'][0] / many['json -j2'][0]:.2f} (target <= 1.10)")
    for jobs in ("-j2", "-j1") if args.before_python else ():
        print(f"json {jobs}: before {many[f'before {jobs}'][0]:.2f} s, now {many[f'json {jobs}'][0]:.2f} s "
              f"({many[f'json {jobs}'][0] / many[f'before {jobs}'][0]:.2f} of before)")
    if not args.skip_resnet:
        resnet = str(resnet50_keras(args.keras_python))
        bare = [PY, "-c", f"import zipfile, json; json.loads(zipfile.ZipFile({resnet!r}).read('config.json'))"]
        single = {"bare": bare, "lint": lint(resnet, "-q")}
        if args.before_python:
            single["before"] = lint(resnet, "-q", python=args.before_python)
        one = rounds(single, max(5, args.repeat))
        print(f"ResNet50 .keras: bare parse {one['bare'][0] * 1000:.0f} ms, cold lint {one['lint'][0] * 1000:.0f} ms, "
              f"{one['lint'][1]:.0f} MiB: {one['lint'][0] / one['bare'][0]:.2f}x (target <= 3x, <= 40 MiB)")
        if args.before_python:
            print(f"ResNet50 .keras before: {one['before'][0] * 1000:.0f} ms, {one['before'][1]:.0f} MiB: "
                  f"{one['before'][0] / one['bare'][0]:.2f}x")
    subprocess.run([PY, "-c", "import os; print(f'cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f}')"], check=True)


if __name__ == "__main__":
    main()
