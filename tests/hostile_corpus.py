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
import struct
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


def spelled(*layers: dict, **extra) -> bytes:
    """A .keras file of a Sequential model holding ``layers``."""
    return keras_zip(json.dumps(sequential(*layers, **extra)).encode())


def dotted(class_name: str, config: dict, module: str = "keras") -> dict:
    """A layer named the way Keras 3 resolves it too: ``module`` + a dotted ``class_name`` (``layers.Lambda``)."""
    return {"module": module, "class_name": class_name, "config": {"name": "p", **config}}


def function(module: str, name: str) -> dict:
    return {"module": module, "class_name": "function", "config": name, "registered_name": name}


#: names Keras resolves to objects that are not built-in model parts, spelled the ways Keras 3 and tf_keras resolve
#: them (issue 28): each (file name, bytes, codes the gate must report)
def resolved_names() -> dict[str, bytes]:
    load_model = function("keras", "saving.load_model")
    adam = {"module": "keras.optimizers", "class_name": "Adam",
            "config": {"learning_rate": function("keras.datasets.mnist", "load_data")}}  # fmt: skip
    return {
        "dotted_torch_module.keras": spelled(dotted("layers.TorchModuleWrapper", {"module": "gASV"})),
        "dotted_tfsm_layer.keras": spelled(dotted("layers.TFSMLayer", {"filepath": "/srv/models/sm"})),
        "dotted_string_lookup.keras": spelled(dotted("layers.StringLookup", {"vocabulary": "/etc/passwd"})),
        "dotted_text_vectorization.keras": spelled(dotted("layers.TextVectorization", {"vocabulary": "/etc/passwd"})),
        "dotted_lambda_load_model.keras": spelled(dotted("layers.Lambda", {"function": load_model})),
        "dotted_get_file_activation.keras": spelled(dense(activation=function("keras", "utils.get_file"))),
        "tensorflow_keras_get_file.keras": spelled(dense(kernel_initializer=function("tensorflow.keras.utils",
                                                                                      "get_file"))),  # fmt: skip
        "tf_keras_module_os_system.keras": spelled(dense(activation=function("tf_keras.src.utils.io_utils",
                                                                              "os.system"))),  # fmt: skip
        "trusted_tf_module_np_load.keras": spelled(dense(kernel_initializer={
            "module": "tensorflow.python.ops.init_ops", "class_name": "np.load", "config": {}})),  # fmt: skip
        "registered_name_fallback.keras": spelled(dense(activation={
            "module": "tf_keras.src.utils.io_utils", "class_name": "function", "config": "missing",
            "registered_name": "os.system"})),  # fmt: skip
        "learning_rate_load_data.keras": spelled(dense(), compile_config={"optimizer": adam, "loss": "mse"}),
        "builtins_eval.h5": h5_model(sequential(dense(activation=function("builtins", "eval")))),
    }


def zip_tail_polyglots() -> dict[str, bytes]:
    """A benign HDF5 model with a Lambda .keras zip appended whose end records Keras's zipfile reads and a
    stricter reader would not (issue 28): a zip64 locator without a zip64 record in the last member's comment, a
    directory-offset field that spells the end-of-archive signature, more members than cnnlint's cap."""
    benign = h5_model(sequential(dense()))
    evil = json.dumps(sequential(LAMBDA, dense())).encode()
    return {
        "polyglot_zip64_locator.keras": benign + _zip_with_comment(evil, struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)),
        "polyglot_zip64_locator.h5": benign + _zip_with_comment(evil, struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)),
        "polyglot_offset_spells_eocd.keras": benign + _offset_spelling_eocd(keras_zip(evil)),
        "polyglot_offset_spells_eocd.h5": benign + _offset_spelling_eocd(keras_zip(evil)),
        "polyglot_10002_members.h5": benign + _many_members(evil, 10_002),
    }


