"""Time and memory classes of hostile files: each is refused with one line or read within bounds, never hangs.

The time and memory figures themselves are measured by benchmarks/bench_hostile.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import pytest
from cnnlint.rules import select_rules

from cnnlint.errors import ModelError
from cnnlint.findings import Dataset
from cnnlint.graph.builder import MAX_LAYERS
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import read_model
from cnnlint.readers.base import MAX_JSON_BYTES
from cnnlint.readers.hdf5_header import vlen_total_length
from tests.conftest import REPO, run_cli
from tests.hostile_corpus import (
    _link_cycles,
    _many_entries,
    _self_link,
    _zip64_directory_bomb,
    dense,
    functional_chain,
    h5_model,
    keras_zip,
    savedmodel,
    sequential,
)

ALL = LintSettings(tuple(select_rules()))
CUSTOM = sequential({"module": "my_lab.layers", "class_name": "Evil", "config": {"name": "evil"}})


def refused(path: Path, match: str) -> None:
    with pytest.raises(ModelError, match=match) as info:
        read_model(path)
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize("links", [_link_cycles, _self_link])
def test_hdf5_link_cycles_are_walked_once(tmp_path, links):
    path = tmp_path / "m.h5"
    path.write_bytes(h5_model(CUSTOM, weights=links))
    report = lint_source(path, Dataset(), ALL)
    assert report.error is None and "S402" in {f.code for f in report.findings}


def test_weights_link_cycles_in_a_keras_file(tmp_path):
    import tests.hostile_corpus as corpus

    path = tmp_path / "m.keras"
    path.write_bytes(keras_zip(json.dumps(CUSTOM).encode(), weights=corpus.weights_h5(lambda h: _link_cycles(h, h))))
    assert lint_source(path, Dataset(), ALL).error is None


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members_are_refused(tmp_path, method):
    path = tmp_path / "m.keras"
    path.write_bytes(keras_zip(json.dumps(sequential(dense())).encode(), method))
    refused(path, "compressed with method")


@pytest.mark.parametrize("build", [_zip64_directory_bomb, lambda: _many_entries(65_535)])
def test_central_directory_bombs_are_refused(tmp_path, build):
    path = tmp_path / "m.keras"
    path.write_bytes(build())
    refused(path, "entries")


def test_json_with_too_many_containers_is_refused(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b'{"class_name": "Sequential", "config": {"pad": [' + b"{}," * 600_000 + b'{}], "layers": []}}')
    refused(path, "JSON objects and arrays")


def test_savedmodel_metadata_is_capped(tmp_path):
    folder = savedmodel(tmp_path / "sm", [("root", {"model_config": sequential(dense()), "pad": "x" * MAX_JSON_BYTES})])
    refused(folder, "MiB")


@pytest.mark.parametrize("libver", ["earliest", "latest"])
@pytest.mark.parametrize("userblock", [0, 1024])
def test_vlen_attribute_length_is_read_before_the_string(tmp_path, libver, userblock):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w", libver=libver, userblock_size=userblock) as handle:
        handle.attrs["keras_version"] = "3.0"
        handle.attrs["model_config"] = json.dumps(sequential(dense())) + " " * (MAX_JSON_BYTES + 1)
        handle.attrs["names"] = ["ab", "cde"]
    with h5py.File(path, "r") as handle, open(path, "rb") as raw:
        header = h5py.h5o.get_info(handle.id).addr
        assert vlen_total_length(raw, userblock, header, "names") == 5
        assert vlen_total_length(raw, userblock, header, "model_config") > MAX_JSON_BYTES
    refused(path, "over the 16 MiB limit")


def test_reversed_chain_resolves_like_the_forward_one(tmp_path):
    forward, backward = tmp_path / "f.json", tmp_path / "b.json"
    forward.write_bytes(functional_chain(2_000, reverse=False))
    backward.write_bytes(functional_chain(2_000, reverse=True))
    graphs = [lint_source(p, Dataset(), ALL).graph for p in (forward, backward)]
    assert graphs[0] is not None and graphs[1] is not None
    assert graphs[0].params == graphs[1].params == 2_000 * 20
    order = [[node.layer.path for node in graph.nodes] for graph in graphs]
    assert order[0] == order[1] == ["in", *(f"d{i}" for i in range(2_000))]  # calls run in Keras's order


def test_too_many_layers_are_refused_before_building(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(sequential(*[dense(f"d{i}") for i in range(MAX_LAYERS + 1)])))
    report = lint_source(path, Dataset(), ALL)
    assert report.error and "layers" in report.error


def test_fifo_in_a_folder_is_skipped_with_a_note(tmp_path):
    (tmp_path / "ok.keras").write_bytes(keras_zip(json.dumps(sequential(dense())).encode()))
    os.mkfifo(tmp_path / "blocked.keras")
    os.mkfifo(tmp_path / "blocked.json")
    result = run_cli(str(tmp_path), "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    assert [Path(m["path"]).name for m in json.loads(result.stdout)["models"]] == ["ok.keras"]
    assert result.stderr.count("note:") == 2


def test_fifo_named_directly_is_one_line(tmp_path):
    fifo = tmp_path / "m.keras"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "cnnlint", str(fifo)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_deflated_member_still_reads(tmp_path):
    """Keras may deflate config.json: only the methods whose output zipfile cannot cap are refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(sequential(dense())))
    path = tmp_path / "m.keras"
    path.write_bytes(buffer.getvalue())
    assert read_model(path).config["class_name"] == "Sequential"


