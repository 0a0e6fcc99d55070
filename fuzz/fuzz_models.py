"""Mutation fuzzer over real model files: byte flips, truncations, JSON value swaps, and hostile-file classes.

    python fuzz/fuzz_models.py --cases 10000 [--seed 1]

Seeds are the example models in examples/ (Keras 3 .keras).  Besides random
damage, each class of hostile file from issue 15 is a mutation: hostile
strings in names (newlines, CR, ESC, bidi controls, lone surrogates), a payload
(Lambda, ``__lambda__`` metric, TorchModuleWrapper) buried at a random depth,
in the compile settings or in a SavedModel node, polyglots (HDF5 with the zip
in its userblock or appended), legacy ``.h5`` files with userblocks and links,
and bzip2/lzma members.  Every case runs the whole lint pipeline in-process and
renders every output format.  Counted as failures, each printed with its case:
an unhandled exception (anything but a clean ``CnnlintError``), a report that
is not clean UTF-8 text free of control and bidi characters, and a planted
payload the safety gate misses (no error-level S4 finding and no error).
Exit code 1 if any.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import random
import re
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnlint.reports import FORMATS, RenderOptions  # noqa: E402
from cnnlint.rules import select_rules  # noqa: E402

from cnnlint.errors import CnnlintError  # noqa: E402
from cnnlint.findings import Dataset  # noqa: E402
from cnnlint.pipeline import LintSettings, ModelReport, lint_source  # noqa: E402
from tests.hostile_corpus import LAMBDA, h5_model, savedmodel  # noqa: E402

SETTINGS = LintSettings(tuple(select_rules()))
HOSTILE_TEXT = ["\n::error title=forged::x", "\r", "\x1b[31m", "\u202e", "\u2028", "\udc80", "\x00", "\ufeff"]
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
PAYLOADS = [LAMBDA, {"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"name": "t"}},
            {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}},
            {"module": "builtins", "class_name": "function", "config": "exec"}]  # fmt: skip
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


def hostile_names(rng: random.Random, data: bytes) -> bytes:
    """Layer and model names carrying injection characters (a crash or an injection if they reach a report raw)."""
    config = config_of(data)
    entries = [config] + [e for e in config["config"].get("layers", []) if isinstance(e, dict)]
    for entry in rng.sample(entries, k=min(len(entries), rng.randint(1, 3))):
        name = "".join(rng.choice(HOSTILE_TEXT) for _ in range(rng.randint(1, 4)))
        if isinstance(entry.get("config"), dict):
            entry["config"]["name"] = name
        entry["name"] = name
    return rezip(config)


def wrap(how: str, inner: object, level: int) -> object:
    if how == "dict":
        return {"wrapped": inner}
    if how == "list":
        return [inner]
    if how == "pipeline":
        return {"class_name": "Pipeline", "config": {"name": f"p{level}", "layers": [inner]}}
    return {"class_name": "TimeDistributed", "config": {"name": f"t{level}", "layer": inner}}


def buried_payload(rng: random.Random, data: bytes) -> bytes:
    """A payload wrapped in up to 300 levels of dicts, lists, Pipelines or TimeDistributed, or in the compile config."""
    config = config_of(data)
    payload = copy.deepcopy(rng.choice(PAYLOADS))
    for level in range(rng.randint(0, 300)):
        payload = wrap(rng.choice(["dict", "list", "pipeline", "wrapper"]), payload, level)
    if rng.random() < 0.3:
        config["compile_config"] = {"optimizer": "adam", "loss": "mse", "metrics": [payload]}
    else:
        layer = rng.choice([e for e in config["config"]["layers"] if isinstance(e, dict)])
        layer.setdefault("config", {})["extra"] = payload
    return rezip(config)


def polyglot(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """The zip and an HDF5 model in one file: zip appended to the HDF5, or in its userblock."""
    h5 = h5_model(config_of(data))
    if rng.random() < 0.5:
        return rng.choice([".keras", ".h5"]), h5 + data
    size = 512
    while size < len(data):
        size *= 2
    ub = bytearray(h5_model(config_of(data), userblock=size))
    ub[: len(data)] = data
    return rng.choice([".keras", ".h5"]), bytes(ub)


def legacy_h5(rng: random.Random, data: bytes) -> bytes:
    """The config as a legacy .h5 (userblock, links in model_weights), then byte damage."""
    import h5py

    def links(handle, group) -> None:
        if rng.random() < 0.5:
            group["x"] = h5py.ExternalLink("/etc/x.h5", "/d")
        if rng.random() < 0.5:
            group["loop"] = group

    out = bytearray(h5_model(config_of(data), userblock=rng.choice([0, 0, 512, 2048]), weights=links))
    for _ in range(rng.randint(0, 10)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def recompress(rng: random.Random, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=rng.choice([zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])) as archive:
        archive.writestr("config.json", json.dumps(config_of(data)))
    return buffer.getvalue()


#: mutations that plant something dangerous: the safety gate must fail on every case they make
PLANTED = {"payload", "polyglot", "savedmodel"}


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "truncate", "swap", "swap", "swap", "json-flip", "names", "names", "payload",
                       "payload", "polyglot", "h5", "compress", "savedmodel"])  # fmt: skip
    if kind == "names":
        return kind, hostile_names(rng, data)
    if kind == "payload":
        return kind, buried_payload(rng, data)
    if kind == "polyglot":
        suffix, out = polyglot(rng, buried_payload(rng, data) if rng.random() < 0.5 else data)
        return kind + suffix, out
    if kind == "h5":
        return kind, legacy_h5(rng, data)
    if kind == "compress":
        return kind, recompress(rng, data)
    if kind == "savedmodel":
        return kind, buried_payload(rng, data)
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


def write_case(folder: Path, kind: str, data: bytes) -> Path:
    """The case as the file (or SavedModel folder) a user would lint."""
    if kind == "savedmodel":
        config = config_of(data)
        nodes = [("root", {"model_config": {k: v for k, v in config.items() if k != "compile_config"},
                           "training_config": config.get("compile_config")})]  # fmt: skip
        nodes += [(f"root.layer-{i}", layer) for i, layer in enumerate(config["config"]["layers"])]
        path = folder / "case_savedmodel"
        savedmodel(path, nodes)
        return path
    path = folder / ("case.h5" if kind in ("h5", "polyglot.h5") else "case.keras")
    path.write_bytes(data)
    return path


def check_report(report: ModelReport, kind: str) -> list[str]:
    """What is wrong with a report: an unsafe or unencodable output, or a planted payload that passed the gate."""
    problems = []
    for name, render in FORMATS.items():
        text = render([report], RenderOptions())
        text.encode("utf-8")
        if UNSAFE.search(text):
            problems.append(f"{name} output holds {UNSAFE.search(text).group()!r}")
    planted = kind.split(".")[0] in PLANTED
    gate = report.error is not None or any(f.code.startswith("S4") and f.severity == "error" for f in report.findings)
    if planted and not gate:
        problems.append("planted payload passed the safety gate")
    return problems


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
        for case in range(args.cases):
            name, data = rng.choice(pool)
            kind, mutated = mutate(rng, data)
            path = write_case(Path(tmp), kind, mutated)
            start = time.perf_counter()
            try:
                report = lint_source(path, Dataset(samples=rng.choice([None, 10, 1000, 10**6])), SETTINGS)
                clean_errors += report.error is not None
                linted += report.error is None
                problems = check_report(report, kind)
                if problems:
                    failures += 1
                    print(f"case {case} ({kind} of {name}): {'; '.join(problems)}")
            except CnnlintError:
                clean_errors += 1
            except Exception:
                failures += 1
                print(f"case {case} ({kind} of {name}): unhandled\n{traceback.format_exc()}")
            slowest = max(slowest, time.perf_counter() - start)
    print(f"{args.cases} cases: {linted} linted, {clean_errors} clean errors, {failures} unhandled (exceptions, "
          "unsafe output or payloads passing the gate); "
          f"slowest case {slowest * 1000:.0f} ms")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
