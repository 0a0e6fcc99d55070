"""The child process of ``readers/hdf5_isolate.py``: one h5py operation, a JSON answer on stdout.

Run as ``python -m cnnlint.readers.hdf5_child`` with the request on stdin; it caps its own address space first.
Imports h5py (and numpy), never TensorFlow or Keras.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cnnlint.readers.hdf5_isolate import MARK, MEMORY_CAP


def _cap_memory() -> None:
    try:
        import resource
    except ImportError:  # not on Linux/macOS: the time limit still holds
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_CAP if hard == resource.RLIM_INFINITY else min(MEMORY_CAP, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        pass


def _audit(args: dict[str, Any]) -> dict[str, Any]:
    from cnnlint.readers.hdf5_audit import h5py_audit

    audit = h5py_audit(args["path"], args["member"], args["shown"])
    return {"links": list(audit.links), "incomplete": audit.incomplete}


def _root(args: dict[str, Any]) -> dict[str, Any]:
    from cnnlint.errors import ModelError
    from cnnlint.readers.h5 import h5py_root_attributes

    try:
        found, audit = h5py_root_attributes(Path(args["path"]), args["where"], audit=args.get("audit", True))
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
    _cap_memory()
    request = json.loads(sys.stdin.buffer.read())
    answer = OPERATIONS[request["op"]](request["args"])
    sys.stdout.write(MARK + json.dumps({"answer": answer}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