#: runs a command and prints its CPU seconds and peak RSS: a small process, so that the peak of the command it forks
#: is not the test process's (a forked child's peak counts the pages it had before exec)
_MEASURE = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "_, status, usage = os.wait4(child.pid, 0); "
            "print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)")


def _measured(path: Path, *args: str) -> tuple[int, float, float, str]:
    """(exit code, CPU seconds, peak MiB, stderr) of one cold lint, its HDF5 children included."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's cnnlint, from the file's folder
    result = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "cnnlint", str(path), "--select",
                             "S4", *args], capture_output=True, text=True, cwd=path.parent, env=env,
                            timeout=120)  # fmt: skip  # a regression hangs: the timeout fails it
    code, cpu, peak = result.stdout.split()[-3:]
    return int(code), float(cpu), float(peak), result.stderr


@pytest.mark.parametrize(("count", "stored"), [(64, None), (64, 1), (4_000, None)])
def test_an_attribute_pointing_at_one_heap_object_many_times_is_refused_before_reading(tmp_path, count, stored):
    """64 (or 4,000) strings that all point at one 4 MiB heap object: HDF5 would read it once per string."""
    from cnnlint.readers.budget import FILE_MEMORY
    from tests.hostile_corpus import vlen_array_one_object

    path = tmp_path / "m.h5"
    path.write_bytes(vlen_array_one_object(count, 4 << 20, stored=stored))
    assert path.stat().st_size < 5 << 20
    code, _, peak, errors = _measured(path)
    assert code == 2 and f"holds {count} strings" in errors, errors
    assert peak < FILE_MEMORY / (1 << 20) / 2, peak  # not one copy of the object was made


def test_an_array_in_dense_attribute_storage_is_refused_too(tmp_path):
    from tests.hostile_corpus import vlen_array_dense_storage

    path = tmp_path / "m.h5"
    path.write_bytes(vlen_array_dense_storage(64))
    code, _, _, errors = _measured(path)
    assert code == 2 and "holds 64 values" in errors, errors


@pytest.mark.parametrize("name", ["btree_self_sibling.h5", "weights_btree_self_sibling.keras", "polyglot_two_hangs.h5"])
def test_files_hdf5_loops_on_cost_one_files_budget_however_many_views(tmp_path, name):
    from cnnlint.readers.budget import FILE_CPU_S
    from tests.hostile_corpus import keras_zip, self_sibling_h5, self_sibling_weights

    custom = json.dumps(CUSTOM).encode()
    build = {"btree_self_sibling.h5": self_sibling_h5,
             "weights_btree_self_sibling.keras": lambda: keras_zip(custom, weights=self_sibling_weights()),
             "polyglot_two_hangs.h5": lambda: self_sibling_h5() + keras_zip(custom, weights=self_sibling_weights())}
    path = tmp_path / name
    path.write_bytes(build[name]())
    code, cpu, _, errors = _measured(path, "--format", "json", "-o", str(tmp_path / "r.json"))
    assert code == 1, errors
    report = json.loads((tmp_path / "r.json").read_text())["models"][0]
    assert any(f["code"] == "S408" and "not scanned" in f["message"] for f in report["findings"]), report
    assert cpu < FILE_CPU_S, cpu
