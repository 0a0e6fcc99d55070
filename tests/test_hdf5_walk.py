"""The pure-Python HDF5 audit (readers/hdf5_walk.py) against the h5py one (readers/hdf5_audit.py).

Differential: on every file the fast path either gives exactly ``audit_file``'s ``Audit``, declines
(``None``: the caller runs h5py) or finds the structure malformed, and then h5py does not read the file either
(it fails, loops or crashes: ``h5py_verdicts`` runs it in a child process with a time limit).  It must never
pass a file the h5py audit would flag, must really be used for files h5py writes with its defaults (that is the
speed win), and must stay bounded on hostile bytes.  Structures HDF5 itself loops or crashes on must come back
malformed, and a lint of a file holding one must fail the safety gate without ever opening it with h5py.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cnnlint.readers import hdf5_walk
from cnnlint.readers.hdf5_audit import Audit, audit_file
from cnnlint.readers.hdf5_walk import explain, fast_audit
from cnnlint.readers.keras_zip import audit_weights
from tests.conftest import REPO
from tests.hostile_corpus import h5_model, sequential

PREFIX = "model.weights.h5:"
UNDEFINED = 2**64 - 1
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
    if found is not None and not found.malformed:
        assert found == reference(data)
    return found


#: h5py's own verdict on a file: run in a child process, one file after another, each under a time limit and the
#: whole child under a memory limit (HDF5 allocates as it follows a cyclic heap free list)
_JUDGE = """
import resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import h5py
from cnnlint.readers.hdf5_audit import audit_file
paths = sys.argv[2:]
for index in range(int(sys.argv[1]), len(paths)):
    print(index, "start", flush=True)
    signal.alarm(5)  # default action: the child dies, and the parent records a hang
    try:
        with h5py.File(paths[index], "r") as handle:
            "training_config" in handle.attrs  # absent: decodes every root attribute, as the .h5 reader does
            audit = audit_file(handle)
        print(index, "flagged" if audit.links or audit.incomplete else "clean", flush=True)
    except Exception as exc:
        print(index, "error", type(exc).__name__, flush=True)
    signal.alarm(0)
