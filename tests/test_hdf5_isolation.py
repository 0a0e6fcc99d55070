"""h5py work on a file the pure-Python walk cannot vouch for runs in a child process (readers/hdf5_isolate.py).

A new-style root group (link messages, a v2 object header: the walk declines it) can hold an old-style group
whose B-tree siblings cycle: the walk never sees the cycle and HDF5 loops on it for ever.  The lint must report
such a file as not scanned (S408) after ``CNNLINT_HDF5_TIMEOUT`` seconds and go on with the other files; a valid
file the walk declines must still be audited by h5py, in the child, exactly as in-process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import tracemalloc

import h5py
import numpy as np
import pytest

from cnnlint.readers import budget, hdf5_isolate
from cnnlint.readers.keras_zip import audit_weights
from cnnlint.readers.weights import WeightsFile, h5py_read_groups, read_groups
from tests.conftest import REPO
from tests.hostile_corpus import sequential
from tests.test_hdf5_walk import CUSTOM, PREFIX, fast, h5, keras_file, keras_like, loop_base, reference, sibling_cycle

GOOD = REPO / "examples" / "example2_plain.keras"


def new_root_cycle(container: str) -> bytes:
    """A new-style root (``track_order``) holding old-style groups, one of them with a B-tree sibling cycle."""
    if container == "keras":
        data = h5(lambda handle: loop_base(handle, {}), track_order=True)
        assert fast(data) is None  # the walk declines the root: only HDF5 would meet the cycle
        return keras_file(sibling_cycle(data, {}))
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as handle:
        handle.attrs["model_config"] = json.dumps(sequential(dense, CUSTOM))
        handle.attrs["keras_version"] = "2.15.0"
        loop_base(handle.create_group("model_weights"), {})
    assert fast(buffer.getvalue()) is None
    return sibling_cycle(buffer.getvalue(), {})


@pytest.mark.parametrize("container", ["keras", "h5"])
def test_a_file_hdf5_hangs_on_is_not_scanned_and_the_others_are_linted(container, tmp_path):
    """The child is stopped when the file's CPU budget is spent (not after a wall-clock time-out of many seconds):
    the whole run, a good file included, stays within two files' worth of the per-file target."""
    bad = tmp_path / f"bad.{container}"
    bad.write_bytes(new_root_cycle(container))
    report = tmp_path / "report.json"
    env = {**os.environ, "CNNLINT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("CNNLINT_HDF5_TIMEOUT", None)
    child = subprocess.Popen([sys.executable, "-m", "cnnlint", str(bad), str(GOOD), "--samples", "1000", "--format",
                              "json", "-o", str(report)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                             cwd=REPO)  # fmt: skip
    timer = threading.Timer(90, child.kill)  # a regression hangs: the kill fails it
    timer.start()
    _, status, usage = os.wait4(child.pid, 0)
    timer.cancel()
    cpu = usage.ru_utime + usage.ru_stime  # the lint and its h5py children
    assert os.waitstatus_to_exitcode(status) == 1, child.stderr.read()
    models = {model["path"]: model for model in json.loads(report.read_text())["models"]}
    errors = [f for f in models[str(bad)]["findings"] if f["code"] == "S408"]
    assert len(errors) == 1 and errors[0]["severity"] == "error", models[str(bad)]
    assert "HDF5 library did not finish reading" in errors[0]["message"], errors[0]["message"]
    assert "within its budget of" in errors[0]["message"], errors[0]["message"]
    assert cpu < 2 * budget.FILE_CPU_S, cpu
    good = models[str(GOOD)]
    assert good["error"] is None and good["findings"], good
    assert not [f for f in good["findings"] if f["code"] == "S408"]


def latest(handle) -> None:
    """Keras-like weights in new-style groups (the walk declines them), with links h5py must report."""
    keras_like(handle)
    handle["soft"] = h5py.SoftLink("/layers")
    handle["outside"] = h5py.ExternalLink("other.h5", "/x")
    handle.create_dataset("chunked", data=np.ones(100, "f4"), chunks=(10,), compression="gzip")


@pytest.mark.parametrize("libver", ["latest", "earliest"])
def test_a_valid_file_the_walk_declines_is_audited_in_the_child_as_in_process(libver, tmp_path):
    data = h5(latest, libver=libver)
    assert fast(data) is None
    path = tmp_path / "model.weights.h5"
    path.write_bytes(data)
    audit = audit_weights(str(path), None)
    expected = reference(data)
    assert audit.isolated and not audit.malformed
    assert audit.links == tuple(line.replace(PREFIX, f"{path}:", 1) for line in expected.links) and audit.links
    assert audit.incomplete == expected.incomplete
    source = WeightsFile(str(path), "keras3", isolated=True)
    listed, counted = ["layers"], ["layers/dense_0", "many"]
    in_process = h5py_read_groups(source, listed, counted)
    assert in_process and read_groups(source, listed, counted) == in_process


def test_a_child_that_fails_is_not_scanned(monkeypatch):
    monkeypatch.setenv("CNNLINT_HDF5_TIMEOUT", "7")
    with pytest.raises(hdf5_isolate.Isolated, match=r"reading x\.h5 within its budget of 7\.0 s of CPU \(hang or crash; exit 1\)"):
        hdf5_isolate.run("no such operation", {}, "x.h5")  # the child raises KeyError


#: a child that writes 32 MB to stderr, then a last line, then dies of ``signal`` (no core file)
_CRASH = ("import os, resource, signal, sys; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
          "sys.stderr.write(('x' * 1023 + '\\n') * (32 << 10)); sys.stderr.write({last!r}); sys.stderr.flush(); "
          "os.kill(os.getpid(), signal.{signal})")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "last", "expected"),
    [
        ("SIGSEGV", "", "(signal 11, SIGSEGV; " + "x" * hdf5_isolate.MAX_DETAIL + ")"),  # the filler's, cut
        ("SIGABRT", "H5C.c:42: H5C_protect: Assertion `entry' failed.\x1b[0m\n\n",
         "(signal 6, SIGABRT; H5C.c:42: H5C_protect: Assertion `entry' failed.[0m)"),
    ],
)  # fmt: skip
def test_a_crash_reads_as_one_line_naming_its_signal(name, last, expected, monkeypatch):
    code = _CRASH.format(last=last, signal=name)
    monkeypatch.setattr(hdf5_isolate, "child_command", lambda: [sys.executable, "-c", code])
    tracemalloc.start()
    try:
        with pytest.raises(hdf5_isolate.Isolated) as caught:
            hdf5_isolate.run("audit", {}, "x.h5")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message == f"HDF5 library did not finish reading x.h5: the HDF5 reader crashed {expected}: not scanned"
    assert peak < 4 << 20, peak  # the 32 MB of stderr are not read back


