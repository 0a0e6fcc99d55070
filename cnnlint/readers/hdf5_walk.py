"""The HDF5 audit without h5py: a pure-Python walk of the files h5py writes by default, as Keras does.

``readers/hdf5_audit.py`` finds everything in a weights file that reaches outside it through h5py, whose
import (numpy included) costs more than the rest of a lint.  This module reads the same structure with
``struct`` and seek + small reads (metadata only, never a weight value) for the one layout h5py writes with its
default settings: superblock version 0 or 1, 8-byte addresses and lengths, version 1 object headers,
old-style groups (symbol table message -> v1 B-tree of symbol table nodes -> names in a local heap) and
datasets with a plain numeric type and contiguous storage.  It mirrors the h5py walk step for step (same
order, same visited set, same lines), so its ``Audit`` is the one ``audit_file`` gives.

It answers in three ways.  *Supported*: the ``Audit``.  *Unsupported* (``None``): the file holds something
this walk does not parse (a link message, link info, new-style groups, version 2 object headers or
superblocks, external storage, virtual or chunked datasets, filters, shared or unknown messages, any bound
exceeded, any oddity HDF5 itself may accept), and the caller runs the h5py audit.  So the only lines this walk
reports itself are soft links; everything else that reaches outside the file falls back.  *Malformed*: a
structural defect no HDF5 writer produces and on which HDF5 fails, loops or recurses without end (B-tree
right-sibling chains that cycle, a child pointer back into its own tree, a local heap free list that cycles,
object header chunks that overlap or continue into themselves, shared messages that point back along their own
chain, addresses past the end of the file, structures that are not what their pointer says).  HDF5 1.14 loops
forever on some of these and overflows its stack on others (tests/test_hdf5_walk.py), so the caller must not
hand such a file to h5py at all: ``fast_audit`` gives an ``Audit`` that says the file was not scanned.

The walk does not stop at the first unsupported object: it notes it and goes on checking the structure it can
still read (a dataset it does not parse is not looked into, but the rest of the file is walked), so adding one
chunked dataset to a file does not hide a defect elsewhere from this check.  It also checks what HDF5 checks
when h5py opens the objects (B-tree keys that make each name findable, heap free lists, object header message
counts, dataset sizes within the file) so that a file h5py cannot read is not passed here as clean.
"""

from __future__ import annotations

import io
import struct
from typing import IO

from cnnlint.readers import budget
from cnnlint.readers.hdf5_audit import MAX_OBJECTS, Audit

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEFINED = 0xFFFF_FFFF_FFFF_FFFF

#: one metadata read: a local heap's data block or a symbol table node with a large K are the largest
MAX_READ = 8 << 20
#: all metadata read in one walk, and the number of reads
MAX_TOTAL_READ = 32 << 20
#: files up to this size are walked from a copy in memory (``_in_memory``)
IN_MEMORY = 1 << 20
MAX_READS = 100_000
#: continuation chunks of one object header, and object header messages in one walk
MAX_CHUNKS = 64
MAX_MESSAGES = 16 * MAX_OBJECTS
#: B-tree and symbol table nodes read in one walk (each non-empty one holds at least one link)
MAX_NODES = 2 * MAX_OBJECTS
#: names and B-tree keys looked up in the heaps in one walk, and the longest name or soft link value
MAX_STRINGS = 4 * MAX_OBJECTS
MAX_STRING = 4096
#: bytes of those names and keys, and characters of the group paths and report lines built, in one walk: without
#: them a small file holding many copies of a long name (each lookup a new copy), or groups hard-linked into one
#: another (each path a level longer), makes the walk build gigabytes
MAX_STRING_BYTES = 16 << 20
MAX_PATHS = 16 << 20
#: shared messages followed from one message (HDF5 writes one step: a dataset's committed datatype)
MAX_SHARED_CHAIN = 8