"""


def h5py_verdicts(files: list[bytes]) -> list[str]:
    """For each HDF5 file: "clean", "flagged", "error", "hang" (over 5 s) or "crash" (killed by a signal)."""
    verdicts: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, data in enumerate(files):
            paths.append(os.path.join(folder, f"{index}.h5"))
            Path(paths[-1]).write_bytes(data)
        first = 0
        while first < len(paths):
            result = subprocess.run([sys.executable, "-c", _JUDGE, str(first), *paths], capture_output=True, text=True,
                                    cwd=REPO, timeout=60 + 10 * len(paths))  # fmt: skip
            current = first
            for line in result.stdout.splitlines():
                index, verdict = line.split()[:2]
                current = int(index)
                if verdict != "start":
                    verdicts[current] = verdict
            if result.returncode == 0:
                break
            assert current not in verdicts, result.stderr
            verdicts[current] = "hang" if result.returncode == -14 else "crash"  # -14: SIGALRM
            first = current + 1
    return [verdicts[index] for index in range(len(files))]


#: malformed structures HDF5 reads anyway: a subtree shared by two parents (the same pattern stacked a few levels
#: deep makes HDF5 walk it exponentially often), a free block whose size wraps HDF5's bounds check around
READ_BY_HDF5 = ("B-tree node reached twice", "local heap free block past the end of the heap")


def assert_h5py_does_not_read(malformed: list[bytes]) -> None:
    """What the walk calls malformed, HDF5 fails, loops or crashes on too (or it is one of ``READ_BY_HDF5``)."""
    reasons = [fast(data).incomplete for data in malformed]
    for reason, verdict in zip(reasons, h5py_verdicts(malformed), strict=True):
        assert verdict in ("error", "hang", "crash") or any(known in reason for known in READ_BY_HDF5), (
            reason,
            verdict,
        )


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
    links = assert_supported(h5(many_soft_links)).links  # every one, for a baseline entry to pin them all
    assert len(links) == 80 and len(set(links)) == 80


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
    def read(self, address: int, length: int, what: str = "metadata") -> bytes:
        self.spans.append((self.base + address, length))
        return super().read(address, length, what)


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
    malformed: list[bytes] = []
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
        if found is not None and found.malformed:
            malformed.append(bytes(data))
        elif found is not None:
            supported += 1
            assert found == reference(bytes(data))
    assert 10 < supported < 150  # flips in names or unused bytes keep it readable; most are declined
    assert 5 < len(malformed) < 150 - supported
    assert_h5py_does_not_read(malformed)


def test_truncated_files_are_malformed():
    base = h5(small_keras_like)
    assert timed(base[:0]) is None and timed(base[:7]) is None  # no signature: not HDF5, h5py says so
    truncated = [base[:length] for length in [8, 95, 96, *range(100, len(base), 397), len(base) - 1]]
    for data in truncated:
        assert "end-of-file address" in timed(data).incomplete or "superblock" in timed(data).incomplete
    assert_h5py_does_not_read(truncated)


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


#: HDF5 loops forever on these: they must come back malformed, and h5py is never asked about them here
LOOPING = ("B-tree right sibling is the node itself", "heap free list loops")


@pytest.mark.parametrize("name", sorted(hostile_cases()))
def test_hostile_structures_are_malformed_or_declined_quickly(name):
    data = hostile_cases()[name]
    assert data != h5(small_keras_like)
    found = timed(data)
    if name in LOOPING:
        assert found is not None and found.malformed, explain(io.BytesIO(data))
    else:
        assert found is None or found.malformed or found == reference(data)


def test_what_is_called_malformed_h5py_does_not_read():
    cases = hostile_cases()
    malformed = [data for data in cases.values() if (fast(data) or Audit()).malformed]
    assert len(malformed) >= 12
    assert_h5py_does_not_read(malformed)


def groups_linked_into_one_another(handle) -> None:
    """50 groups with 1,000-character names, each holding all 50: every group visited is one level deeper, so the
    walk would build ~60 M characters of paths (the h5py audit too) from a 4 MB file."""
    names = [f"{index:02d}" + "x" * 1000 for index in range(50)]
    groups = [handle.create_group(name) for name in names]
    for group in groups:
        for name, target in zip(names, groups, strict=True):
            group[name] = target


def soft_links_deep_down(handle) -> None:
    """1,000 soft links 20 groups of 1,000-character names deep: 20 M characters of lines."""
    group = handle
    for index in range(20):
        group = group.create_group(f"{index:02d}" + "x" * 1000)
    for index in range(1000):
        group[f"s{index:04d}"] = h5py.SoftLink("/")


@pytest.mark.parametrize("build", [groups_linked_into_one_another, soft_links_deep_down])
def test_paths_and_lines_built_are_bounded(build):
    data = h5(build)
    assert timed(data) is None  # h5py decides, in the child process with its time and memory caps
    assert explain(io.BytesIO(data)) == "path budget"


def same_name_many_times(symbols: int = 59_000) -> bytes:
    """A 2.4 MB file whose root group lists ``symbols`` entries, all naming one 4 KB string of its local heap."""
    data = h5(lambda handle: handle.create_group("g"))
    root = u64(data, 64)
    table = next(body for _, _, messages in header_chunks(data, root) for kind, body in messages if kind == 0x11)
    tree = u64(data, table)
    data += bytes(-len(data) % 8)
    heap = len(data)
    block = b"\0" + b"A" * 4095 + b"\0" + bytes(7)
    data += struct.pack("<4sB3xQQQ", b"HEAP", 0, len(block), 1, heap + 32) + block
    node = len(data)
    data += b"SNOD\x01\x00" + struct.pack("<H", symbols) + struct.pack("<QQI4x16s", 1, root, 0, bytes(16)) * symbols
    data = patched(data, 16, (symbols + 1) // 2, 2)  # the superblock's leaf K: room for them in one node
    data = patched(data, table + 8, heap)
    data = patched(patched(data, tree + 32, node), tree + 40, 1)  # the B-tree's child 0 and key 1 ("AAA...")
    return patched(data, 40, len(data))  # the end-of-file address


def test_many_copies_of_a_long_name_do_not_fill_memory():
    """Each lookup of a name is a new copy: 59,000 of a 4 KB name (within the name count budget) were 250 MB."""
    data = same_name_many_times()
    tracemalloc.start()
    try:
        found = timed(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found is None and explain(io.BytesIO(data)) == "name bytes budget"
    assert peak < 48 << 20, peak


# -- structures HDF5 loops or crashes on: malformed, and never handed to h5py ----------------------------------


def address(obj) -> int:
    return h5py.h5o.get_info(obj.id).addr


def loop_base(group, addresses: dict[str, int]) -> None:
    """What the variants patch: layer weights, a group of 300 (a two-level B-tree) and a group whose object header
    continues over three chunks (30 attributes of 2 KB), under ``group`` (the root of a weights file, or the
    ``model_weights`` group of a legacy .h5).  ``addresses``: where the objects the variants patch are."""
    group.create_group("layers/dense/vars").create_dataset("0", data=np.ones((8, 2), "f4"))
    many = group.create_group("many")
    for index in range(300):
        many.create_dataset(f"{index}", data=np.float32(index))
    spread = group.create_group("attrs")
    for index in range(30):
        spread.attrs[f"a{index}"] = "x" * 2000
    addresses["attrs"] = address(spread)


def unsupported_base(group, addresses: dict[str, int]) -> None:
    """The same with what the walk does not parse (so the file as a whole goes to h5py): a dataset stored in an
    external file (its file names are in a local heap) and one whose datatype is a committed (shared) one."""
    loop_base(group, addresses)
    addresses["external"] = address(group.create_dataset("external", shape=(4,), dtype="f4",
                                                         external=[("raw.bin", 0, 16)]))  # fmt: skip
    group["type"] = np.dtype("f4")
    addresses["type"] = address(group["type"])
    addresses["typed"] = address(group.create_dataset("typed", data=np.ones(3, "f4"), dtype=group["type"]))


def root_attribute_base(group, addresses: dict[str, int]) -> None:
    """A root attribute whose datatype is a committed one that no link names (read when h5py reads the root's
    attributes, as the legacy .h5 reader does)."""
    loop_base(group, addresses)
    root = group.file
    root["type"] = np.dtype("f4")
    root.attrs.create("extra", data=1.5, dtype=root["type"])
    addresses["/type"] = address(root["type"])
    del root["type"]


def u64(data: bytes, at: int) -> int:
    return struct.unpack_from("<Q", data, at)[0]


def btree_nodes(data: bytes) -> list[tuple[int, int, list[int]]]:
    """(address, level, child addresses) of every v1 B-tree node."""
    nodes = []
    for at in find_all(data, b"TREE"):
        children = struct.unpack_from("<H", data, at + 6)[0]
        nodes.append((at, data[at + 5], [u64(data, at + 32 + 16 * i) for i in range(children)]))
    return nodes


def header_messages(data: bytes, at: int, size: int) -> list[tuple[int, int]]:
    """(type, body offset) of the messages in an object header chunk."""
    found, end = [], at + size
    while at < end:
        kind, length = struct.unpack_from("<HH", data, at)
        found.append((kind, at + 8))
        at += 8 + length
    return found


def header_chunks(data: bytes, header: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(address, size, messages) of an object header's chunks, in the order HDF5 reads them."""
    chunks = [(header + 16, struct.unpack_from("<I", data, header + 8)[0])]
    for at, size in chunks:
        for kind, body in header_messages(data, at, size):
            if kind == 0x10:
                chunks.append((u64(data, body), u64(data, body + 8)))
    return [(at, size, header_messages(data, at, size)) for at, size in chunks]


