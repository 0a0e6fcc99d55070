"""Mutation fuzzer over real model files: byte flips, truncations, JSON value swaps, and hostile-file classes.

    python fuzz/fuzz_models.py --cases 10000 [--seed 1]

Seeds are the example models in examples/ (Keras 3 .keras).  Besides random
damage, each class of hostile file from issues 15 and 28 is a mutation: hostile
strings in names (newlines, CR, ESC, bidi controls, lone surrogates, invisible
and default-ignorable characters), a payload (Lambda, ``__lambda__`` metric,
TorchModuleWrapper) buried at a random depth, in the compile settings or in a
SavedModel node, names Keras resolves (``module`` + a dotted name, split at a
random dot, under any Keras root) to code, files, non-modeling APIs or objects
outside Keras in a random slot (a layer, an activation, an initializer, an
optimizer's learning rate, a loss), polyglots (HDF5 with the zip in its
userblock or appended, the zip's end record spelled the ways zipfile still
reads), legacy ``.h5`` files with userblocks and links, bzip2/lzma members,
NaN and infinite values, and folders that hide a payload (inside a SavedModel
or unzipped ``.keras`` folder, in a dot-folder, behind a symlink).  Every case
is discovered as the CLI discovers paths, runs the whole lint pipeline
in-process and renders every output format.  Counted as failures, each printed
with its case: an unhandled exception (anything but a clean ``CnnlintError``),
a report that is not clean UTF-8 text free of control, bidi and invisible
characters, JSON output that is not strict JSON, and a planted payload the
safety gate misses (no error-level S4 finding and no error).  Exit code 1 if any.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnlint.reports import FORMATS, RenderOptions  # noqa: E402
from cnnlint.rules import select_rules  # noqa: E402

from cnnlint.discovery import discover  # noqa: E402
from cnnlint.errors import CnnlintError  # noqa: E402
from cnnlint.findings import Dataset  # noqa: E402
from cnnlint.pipeline import LintSettings, ModelReport, lint_source  # noqa: E402
from tests.hostile_corpus import (  # noqa: E402
    LAMBDA,
    _many_members,
    _offset_spelling_eocd,
    _zip_with_comment,
    h5_model,
    remove_tree,
    savedmodel,
)

SETTINGS = LintSettings(tuple(select_rules()))
INVISIBLE = ["\u115f", "\u1160", "\u3164", "\uffa0", "\u034f", "\u180e", "\u206a", "\u00ad", "\U000e0041",
             "\U000e007f", "\ufe0f", "\u200b"]  # fmt: skip
HOSTILE_TEXT = ["\n::error title=forged::x", "\r", "\x1b[31m", "\u202e", "\u2028", "\udc80", "\x00", "\ufeff",
                *INVISIBLE]  # fmt: skip
#: names Keras resolves, spelled under any root and split at any dot (issue 28)
KERAS_ROOTS = ["keras", "tf_keras", "tensorflow.keras", "keras.src", "keras.api"]
CODE_NAMES = ["layers.Lambda", "layers.TorchModuleWrapper", "layers.TFSMLayer", "layers.StringLookup",
              "layers.TextVectorization", "layers.JaxLayer"]  # fmt: skip
API_NAMES = ["utils.get_file", "saving.load_model", "config.enable_unsafe_deserialization", "datasets.mnist.load_data",
             "models.load_model", "utils.load_img", "backend.clear_session", "saving.deserialize_keras_object",
             "datasets.cifar10.load_data", "utils.FeatureSpace"]  # fmt: skip
FOREIGN_NAMES = [("tf_keras.src.utils.io_utils", "os.system"), ("tensorflow.python.ops.init_ops", "np.load"),
                 ("builtins", "exec"), ("os", "system"), ("subprocess", "run"), ("tf_keras.src.engine.training", "os.remove"),
                 ("tensorflow.python.ops.init_ops_v2", "os.system")]  # fmt: skip


class _Unsafe:
    """What no output may hold: controls, format characters (bidi, zero-width, tags...), separators, private-use and
    unassigned code points, lone surrogates, and the invisible characters planted above."""

    def search(self, text: str) -> str | None:
        for char in text:
            code = ord(char)
            if code < 0x80:
                if (code < 0x20 and char != "\n") or code == 0x7F:
                    return char
            elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or char in INVISIBLE:
                return char
        return None


UNSAFE = _Unsafe()
PAYLOADS = [LAMBDA, {"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"name": "t"}},
            {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}},
            {"module": "builtins", "class_name": "function", "config": "exec"}]  # fmt: skip
WEIRD = [None, True, False, 0, -1, 1, 2**63, 1e308, float("nan"), float("inf"), float("-inf"), "", "abc", [], {},
         [None], [1, 2, 3], {"a": 1}, "same", "valid", "channels_first", [[1]], -(2**40)]  # fmt: skip


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


def _split(rng: random.Random, path: str) -> tuple[str, str]:
    """``module`` + name for a dotted path, cut at a random dot (Keras joins them back)."""
    parts = path.split(".")
    cut = rng.randint(1, len(parts) - 1)
    return ".".join(parts[:cut]), ".".join(parts[cut:])


def resolved_payload(rng: random.Random) -> dict:
    """A name Keras resolves to code, a file reader, a non-modeling API or an object outside Keras."""
    kind = rng.choice(["code", "api", "foreign"])
    if kind == "foreign":
        module, name = rng.choice(FOREIGN_NAMES)
        return {"module": module, "class_name": "function", "config": name, "registered_name": name}
    path = f"{rng.choice(KERAS_ROOTS)}.{rng.choice(CODE_NAMES if kind == 'code' else API_NAMES)}"
    module, name = _split(rng, path)
    if kind == "api":
        return {"module": module, "class_name": "function", "config": name, "registered_name": name}
    config = {"name": "p", "function": copy.deepcopy(LAMBDA["config"]["function"]), "module": "gASV",
              "filepath": "/srv/sm", "vocabulary": "/etc/passwd"}  # fmt: skip
    return {"module": module, "class_name": name, "config": config}


def resolved_name(rng: random.Random, data: bytes) -> bytes:
    """A resolved payload in a random slot: a layer, an activation, an initializer, a learning rate, a loss."""
    config = config_of(data)
    payload = resolved_payload(rng)
    layers = [e for e in config["config"]["layers"] if isinstance(e, dict)]
    slot = rng.choice(["layer", "activation", "initializer", "learning_rate", "loss"])
    if slot == "layer":
        config["config"]["layers"].insert(rng.randint(1, len(config["config"]["layers"])), payload)
    elif slot in ("activation", "initializer"):
        key = "activation" if slot == "activation" else "kernel_initializer"
        rng.choice(layers).setdefault("config", {})[key] = payload
    elif slot == "learning_rate":
        config["compile_config"] = {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                                  "config": {"learning_rate": payload}}, "loss": "mse"}  # fmt: skip
    else:
        config["compile_config"] = {"optimizer": "adam", "loss": payload}
    return rezip(config)


def zip_tail(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """A polyglot whose appended zip's end record is spelled a way zipfile still reads."""
    h5 = h5_model(config_of(data))
    evil = buried_payload(rng, data)
    trick = rng.choice(["locator", "locator", "offset", "offset", "members"])
    if trick == "locator":
        tail = _zip_with_comment(zip_member(evil), b"PK\x06\x07" + bytes(rng.choice([4, 16])) + b"\x01\x00\x00\x00")
    elif trick == "offset":
        tail = _offset_spelling_eocd(evil)
    else:
        tail = _many_members(zip_member(evil), 10_000 + rng.randint(1, 50))
    return rng.choice([".keras", ".h5"]), h5 + tail


