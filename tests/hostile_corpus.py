"""Build a corpus of hostile and broken model files (used by tests/test_robustness.py and benchmarks).

    python tests/hostile_corpus.py OUT_DIR

Every entry must give one clean error line (exit 2) or findings: never a
traceback, never a hang.  ``dangerous()`` builds files that are dangerous to
load with Keras (polyglots, payloads hidden deep or in compile settings,
SavedModel nodes, HDF5 links and external storage, userblocks): the safety
gate, ``--select S4 --severity error``, must fail on every one of them.
``expensive()`` builds the time and memory worst cases (HDF5 link cycles,
bzip2/lzma members, zip64 and 65,535-entry directories, huge JSON, long
chains), which must stay under 2 s and 200 MiB (benchmarks/bench_hostile.py).
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


# ---- files dangerous to load: the gate must fail on each (tests/test_gate.py) -------------------------

LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "config": {
    "name": "payload", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                                           "closure": None}}}}  # fmt: skip


def sequential(*layers: dict, **extra) -> dict:
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        *layers]}, **extra}  # fmt: skip


def dense(name: str = "d", **extra) -> dict:
    return {"module": "keras.layers", "class_name": "Dense", "config": {"name": name, "units": 2, **extra}}


def h5_model(config: dict, training: dict | None = None, userblock: int = 0, weights=None) -> bytes:
    """A legacy full-model .h5 (model_config as Keras writes it), optionally with a userblock."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", userblock_size=userblock) if userblock else h5py.File(buffer, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        handle.attrs["keras_version"] = "2.15.0"
        if training is not None:
            handle.attrs["training_config"] = json.dumps(training)
        group = handle.create_group("model_weights")
        if weights is not None:
            weights(handle, group)
    return buffer.getvalue()


def weights_h5(edit) -> bytes:
    """A model.weights.h5 in the Keras 3 layout for a one-Dense model, changed by ``edit(handle)``."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_dataset("layers/dense/vars/0", shape=(8, 2), dtype="f4")
        handle.create_dataset("layers/dense/vars/1", shape=(2,), dtype="f4")
        edit(handle)
    return buffer.getvalue()


def savedmodel(folder: Path, nodes: list[tuple[str, dict]]) -> Path:
    """A SavedModel folder whose keras_metadata.pb holds these (node path, metadata) nodes, node 0 first."""
    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    data = b"".join(field(1, field(3, path.encode()) + field(4, b"_tf_keras_layer") + field(5, json.dumps(meta).encode()))
                    for path, meta in nodes)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "keras_metadata.pb").write_bytes(data)
    (folder / "saved_model.pb").write_bytes(b"")
    return folder


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def nested(leaf: dict, wrap, depth: int) -> dict:
    for index in range(depth):
        leaf = wrap(leaf, index)
    return leaf


def dangerous(out: Path) -> list[Path]:
    """Files Keras would run code from or read other files for; each must fail the safety gate."""
    out.mkdir(parents=True, exist_ok=True)
    benign = json.dumps(sequential(dense())).encode()
    evil = json.dumps(sequential(LAMBDA, dense())).encode()
    benign_h5, evil_h5 = h5_model(sequential(dense())), h5_model(sequential(LAMBDA, dense()))
    pipeline = nested(LAMBDA, lambda inner, i: {"module": "keras.layers", "class_name": "Pipeline",
                                                "config": {"name": f"p{i}", "layers": [inner]}}, 67)  # fmt: skip
    vocabulary = nested({"module": "keras.layers", "class_name": "StringLookup",
                         "config": {"name": "lookup", "vocabulary": "/etc/passwd"}},
                        lambda inner, i: {"wrapped": inner}, 210)  # fmt: skip
    metric = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}
    compiled = sequential(dense(), compile_config={"optimizer": "adam", "loss": "mse", "metrics": [metric]})
    files: dict[str, bytes] = {
        # an HDF5 model with a Lambda whose userblock holds a benign .keras zip: Keras reads x.h5 as HDF5
        "polyglot_userblock.h5": _with_userblock(evil_h5, keras_zip(benign)),
        # a benign HDF5 model with a Lambda .keras zip appended: Keras reads x.keras as the zip
        "polyglot_appended.keras": benign_h5 + keras_zip(evil),
        "polyglot_appended.h5": benign_h5 + keras_zip(evil),
        "lambda_userblock.h5": h5_model(sequential(LAMBDA, dense()), userblock=512),
        "lambda_deep_pipeline.keras": keras_zip(json.dumps(sequential(pipeline)).encode()),
        "vocabulary_deep.keras": keras_zip(json.dumps(sequential(dense(pad=vocabulary))).encode()),
        "payload_after_2m_lists.keras": keras_zip(b'{"class_name": "Sequential", "config": {"pad": ['
                                                  + b"[]," * 2_100_000 + b'[]], "layers": []}}',
                                                  zipfile.ZIP_DEFLATED),  # fmt: skip
        "lambda_metric.keras": keras_zip(json.dumps(compiled).encode()),
        "lambda_metric.h5": h5_model(sequential(dense()), training={"loss": "mse", "metrics": [metric]}),
        "torch_module.keras": keras_zip(json.dumps(sequential({"module": "keras.layers", "class_name":
                                        "TorchModuleWrapper", "config": {"name": "t", "module": "gASV"}})).encode()),  # fmt: skip
        "weights_external_storage.keras": keras_zip(benign, weights=weights_h5(lambda h: h.create_dataset(
            "layers/dense/vars/2", shape=(4,), dtype="f4", external=[("/etc/passwd", 0, 16)]))),
        "weights_soft_link.keras": keras_zip(benign, weights=weights_h5(
            lambda h: h.__setitem__("layers/dense/vars/2", __import__("h5py").SoftLink("/layers/dense/vars/0")))),
        "weights_external_link.keras": keras_zip(benign, weights=weights_h5(
            lambda h: h.__setitem__("layers/dense/vars/2", __import__("h5py").ExternalLink("/etc/x.h5", "/d")))),
        "weights_deflated.keras": keras_zip(benign, zipfile.ZIP_DEFLATED, weights=weights_h5(lambda h: None)),
        "h5_external_storage.h5": h5_model(sequential(dense()), weights=lambda handle, group: group.create_dataset(
            "dense/kernel", shape=(4,), dtype="f4", external=[("/etc/passwd", 0, 16)])),
    }
    paths = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    node = json.loads(json.dumps(sequential(dense())))
    paths.append(savedmodel(out / "savedmodel_layer_node", [("root", {"class_name": "Sequential", **node}),
                                                              ("root.layer-1", LAMBDA)]))  # fmt: skip
    paths.append(savedmodel(out / "savedmodel_node0_not_root", [("evil", {"model_config": sequential(LAMBDA)}),
                                                                  ("root", {"model_config": sequential(dense())})]))  # fmt: skip
    paths.append(savedmodel(out / "savedmodel_training", [("root", {"model_config": sequential(dense()),
                                                                    "training_config": {"loss": metric}})]))  # fmt: skip
    paths.append(savedmodel(out / "savedmodel_root_config", [("root", {"model_config": sequential(dense()),
                                                                       **sequential(LAMBDA)})]))  # fmt: skip
    return paths


# ---- time and memory worst cases: each <= 2 s and <= 200 MiB (benchmarks/bench_hostile.py) -------------


def expensive(out: Path) -> list[Path]:
    """The slowest and largest inputs each class of hostile file can be, at the readers' limits."""
    from cnnlint.graph.builder import MAX_LAYERS
    from cnnlint.readers.base import MAX_JSON_CONTAINERS

    out.mkdir(parents=True, exist_ok=True)
    custom = json.dumps(sequential({"module": "my_lab.layers", "class_name": "Evil", "config": {"name": "evil"}}))
    files: dict[str, bytes] = {
        "h5_link_cycles.h5": h5_model(json.loads(custom), weights=_link_cycles),
        "h5_self_link.h5": h5_model(json.loads(custom), weights=_self_link),
        "weights_link_cycles.keras": keras_zip(custom.encode(), weights=weights_h5(lambda h: _link_cycles(h, h))),
        "h5_audit_budget.h5": h5_model(json.loads(custom), weights=_just_under_audit_budget),
        "bzip2_member.keras": _compressed_member(zipfile.ZIP_BZIP2),
        "lzma_member.keras": _compressed_member(zipfile.ZIP_LZMA),
        "savedmodel_json_cap/keras_metadata.pb": b"",  # replaced below
        "model_config_100mb.h5": b"",  # replaced below
        "zip64_directory.keras": _zip64_directory_bomb(),
        "entries_65535.keras": _many_entries(65_535),
        "json_16mib_dicts.json": b'{"class_name": "Sequential", "config": {"pad": ['
                                 + b"{}," * (5 * 1024 * 1024) + b'{}], "layers": []}}',  # fmt: skip
        "json_container_cap.json": json.dumps(sequential(dense(pad=[{"a": [1]} for _ in range(
            (MAX_JSON_CONTAINERS - 100) // 2)]))).encode(),  # the most JSON the safety scan walks  # fmt: skip
        "functional_chain_reversed.json": functional_chain(MAX_LAYERS - 1, reverse=True),  # the most it builds
        "functional_chain_20000.json": functional_chain(20_000, reverse=True),
        "sequential_99000.json": json.dumps(sequential(*[dense(f"d{i}") for i in range(99_000)])).encode(),
    }
    paths = []
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.startswith("savedmodel_json_cap"):
            big = {"model_config": sequential(dense()), "pad": "x" * (60 * 1024 * 1024)}
            path = savedmodel(out / "savedmodel_json_cap", [("root", big)])
        elif name == "model_config_100mb.h5":
            _huge_vlen_config(path)
        else:
            path.write_bytes(data)
        paths.append(path)
    fifo_folder = out / "fifo_folder"
    fifo_folder.mkdir(exist_ok=True)
    (fifo_folder / "model.keras").write_bytes(keras_zip(json.dumps(sequential(dense())).encode()))
    if not (fifo_folder / "blocked.keras").exists():
        os.mkfifo(fifo_folder / "blocked.keras")
    paths.append(fifo_folder)
    return paths


def functional_chain(length: int, reverse: bool) -> bytes:
    """A Functional model: input, then ``length`` Dense layers in a chain, listed last-first if ``reverse``."""
    layers = [{"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"},
               "inbound_nodes": []}]  # fmt: skip
    previous = "in"
    for index in range(length):
        name = f"d{index}"
        layers.append({"class_name": "Dense", "name": name, "config": {"name": name, "units": 4},
                       "inbound_nodes": [[[previous, 0, 0, {}]]]})  # fmt: skip
        previous = name
    if reverse:
        layers = [layers[0], *reversed(layers[1:])]
    return json.dumps({"class_name": "Functional", "config": {
        "name": "chain", "input_layers": [["in", 0, 0]], "output_layers": [[previous, 0, 0]], "layers": layers}}).encode()  # fmt: skip


def _link_cycles(handle, group) -> None:
    """Ten groups, each hard-linking the next two and the first: 2**10 paths per walk without a visited set."""
    groups = [group.create_group(f"g{i}") for i in range(10)]
    for index, current in enumerate(groups):
        for offset in (1, 2):
            current[f"to{offset}"] = groups[(index + offset) % len(groups)]
        current["first"] = groups[0]
    group.create_group("evil/vars")


def _just_under_audit_budget(handle, group) -> None:
    """Datasets and groups up to just under the HDF5 audit's object budget: the slowest file it reads to the end."""
    from cnnlint.readers.hdf5_audit import MAX_OBJECTS

    many = group.create_group("evil/vars")
    for index in range(MAX_OBJECTS // 2 - 100):
        many.create_dataset(f"d{index}", shape=(1,), dtype="f4")
        many.create_group(f"g{index}")


def _self_link(handle, group) -> None:
    loop = group.create_group("evil")
    for index in range(64):
        loop[f"self{index}"] = loop


def _compressed_member(method: int) -> bytes:
    """A .keras whose config.json is 2 GiB of spaces after the JSON, bzip2- or lzma-compressed to a few KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive, archive.open("config.json", "w",
                                                                                     force_zip64=True) as stream:  # fmt: skip
        stream.write(json.dumps(sequential(dense())).encode())
        chunk = b" " * (16 * 1024 * 1024)
        for _ in range(8 if method == zipfile.ZIP_LZMA else 32):  # 128 MiB (lzma) or 512 MiB (bzip2) unpacked
            stream.write(chunk)
    return buffer.getvalue()


def _zip64_directory_bomb() -> bytes:
    """A zip64 end record claiming 2**40 entries and a 64 GiB central directory."""
    import struct

    body = keras_zip(json.dumps(sequential(dense())).encode())
    eocd_at = body.rfind(b"PK\x05\x06")
    record_at = len(body[:eocd_at])
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 2**40, 2**40, 2**36, 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, record_at, 1)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body[:eocd_at] + record + locator + eocd


def _many_entries(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(sequential(dense())))
        for index in range(count - 1):
            archive.writestr(f"assets/{index}", b"")
    return buffer.getvalue()


def _huge_vlen_config(path: Path) -> None:
    """A legacy .h5 whose model_config is a 100 MB variable-length string (storage size says 16 bytes)."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(sequential(dense())) + " " * (100 * 1024 * 1024)


def _with_userblock(h5_with_room: bytes, payload: bytes) -> bytes:
    """Put ``payload`` in the userblock of an HDF5 file built with one large enough, or rebuild it with one."""
    size = 512
    while size < len(payload):
        size *= 2
    import h5py

    with h5py.File(io.BytesIO(h5_with_room), "r") as source:
        config, version = source.attrs["model_config"], source.attrs["keras_version"]
    data = bytearray(h5_model(json.loads(config), userblock=size))
    assert bytes(data[size : size + 8]) == b"\x89HDF\r\n\x1a\n" and version
    data[: len(payload)] = payload
    return bytes(data)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the limits come from this checkout's cnnlint
    target = Path(sys.argv[1])
    for p in [*build(target), *dangerous(target / "dangerous"), *expensive(target / "expensive")]:
        print(p)