def datatype_message(data: bytes, header: int) -> int:
    return next(body for _, _, messages in header_chunks(data, header) for kind, body in messages if kind == 0x03)


def shared_to(data: bytes, body: int, target: int) -> bytes:
    """The datatype message at ``body`` made a shared (committed) one pointing at the object header ``target``."""
    data = patched(data, body - 4, 0x03, 1)  # flags: constant, shared
    return data[:body] + bytes([2, 2]) + target.to_bytes(8, "little") + data[body + 10 :]


def two_level_tree(data: bytes) -> tuple[int, list[int]]:
    root, _, children = next(node for node in btree_nodes(data) if node[1] == 1)
    return root, children


def sibling_cycle(data: bytes, _: dict) -> bytes:
    first, second = two_level_tree(data)[1][:2]
    return patched(data, second + 16, first)  # first -> second -> first


def stacked_subtrees(data: bytes, _: dict) -> bytes:
    """Five B-tree levels stacked on the group's root, each node's 32 children all the node below: HDF5 walks the
    300 names 32**5 times."""
    root = two_level_tree(data)[0]
    two_k = 2 * struct.unpack_from("<H", data, 18)[0]
    grown, below = bytearray(data), root
    for level in range(2, 7):
        grown += bytes(-len(grown) % 8)
        node = b"TREE" + bytes([0, level]) + struct.pack("<HQQ", two_k, UNDEFINED, UNDEFINED)
        below, grown = len(grown), grown + node + struct.pack("<QQ", 0, below) * two_k + bytes(8)
    grown = patched(bytes(grown), 40, len(grown))  # the superblock's end-of-file address
    table = next(at for at in find_all(grown, struct.pack("<Q", root)) if grown[at - 8] == 0x11)
    return patched(grown, table, below)  # the symbol table message: the new top


