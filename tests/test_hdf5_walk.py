"""The pure-Python HDF5 audit (readers/hdf5_walk.py) against the h5py one (readers/hdf5_audit.py).

Differential: on every file the fast path either gives exactly ``audit_file``'s ``Audit`` or declines
(``None``: the caller runs h5py).  It must never pass a file the h5py audit would flag, must really be used
for files h5py writes with its defaults (that is the speed win), and must stay bounded on hostile bytes.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cnnlint.readers import hdf5_walk
from cnnlint.readers.hdf5_audit import Audit, audit_file, audit_weights
from cnnlint.readers.hdf5_walk import explain, fast_audit
from tests.conftest import REPO

PREFIX = "model.weights.h5:"
EXAMPLES = sorted((REPO / "examples").glob("*.keras"))


def h5(build, **kwargs) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **kwargs) as handle:
        build(handle)
    return buffer.getvalue()


def reference(data: bytes) -> Audit:
    """What the h5py audit says (a file h5py cannot read is flagged, as audit_weights flags it)."""
    try:
        with h5py.File(io.BytesIO(data), "r") as handle:
            return audit_file(handle, prefix=PREFIX)
    except Exception as exc:  # noqa: BLE001 - any failure is a flagged file
        return Audit(incomplete=f"{type(exc).__name__}: {exc}")


def fast(data: bytes) -> Audit | None:
    return fast_audit(io.BytesIO(data), prefix=PREFIX)


def assert_same_or_declined(data: bytes) -> Audit | None:
    found = fast(data)
    if found is not None:
        assert found == reference(data)
    return found


def assert_supported(data: bytes) -> Audit:
    found = fast(data)
    assert found is not None, explain(io.BytesIO(data))
    assert found == reference(data)
    return found


# -- files h5py writes with its defaults, as Keras does: the fast path is used and agrees ----------------------


def keras_like(handle) -> None:
    """Nested layer groups with attributes, the optimizer's scalars, and a group of 300 (multi-node B-tree)."""
    for index in range(6):
        variables = handle.create_group(f"layers/dense_{index}/vars")
        variables.attrs["name"] = f"dense_{index}"
        variables.create_dataset("0", data=np.ones((3, 4), "f4"))
        variables.create_dataset("1", data=np.zeros(4, "f4"))
    handle.create_group("layers/flatten/vars")
    optimizer = handle.create_group("optimizer/vars")
    optimizer.create_dataset("0", data=np.int64(7))
    optimizer.create_dataset("1", data=np.float32(0.001))
    many = handle.create_group("many/vars")
    for index in range(300):
        many.create_dataset(f"{index}", data=np.float32(index))
    handle.create_group("vars").attrs["name"] = "model"


def every_dtype(handle) -> None:
    for code in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", ">i2", ">u4", ">i8", ">f4", ">f8"]:
        handle.create_dataset(f"t_{code.replace('>', 'be')}", data=np.arange(6).astype(code).reshape(2, 3))


def unusual_but_plain(handle) -> None:
    handle.create_dataset("unwritten", shape=(5, 2), dtype="f4")
    handle.create_dataset("empty", shape=(0,), dtype="f4")
    handle.create_dataset("scalar", data=np.float64(1.5))
    group = handle.create_group("attrs")
    for index in range(30):  # ~60 KB of attributes: the header continues in further chunks
        group.attrs[f"a{index}"] = "x" * 2000
    group.create_dataset("d", data=np.ones(2, "f4"))


def soft_links(handle) -> None:
    keras_like(handle)
    handle["layers/dense_0/vars/alias"] = h5py.SoftLink("/layers/dense_1/vars/0")
    handle["dangling"] = h5py.SoftLink("/nowhere/at/all")
    handle["many/vars"]["\u00e9t\u00e9".encode()] = h5py.SoftLink("relative\u2028name")  # bytes: ASCII charset
    handle["many/vars"][b"\xff\xfe"] = h5py.SoftLink("x")  # not UTF-8: decoded with replacement characters


def hard_link_cycles(handle) -> None:
    group = handle.create_group("g")
    group["self"] = group
    group["root"] = handle
    handle["g2"] = group
    handle["d"] = np.float32(1)
    group["d"] = handle["d"]  # one dataset under two names: checked twice, as h5py does
    chain = [handle.create_group(f"c{i}") for i in range(10)]
    for index, current in enumerate(chain):
        current["next"] = chain[(index + 1) % len(chain)]


def many_soft_links(handle) -> None:
    for index in range(80):  # more lines than the audit reports: "... and N more"
        handle[f"s{index:02d}"] = h5py.SoftLink(f"/t{index}")


