"""The HDF5 audit without h5py: a pure-Python walk of the files h5py writes by default, as Keras does.

``readers/hdf5_audit.py`` finds everything in a weights file that reaches outside it through h5py, whose
import (numpy included) costs more than the rest of a lint.  This module reads the same structure with
``struct`` and seek + small reads (metadata only, never a weight value) for the one layout h5py writes with its
default settings: superblock version 0 or 1, 8-byte addresses and lengths, version 1 object headers,
old-style groups (symbol table message -> v1 B-tree of symbol table nodes -> names in a local heap) and
datasets with a plain numeric type and contiguous storage.  It mirrors the h5py walk step for step (same
order, same visited set, same lines), so its ``Audit`` is the one ``audit_file`` gives.

It never decides on anything it does not fully understand: a link message, link info, new-style groups,
version 2 object headers or superblocks, external storage, virtual or chunked datasets, filters, shared or
unknown messages, any inconsistent size, order or address outside the file, and every bound exceeded
raise ``Unsupported``, and the caller runs the h5py audit, which is the safety net.  So the only lines this
walk reports itself are soft links; everything else that reaches outside the file falls back.  It also
checks what HDF5 checks when h5py opens the objects (B-tree keys that make each name findable, heap free
lists, object header message counts, dataset sizes within the file) so that a file h5py cannot read is not
passed here as clean.
"""

from __future__ import annotations

import struct
from typing import IO

from cnnlint.readers.hdf5_audit import MAX_OBJECTS, MAX_REPORTED, Audit, _more

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEFINED = 0xFFFF_FFFF_FFFF_FFFF

#: one metadata read: a local heap's data block is the largest thing read (a group of 15,000 names is ~200 KiB)
MAX_READ = 1 << 20
#: all metadata read in one walk, and the number of reads
MAX_TOTAL_READ = 32 << 20
MAX_READS = 100_000
#: continuation chunks of one object header, and object header messages in one walk
MAX_CHUNKS = 64
MAX_MESSAGES = 16 * MAX_OBJECTS
#: B-tree levels: 2**32 names would need 7 with HDF5's default K
MAX_LEVEL = 8
#: B-tree and symbol table nodes read in one walk (each non-empty one holds at least one link)
MAX_NODES = 2 * MAX_OBJECTS
#: free blocks in one local heap
MAX_FREE_BLOCKS = 1024
#: names and B-tree keys looked up in the heaps in one walk, and the longest name or soft link value
MAX_STRINGS = 4 * MAX_OBJECTS
MAX_STRING = 4096
#: B-tree and symbol table node rank (HDF5's defaults are 16 and 4; larger ones make larger nodes)
MAX_K = 64

# Object header message types read here; every other one (link 0x6, link info 0x2, group info 0xA, external
# files 0x7, filters 0xB, old fill value 0x4, ...) falls back.
NIL, DATASPACE, DATATYPE, FILL, LAYOUT = 0x0, 0x1, 0x3, 0x5, 0x8
ATTRIBUTE, CONTINUATION, SYMBOL_TABLE, MTIME = 0xC, 0x10, 0x11, 0x12
GROUP_MESSAGES = frozenset({ATTRIBUTE, SYMBOL_TABLE, MTIME})
DATASET_MESSAGES = frozenset({DATASPACE, DATATYPE, FILL, LAYOUT, ATTRIBUTE, MTIME})
CONSTANT = 0x01  # the only message flag accepted (shared, unknown-message and the other flags fall back)

_U16, _U32 = struct.Struct("<H"), struct.Struct("<I")
_PREFIX = struct.Struct("<BBHII")  # object header v1: version, reserved, messages, link count, chunk 0 size
_MESSAGE = struct.Struct("<HHB")  # type, body size, flags (then 3 reserved bytes)
_TWO = struct.Struct("<QQ")
_HEAP = struct.Struct("<4sB3xQQQ")
_ENTRY = struct.Struct("<QQI4x16s")  # name offset, object header, cache type, scratch pad
_FLOATS = {2: (15, (0, 16, 10, 5, 0, 10, 15)), 4: (31, (0, 32, 23, 8, 0, 23, 127)),
           8: (63, (0, 64, 52, 11, 0, 52, 1023))}  # fmt: skip