# Object header message types read here; every other one (link 0x6, link info 0x2, group info 0xA, external
# files 0x7, filters 0xB, old fill value 0x4, ...) falls back.
NIL, DATASPACE, DATATYPE, FILL, EXTERNAL, LAYOUT = 0x0, 0x1, 0x3, 0x5, 0x7, 0x8
ATTRIBUTE, CONTINUATION, SYMBOL_TABLE, MTIME = 0xC, 0x10, 0x11, 0x12
GROUP_MESSAGES = frozenset({ATTRIBUTE, SYMBOL_TABLE, MTIME})
DATASET_MESSAGES = frozenset({DATASPACE, DATATYPE, FILL, LAYOUT, ATTRIBUTE, MTIME})
CONSTANT, SHARED = 0x01, 0x02  # the only message flag read is constant; shared messages are followed, then fall back

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


class Budget(Unsupported):
    """A bound of this walk was reached: stop at once, the h5py audit decides."""


class TooLarge(ValueError):
    """A string attribute over the caller's cap, found before reading it."""


class NotOneString(ValueError):
    """A string attribute that holds more than one string (Keras writes one): refused before reading any."""


class Malformed(Exception):
    """A structural defect no HDF5 writer produces, on which HDF5 may fail, loop or recurse without end."""

    def __init__(self, what: str, at: int) -> None:
        super().__init__(f"{what}, at byte {at}")
        self.what, self.at = what, at


def fast_audit(stream: IO[bytes], prefix: str = "") -> Audit | None:
    """``audit_file``'s result for the HDF5 file in the seekable binary ``stream``, or ``None``: use h5py.

    A malformed file gives an ``Audit`` with ``malformed`` set and ``incomplete`` saying why: the caller must not
    open it with h5py (HDF5 can loop forever or crash on it).
    """
    try:
        return _Walk(_in_memory(stream)).audit(prefix)
    except Malformed as exc:
        return Audit(incomplete=f"HDF5 structure is malformed ({exc}): not scanned", malformed=True)
    except (Unsupported, struct.error, ValueError, IndexError, OSError, OverflowError, RecursionError):
        return None


def _in_memory(stream: IO[bytes]) -> IO[bytes]:
    """A copy in memory of a file up to ``IN_MEMORY`` bytes (else ``stream`` itself): the walk makes a hundred small
    reads even of a small model's weights, and in memory each costs a fraction of a seek and read in the file."""
    size = stream.seek(0, 2)
    if size > IN_MEMORY:
        return stream
    stream.seek(0)
    chunks, got = [], 0
    while got < size and (chunk := stream.read(size - got)):
        chunks.append(chunk)
        got += len(chunk)
    if got != size:  # a stream that reads short: walk it as it is
        return stream
    return io.BytesIO(b"".join(chunks))


