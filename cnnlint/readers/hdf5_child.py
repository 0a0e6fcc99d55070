"""The child process of ``readers/hdf5_isolate.py``: one h5py operation, a JSON answer on stdout.

Run as ``python -m cnnlint.readers.hdf5_child`` with the request on stdin; once h5py is imported it caps its own
CPU time and address space from the request (the file's budget), then does the work.
Imports h5py (and numpy), never TensorFlow or Keras.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cnnlint.readers.hdf5_isolate import MARK, MEMORY_CAP


def _cap_memory(memory: int = 0) -> None:
    """Cap the address space at what is mapped now (h5py and numpy imported) plus what ``memory`` bytes of resident
    memory leave: the child then stays within the file's memory budget however HDF5 allocates."""
    try:
        import resource
    except ImportError:  # not on Linux/macOS: the CPU limit still holds
        return
    cap = MEMORY_CAP
    mapped, resident = _mapped_and_resident()
    if memory and mapped:
        cap = min(cap, mapped + max(memory - resident, 64 << 20))
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    except (ValueError, OSError):
        pass


def _mapped_and_resident() -> tuple[int, int]:
    """This process's address space and resident memory in bytes, from /proc (0, 0 where there is none)."""
    try:
        with open("/proc/self/status") as stream:
            fields = dict(line.split(":", 1) for line in stream if ":" in line)
        return int(fields["VmSize"].split()[0]) << 10, int(fields["VmRSS"].split()[0]) << 10
    except (OSError, KeyError, ValueError, IndexError):
        return 0, 0


def _cap_cpu(seconds: float) -> None:
    """The kernel's CPU limit, a backstop where the parent cannot watch the child's CPU time (no /proc)."""
    try:
        import math
        import resource

        limit = math.ceil(seconds) + 1
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (ImportError, ValueError, OSError):
        pass


def _audit(args: dict[str, Any]) -> dict[str, Any]:
    from cnnlint.readers.hdf5_audit import h5py_audit

    audit = h5py_audit(args["path"], args["member"], args["shown"])
    return {"links": list(audit.links), "incomplete": audit.incomplete}


def _root(args: dict[str, Any]) -> dict[str, Any]:
    from cnnlint.errors import ModelError
    from cnnlint.readers.h5 import h5py_root_attributes

    def emit(partial: dict[str, Any]) -> None:  # the attributes, before an audit HDF5 may hang on
        _write({"partial": partial})

    try:
        found, audit = h5py_root_attributes(Path(args["path"]), args["where"], audit=args.get("audit", True),
                                            emit=emit)  # fmt: skip
    except ModelError as exc:
        return {"error": exc.message, "hint": exc.hint}
    return {"attrs": found, "links": list(audit.links), "incomplete": audit.incomplete}


def _groups(args: dict[str, Any]) -> Any:
    from cnnlint.readers.weights import WeightsFile, h5py_read_groups

    found = h5py_read_groups(WeightsFile(args["path"], args["layout"], args["member"]), args["listed"],
                             args["counted"])  # fmt: skip
    if found is None:
        return None
    return {path: [list(group.children), [[name, list(shape)] for name, shape in group.datasets]]
            for path, group in found.items()}  # fmt: skip


OPERATIONS = {"audit": _audit, "root": _root, "groups": _groups}


def main() -> None:
    import h5py  # noqa: F401  (imported before the cap: the cap leaves room for the work, not for the imports)
    import numpy  # noqa: F401

    request = json.loads(sys.stdin.buffer.read())
    _cap_cpu(float(request.get("cpu_s") or 0) or 60.0)
    _cap_memory(int(request.get("memory") or 0))
    _write({"answer": OPERATIONS[request["op"]](request["args"])})


def _write(message: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