def test_the_child_caps_its_address_space():
    code = "import resource; from cnnlint.readers.hdf5_child import _cap_memory; _cap_memory(); " \
           "print(resource.getrlimit(resource.RLIMIT_AS)[0])"  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert int(result.stdout) <= hdf5_isolate.MEMORY_CAP, result.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_the_child_caps_its_address_space_from_the_file_memory_budget():
    """Once h5py is imported, what the child may still map is what the file's 200 MiB of resident memory leave."""
    code = ("import resource, h5py, numpy; from cnnlint.readers.hdf5_child import _cap_memory, _mapped_and_resident; "
            "mapped, resident = _mapped_and_resident(); _cap_memory(200 << 20); "
            "print(mapped, resident, resource.getrlimit(resource.RLIMIT_AS)[0])")  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
    mapped, resident, cap = map(int, result.stdout.split())
    assert 0 < resident < mapped and cap <= mapped + max((200 << 20) - resident, 64 << 20) + (1 << 20), result.stderr
    assert cap < hdf5_isolate.MEMORY_CAP


def test_the_child_never_imports_from_the_working_directory(tmp_path, monkeypatch):
    """CI lints a pull request's checkout: an h5py.py (or numpy.py) planted at its root must not run in the child."""
    marker = tmp_path / "pwned"
    for name in ("h5py", "numpy", "cnnlint"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').write({name!r})\n")
    path = tmp_path / "model.weights.h5"
    path.write_bytes(h5(latest, libver="latest"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as `python -m cnnlint` run from that checkout would have it
    audit = audit_weights(str(path), None)
    assert audit.isolated and audit.links and not marker.exists()
    assert str(tmp_path) not in json.loads(hdf5_isolate.child_command()[-1])