def explain(stream: IO[bytes]) -> str:
    """Why the fast path declines this file (empty when it does not): for tests and debugging."""
    try:
        _Walk(stream).audit("")
    except Malformed as exc:
        return f"malformed: {exc}"
    except Unsupported as exc:
        return str(exc) or "unsupported"
    except (struct.error, ValueError, IndexError, OSError, OverflowError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def root_strings(stream: IO[bytes], names: tuple[str, ...], cap: int) -> dict[str, bytes]:
    """The root group's string attributes ``names`` (those present), read without h5py, for a malformed file.

    Fixed-length strings and variable-length strings in the global heap, first element, as h5py reads them
    (trailing NULs of a fixed-length string dropped).  Raises ``Unsupported`` for any other layout, ``Malformed``
    when the root's own structure is broken and ``TooLarge`` for a string over ``cap`` bytes (before reading it).
    """
    walk = _Walk(stream)
    found: dict[str, bytes] = {}
    for kind, body, _ in walk.messages(walk.root):
        if kind == ATTRIBUTE:
            name, value = walk.string_attribute(body, names, cap)
            if name is not None and name not in found:
                found[name] = value
    return found


class _Walk:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        #: the file's bytes when it is held in memory (``_in_memory``): reads slice them, without a seek and read
        self.memory = stream.getvalue() if isinstance(stream, io.BytesIO) else None
        self.size = stream.seek(0, 2)
        self.total = self.reads = self.nodes = self.strings = self.string_bytes = self.messages_read = 0
        #: object header address -> ("group", its symbol table message), ("dataset", b"") or ("other", b"")
        self.kinds: dict[int, tuple[str, bytes]] = {}
        #: the first thing found that this walk does not parse; the walk goes on checking the structure
        self.doubt = ""
        self.base = self._signature()
        self.eoa = self.size - self.base  # until the superblock says where the HDF5 data ends
        self._superblock()

    def defer(self, reason: str) -> None:
        """Something not parsed here: the answer will be "unsupported", but the structure is still checked."""
        self.doubt = self.doubt or reason

    def malformed(self, what: str, address: int) -> Malformed:
        return Malformed(what, self.base + address if 0 <= address < UNDEFINED else address)

    # -- reading -------------------------------------------------------------------------------------------

    def read(self, address: int, length: int, what: str = "metadata", limit: int = MAX_READ) -> bytes:
        """``length`` bytes at relative ``address``, which must lie inside the HDF5 data (HDF5's EOA); at most
        ``limit`` (a string attribute's value: the caller's cap, checked before)."""
        if length > limit:
            raise Budget(f"read of {length} bytes")
        if address < 0 or length < 0 or address + length > self.eoa:
            raise self.malformed(f"{what} outside the file", address)
        self.total += min(length, MAX_READ)
        self.reads += 1
        if self.total > MAX_TOTAL_READ or self.reads > MAX_READS:
            raise Budget("more metadata than the fast path reads")
        if self.reads % 256 == 0 and budget.left() <= 0:
            raise Budget("the file's CPU budget")
        if self.memory is not None:
            data = self.memory[self.base + address : self.base + address + length]
            if len(data) < length:
                raise self.malformed("file ends before its end-of-file address", address)
            return data
        self.stream.seek(self.base + address)
        data = b""
        while len(data) < length:
            piece = self.stream.read(length - len(data))
            if not piece:
                raise self.malformed("file ends before its end-of-file address", address)
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
        if self.size - self.base < 96:
            raise self.malformed("file ends inside the superblock", 0)
        head = self.read(0, 100 if self.size - self.base >= 100 else 96, "superblock")
        version = head[8]
        if version not in (0, 1):
            raise Unsupported(f"superblock version {version}")
        if head[9] or head[10] or head[12]:  # free-space, root symbol table entry and shared header versions
            raise Unsupported("superblock component version")
        if head[13] != 8 or head[14] != 8:
            raise Unsupported(f"{head[13]}-byte addresses, {head[14]}-byte lengths")
        self.leaf_k, self.internal_k = _U16.unpack_from(head, 16)[0], _U16.unpack_from(head, 18)[0]
        if not self.leaf_k or not self.internal_k or _U32.unpack_from(head, 20)[0]:
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
            raise self.malformed("end-of-file address past the end of the file (truncated)", pos + 16)
        self.eoa = end - base
        _, self.root, cache, _ = _ENTRY.unpack_from(head, pos + 32)
        if cache not in (0, 1):
            raise Unsupported("root symbol table entry cache type")

    # -- the walk, as hdf5_audit.audit_file does it -------------------------------------------------------

    def audit(self, prefix: str) -> Audit:
        found: list[str] = []
        count = built = 0
        visited: set[int] = set()
        stack: list[tuple[str, int]] = [("", self.root)]
        while stack:
            path, address = stack.pop()
            kind, table = self.kind(address)
            if kind != "group":
                self.defer("the root is not a group")
                continue
            if address in visited:
                continue
            visited.add(address)
            entries = self.entries(table)
            count += len(entries)
            if count >= MAX_OBJECTS:
                raise Budget("object budget")  # h5py reports the file as not fully scanned
            for name, target, soft in entries:
                shown = name.decode("utf-8", "replace")
                if soft is not None:
                    found.append(f"{prefix}{path}/{shown} -> soft link to {soft.decode('utf-8', 'replace')}")
                    built += len(found[-1])
                elif self.kind(target)[0] == "group":
                    stack.append((f"{path}/{shown}", target))
                    built += len(stack[-1][0])
                if built > MAX_PATHS:
                    raise Budget("path budget")
        if self.doubt:
            raise Unsupported(self.doubt)
        return Audit(tuple(found))

    def kind(self, address: int) -> tuple[str, bytes]:
        """("group", its symbol table message), ("dataset", b"") or ("other", b""), checked as HDF5 checks it."""
        known = self.kinds.get(address)
        if known is None:
            try:
                known = self._classify(address)
            except Budget:
                raise
            except (Unsupported, struct.error, IndexError, ValueError) as exc:  # not parsed here: the rest still is
                self.defer(str(exc) or type(exc).__name__)
                known = ("other", b"")
            self.kinds[address] = known
        return known

    def _classify(self, address: int) -> tuple[str, bytes]:
        messages = self.messages(address)
        for kind, body, flags in messages:
            try:  # what HDF5 follows from a message to another object header: never in a cycle
                if flags & SHARED:
                    self._shared(kind, body, address)
                elif kind == ATTRIBUTE:
                    self._attribute(body, address)
            except Budget:
                raise
            except (Unsupported, struct.error, IndexError, ValueError) as exc:
                self.defer(str(exc) or type(exc).__name__)
            if flags & ~CONSTANT:  # shared, or flags not read here: h5py decides, but the walk goes on
                if kind == SYMBOL_TABLE:
                    raise Unsupported("symbol table message flags")
                self.defer("shared message or message flags")
        plain = [(kind, body) for kind, body, _ in messages]
        types = {kind for kind, _ in plain}
        if SYMBOL_TABLE in types:
            return ("group", self._group(plain, types))
        if DATATYPE in types and DATASPACE in types:
            self._dataset(plain, types)
            return ("dataset", b"")
        raise Unsupported(f"object at {address:#x} is neither a group nor a dataset")

    # -- object headers ------------------------------------------------------------------------------------

    def messages(self, address: int) -> list[tuple[int, bytes, int]]:
        """(type, body, flags) of a version 1 object header's messages, continuation chunks followed, nil dropped."""
        head = self.read(address, 16, "object header")
        if head[:4] == b"OHDR":
            raise Unsupported("object header version 2")
        version, _, expected, _, size = _PREFIX.unpack_from(head)
        if version != 1:
            raise self.malformed("not an object header", address)
        if (expected and size < 8) or (not expected and size):
            raise Unsupported("object header chunk size")
        chunks = [(address + 16, size)]
        spans = [(address, address + 16 + size)]
        messages: list[tuple[int, bytes, int]] = []
        count = 0
        index = 0
        while index < len(chunks):
            if index >= MAX_CHUNKS:
                raise Budget("object header continuation chain")
            at, size = chunks[index]
            index += 1
            data = self.read(at, size, "object header chunk")
            pos = 0
            while pos < size:
                if size - pos < 8:
                    raise Unsupported("object header gap")
                kind, length, flags = _MESSAGE.unpack_from(data, pos)
                body = data[pos + 8 : pos + 8 + length]
                message_at = at + pos
                pos += 8 + length
                count += 1
                self.messages_read += 1
                if self.messages_read > MAX_MESSAGES:
                    raise Budget("object header messages")
                if count > expected:
                    raise Unsupported("object header message count")
                if length % 8 or pos > size:
                    raise self.malformed("object header message past the end of its chunk", message_at)
                if kind in (NIL, CONTINUATION) and flags & ~CONSTANT:
                    self.defer("object header message flags")
                if kind == CONTINUATION:
                    if length < 16:
                        raise self.malformed("object header continuation message too short", message_at)
                    more_at, more = _TWO.unpack_from(body)
                    if more < 8 or more % 8:
                        raise Unsupported("continuation chunk size")
                    if more_at > self.eoa or more > self.eoa - more_at:
                        raise self.malformed("object header continuation chunk outside the file", message_at)
                    if any(more_at < end and start < more_at + more for start, end in spans):
                        raise self.malformed("object header continues into its own chunks (a cycle)", message_at)
                    chunks.append((more_at, more))
                    spans.append((more_at, more_at + more))
                elif kind != NIL:
                    messages.append((kind, body, flags))
        if count != expected:
            raise Unsupported("object header message count")
        return messages

    def _shared(self, kind: int, body: bytes, origin: int) -> None:
        """Follow a shared (committed) message as HDF5 does: malformed if the chain comes back on itself."""
        chain = [origin]
        while True:
            target = _shared_target(body)
            if target in chain:
                raise self.malformed("shared messages point back along their own chain (a cycle)", target)
            chain.append(target)
            if len(chain) > MAX_SHARED_CHAIN:
                raise Unsupported("shared message chain")
            found = [(flags, body) for k, body, flags in self.messages(target) if k == kind]
            if not found:
                raise Unsupported("shared message target")
            flags, body = found[0]
            if not flags & SHARED:
                return

    def _attribute(self, body: bytes, origin: int) -> None:
        """An attribute's own datatype or dataspace may be shared (versions 2 and 3): follow them."""
        if len(body) < 8 or body[0] not in (2, 3) or not body[1] & 3:
            return
        names, type_size, space_size = struct.unpack_from("<HHH", body, 2)
        at = (8 if body[0] == 2 else 9) + names
        if body[1] & 1:
            self._shared(DATATYPE, body[at : at + type_size], origin)
        if body[1] & 2:
            self._shared(DATASPACE, body[at + type_size : at + type_size + space_size], origin)

    def string_attribute(self, body: bytes, names: tuple[str, ...], cap: int) -> tuple[str | None, bytes]:
        """(name, first value) of a string attribute message if its name is one of ``names``, else (None, b"")."""
        version = body[0]
        if version not in (1, 2, 3):
            raise Unsupported("attribute message")
        name_size, type_size, space_size = struct.unpack_from("<HHH", body, 2)
        pad = (lambda n: (n + 7) & ~7) if version == 1 else (lambda n: n)  # noqa: E731
        pos = {1: 8, 2: 8, 3: 9}[version]
        name = body[pos : pos + name_size].rstrip(b"\0").decode("utf-8", "replace")
        if name not in names:
            return None, b""
        if version > 1 and body[1]:  # flags: a shared datatype or dataspace
            raise Unsupported("attribute message")
        pos += pad(name_size)
        datatype = body[pos : pos + type_size]
        pos += pad(type_size)
        elements = _space_elements(body[pos : pos + space_size])
        if elements < 1:
            raise Unsupported("empty attribute")
        if elements > 1:  # HDF5 reads every one (64 pointing at one 4 MiB heap object: 256 MiB)
            raise NotOneString(f"attribute {name} holds {elements} strings")
        value = body[pos + pad(space_size) :]
        kind, size = datatype[0] & 0x0F, _U32.unpack_from(datatype, 4)[0]
        if kind == 3:  # fixed-length string
            if size > cap:
                raise TooLarge(f"attribute {name} is {size:,} bytes")
            if len(value) < size:
                raise self.malformed("attribute value shorter than its datatype", 0)
            return name, value[:size].rstrip(b"\0")
        if kind == 9 and datatype[1] & 0x0F == 1:  # variable-length string: length, global heap collection, index
            length, collection, index = struct.unpack_from("<IQI", value)
            if length > cap:
                raise TooLarge(f"attribute {name} is {length:,} bytes")
            return name, self.global_heap_object(collection, index, length)
        raise Unsupported("attribute datatype")

    def global_heap_object(self, collection: int, index: int, length: int) -> bytes:
        """Object ``index`` of the global heap collection at ``collection``, which must be ``length`` bytes: HDF5
        copies the object whole into a buffer of the stored length (and only then compares the two)."""
        head = self.read(collection, 16, "global heap collection")
        if head[:5] != b"GCOL\x01":
            raise self.malformed("pointer to a global heap collection that is not one", collection)
        size = struct.unpack_from("<Q", head, 8)[0]
        if size < 16 or size > self.eoa - collection:
            raise self.malformed("global heap collection outside the file", collection)
        at = 16
        while at + 16 <= size:
            number, _, stored = struct.unpack_from("<HH4xQ", self.read(collection + at, 16, "global heap object"))
            if number == 0:  # free space: the end of the objects
                break
            if stored > size - at - 16:
                raise self.malformed("global heap object past the end of its collection", collection + at)
            if number == index:
                if stored != length:
                    raise self.malformed("variable-length string whose heap object is not its length", collection + at)
                return self.read(collection + at + 16, length, "global heap object", limit=length)
            at += 16 + ((stored + 7) & ~7)
        raise Unsupported("global heap object not found")

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
        for kind, body in messages:
            if kind == EXTERNAL and len(body) >= 16:  # HDF5 reads the file names from a local heap: check it
                self.heap(struct.unpack_from("<Q", body, 8)[0])
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
                self._siblings(btree)
                self.defer("B-tree sibling pointers")
                break
        return found

    def _siblings(self, btree: int) -> None:
        """Follow the right-sibling pointers level by level from the root, as HDF5's ``H5B_get_info`` does."""
        address = btree
        for _ in range(256):  # one level each; a level is one byte
            seen: set[int] = set()
            level = leftmost = None
            while address != UNDEFINED:
                if address in seen:
                    raise self.malformed("B-tree right-sibling pointers form a cycle", address)
                seen.add(address)
                self._count_node(address, set())
                data = self.read(address, 40, "B-tree node")
                if data[:5] != b"TREE\x00":
                    raise self.malformed("B-tree sibling pointer to something that is not a group B-tree node", address)
                if level is None:
                    level, leftmost = data[5], struct.unpack_from("<Q", data, 32)[0]
                address = struct.unpack_from("<Q", data, 16)[0]
            if not level:
                return
            address = leftmost
        raise self.malformed("B-tree deeper than 256 levels", btree)

    def _node(self, address: int, heap: bytes, level: int | None, low: bytes | None, high: bytes | None,
              found: list, rows: dict[int, list[tuple[int, int]]], seen: set[int]) -> None:  # fmt: skip
        """One v1 B-tree node of a group (type 0); names below it must be > ``low`` and <= ``high``."""
        self._count_node(address, seen)
        two_k = 2 * self.internal_k
        data = self.read(address, 24 + 8 * two_k + 8 * (two_k + 1), "B-tree node")
        if data[:5] != b"TREE\x00":
            raise self.malformed("B-tree child pointer to something that is not a group B-tree node", address)
        if level is not None and data[5] != level:
            raise self.malformed("B-tree child whose level is not one below its parent's", address)
        level, children = data[5], _U16.unpack_from(data, 6)[0]
        if children > two_k:
            raise self.malformed("B-tree node with more children than it has room for", address)
        if level and not children:
            self.defer("B-tree internal node without children")
        rows.setdefault(level, []).append((address, struct.unpack_from("<Q", data, 16)[0]))
        keys = (
            [self.string(heap, struct.unpack_from("<Q", data, 24 + 16 * i)[0]) for i in range(children + 1)]
            if children
            else []
        )
        if any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
            self.defer("B-tree keys out of order")
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
        data = self.read(address, 8 + 2 * self.leaf_k * entry, "symbol table node")
        if data[:5] != b"SNOD\x01":
            raise self.malformed("B-tree leaf pointer to something that is not a symbol table node", address)
        symbols = _U16.unpack_from(data, 6)[0]
        if symbols > 2 * self.leaf_k:
            raise self.malformed("symbol table node with more entries than it has room for", address)
        previous = low
        for i in range(symbols):
            name_at, header, cache, scratch = _ENTRY.unpack_from(data, 8 + i * entry)
            name = self.string(heap, name_at)
            if not name or name == b"." or b"/" in name:
                self.defer("link name h5py would resolve as a path")
            if name <= previous or name > high:
                self.defer("link names out of order")
            previous = name
            if cache == 2:
                found.append((name, header, self.string(heap, _U32.unpack_from(scratch)[0])))
            elif cache in (0, 1):
                found.append((name, header, None))
            else:
                self.defer("symbol table entry cache type")

    def string(self, heap: bytes, offset: int) -> bytes:
        """The NUL-terminated string at ``offset`` in a local heap's data."""
        self.strings += 1
        if self.strings > MAX_STRINGS:
            raise Budget("name budget")
        if offset >= len(heap):
            self.defer("heap string offset")  # HDF5 refuses it; the walk goes on without the name
            return b""
        end = heap.find(b"\0", offset, offset + MAX_STRING)
        if end < 0:
            self.defer("heap string")
            end = min(len(heap), offset + MAX_STRING)
        self.string_bytes += end - offset
        if self.string_bytes > MAX_STRING_BYTES:
            raise Budget("name bytes budget")
        return heap[offset:end]

    def _count_node(self, address: int, seen: set[int]) -> None:
        if address in seen:  # a cycle, or a subtree shared by two parents (HDF5 walks it once per path)
            raise self.malformed("B-tree node reached twice in one tree", address)
        seen.add(address)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Budget("B-tree node budget")

    def heap(self, address: int) -> bytes:
        """A local heap's data block, its free list checked as HDF5 checks it (and for cycles, which it does not)."""
        magic, version, size, free, data_at = _HEAP.unpack(self.read(address, _HEAP.size, "local heap"))
        if magic != b"HEAP" or version != 0:
            raise self.malformed("pointer to a local heap that is not one", address)
        if size and data_at < address + _HEAP.size and address < data_at + size:
            raise self.malformed("local heap data overlaps its header", address)
        data = self.read(data_at, size, "local heap data") if size else b""
        blocks: set[int] = set()
        while free != 1:  # 1: no (more) free blocks
            if free in blocks:  # HDF5 would follow it for ever, allocating as it goes
                raise self.malformed("local heap free list forms a cycle", data_at + free)
            if free >= size or size - free < 16:
                raise self.malformed("local heap free block outside the heap", address)
            following, length = _TWO.unpack_from(data, free)
            if length > size - free:
                raise self.malformed("local heap free block past the end of the heap", data_at + free)
            if following == 0 or length < 16:
                self.defer("local heap free block")
            blocks.add(free)
            if len(blocks) > size // 16:  # a block holds its own 16-byte link: more than fit means they overlap
                raise self.malformed("local heap free list longer than the heap can hold", data_at + free)
            free = following
        return data


def _shared_target(body: bytes) -> int:
    """The object header a shared message points to (versions 1 and 2, and 3 for a committed message)."""
    if len(body) >= 16 and body[0] == 1:
        return struct.unpack_from("<Q", body, 8)[0]
    if len(body) >= 10 and (body[0] == 2 or (body[0] == 3 and body[1] == 2)):
        return struct.unpack_from("<Q", body, 2)[0]
    raise Unsupported("shared message")


def _space_elements(space: bytes) -> int:
    """Element count of a dataspace message, version 1 or 2 (an attribute's may be either)."""
    if len(space) >= 4 and space[0] == 2:
        if space[3] == 0:
            return 1  # scalar
        if space[3] == 2:
            return 0  # null
        rank = space[1]
        elements = 1
        for dim in struct.unpack_from(f"<{rank}Q", space, 4):
            elements *= dim
        return elements
    if len(space) >= 8 and space[0] == 1:
        rank = space[1]
        elements = 1
        for dim in struct.unpack_from(f"<{rank}Q", space, 8):
            elements *= dim
        return elements
    raise Unsupported("dataspace")


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
