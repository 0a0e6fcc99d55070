"""h5py work on a file the pure-Python walk could not vouch for, done in a child process.

``readers/hdf5_walk.py`` proves a file's structure sound or malformed; on anything it does not parse (new-style
groups, v2 object headers, chunked datasets, ...) the file goes to h5py, and HDF5 can loop for ever, crash or
allocate until memory runs out on a crafted file whose broken part sits below such a structure.  A model file
comes from a pull request: a hang or a crash in the linter is a denial of service for CI.  So every h5py read of
such a file runs in ``python -m cnnlint.readers.hdf5_child`` (no TensorFlow or Keras import), under
``TIMEOUT_S`` seconds of wall-clock time (the ``CNNLINT_HDF5_TIMEOUT`` environment variable overrides it) and
an address-space cap of ``MEMORY_CAP`` bytes.  The child answers plain JSON on stdout; a time-out, a crash, a
memory error or anything but the expected answer raises ``Isolated``, whose message says the file was not
scanned.  The operations (one request on stdin, one answer on stdout), all defined in ``readers/hdf5_child.py``:

* ``audit``: ``hdf5_audit.audit_file`` on a weights file (a zip member read in place)
* ``root``: a legacy ``.h5``'s root attributes and its audit (``readers/h5.py``)
* ``groups``: ``weights.read_groups``'s dataset shapes of the groups asked for
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TIMEOUT_S = 20.0
MEMORY_CAP = 2 << 30  # bytes of address space: h5py and numpy need ~0.5 GiB of it
MAX_ANSWER = 16 << 20  # bytes of JSON read back
MARK = "cnnlint-hdf5-child:"


class Isolated(Exception):
    """The child did not answer: it timed out, crashed, ran out of memory or wrote garbage."""


def timeout_s() -> float:
    try:
        value = float(os.environ.get("CNNLINT_HDF5_TIMEOUT", ""))
    except ValueError:
        return TIMEOUT_S
    return value if value > 0 else TIMEOUT_S


def run(op: str, args: dict[str, Any], shown: str) -> Any:
    """``op``'s answer from a child process; ``Isolated`` (a one-line reason naming ``shown``) when none came."""
    limit = timeout_s()
    reason = f"HDF5 library did not finish reading {shown} within {limit:g} s (hang or crash{{}}): not scanned"
    root = str(Path(__file__).resolve().parents[2])  # the parent's own cnnlint, wherever the command runs
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip  # thread pools reserve address space
    with tempfile.TemporaryFile() as out:
        try:
            done = subprocess.run([sys.executable, "-m", "cnnlint.readers.hdf5_child"],
                                  input=json.dumps({"op": op, "args": args}).encode(), stdout=out,
                                  stderr=subprocess.DEVNULL, env=env, timeout=limit, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:  # the child is killed
            raise Isolated(reason.format("")) from None
        except OSError as exc:
            raise Isolated(reason.format(f"; {type(exc).__name__}")) from None
        out.seek(0)
        text = out.read(MAX_ANSWER).decode("utf-8", "replace")
    if done.returncode != 0:
        raise Isolated(reason.format(f"; exit {done.returncode}"))
    lines = [line for line in text.splitlines() if line.startswith(MARK)]
    try:
        answer = json.loads(lines[-1][len(MARK) :])
        return answer["answer"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise Isolated(reason.format("; no answer")) from None
