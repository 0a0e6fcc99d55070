"""h5py work on a file the pure-Python walk could not vouch for, done in a child process.

``readers/hdf5_walk.py`` proves a file's structure sound or malformed; on anything it does not parse (new-style
groups, v2 object headers, chunked datasets, ...) the file goes to h5py, and HDF5 can loop for ever, crash or
allocate until memory runs out on a crafted file whose broken part sits below such a structure.  A model file
comes from a pull request: a hang or a crash in the linter is a denial of service for CI.  So every h5py read of
such a file runs in ``python -m cnnlint.readers.hdf5_child`` (no TensorFlow or Keras import), under
``TIMEOUT_S`` seconds of wall-clock time (the ``CNNLINT_HDF5_TIMEOUT`` environment variable overrides it) and
an address-space cap of ``MEMORY_CAP`` bytes.  The child answers plain JSON on stdout; a time-out, a crash, a
memory error or anything but the expected answer raises ``Isolated``, whose message says the file was not
scanned (a crash by name: "the HDF5 reader crashed (signal 11, SIGSEGV)", with the last line it wrote to stderr).
It talks through pipes (nothing is written to disk); only the first ``MAX_ANSWER`` bytes of its stdout and the last
``MAX_STDERR`` of its stderr are kept.  The operations (one request on stdin, one answer on stdout), all defined in ``readers/hdf5_child.py``:

* ``audit``: ``hdf5_audit.audit_file`` on a weights file (a zip member read in place)
* ``root``: a legacy ``.h5``'s root attributes and its audit (``readers/h5.py``)
* ``groups``: ``weights.read_groups``'s dataset shapes of the groups asked for
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

TIMEOUT_S = 20.0
MEMORY_CAP = 2 << 30  # bytes of address space: h5py and numpy need ~0.5 GiB of it
MAX_ANSWER = 16 << 20  # bytes of JSON read back
MAX_STDERR = 4096  # bytes of the end of the child's stderr read back, for a crash's message
MAX_DETAIL = 200  # characters of its last line shown
MARK = "cnnlint-hdf5-child:"


#: The child's first statement sets its import path; ``-I`` keeps PYTHON* variables, the user's site and, above
#: all, the working directory off it.  CI lints a pull request's checkout: with ``python -m`` the child would
#: import an ``h5py.py`` or ``numpy.py`` that the pull request put at the repository's root.
CHILD_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
              "from cnnlint.readers.hdf5_child import main; main()")  # fmt: skip


def child_command() -> list[str]:
    """The child's command line: this interpreter, isolated, with the parent's import path minus the working
    directory, and this cnnlint first (so the child runs the same code as the parent, installed or not)."""
    root = str(Path(__file__).resolve().parents[2])
    here = {"", ".", os.getcwd()}
    path = [root, *(p for p in sys.path if p not in here and p != root)]
    return [sys.executable, "-I", "-c", CHILD_BOOT, json.dumps(path)]


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
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # thread pools reserve address space
    try:
        returncode, answer, errors = _communicate(json.dumps({"op": op, "args": args}).encode(), env, limit)
    except subprocess.TimeoutExpired:  # the child is killed
        raise Isolated(reason.format("")) from None
    except OSError as exc:
        raise Isolated(reason.format(f"; {type(exc).__name__}")) from None
    text, detail = answer.decode("utf-8", "replace"), _last_line(errors)
    if returncode < 0:  # killed by a signal: HDF5 crashed (or the system killed it)
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        raise Isolated(f"HDF5 library did not finish reading {shown}: the HDF5 reader crashed (signal {number}, "
                       f"{name}{'; ' + detail if detail else ''}): not scanned")  # fmt: skip
    if returncode != 0:
        raise Isolated(reason.format(f"; exit {returncode}"))
    lines = [line for line in text.splitlines() if line.startswith(MARK)]
    try:
        answer = json.loads(lines[-1][len(MARK) :])
        return answer["answer"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise Isolated(reason.format("; no answer")) from None


def _communicate(request: bytes, env: dict[str, str], limit: float) -> tuple[int, bytes, bytes]:
    """Run the child through pipes (no file is written); keep the first ``MAX_ANSWER`` bytes of its stdout and the
    last ``MAX_STDERR`` of its stderr, draining the rest so that it never blocks on a full pipe."""
    child = subprocess.Popen(child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)  # fmt: skip
    head, tail = bytearray(), bytearray()

    def keep_head(stream: Any) -> None:
        while chunk := stream.read(65536):
            head.extend(chunk[: max(0, MAX_ANSWER - len(head))])

    def keep_tail(stream: Any) -> None:
        while chunk := stream.read(65536):
            tail.extend(chunk)
            del tail[:-MAX_STDERR]

    readers = [threading.Thread(target=keep_head, args=(child.stdout,), daemon=True),
               threading.Thread(target=keep_tail, args=(child.stderr,), daemon=True)]  # fmt: skip
    for reader in readers:
        reader.start()
    try:
        try:
            child.stdin.write(request)  # type: ignore[union-attr]
            child.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:  # it died before reading: its exit status says why
            pass
        child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise
    finally:
        for reader in readers:
            reader.join(timeout=5)
    return child.returncode, bytes(head), bytes(tail)


def _last_line(data: bytes) -> str:
    """The last non-blank line of the child's stderr, printable characters only, at most ``MAX_DETAIL`` of them."""
    text = data.decode("utf-8", "replace")
    lines = [line for line in ("".join(c for c in raw if c.isprintable()).strip() for raw in text.splitlines()) if line]
    return lines[-1][:MAX_DETAIL] if lines else ""
