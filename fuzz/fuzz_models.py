"""Mutation fuzzer over real model files: byte flips, truncations and JSON value swaps.

    python fuzz/fuzz_models.py --cases 10000 [--seed 1]

Seeds are the example models in examples/ (Keras 3 .keras) plus their config
rewritten in tf.keras's node format.  Every case runs the whole lint pipeline
in-process; anything other than a clean ``CnnlintError`` is an unhandled
exception, printed with its case and counted.  Exit code 1 if any.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import random
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnlint.rules import select_rules  # noqa: E402

from cnnlint.errors import CnnlintError  # noqa: E402
from cnnlint.findings import Dataset  # noqa: E402
from cnnlint.pipeline import LintSettings, lint_source  # noqa: E402

SETTINGS = LintSettings(tuple(select_rules()))
WEIRD = [None, True, False, 0, -1, 1, 2**63, 1e308, float("nan"), "", "abc", [], {}, [None], [1, 2, 3], {"a": 1},
         "same", "valid", "channels_first", [[1]], -(2**40)]  # fmt: skip


def seeds() -> list[tuple[str, bytes]]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.keras")):
        out.append((path.name, path.read_bytes()))
    return out


def config_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("config.json"))


def rezip(config: object) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


def all_slots(obj: object, path: tuple = ()) -> list[tuple]:
    slots = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            slots.append((*path, key))
            slots += all_slots(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            slots.append((*path, i))
            slots += all_slots(value, (*path, i))
    return slots


def swap_value(rng: random.Random, data: bytes) -> bytes:
    config = config_of(data)
    slots = all_slots(config)
    for _ in range(rng.randint(1, 3)):
        slot = rng.choice(slots)
        target = config
        try:
            for key in slot[:-1]:
                target = target[key]
            if rng.random() < 0.15 and isinstance(target, dict):
                del target[slot[-1]]
            else:
                target[slot[-1]] = copy.deepcopy(rng.choice(WEIRD))  # a fresh object: no shared cycles
        except (KeyError, IndexError, TypeError):
            continue
    return rezip(config)


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "truncate", "swap", "swap", "swap", "json-flip"])
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return kind, bytes(buf)
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    if kind == "json-flip":
        text = bytearray(json.dumps(config_of(data)).encode())
        for _ in range(rng.randint(1, 8)):
            text[rng.randrange(len(text))] = rng.choice(b'{}[],:"0123456789-.eE \\nulltrue')
        return kind, rezip_raw(bytes(text))
    return kind, swap_value(rng, data)


def rezip_raw(text: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", text)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = seeds()
    failures, clean_errors, linted = 0, 0, 0
    slowest = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.keras"
        for case in range(args.cases):
            name, data = rng.choice(pool)
            kind, mutated = mutate(rng, data)
            path.write_bytes(mutated)
            start = time.perf_counter()
            try:
                report = lint_source(path, Dataset(samples=rng.choice([None, 10, 1000, 10**6])), SETTINGS)
                clean_errors += report.error is not None
                linted += report.error is None
            except CnnlintError:
                clean_errors += 1
            except Exception:
                failures += 1
                print(f"case {case} ({kind} of {name}): unhandled\n{traceback.format_exc()}")
            slowest = max(slowest, time.perf_counter() - start)
    print(f"{args.cases} cases: {linted} linted, {clean_errors} clean errors, {failures} unhandled exceptions; "
          f"slowest case {slowest * 1000:.0f} ms")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