def zip_member(archive: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return opened.read("config.json")


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
PLANTED = {"payload", "polyglot", "savedmodel", "resolved", "zip-tail", "folder"}


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "truncate", "swap", "swap", "swap", "json-flip", "names", "names", "payload",
                       "payload", "polyglot", "h5", "compress", "savedmodel", "resolved", "resolved", "zip-tail",
                       "folder"])  # fmt: skip
    if kind == "names":
        return kind, hostile_names(rng, data)
    if kind == "resolved":
        return kind, resolved_name(rng, data)
    if kind == "zip-tail":
        suffix, out = zip_tail(rng, data)
        return kind + suffix, out
    if kind == "folder":
        return kind, buried_payload(rng, data) if rng.random() < 0.5 else resolved_name(rng, data)
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


def folder_case(rng: random.Random, folder: Path, data: bytes) -> Path:
    """A folder a walk that stopped at models, skipped dot-folders or ignored links would pass: the payload file sits
    inside a SavedModel or unzipped .keras folder, in a dot-folder, or behind a link inside the tree."""
    root = folder / "case_folder"
    benign = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": []}}
    shape = rng.choice(["savedmodel", "keras-folder", "plain"])
    if shape == "savedmodel":
        savedmodel(root, [("root", {"model_config": benign})])
    elif shape == "keras-folder":
        root.mkdir()
        (root / "config.json").write_text(json.dumps(benign))
        (root / "metadata.json").write_text("{}")
    else:
        root.mkdir()
    where = root.joinpath(*rng.choice([["models"], [".cache", "x"], ["a", ".b", "c"], ["deep"] * rng.randint(1, 30)]))
    if rng.random() < 0.3:  # reached only through a link inside the tree
        hidden = root / ".git" / "store"  # never walked itself
        hidden.mkdir(parents=True)
        where.parent.mkdir(parents=True, exist_ok=True)
        where.symlink_to(hidden, target_is_directory=True)
        where = hidden
    where.mkdir(parents=True, exist_ok=True)
    (where / rng.choice(["evil.keras", "m.keras"])).write_bytes(data)
    return root