def _zip_with_comment(config: bytes, comment: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("config.json")
        info.comment = comment
        archive.writestr(info, config)
    return buffer.getvalue()


def _offset_spelling_eocd(archive: bytes) -> bytes:
    """The end record's directory offset rewritten to the bytes ``PK\\x05\\x06``, every member's offset moved to
    match: zipfile reads the archive the same (it corrects offsets by where the record sits)."""
    data = bytearray(archive)
    at = len(data) - 22
    entries, _, offset = struct.unpack_from("<10xHII", data, at)
    spelled_offset = struct.unpack("<I", b"PK\x05\x06")[0]
    struct.pack_into("<I", data, at + 16, spelled_offset)
    entry = offset
    for _ in range(entries):
        names, extra, comment = struct.unpack_from("<HHH", data, entry + 28)
        struct.pack_into("<I", data, entry + 42, struct.unpack_from("<I", data, entry + 42)[0] + spelled_offset - offset)
        entry += 46 + names + extra + comment
    return bytes(data)


def _many_members(config: bytes, count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", config)
        for index in range(count - 1):
            archive.writestr(f"assets/{index}", b"")
    return buffer.getvalue()


def folders(out: Path) -> list[Path]:
    """Folders that are one model to a folder walk that stops at models, and several to Keras (issue 28); each holds
    a model the gate must fail on."""
    benign, evil = sequential(dense()), sequential(LAMBDA, dense())
    evil_keras, evil_h5 = keras_zip(json.dumps(evil).encode()), h5_model(evil)
    made = []
    unzipped = out / "unzipped_with_h5"
    _write(unzipped / "config.json", json.dumps(benign).encode(), unzipped / "metadata.json", b"{}",
           unzipped / "model.h5", evil_h5)  # fmt: skip
    made.append(unzipped)
    made.append(savedmodel(out / "savedmodel_with_keras", [("root", {"model_config": benign})]))
    _write(out / "savedmodel_with_keras" / "evil.keras", evil_keras)
    repo = savedmodel(out / "repo_root_savedmodel", [("root", {"model_config": benign})])
    _write(repo / "models" / "evil.keras", evil_keras, repo / "models" / "evil.h5", evil_h5)
    made.append(repo)
    dual = savedmodel(out / "savedmodel_and_keras_folder", [("root", {"model_config": benign})])
    _write(dual / "config.json", json.dumps(evil).encode(), dual / "metadata.json", b"{}")
    made.append(dual)
    hidden = out / "dot_folder"
    _write(hidden / ".cache" / "evil.keras", evil_keras)
    made.append(hidden)
    linked = out / "linked_folder"
    _write(out / "linked_target" / "evil.keras", evil_keras)
    linked.mkdir(parents=True, exist_ok=True)
    if not (linked / "models").is_symlink():
        (linked / "models").symlink_to(out / "linked_target", target_is_directory=True)
    made.append(linked)
    late = out / "late_class_name"
    _write(late / "config.json", json.dumps({"pad": "x" * 5000, **evil}).encode(), late / "metadata.json", b"{}")
    made.append(late)
    return made


def deep_folder(out: Path, depth: int = 1_100) -> Path:
    """A Lambda .keras at the bottom of ``depth`` nested folders: deeper than Python's recursion limit, so a walk
    that recurses (``os.walk`` before 3.12) fails on it.  Made and removed iteratively (``remove_tree``): pathlib's
    ``mkdir(parents=True)`` and ``shutil.rmtree`` recurse too."""
    folder = out / "deep_folder"
    at = folder
    for _ in range(depth):
        at.mkdir(parents=at == folder, exist_ok=True)
        at = at / "d"
    at.mkdir(exist_ok=True)
    (at / "evil.keras").write_bytes(keras_zip(json.dumps(sequential(LAMBDA, dense())).encode()))
    return folder


def remove_tree(folder: Path) -> None:
    """Remove a folder however deep, bottom up, without recursion."""
    stack, order = [str(folder)], []
    while stack:
        path = stack.pop()
        order.append(path)
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
    for path in reversed(order):
        os.rmdir(path)


def _write(*pairs) -> None:
    for path, data in zip(pairs[::2], pairs[1::2]):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


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
    files.update(resolved_names())
    files.update(zip_tail_polyglots())
    files["late_class_name.json"] = json.dumps({"pad": "x" * 5000, **sequential(LAMBDA, dense())}).encode()
    paths = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    paths += folders(out)
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
        # issue 28: files HDF5 loops on below what the pure-Python walk reads, and attributes that cost their
        # heap objects many times over; each within the per-file budget however many views it has
        "btree_self_sibling.h5": self_sibling_h5(),
        "weights_btree_self_sibling.keras": keras_zip(custom.encode(), weights=self_sibling_weights()),
        "polyglot_two_hangs.h5": self_sibling_h5() + keras_zip(custom.encode(), weights=self_sibling_weights()),
        "vlen_64_one_heap_object.h5": vlen_array_one_object(64, 4 << 20),
        "vlen_64_one_heap_object_short.h5": vlen_array_one_object(64, 4 << 20, stored=1),
        "vlen_4000_one_heap_object.h5": vlen_array_one_object(4_000, 4 << 20),
        "vlen_array_dense_storage.h5": vlen_array_dense_storage(64),
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


def _self_sibling(data: bytes) -> bytes:
    """The leftmost leaf of the first two-level group B-tree made its own right sibling: HDF5 follows it for ever."""
    at = data.find(b"TREE\x00\x01")  # a group B-tree node (type 0) of level 1
    leftmost = struct.unpack_from("<Q", data, at + 32)[0]  # its first child
    assert at >= 0 and data[leftmost : leftmost + 6] == b"TREE\x00\x00"
    return data[: leftmost + 16] + struct.pack("<Q", leftmost) + data[leftmost + 24 :]


def _looping_groups(group) -> None:
    many = group.create_group("many")  # 300 names: a two-level B-tree
    for index in range(300):
        many.create_dataset(str(index), shape=(1,), dtype="f4")


def self_sibling_h5() -> bytes:
    """A legacy .h5 whose root is new-style (the pure-Python walk declines it, so h5py reads it in the child) over
    an old-style group whose B-tree is its own right sibling."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as handle:
        handle.attrs["model_config"] = json.dumps(sequential({"module": "my_lab.layers", "class_name": "Evil",
                                                              "config": {"name": "evil"}}))  # fmt: skip
        handle.attrs["keras_version"] = "2.15.0"
        _looping_groups(handle.create_group("model_weights"))
    return _self_sibling(buffer.getvalue())


def self_sibling_weights() -> bytes:
    """A model.weights.h5 with the same structure."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as handle:
        handle.create_dataset("layers/dense/vars/0", shape=(8, 2), dtype="f4")
        _looping_groups(handle)
    return _self_sibling(buffer.getvalue())


def vlen_array_one_object(count: int, size: int, stored: int | None = None) -> bytes:
    """A legacy .h5 whose model_config is ``count`` variable-length strings that all point at one ``size``-byte
    global heap object (stored length ``stored``, else ``size``): a file of ``size`` bytes HDF5 reads ``count``
    times over."""
    import h5py
    import numpy as np

    config = json.dumps(sequential(dense()))
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        values = np.array([config + " " * (size - len(config))] + ["x"] * (count - 1), dtype=h5py.string_dtype())
        handle.attrs.create("model_config", values)
        handle.attrs["keras_version"] = "2.15.0"
    data = bytearray(buffer.getvalue())
    first = data.find(struct.pack("<I", size))  # element 0: its length, then its heap collection and index 1
    while struct.unpack_from("<I", data, first + 16)[0] != 1:
        first = data.find(struct.pack("<I", size), first + 1)
    for index in range(1, count):
        data[first + 16 * index : first + 16 * (index + 1)] = data[first : first + 16]
        if stored is not None:
            struct.pack_into("<I", data, first + 16 * index, stored)
    return bytes(data)


def vlen_array_dense_storage(count: int) -> bytes:
    """A model_config array stored densely (many root attributes, latest format): its length is not in the object
    header, so only the element count can refuse it before HDF5 reads every element."""
    import h5py
    import numpy as np

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver="latest") as handle:
        for index in range(12):
            handle.attrs[f"pad{index}"] = "p"
        handle.attrs.create("model_config", np.array([json.dumps(sequential(dense()))] * count,
                                                      dtype=h5py.string_dtype()))  # fmt: skip
    return buffer.getvalue()


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