def _datatypes() -> dict[bytes, int]:
    """The exact datatype messages HDF5 writes for numpy's integers and IEEE floats (either byte order): size."""
    known = {}
    for order in (0, 1):
        for size in (1, 2, 4, 8):
            for signed in (0, 0x08):
                known[struct.pack("<BBBBIHH", 0x10, order | signed, 0, 0, size, 0, 8 * size)] = size
        for size, (sign, props) in _FLOATS.items():
            known[struct.pack("<BBBBIHHBBBBI", 0x11, 0x20 | order, sign, 0, size, *props)] = size
    return known


DATATYPES = _datatypes()


class Unsupported(Exception):
    """The file holds something this walk does not fully understand: the h5py audit must decide."""


def fast_audit(stream: IO[bytes], prefix: str = "") -> Audit | None:
    """``audit_file``'s result for the HDF5 file in the seekable binary ``stream``, or ``None``: use h5py."""
    try:
        return _Walk(stream).audit(prefix)
    except (Unsupported, struct.error, ValueError, IndexError, OSError, OverflowError):
        return None


def explain(stream: IO[bytes]) -> str:
    """Why the fast path declines this file (empty when it does not): for tests and debugging."""
    try:
        _Walk(stream).audit("")
    except Unsupported as exc:
        return str(exc) or "unsupported"
    except (struct.error, ValueError, IndexError, OSError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


class _Walk:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.size = stream.seek(0, 2)
        self.total = self.reads = self.nodes = self.strings = self.messages_read = 0
        #: object header address -> ("group", its symbol table message) or ("dataset", b"")
        self.kinds: dict[int, tuple[str, bytes]] = {}
        self.base = self._signature()
        self.eoa = self.size - self.base  # until the superblock says where the HDF5 data ends
        self._superblock()

    # -- reading -------------------------------------------------------------------------------------------

    def read(self, address: int, length: int) -> bytes:
        """``length`` bytes at relative ``address``, which must lie inside the HDF5 data (HDF5's EOA)."""
        if address < 0 or length < 0 or length > MAX_READ or address + length > self.eoa:
            raise Unsupported(f"read of {length} bytes at {address:#x} outside the file")
        self.total += length
        self.reads += 1
        if self.total > MAX_TOTAL_READ or self.reads > MAX_READS:
            raise Unsupported("more metadata than the fast path reads")
        self.stream.seek(self.base + address)
        data = b""
        while len(data) < length:
            piece = self.stream.read(length - len(data))
            if not piece:
                raise Unsupported("file ends inside a read")
            data += piece
        return data

    def _signature(self) -> int:
        """Where the superblock is: 0, 512, 1024, ... (a userblock before it), as HDF5 searches."""
        limit = max(self.size.bit_length(), 9)
        for power in range(8, limit):
            at = 0 if power == 8 else 1 << power
            if at + len(SIGNATURE) > self.size:
                break
            self.stream.seek(at)
            if self.stream.read(len(SIGNATURE)) == SIGNATURE:
                return at
        raise Unsupported("no HDF5 signature")

    def _superblock(self) -> None:
        head = self.read(0, 100 if self.size - self.base >= 100 else 96)
        version = head[8]
        if version not in (0, 1):
            raise Unsupported(f"superblock version {version}")
        if head[9] or head[10] or head[12]:  # free-space, root symbol table entry and shared header versions
            raise Unsupported("superblock component version")
        if head[13] != 8 or head[14] != 8:
            raise Unsupported(f"{head[13]}-byte addresses, {head[14]}-byte lengths")
        self.leaf_k, self.internal_k = _U16.unpack_from(head, 16)[0], _U16.unpack_from(head, 18)[0]
        if not 0 < self.leaf_k <= MAX_K or not 0 < self.internal_k <= MAX_K or _U32.unpack_from(head, 20)[0]:
            raise Unsupported("superblock B-tree K or status flags")
        pos = 24
        if version == 1:
            if not _U16.unpack_from(head, 24)[0]:
                raise Unsupported("indexed storage K")
            pos = 28
        base, extension, end, driver = struct.unpack_from("<QQQQ", head, pos)
        if base != self.base or extension != UNDEFINED or driver != UNDEFINED:
            raise Unsupported("base address, superblock extension or driver block")
        if end > self.size or end - base < pos + 72:  # HDF5 refuses a truncated file
            raise Unsupported("end-of-file address")
        self.eoa = end - base
        _, self.root, cache, _ = _ENTRY.unpack_from(head, pos + 32)
        if cache not in (0, 1):
            raise Unsupported("root symbol table entry cache type")

    # -- the walk, as hdf5_audit.audit_file does it -------------------------------------------------------

    def audit(self, prefix: str) -> Audit:
        found: list[str] = []
        count = 0
        visited: set[int] = set()
        stack: list[tuple[str, int]] = [("", self.root)]
        while stack:
            path, address = stack.pop()
            kind, table = self.kind(address)
            if kind != "group":
                raise Unsupported("not a group")
            if address in visited:
                continue
            visited.add(address)
            entries = self.entries(table)
            count += len(entries)
            if count >= MAX_OBJECTS:
                raise Unsupported("object budget")  # h5py reports the file as not fully scanned
            for name, target, soft in entries:
                shown = name.decode("utf-8", "replace")
                if soft is not None:
                    found.append(f"{prefix}{path}/{shown} -> soft link to {soft.decode('utf-8', 'replace')}")
                elif self.kind(target)[0] == "group":
                    stack.append((f"{path}/{shown}", target))
        return Audit(tuple(found[:MAX_REPORTED]) + _more(found))

    def kind(self, address: int) -> tuple[str, bytes]:
        """("group", its symbol table message) or ("dataset", b""), checked as HDF5 checks it when h5py opens it."""
        known = self.kinds.get(address)
        if known is None:
            messages = self.messages(address)
            types = {kind for kind, _ in messages}
            if SYMBOL_TABLE in types:
                known = ("group", self._group(messages, types))
            elif DATATYPE in types and DATASPACE in types:
                self._dataset(messages, types)
                known = ("dataset", b"")
            else:
                raise Unsupported(f"object at {address:#x} is neither a group nor a dataset")
            self.kinds[address] = known
        return known

    # -- object headers ------------------------------------------------------------------------------------

    def messages(self, address: int) -> list[tuple[int, bytes]]:
        """(type, body) of a version 1 object header's messages, continuation chunks followed, nil ones dropped."""
        version, _, expected, _, size = _PREFIX.unpack_from(self.read(address, 16))
        if version != 1:
            raise Unsupported("object header version")
        if (expected and size < 8) or (not expected and size):
            raise Unsupported("object header chunk size")
        chunks = [(address + 16, size)]
        spans = [(address, address + 16 + size)]
        messages: list[tuple[int, bytes]] = []
        count = 0
        index = 0
        while index < len(chunks):
            if index >= MAX_CHUNKS:
                raise Unsupported("object header continuation chain")
            at, size = chunks[index]
            index += 1
            data = self.read(at, size)
            pos = 0
            while pos < size:
                if size - pos < 8:
                    raise Unsupported("object header gap")
                kind, length, flags = _MESSAGE.unpack_from(data, pos)
                body = data[pos + 8 : pos + 8 + length]
                pos += 8 + length
                count += 1
                self.messages_read += 1
                if count > expected or self.messages_read > MAX_MESSAGES:
                    raise Unsupported("object header message count")
                if length % 8 or pos > size or flags & ~CONSTANT:
                    raise Unsupported("object header message size or flags")
                if kind == CONTINUATION:
                    if length < 16:
                        raise Unsupported("continuation message")
                    more_at, more = _TWO.unpack_from(body)
                    if more < 8 or more % 8:
                        raise Unsupported("continuation chunk size")
                    chunks.append((more_at, more))
                    spans.append((more_at, more_at + more))
                elif kind != NIL:
                    messages.append((kind, body))
        if count != expected:
            raise Unsupported("object header message count")
        spans.sort()
        if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
            raise Unsupported("overlapping object header chunks")
        return messages

    def _group(self, messages: list[tuple[int, bytes]], types: set[int]) -> bytes:
        if not types <= GROUP_MESSAGES:
            raise Unsupported(f"group message types {sorted(types - GROUP_MESSAGES)}")
        tables = [body for kind, body in messages if kind == SYMBOL_TABLE]
        if len(tables) != 1 or len(tables[0]) < 16:
            raise Unsupported("symbol table message")
        _check_mtime(messages)
        return tables[0]

    def _dataset(self, messages: list[tuple[int, bytes]], types: set[int]) -> None:
        """A plain numeric dataset with contiguous storage inside the file; anything else falls back."""
        if not types <= DATASET_MESSAGES:
            raise Unsupported(f"dataset message types {sorted(types - DATASET_MESSAGES)}")
        by_kind: dict[int, list[bytes]] = {}
        for kind, body in messages:
            by_kind.setdefault(kind, []).append(body)
        if (
            any(len(by_kind.get(kind, ())) != 1 for kind in (DATATYPE, DATASPACE, LAYOUT))
            or len(by_kind.get(FILL, ())) > 1
        ):
            raise Unsupported("dataset messages")
        _check_mtime(messages)
        datatype = by_kind[DATATYPE][0]
        width = 20 if datatype[:1] == b"\x11" else 12
        item = DATATYPES.get(datatype[:width])
        if item is None:
            raise Unsupported("datatype")
        elements = _elements(by_kind[DATASPACE][0])
        if FILL in by_kind:
            _check_fill(by_kind[FILL][0], item)
        layout = by_kind[LAYOUT][0]
        if len(layout) < 18 or layout[0] != 3 or layout[1] != 1:  # version 3, contiguous
            raise Unsupported("data layout")
        address, size = _TWO.unpack_from(layout, 2)
        if size != elements * item:
            raise Unsupported("contiguous storage size")
        if address != UNDEFINED and (size == 0 or address + size > self.eoa):
            raise Unsupported("contiguous storage outside the file")

    # -- old-style groups ----------------------------------------------------------------------------------

    def entries(self, table: bytes) -> list[tuple[bytes, int, bytes | None]]:
        """(name, object header address, soft link value or None) of a group's links, in HDF5's iteration order.

        Besides reading the links, checks that a lookup by each name (what h5py does next: open the object, read
        the soft link) finds that very entry: names unique and sorted, B-tree keys ordered and bracketing them.
        """
        btree, heap_address = _TWO.unpack_from(table)
        heap = self.heap(heap_address)
        found: list[tuple[bytes, int, bytes | None]] = []
        rows: dict[int, list[tuple[int, int]]] = {}
        self._node(btree, heap, None, None, None, found, rows, set())
        for row in rows.values():  # h5py's get_info sizes the tree through the right-sibling pointers, row by row
            if any(row[i][1] != row[i + 1][0] for i in range(len(row) - 1)) or row[-1][1] != UNDEFINED:
                raise Unsupported("B-tree sibling pointers")
        return found

    def _node(self, address: int, heap: bytes, level: int | None, low: bytes | None, high: bytes | None,
              found: list, rows: dict[int, list[tuple[int, int]]], seen: set[int]) -> None:  # fmt: skip
        """One v1 B-tree node of a group (type 0); names below it must be > ``low`` and <= ``high``."""
        self._count_node(address, seen)
        two_k = 2 * self.internal_k
        data = self.read(address, 24 + 8 * two_k + 8 * (two_k + 1))
        if data[:5] != b"TREE\x00":
            raise Unsupported("B-tree node signature or type")
        if (level is not None and data[5] != level) or data[5] > MAX_LEVEL:
            raise Unsupported("B-tree node level")
        level, children = data[5], _U16.unpack_from(data, 6)[0]
        if children > two_k or (level and not children):
            raise Unsupported("B-tree node children")
        rows.setdefault(level, []).append((address, struct.unpack_from("<Q", data, 16)[0]))
        keys = (
            [self.string(heap, struct.unpack_from("<Q", data, 24 + 16 * i)[0]) for i in range(children + 1)]
            if children
            else []
        )
        if any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
            raise Unsupported("B-tree keys out of order")
        for i in range(children):
            child = struct.unpack_from("<Q", data, 32 + 16 * i)[0]
            below = keys[i] if low is None or keys[i] > low else low
            above = keys[i + 1] if high is None or keys[i + 1] < high else high
            if level:
                self._node(child, heap, level - 1, below, above, found, rows, seen)
            else:
                self._symbols(child, heap, below, above, found, seen)

    def _symbols(self, address: int, heap: bytes, low: bytes, high: bytes, found: list, seen: set[int]) -> None:
        """A symbol table node: up to 2 * leaf K entries, names strictly increasing within (low, high]."""
        self._count_node(address, seen)
        entry = _ENTRY.size
        data = self.read(address, 8 + 2 * self.leaf_k * entry)
        if data[:5] != b"SNOD\x01":
            raise Unsupported("symbol table node signature or version")
        symbols = _U16.unpack_from(data, 6)[0]
        if symbols > 2 * self.leaf_k:
            raise Unsupported("symbol table node entries")
        previous = low
        for i in range(symbols):
            name_at, header, cache, scratch = _ENTRY.unpack_from(data, 8 + i * entry)
            name = self.string(heap, name_at)
            if not name or name == b"." or b"/" in name:
                raise Unsupported("link name h5py would resolve as a path")
            if name <= previous or name > high:
                raise Unsupported("link names out of order")
            previous = name
            if cache == 2:
                found.append((name, header, self.string(heap, _U32.unpack_from(scratch)[0])))
            elif cache in (0, 1):
                found.append((name, header, None))
            else:
                raise Unsupported("symbol table entry cache type")

    def string(self, heap: bytes, offset: int) -> bytes:
        """The NUL-terminated string at ``offset`` in a local heap's data."""
        self.strings += 1
        if self.strings > MAX_STRINGS:
            raise Unsupported("name budget")
        end = heap.find(b"\0", offset, offset + MAX_STRING) if offset < len(heap) else -1
        if end < 0:
            raise Unsupported("heap string")
        return heap[offset:end]

    def _count_node(self, address: int, seen: set[int]) -> None:
        if address in seen:
            raise Unsupported("B-tree node reached twice")
        seen.add(address)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Unsupported("B-tree node budget")

    def heap(self, address: int) -> bytes:
        """A local heap's data block, its free list checked as HDF5 checks it."""
        magic, version, size, free, data_at = _HEAP.unpack(self.read(address, _HEAP.size))
        if magic != b"HEAP" or version != 0:
            raise Unsupported("local heap signature or version")
        data = self.read(data_at, size) if size else b""
        blocks: set[int] = set()
        while free != 1:  # 1: no (more) free blocks
            if free in blocks or len(blocks) >= MAX_FREE_BLOCKS or free + 16 > size:
                raise Unsupported("local heap free list")
            blocks.add(free)
            following, length = _TWO.unpack_from(data, free)
            if following == 0 or length < 16 or free + length > size:
                raise Unsupported("local heap free block")
            free = following
        return data


def _elements(space: bytes) -> int:
    """Element count of a version 1 dataspace (scalar or simple, fixed size); anything else falls back."""
    if len(space) < 8 or space[0] != 1 or space[1] > 32 or space[2] not in (0, 1) or (space[2] and not space[1]):
        raise Unsupported("dataspace")
    rank = space[1]
    if len(space) < 8 + 8 * rank * (1 + space[2]):
        raise Unsupported("dataspace size")
    dims = struct.unpack_from(f"<{rank}Q", space, 8)
    if space[2] and struct.unpack_from(f"<{rank}Q", space, 8 + 8 * rank) != dims:
        raise Unsupported("resizable dataspace")
    elements = 1
    for dim in dims:
        elements *= dim
    return elements


def _check_fill(fill: bytes, item: int) -> None:
    """A version 2 fill value message as HDF5 writes it: allocation late or early, value default or one item."""
    if len(fill) < 4 or fill[0] != 2 or fill[1] not in (1, 2) or fill[2] > 2 or fill[3] > 1:
        raise Unsupported("fill value message")
    if fill[3]:
        if len(fill) < 8:
            raise Unsupported("fill value size")
        size = struct.unpack_from("<i", fill, 4)[0]
        if size not in (0, item) or len(fill) < 8 + size:
            raise Unsupported("fill value size")


def _check_mtime(messages: list[tuple[int, bytes]]) -> None:
    times = [body for kind, body in messages if kind == MTIME]
    if len(times) > 1 or any(len(body) < 8 or body[0] != 1 for body in times):
        raise Unsupported("modification time message")