def write_case(folder: Path, kind: str, data: bytes, rng: random.Random) -> Path:
    """The case as the file (or folder) a user would lint."""
    if kind == "folder":
        return folder_case(rng, folder, data)
    if kind == "savedmodel":
        config = config_of(data)
        nodes = [("root", {"model_config": {k: v for k, v in config.items() if k != "compile_config"},
                           "training_config": config.get("compile_config")})]  # fmt: skip
        nodes += [(f"root.layer-{i}", layer) for i, layer in enumerate(config["config"]["layers"])]
        path = folder / "case_savedmodel"
        savedmodel(path, nodes)
        return path
    path = folder / ("case.h5" if kind in ("h5", "polyglot.h5", "zip-tail.h5") else "case.keras")
    path.write_bytes(data)
    return path


def check_reports(reports: list[ModelReport], kind: str) -> list[str]:
    """What is wrong with a case's reports: an unsafe, unencodable or non-strict output, or a planted payload that
    passed the gate (on every model the case's path holds)."""
    problems = []
    for name, render in FORMATS.items():
        text = render(reports, RenderOptions())
        text.encode("utf-8")
        found = UNSAFE.search(text)
        if found is not None:
            problems.append(f"{name} output holds {found!r}")
        if name in ("json", "sarif"):
            try:
                json.loads(text, parse_constant=_not_json)
            except ValueError as exc:
                problems.append(f"{name} output is not strict JSON ({exc})")
    planted = kind.split(".")[0] in PLANTED
    gate = any(r.error is not None or any(f.code.startswith("S4") and f.severity == "error" for f in r.findings)
               for r in reports)  # fmt: skip
    if planted and not gate:
        problems.append("planted payload passed the safety gate")
    return problems


def _not_json(name: str) -> None:
    raise ValueError(f"bare {name}")


def lint_case(path: Path, dataset: Dataset) -> list[ModelReport]:
    """The case's path as the CLI lints it: every model it holds, each path that names none as an error."""
    sources, problems = discover([str(path)], [])
    reports = [lint_source(source, dataset, SETTINGS) for source in sources]
    return reports + [ModelReport(path=p, dataset=dataset, error=message) for p, message, _ in problems]


def clear(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
        else:
            entry.unlink()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = seeds()
    failures, clean_errors, linted = 0, 0, 0
    slowest = 0.0
    kinds: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)  # links inside a case stay inside the working directory, as in a checkout
        try:
            for case in range(args.cases):
                name, data = rng.choice(pool)
                kind, mutated = mutate(rng, data)
                kinds[kind.split(".")[0]] = kinds.get(kind.split(".")[0], 0) + 1
                clear(Path(tmp))
                path = write_case(Path(tmp), kind, mutated, rng)
                start = time.perf_counter()
                try:
                    reports = lint_case(path, Dataset(samples=rng.choice([None, 10, 1000, 10**6])))
                    clean_errors += sum(r.error is not None for r in reports)
                    linted += sum(r.error is None for r in reports)
                    problems = check_reports(reports, kind)
                    if problems:
                        failures += 1
                        print(f"case {case} ({kind} of {name}): {'; '.join(problems)}")
                        keep = Path(here) / "fuzz_failures" / f"case{case}"
                        keep.parent.mkdir(exist_ok=True)
                        shutil.copytree(path, keep, symlinks=True) if path.is_dir() else shutil.copy(path, keep)
                except CnnlintError:
                    clean_errors += 1
                except Exception:
                    failures += 1
                    print(f"case {case} ({kind} of {name}): unhandled\n{traceback.format_exc()}")
                slowest = max(slowest, time.perf_counter() - start)
        finally:
            os.chdir(here)
    print(f"{args.cases} cases: {linted} linted, {clean_errors} clean errors, {failures} unhandled (exceptions, "
          "unsafe output or payloads passing the gate); "
          f"slowest case {slowest * 1000:.0f} ms; by kind {dict(sorted(kinds.items()))}")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