PLAIN = {
    "keras_like": (keras_like, {}),
    "every_dtype": (every_dtype, {}),
    "unusual_but_plain": (unusual_but_plain, {}),
    "soft_links": (soft_links, {}),
    "hard_link_cycles": (hard_link_cycles, {}),
    "many_soft_links": (many_soft_links, {}),
    "userblock_512": (keras_like, {"userblock_size": 512}),
    "userblock_4096": (soft_links, {"userblock_size": 4096}),
    "libver_earliest": (keras_like, {"libver": "earliest"}),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_h5py_default_files_take_the_fast_path_and_agree(name):
    build, kwargs = PLAIN[name]
    assert_supported(h5(build, **kwargs))


def test_soft_links_are_reported_like_h5py():
    found = assert_supported(h5(soft_links))
    assert f"{PREFIX}/dangling -> soft link to /nowhere/at/all" in found.links
    assert f"{PREFIX}/layers/dense_0/vars/alias -> soft link to /layers/dense_1/vars/0" in found.links
    assert f"{PREFIX}/many/vars/\u00e9t\u00e9 -> soft link to relative\u2028name" in found.links
    assert f"{PREFIX}/many/vars/\ufffd\ufffd -> soft link to x" in found.links
    assert len(assert_supported(h5(many_soft_links)).links) == 51  # 50 lines and "... and 30 more"


def test_a_group_of_300_is_a_multi_level_btree():
    walk = hdf5_walk._Walk(io.BytesIO(h5(keras_like)))
    walk.audit("")
    assert walk.nodes > 40  # 300 names, 8 per symbol table node, 32 nodes per B-tree node: two levels


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_real_keras_weights_take_the_fast_path(example):
    data = zipfile.ZipFile(example).read("model.weights.h5")
    assert assert_supported(data) == Audit()
    assert audit_weights(str(example), "model.weights.h5") == Audit()


# -- everything else falls back to h5py, which reports it -------------------------------------------------


def external_link(handle) -> None:
    handle.create_group("layers")["x"] = h5py.ExternalLink("other.h5", "/w")


def external_storage(handle) -> None:
    handle.create_dataset("d", shape=(4,), dtype="f4", external=[("raw.bin", 0, 16)])


def virtual(handle) -> None:
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("source.h5", "data", shape=(4,))
    handle.create_virtual_dataset("v", layout)


REACHING_OUT = {"external_link": external_link, "external_storage": external_storage, "virtual": virtual}


@pytest.mark.parametrize("name", sorted(REACHING_OUT))
def test_what_reaches_outside_falls_back_and_h5py_flags_it(name, tmp_path):
    data = h5(REACHING_OUT[name])
    assert fast(data) is None
    assert reference(data).links
    path = tmp_path / "model.weights.h5"
    path.write_bytes(data)
    assert audit_weights(str(path), None).links == tuple(
        line.replace(PREFIX, f"{path}:") for line in reference(data).links
    )


OTHER = {
    "latest": (keras_like, {"libver": "latest"}),
    "v108": (soft_links, {"libver": ("v108", "v108")}),
    "track_order": (lambda h: h.create_group("g", track_order=True).create_dataset("x", data=1.0), {}),
    "chunked": (lambda h: h.create_dataset("c", data=np.ones(100), chunks=(10,)), {}),
    "gzip": (lambda h: h.create_dataset("c", data=np.ones(100), compression="gzip"), {}),
    "resizable": (lambda h: h.create_dataset("c", data=np.ones(10), maxshape=(None,)), {}),
    "fill_value": (lambda h: h.create_dataset("c", shape=(3,), dtype="f4", fillvalue=7.0), {}),
    "strings": (lambda h: h.create_dataset("s", data=np.array([b"ab", b"cd"])), {}),
    "bool": (lambda h: h.create_dataset("b", data=np.array([True, False])), {}),
    "committed_type": (lambda h: h.__setitem__("t", np.dtype("f4")), {}),
}


@pytest.mark.parametrize("name", sorted(OTHER))
def test_other_layouts_fall_back_or_agree(name):
    build, kwargs = OTHER[name]
    data = h5(build, **kwargs)
    assert_same_or_declined(data)
    if name in ("latest", "v108", "track_order"):
        assert fast(data) is None  # new-style groups and version 2 headers: not parsed here


# -- hostile bytes: never an exception, never a different verdict, always bounded ---------------------------


class _Traced(hdf5_walk._Walk):
    def read(self, address: int, length: int) -> bytes:
        self.spans.append((self.base + address, length))
        return super().read(address, length)


def metadata_bytes(data: bytes) -> list[int]:
    walk = _Traced.__new__(_Traced)
    walk.spans = []
    _Traced.__init__(walk, io.BytesIO(data))
    walk.audit("")
    return sorted({at + i for at, length in walk.spans for i in range(length)})


def small_keras_like(handle) -> None:
    for index in range(3):
        handle.create_group(f"layers/l{index}/vars").create_dataset("0", data=np.ones(2, "f4"))
    many = handle.create_group("many")
    for index in range(40):
        many.create_dataset(f"{index}", data=np.float32(index))
    handle["layers/soft"] = h5py.SoftLink("/many")
    handle["layers/l0/vars/up"] = handle["layers"]


def timed(data: bytes) -> Audit | None:
    started = time.perf_counter()
    found = fast(data)
    assert time.perf_counter() - started < 1.0
    return found


@pytest.mark.parametrize("seed", range(3))
def test_byte_flips_in_metadata_never_change_the_verdict(seed):
    base = h5(small_keras_like, userblock_size=512 if seed == 2 else 0)
    positions = metadata_bytes(base)
    fields = sorted({p - p % 8 for p in positions})
    rng = random.Random(seed)
    supported = 0
    for _ in range(150):
        data = bytearray(base)
        for _ in range(rng.choice([1, 1, 2, 3])):
            at = rng.choice(positions)
            roll = rng.random()
            if roll < 0.5:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                data[at] ^= 1 << rng.randrange(8)
            else:  # a whole 8-byte field: another metadata address, a small number, undefined, or huge
                at = rng.choice(fields)
                value = rng.choice([rng.choice(fields), rng.randrange(64), 2**64 - 1, 2**63 + rng.randrange(2**32)])
                data[at : at + 8] = value.to_bytes(8, "little")
        found = timed(bytes(data))
        if found is not None:
            supported += 1
            assert found == reference(bytes(data))
    assert 10 < supported < 150  # flips in names or unused bytes keep it readable; most are declined


def test_truncated_files_are_declined():
    base = h5(small_keras_like)
    for length in [0, 7, 8, 95, 96, *range(100, len(base), 397), len(base) - 1]:
        assert timed(base[:length]) is None


def patched(data: bytes, at: int, value: int, size: int = 8) -> bytes:
    return data[:at] + value.to_bytes(size, "little") + data[at + size :]


def find_all(data: bytes, magic: bytes) -> list[int]:
    found, at = [], data.find(magic)
    while at >= 0:
        found.append(at)
        at = data.find(magic, at + 1)
    return found


def hostile_cases() -> dict[str, bytes]:
    base = h5(small_keras_like)
    root_entry = 24 + 32  # superblock v0: the root group's symbol table entry
    root = struct.unpack_from("<Q", base, root_entry + 8)[0]
    tree, heap, node = find_all(base, b"TREE")[0], find_all(base, b"HEAP")[0], find_all(base, b"SNOD")[0]
    heap_size, free, heap_data = struct.unpack_from("<QQQ", base, heap + 8)
    assert free != 1  # the heap has a free block
    return {
        "root header at the signature": patched(base, root_entry + 8, 0),
        "root header outside the file": patched(base, root_entry + 8, 2**62),
        "root header undefined": patched(base, root_entry + 8, 2**64 - 1),
        "end of file past the end": patched(base, 40, len(base) + 1),
        "chunk 0 of 4 GiB": patched(base, root + 8, 2**32 - 8, 4),
        "message count off by one": patched(base, root + 2, struct.unpack_from("<H", base, root + 2)[0] + 1, 2),
        "B-tree child is the node itself": patched(base, tree + 32, tree),
        "B-tree right sibling is the node itself": patched(base, tree + 16, tree),  # HDF5 itself loops forever
        "B-tree level 200": patched(base, tree + 5, 200, 1),
        "B-tree 65535 children": patched(base, tree + 6, 0xFFFF, 2),
        "symbol table node of 65535 entries": patched(base, node + 6, 0xFFFF, 2),
        "heap of 2**63 bytes": patched(base, heap + 8, 2**63),
        "heap data outside the file": patched(base, heap + 24, 2**40),
        "heap free list loops": patched(base, heap_data + free, free),  # HDF5 itself loops forever
        "heap free block of 2**60": patched(base, heap_data + free + 8, 2**60),
        "name offset past the heap": patched(base, node + 8, heap_size + 5),
        "link to its own symbol table node": patched(base, node + 8 + 8, node),
    }


@pytest.mark.parametrize("name", sorted(hostile_cases()))
def test_hostile_structures_are_declined_quickly(name):
    data = hostile_cases()[name]
    assert data != h5(small_keras_like)
    found = timed(data)
    if name in ("B-tree right sibling is the node itself", "heap free list loops"):
        assert found is None  # h5py would not come back: do not ask it
    else:
        assert found is None or found == reference(data)


def test_object_budget_falls_back(monkeypatch):
    monkeypatch.setattr(hdf5_walk, "MAX_OBJECTS", 30)
    assert fast(h5(small_keras_like)) is None  # h5py reports "not fully scanned"


# -- the speed win cannot regress silently -------------------------------------------------------------------


def test_linting_a_keras_file_does_not_import_h5py(tmp_path):
    example = REPO / "examples" / "example2_plain.keras"
    code = (
        "import sys\n"
        "from cnnlint.cli import main\n"
        "try:\n"
        f"    main([{str(example)!r}, '--samples', '1000', '--format', 'json', '-o', {str(tmp_path / 'r.json')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(','.join(m for m in ('h5py', 'numpy') if m in sys.modules) or 'none')\n"
    )
    env = {**os.environ, "CNNLINT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                            cwd=REPO)  # fmt: skip
    assert result.stdout.strip() == "none", result.stdout + result.stderr
    assert json.loads(Path(tmp_path / "r.json").read_text())["summary"]["models"] == 1
