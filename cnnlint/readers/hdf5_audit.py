"""Everything in an HDF5 file that reaches outside it or aliases inside it, found without following any of it.

Keras and tf.keras read weights through h5py, and HDF5 quietly opens other files for an external link, a
dataset whose raw data is stored in external files, or a virtual dataset mapped onto other files; soft links
make one name read another object.  This walks every group once (a visited set of object addresses, so
hard-link cycles and self-linking groups cost one visit), reads link and dataset *metadata* only, and stops at
``MAX_OBJECTS``: a file with more objects is reported as not fully scanned rather than passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_OBJECTS = 15_000  # NASNetLarge saved with its Adam state has 5,700 (.keras) to 6,700 (.h5); ~50 µs each


@dataclass(frozen=True)
class Audit:
    """What the walk of an HDF5 file found that a reader must know before it trusts the file."""

    #: one line per link or dataset that reaches outside the file (or aliases inside it), every one of them (at most
    #: one per object): a baseline entry for them pins them all
    links: tuple[str, ...] = ()
    #: why the walk stopped early; empty when every object was visited
    incomplete: str = ""
    #: the file's structure is broken in a way HDF5 can loop or crash on (``readers/hdf5_walk.py``): it was not
    #: opened with h5py, and must not be
    malformed: bool = False
    #: the walk could not vouch for the file and h5py read it in a child process: any later h5py read of it
    #: (the weight listing) must run in one too
    isolated: bool = False


def audit_file(handle: Any, prefix: str = "") -> Audit:
    """Walk an open ``h5py.File`` (high-level handle).  ``prefix`` names the file in the lines, e.g. a zip member."""
    import h5py

    h5l, h5o, h5d = h5py.h5l, h5py.h5o, h5py.h5d
    found: list[str] = []
    count = 0
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[str, Any]] = [("", handle.id)]
    while stack:
        path, group = stack.pop()
        info = h5o.get_info(group)
        key = (info.fileno, info.addr)
        if key in visited:
            continue
        visited.add(key)
        links = _links(group, MAX_OBJECTS - count)
        count += len(links)
        if count >= MAX_OBJECTS:
            return Audit(tuple(found), f"more than {MAX_OBJECTS:,} HDF5 objects: not fully scanned")
        for name, kind in links:
            where = f"{prefix}{path}/{name.decode('utf-8', 'replace')}"
            if kind == h5l.TYPE_EXTERNAL:
                filename, target = (p.decode("utf-8", "replace") for p in group.links.get_val(name))
                found.append(f"{where} -> external link to {filename}:{target}")
            elif kind == h5l.TYPE_SOFT:
                found.append(f"{where} -> soft link to {group.links.get_val(name).decode('utf-8', 'replace')}")
            elif kind == h5l.TYPE_HARD:
                item = h5o.open(group, name)  # one call gives the type and the handle
                if isinstance(item, h5py.h5g.GroupID):
                    stack.append((f"{path}/{name.decode('utf-8', 'replace')}", item))
                elif isinstance(item, h5py.h5d.DatasetID):
                    found += _dataset_problems(item, where, h5d)
            else:
                found.append(f"{where} -> user-defined link type {kind}")
    return Audit(tuple(found))


def _links(group: Any, budget: int) -> list[tuple[bytes, int]]:
    """(name, link type) of a group's links, at most ``budget`` of them."""
    links: list[tuple[bytes, int]] = []

    def visit(name: bytes, info: Any) -> int | None:
        links.append((name, info.type))
        return 1 if len(links) >= budget else None  # non-zero stops HDF5's iteration

    group.links.iterate(visit, info=True)
    return links


def _dataset_problems(dataset: Any, where: str, h5d: Any) -> list[str]:
    plist = dataset.get_create_plist()
    problems = []
    if plist.get_external_count() > 0:
        files = sorted({plist.get_external(i)[0].decode("utf-8", "replace") for i in range(plist.get_external_count())})
        problems.append(f"{where} -> raw data stored in external file(s) {', '.join(files[:3])}")
    if plist.get_layout() == h5d.VIRTUAL:
        files = sorted({plist.get_virtual_filename(i) for i in range(plist.get_virtual_count())})
        problems.append(f"{where} -> virtual dataset mapped onto {', '.join(files[:3])}")
    return problems


def h5py_audit(path: str, member: str | None, shown: str) -> Audit:
    """``audit_file`` on a weights file through h5py, in this process: only ever called in the child process."""
    import zipfile

    import h5py

    from cnnlint.readers.weights import WeightsFile, open_weights

    try:
        with open_weights(WeightsFile(path, "keras3", member)) as stream, h5py.File(stream, "r") as handle:
            return audit_file(handle, prefix=shown + ":")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile) as exc:
        return Audit(incomplete=f"{shown} could not be read as HDF5 ({type(exc).__name__}: {exc})"[:300])
