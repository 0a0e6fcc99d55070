"""h5py work on a file the pure-Python walk could not vouch for, done in a child process.

``readers/hdf5_walk.py`` proves a file's structure sound or malformed; on anything it does not parse (new-style
groups, v2 object headers, chunked datasets, ...) the file goes to h5py, and HDF5 can loop for ever, crash or
allocate until memory runs out on a crafted file whose broken part sits below such a structure.  A model file
comes from a pull request: a hang or a crash in the linter is a denial of service for CI.  So every h5py read of
such a file runs in ``python -m cnnlint.readers.hdf5_child`` (no TensorFlow or Keras import), on the file's
budget (``readers/budget.py``): it may use the CPU time the file has left (1.3 s for a whole file, however many
children it needs; the ``CNNLINT_HDF5_TIMEOUT`` environment variable sets another number of seconds) and is
stopped when it has, and once h5py is imported it caps its address space so that its memory stays within the
file's 200 MiB.  ``WALL_S`` of wall-clock time is a backstop for a child that waits without computing.  The child
answers plain JSON on stdout; a cut-off, a crash, a memory error or anything but the expected answer raises
``Isolated``, whose message says the file was not scanned (a crash by name: "the HDF5 reader crashed (signal 11,
SIGSEGV)", with the last line it wrote to stderr).
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
import time
from pathlib import Path
from typing import Any

from cnnlint.readers import budget

#: wall-clock seconds a child may take whatever its CPU time (one waiting on nothing: HDF5 never should)
WALL_S = 20.0
#: the most address space the child ever keeps: it sets its own cap lower, from the file's memory budget, once h5py
#: and numpy are imported (they map ~110 MiB with one BLAS thread)
MEMORY_CAP = 2 << 30
POLL_S = 0.02  # how often the parent looks at the child's CPU time
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
    """The child did not answer: it ran out of its budget, crashed, ran out of memory or wrote garbage.
    ``partial`` is what it handed on before that (``root``: the attributes, read before the audit), or ``None``."""

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


class _OverBudget(Exception):
    """The child used up the CPU time it was given."""


class _Stopped(Exception):
    """The child was stopped (over its CPU budget or ``WALL_S``); ``output`` is what it wrote before."""

    def __init__(self, output: bytes) -> None:
        super().__init__("stopped")
        self.output = output


def run(op: str, args: dict[str, Any], shown: str) -> Any:
    """``op``'s answer from a child process; ``Isolated`` (a one-line reason naming ``shown``) when none came."""
    limit = budget.left()
    if limit < budget.CHILD_MIN_S:
        raise Isolated(f"HDF5 library was not run on {shown}: the file's budget of {budget.total():g} s of CPU was "
                       "spent before it: not scanned")  # fmt: skip
    reason = (f"HDF5 library did not finish reading {shown} within its budget of {limit:.1f} s of CPU "
              "(hang or crash{}): not scanned")  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # thread pools reserve address space
    request = {"op": op, "args": args, "cpu_s": limit, "memory": budget.FILE_MEMORY}
    answer: bytes = b""
    try:
        returncode, answer, errors = _communicate(json.dumps(request).encode(), env, limit)
        failure = _failure(returncode, errors, reason, shown)
    except _Stopped as exc:  # the child is killed
        failure, answer = reason.format(""), exc.output
    except OSError as exc:
        failure = reason.format(f"; {type(exc).__name__}")
    messages = _messages(answer)
    if failure is None:
        try:
            return next(m["answer"] for m in reversed(messages) if "answer" in m)
        except StopIteration:
            failure = reason.format("; no answer")
    partial = next((m["partial"] for m in reversed(messages) if "partial" in m), None)
    raise Isolated(failure, partial)


def _failure(returncode: int, errors: bytes, reason: str, shown: str) -> str | None:
    """Why a finished child gave no answer, or ``None`` when it exited normally."""
    if returncode == -signal.SIGXCPU:  # its own CPU limit, where the parent could not watch it
        return reason.format("")
    if returncode < 0:  # killed by a signal: HDF5 crashed (or the system killed it)
        return _crash(shown, -returncode, _last_line(errors))
    if returncode != 0:
        return reason.format(f"; exit {returncode}")
    return None


def _messages(answer: bytes) -> list[dict[str, Any]]:
    """The child's well-formed JSON lines (partial results, then its answer)."""
    found = []
    for line in answer.decode("utf-8", "replace").splitlines():
        if line.startswith(MARK):
            try:
                message = json.loads(line[len(MARK) :])
            except ValueError:
                continue
            if isinstance(message, dict):
                found.append(message)
    return found


def _crash(shown: str, number: int, detail: str) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    return (f"HDF5 library did not finish reading {shown}: the HDF5 reader crashed (signal {number}, "
            f"{name}{'; ' + detail if detail else ''}): not scanned")  # fmt: skip


def _communicate(request: bytes, env: dict[str, str], cpu_s: float) -> tuple[int, bytes, bytes]:
    """Run the child through pipes (no file is written); keep the first ``MAX_ANSWER`` bytes of its stdout and the
    last ``MAX_STDERR`` of its stderr, draining the rest so that it never blocks on a full pipe.  Stop it when it has
    used ``cpu_s`` seconds of CPU or ``WALL_S`` of wall-clock time (``_Stopped``)."""
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
        _wait(child, cpu_s)
    except (subprocess.TimeoutExpired, _OverBudget):
        child.kill()
        child.wait()
        for reader in readers:
            reader.join(timeout=5)
        raise _Stopped(bytes(head)) from None
    finally:
        for reader in readers:
            reader.join(timeout=5)
    return child.returncode, bytes(head), bytes(tail)


def _wait(child: subprocess.Popen, cpu_s: float) -> None:
    deadline = time.monotonic() + WALL_S
    while True:
        try:
            child.wait(timeout=POLL_S)
            return
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise
            used = _cpu_of(child.pid)
            if used is not None and used > cpu_s:
                raise _OverBudget from None


def _cpu_of(pid: int) -> float | None:
    """A running process's CPU seconds, from /proc (``None`` where there is none: the child's own RLIMIT_CPU then)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _last_line(data: bytes) -> str:
    """The last non-blank line of the child's stderr, printable characters only, at most ``MAX_DETAIL`` of them."""
    text = data.decode("utf-8", "replace")
    lines = [line for line in ("".join(c for c in raw if c.isprintable()).strip() for raw in text.splitlines()) if line]
    return lines[-1][:MAX_DETAIL] if lines else ""
