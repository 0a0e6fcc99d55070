"""Build a corpus of hostile and broken model files (used by tests/test_robustness.py and benchmarks).

    python tests/hostile_corpus.py OUT_DIR

Every entry must give one clean error line (exit 2) or findings: never a
traceback, never a hang.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path

GOOD = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 16, 16, 1], "name": "in"}},
    {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3}},
    {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "f"}},
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 3}},
]}}  # fmt: skip


def keras_zip(config_bytes: bytes, compression: int = zipfile.ZIP_STORED, weights: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr("config.json", config_bytes)
        if weights is not None:
            archive.writestr("model.weights.h5", weights)
    return buffer.getvalue()


def mutated(path_in_config: list, value) -> bytes:
    config = json.loads(json.dumps(GOOD))
    target = config
    for key in path_in_config[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path_in_config[-1]]
    else:
        target[path_in_config[-1]] = value
    return json.dumps(config).encode()


def functional(inbound_for_dense) -> bytes:
    return json.dumps({"class_name": "Functional", "config": {
        "name": "f", "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]], "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"},
             "inbound_nodes": []},
            {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": inbound_for_dense},
        ]}}).encode()  # fmt: skip


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    conv = ["config", "layers", 1, "config"]
    files: dict[str, bytes] = {
        "empty.keras": b"",
        "not_a_model.keras": b"hello world",
        "lfs_pointer.keras": b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n",
        "truncated.keras": keras_zip(json.dumps(GOOD).encode() * 20, zipfile.ZIP_DEFLATED)[:300],
        "no_config.keras": keras_zip(b"")[:0] + _zip_without_config(),
        "bad_json.keras": keras_zip(b'{"class_name": "Sequential", "config": {"layers": ['),
        "non_utf8.keras": keras_zip(b'{"class_name": "\xff\xfe\xfa"}'),
        "deep.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "deep_list.json": b'{"class_name": "Sequential", "config": {"layers": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
        "huge.json": b'{"class_name": "Sequential", "config": {"pad": "' + b"x" * (17 * 1024 * 1024) + b'"}}',
        "filters_abc.keras": keras_zip(mutated([*conv, "filters"], "abc")),
        "kernel_negative.keras": keras_zip(mutated([*conv, "kernel_size"], -1)),
        "kernel_null.keras": keras_zip(mutated([*conv, "kernel_size"], None)),
        "layers_null.keras": keras_zip(mutated(["config", "layers"], None)),
        "layer_is_string.keras": keras_zip(mutated(["config", "layers", 1], "Conv2D")),
        "missing_class.keras": keras_zip(mutated(["config", "layers", 1, "class_name"], KeyError)),
        "missing_config.keras": keras_zip(mutated(["config"], KeyError)),
        "shape_strings.keras": keras_zip(mutated(["config", "layers", 0, "config", "batch_shape"], ["a", "b"])),
        "huge_filters.keras": keras_zip(mutated([*conv, "filters"], 10**30)),
        "float_units.keras": keras_zip(mutated(["config", "layers", 3, "config", "units"], 2.5)),
        "bool_units.keras": keras_zip(mutated(["config", "layers", 3, "config", "units"], True)),
        "cyclic.json": functional([[["d", 0, 0, {}]]]),
        "dangling.json": functional([[["ghost", 0, 0, {}]]]),
        "bad_node_index.json": functional([[["in", 7, 3, {}]]]),
        "node_garbage.json": functional([[[1, 2, 3]]]),
        "fake.h5": b"\x89HDF\r\n\x1a\n" + os.urandom(2000),
        "list.json": b"[1, 2, 3]",
    }
    paths = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    paths.append(_zip_bomb(out / "bomb.keras"))
    paths.append(_h5_garbage_config(out / "garbage_config.h5"))
    custom = mutated(["config", "layers", 1, "module"], "my_package.layers")
    (out / "custom_garbage_weights.keras").write_bytes(keras_zip(custom, weights=os.urandom(4096)))
    paths.append(out / "custom_garbage_weights.keras")
    paths.append(_custom_padded_weights(out / "custom_padded_weights.keras", custom))
    folder = out / "folder.keras"
    folder.mkdir(exist_ok=True)
    paths.append(folder)
    loop_a, loop_b = out / "loop_a.keras", out / "loop_b.keras"
    for link, target in ((loop_a, loop_b), (loop_b, loop_a)):
        if not link.is_symlink():
            link.symlink_to(target)
    paths.append(loop_a)
    return paths


def _zip_without_config() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.weights.h5", b"x")
    return buffer.getvalue()


def _zip_bomb(path: Path) -> Path:
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("config.json", "w", force_zip64=True) as stream,
    ):
        for _ in range(64):
            stream.write(b"[" * (1 << 20))
    return path


def _h5_garbage_config(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = "garbage{{{ \u00ff"
    return path


def _custom_padded_weights(path: Path, config: bytes) -> Path:
    """A custom layer whose group in model.weights.h5 holds just under the reader's object budget: the
    slowest weights file to count (readers/weights.py visits only the groups it needs, up to MAX_OBJECTS)."""
    import h5py

    from cnnlint.readers.weights import MAX_OBJECTS

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        group = handle.create_group("layers/conv2d/vars")
        for index in range(MAX_OBJECTS - 100):
            group.create_dataset(str(index), shape=(1,), dtype="f4")
    path.write_bytes(keras_zip(config, weights=buffer.getvalue()))
    return path


if __name__ == "__main__":
    for p in build(Path(sys.argv[1])):
        print(p)
