"""What one model file may cost to read: the readers' share of the 2 s of CPU and 200 MiB a lint of one file may
take, however many views (HDF5 in a ``.keras``, a polyglot's second format) and HDF5 child processes it needs.

``per_file()`` opens the budget of one file (``pipeline.lint_source`` and ``read_model``; nested calls share the
outer one).  CPU time counts this process's and its finished children's (the h5py child of
``readers/hdf5_isolate.py``): ``left()`` is what remains, and the child is given no more (it is stopped when it
has used it), the pure-Python HDF5 walk stops when none is left.  Running out is not silent: the part not read is
reported as not scanned (S408), for that file alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: The target per model file (issue 28): CPU seconds and bytes of memory, the whole lint included.
FILE_CPU_S = 2.0
FILE_MEMORY = 200 << 20
#: The readers' share of ``FILE_CPU_S``: interpreter start-up, imports, the graph, the rules and the report take the
#: rest (about 0.3 s for the largest models, 0.25 s of it start-up).
READ_CPU_S = 1.3
#: Less than this left and an h5py child cannot even import h5py (~0.25 s of CPU).
CHILD_MIN_S = 0.3


@dataclass
class _Budget:
    """A CPU-time limit, in seconds, and the CPU time used when it began."""

    limit: float
    start: float


_STACK: list[_Budget] = []


def cpu_used() -> float:
    """CPU seconds of this process and of its children that have finished."""
    try:
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime
    except ImportError:  # no resource module (Windows): this process only
        return time.process_time()


def limit_s() -> float:
    """The readers' CPU seconds per file; ``CNNLINT_HDF5_TIMEOUT`` overrides it (a positive number)."""
    try:
        value = float(os.environ.get("CNNLINT_HDF5_TIMEOUT", ""))
    except ValueError:
        return READ_CPU_S
    return value if value > 0 else READ_CPU_S


@contextmanager
def per_file() -> Iterator[None]:
    """The budget of one model file; inside another one, that one goes on."""
    if _STACK:
        yield
        return
    _STACK.append(_Budget(limit_s(), cpu_used()))
    try:
        yield
    finally:
        _STACK.pop()


def left() -> float:
    """CPU seconds this file may still use (a whole budget outside ``per_file``)."""
    if not _STACK:
        return limit_s()
    budget = _STACK[-1]
    return budget.limit - (cpu_used() - budget.start)


def total() -> float:
    """The budget's size, for messages."""
    return _STACK[-1].limit if _STACK else limit_s()
