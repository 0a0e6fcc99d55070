"""The stored length of a variable-length string attribute, read from the object header before reading the string.

For a variable-length string, HDF5's ``get_storage_size()`` is the size of the on-disk reference (16 bytes),
not of the string: a 16-byte check lets a 100 MB ``model_config`` through, and reading it costs its size several
times over.  The attribute message in the group's object header holds, per element, the string's length, then
where the string is in the global heap.  This module reads those lengths from the header (v1 and v2 layouts,
following continuation blocks), touching nothing else.  ``None`` means "could not tell" (the attribute is in
dense storage, or the header is malformed); the caller then refuses to read a string it cannot size.
"""

from __future__ import annotations

from typing import IO

ATTRIBUTE, CONTINUATION = 0x000C, 0x0010
VLEN_CLASS = 9
MAX_CHUNKS = 64
MAX_CHUNK_BYTES = 1 << 20


def vlen_total_length(stream: IO[bytes], base: int, header_address: int, name: str) -> int | None:
    """Sum of the stored lengths of attribute ``name``'s variable-length elements, or ``None``."""
    try:
        offset_size, length_size = _sizes(stream, base)
        for message_type, data in _messages(stream, base, header_address, offset_size, length_size):
            if message_type == ATTRIBUTE:
                found = _attribute_lengths(data, name, offset_size)
                if found is not None:
                    return found
    except (ValueError, IndexError, OSError):
        return None
    return None


def _read(stream: IO[bytes], at: int, size: int) -> bytes:
    if size < 0 or size > MAX_CHUNK_BYTES:
        raise ValueError("header chunk too large")
    stream.seek(at)
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("header runs past the end of the file")
    return data


def _sizes(stream: IO[bytes], base: int) -> tuple[int, int]:
    head = _read(stream, base, 16)
    version = head[8]
    return (head[13], head[14]) if version in (0, 1) else (head[9], head[10])


def _messages(stream: IO[bytes], base: int, address: int, offset_size: int, length_size: int):
    """(type, data) of every message of the object header at ``address``, continuation blocks included."""
    first = _read(stream, base + address, 16)
    if first[:4] == b"OHDR":
        yield from _messages_v2(stream, base, address, offset_size, length_size)
        return
    if first[0] != 1:
        raise ValueError("unknown object header version")
    size = int.from_bytes(first[8:12], "little")
    chunks = [(address + 16, size)]
    for _ in range(MAX_CHUNKS):
        if not chunks:
            return
        at, size = chunks.pop(0)
        data = _read(stream, base + at, size)
        pos = 0
        while pos + 8 <= len(data):
            kind, length = int.from_bytes(data[pos : pos + 2], "little"), int.from_bytes(data[pos + 2 : pos + 4], "little")
            body = data[pos + 8 : pos + 8 + length]
            pos += 8 + length
            if kind == CONTINUATION:
                chunks.append(_continuation(body, offset_size, length_size))
            else:
                yield kind, body


def _messages_v2(stream: IO[bytes], base: int, address: int, offset_size: int, length_size: int):
    prefix = _read(stream, base + address, 4 + 2 + 16 + 4 + 8)
    flags, pos = prefix[5], 6
    pos += 16 if flags & 0x20 else 0
    pos += 4 if flags & 0x10 else 0
    width = 1 << (flags & 0x03)
    size = int.from_bytes(prefix[pos : pos + width], "little")
    chunks = [(address + pos + width, size, False)]
    with_order = bool(flags & 0x04)
    for _ in range(MAX_CHUNKS):
        if not chunks:
            return
        at, size, is_continuation = chunks.pop(0)
        data = _read(stream, base + at, size)
        start, end = (4, len(data) - 4) if is_continuation else (0, len(data))  # "OCHK" ... checksum
        pos = start
        header = 4 + (2 if with_order else 0)
        while pos + header <= end:
            kind, length = data[pos], int.from_bytes(data[pos + 1 : pos + 3], "little")
            body = data[pos + header : pos + header + length]
            pos += header + length
            if kind == CONTINUATION:
                chunk_at, chunk_size = _continuation(body, offset_size, length_size)
                chunks.append((chunk_at, chunk_size, True))
            else:
                yield kind, body


def _continuation(body: bytes, offset_size: int, length_size: int) -> tuple[int, int]:
    at = int.from_bytes(body[:offset_size], "little")
    size = int.from_bytes(body[offset_size : offset_size + length_size], "little")
    return at, size


def _attribute_lengths(data: bytes, name: str, offset_size: int) -> int | None:
    """The summed element lengths if this attribute message is ``name`` with a variable-length type."""
    version = data[0]
    name_size = int.from_bytes(data[2:4], "little")
    type_size = int.from_bytes(data[4:6], "little")
    space_size = int.from_bytes(data[6:8], "little")
    if version == 1:
        def pad(n: int) -> int:
            return (n + 7) & ~7

        pos = 8
        stored_name = data[pos : pos + name_size]
        pos += pad(name_size)
        datatype = data[pos : pos + type_size]
        pos += pad(type_size) + pad(space_size)
    else:
        pos = 9 if version == 3 else 8
        stored_name = data[pos : pos + name_size]
        pos += name_size
        datatype = data[pos : pos + type_size]
        pos += type_size + space_size
    if stored_name.rstrip(b"\0") != name.encode() or not datatype or datatype[0] & 0x0F != VLEN_CLASS:
        return None
    element = 4 + offset_size + 4  # length, global heap collection address, object index
    values = data[pos:]
    return sum(int.from_bytes(values[i : i + 4], "little") for i in range(0, len(values) - element + 1, element))