def heap_with_free_block(data: bytes) -> tuple[int, int]:
    """(data block address, free block offset) of the first local heap with a free block."""
    for heap in find_all(data, b"HEAP"):
        _, free, at = struct.unpack_from("<QQQ", data, heap + 8)
        if free != 1:
            return at, free
    raise AssertionError("no heap with a free block")


def free_list_cycle(data: bytes, _: dict) -> bytes:
    at, free = heap_with_free_block(data)
    length = u64(data, at + free + 8)
    assert length >= 32
    data = patched(patched(data, at + free, free + 16), at + free + 8, 16)  # split it in two blocks of the list,
    return patched(patched(data, at + free + 16, free), at + free + 24, length - 16)  # the second back to the first


def continuation_cycle(data: bytes, addresses: dict) -> bytes:
    (_, _, _), (first, size, _), (_, _, messages) = header_chunks(data, addresses["attrs"])[:3]
    body = next(body for kind, body in messages if kind == 0x10)
    return patched(patched(data, body, first), body + 8, size)  # chunk 2 continues into chunk 1


def external_heap_self(data: bytes, addresses: dict) -> bytes:
    heap = next(u64(data, body + 8) for _, _, messages in header_chunks(data, addresses["external"])
                for kind, body in messages if kind == 0x07)  # fmt: skip
    _, free, at = struct.unpack_from("<QQQ", data, heap + 8)
    return patched(data, at + free, free)


def leaf(data: bytes) -> int:
    return two_level_tree(data)[1][0]


def root_of(data: bytes) -> int:
    return two_level_tree(data)[0]


def free_list_self(data: bytes, _: dict) -> bytes:
    at, free = heap_with_free_block(data)
    return patched(data, at + free, free)


def shared_to_itself(name: str):
    return lambda data, addresses: shared_to(data, datatype_message(data, addresses[name]), addresses[name])


def link_to_its_node(data: bytes, _: dict) -> bytes:
    node = find_all(data, b"SNOD")[0]
    return patched(data, node + 8 + 8, node)  # the first entry's object header


#: name: (base, patch, what HDF5 1.14.6 does with it through h5py: "hang", "crash" or "error")
LOOPS = {
    "btree_sibling_self": (loop_base, lambda d, a: patched(d, leaf(d) + 16, leaf(d)), "hang"),
    "btree_root_sibling_self": (loop_base, lambda d, a: patched(d, root_of(d) + 16, root_of(d)), "hang"),
    "btree_sibling_cycle_of_two": (loop_base, sibling_cycle, "hang"),
    "btree_child_to_its_parent": (loop_base, lambda d, a: patched(d, root_of(d) + 48, root_of(d)), "crash"),
    "btree_leftmost_child_to_itself": (loop_base, lambda d, a: patched(d, root_of(d) + 32, root_of(d)), "crash"),
    "btree_stacked_subtrees": (loop_base, stacked_subtrees, "hang"),
    "heap_free_list_self": (loop_base, free_list_self, "hang"),
    "heap_free_list_cycle_of_two": (loop_base, free_list_cycle, "hang"),
    "external_file_heap_free_list_self": (unsupported_base, external_heap_self, "hang"),
    "dataset_datatype_shared_to_itself": (unsupported_base, shared_to_itself("typed"), "crash"),
    "committed_datatype_shared_to_itself": (unsupported_base, shared_to_itself("type"), "crash"),
    "root_attribute_datatype_cycle": (root_attribute_base, shared_to_itself("/type"), "crash"),
    # HDF5 refuses these at once; they are malformed all the same
    "continuation_cycle_of_two": (loop_base, continuation_cycle, "error"),
    "leaf_child_to_the_root": (loop_base, lambda d, a: patched(d, leaf(d) + 32, root_of(d)), "error"),
    "link_to_its_symbol_table_node": (loop_base, link_to_its_node, "error"),
}
LOOPING_IN_HDF5 = sorted(name for name, (_, _, h5py_does) in LOOPS.items() if h5py_does != "error")
CUSTOM = {"module": "my_layers", "class_name": "Scale", "config": {"name": "scale"}, "registered_name": "my>Scale"}


def build(base, container: str) -> tuple[bytes, dict[str, int]]:
    """The HDF5 bytes of a weights file (``keras``) or of a legacy model (``h5``), and object addresses by name."""
    addresses: dict[str, int] = {}
    if container == "h5":
        dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}
        return h5_model(sequential(dense, CUSTOM), weights=lambda _, group: base(group, addresses)), addresses
    return h5(lambda handle: base(handle, addresses)), addresses


def loop_file(name: str, container: str) -> bytes:
    base, patch, _ = LOOPS[name]
    data, addresses = build(base, container)
    return patch(data, addresses)


def keras_file(weights: bytes) -> bytes:
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}, CUSTOM]}}  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        archive.writestr("model.weights.h5", weights)
    return buffer.getvalue()


@pytest.mark.parametrize("container", ["keras", "h5"])
@pytest.mark.parametrize("name", sorted(LOOPS))
def test_structures_hdf5_loops_or_crashes_on_are_malformed(name, container):
    base = build(LOOPS[name][0], container)[0]
    assert not (fast(base) or Audit()).malformed, explain(io.BytesIO(base))
    found = timed(loop_file(name, container))
    assert found is not None and found.malformed, explain(io.BytesIO(loop_file(name, container)))
    assert found.incomplete.startswith("HDF5 structure is malformed (") and found.incomplete.endswith("): not scanned")
    assert found.links == ()


def test_an_unsupported_dataset_does_not_hide_a_loop():
    """The walk notes what it does not parse and goes on checking the rest of the structure."""

    def with_chunked(handle) -> None:
        handle.create_dataset("chunked", data=np.ones(100), chunks=(10,), compression="gzip")
        loop_base(handle, {})

    data = h5(with_chunked)
    assert fast(data) is None and "dataset message types" in explain(io.BytesIO(data))  # the filter pipeline
    assert fast(sibling_cycle(data, {})).malformed


@pytest.mark.parametrize("as_bytes", [False, True], ids=["variable-length", "fixed-length"])
def test_root_strings_read_what_h5py_reads(as_bytes):
    """A malformed .h5 still has its config read (in pure Python) so that the model is linted and flagged."""
    config = json.dumps(sequential(CUSTOM)) + "\u00e9"

    def attributes(handle, _group) -> None:
        handle.attrs["training_config"] = config.encode() if as_bytes else config
        handle.attrs["other"] = np.arange(3)

    data = h5_model(json.loads(json.dumps(sequential(CUSTOM))), weights=attributes)
    names = ("model_config", "training_config", "keras_version", "missing")
    found = hdf5_walk.root_strings(io.BytesIO(data), names, 1 << 20)
    with h5py.File(io.BytesIO(data), "r") as handle:
        expected = {name: handle.attrs[name] for name in names if name in handle.attrs}
    assert set(found) == set(expected) == {"model_config", "training_config", "keras_version"}
    for name, value in expected.items():
        assert found[name].decode() == (value.decode() if isinstance(value, bytes) else value)
    with pytest.raises(hdf5_walk.TooLarge):
        hdf5_walk.root_strings(io.BytesIO(data), names, 100)


#: lints the file twice in one process, as the safety gate and in full (the full lint lists the custom layer's
#: weights from the file when it can), then says whether h5py was imported
_LINT = """
import json, sys
from cnnlint.cli import main
codes = []
for extra in (["--select", "S4", "--severity", "error"], []):
    try:
        main([sys.argv[1], "--samples", "1000", "--format", "json", "-o", sys.argv[2], *extra])
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps({"codes": codes, "h5py": "h5py" in sys.modules}))
"""


@pytest.mark.parametrize("container", ["keras", "h5"])
@pytest.mark.parametrize("name", LOOPING_IN_HDF5)
def test_lint_fails_the_gate_on_them_without_opening_them_with_h5py(name, container, tmp_path):
    data = loop_file(name, container)
    path = tmp_path / f"model.{container}"
    path.write_bytes(keras_file(data) if container == "keras" else data)
    report = tmp_path / "report.json"
    env = {**os.environ, "CNNLINT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", _LINT, str(path), str(report)], capture_output=True, text=True,
                            timeout=60, env=env, cwd=REPO)  # fmt: skip  # a regression hangs: the timeout fails it
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"codes": [1, 1], "h5py": False}, (outcome, result.stderr)
    (model,) = json.loads(report.read_text())["models"]
    errors = [f for f in model["findings"] if f["code"] == "S408"]
    assert len(errors) == 1 and errors[0]["severity"] == "error", model
    assert "HDF5 structure is malformed (" in errors[0]["message"], errors[0]["message"]


@pytest.mark.slow
def test_h5py_itself_fails_on_them():
    """Why they must never reach h5py: HDF5 1.14 loops for ever (or until memory runs out) or overflows its stack on
    the first kind; on the rest it fails.  A future HDF5 may refuse more of them: it must never read them."""
    names = sorted(LOOPS)
    files = [loop_file(name, container) for name in names for container in ("keras", "h5")]
    verdicts = h5py_verdicts(files)
    for index, name in enumerate(n for n in names for _ in range(2)):
        assert verdicts[index] in ("hang", "crash", "error"), (name, verdicts[index])


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
