"""Readers: every format, and one clear line with exit 2 for every broken input."""

from __future__ import annotations

import io
import json
import os
import random
import sys
import zipfile
from pathlib import Path

import pytest

from cnnlint.errors import ModelError
from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from tests.conftest import run_cli

TINY = {
    "class_name": "Sequential",
    "config": {"name": "tiny", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 1], "name": "in"}},
        {"class_name": "Conv2D", "config": {"name": "conv", "filters": 2, "kernel_size": 3}},
        {"class_name": "Flatten", "config": {"name": "flat"}},
        {"class_name": "Dense", "config": {"name": "out", "units": 3}},
    ]},
}  # fmt: skip


def write_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_hand_written_keras_zip(tmp_path):
    path = write_zip(tmp_path / "m.keras", {"config.json": json.dumps(TINY).encode(), "metadata.json": b"{}"})
    graph = model_graph(read_model(path))
    assert graph.params == (9 * 2 + 2) + (6 * 6 * 2 * 3 + 3)


def test_format_is_sniffed_not_taken_from_the_name(tmp_path):
    path = write_zip(tmp_path / "model.h5", {"config.json": json.dumps(TINY).encode()})
    assert read_model(path).format == "keras"


def test_keras3_export_savedmodel_says_there_is_no_architecture(tmp_path):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    with pytest.raises(ModelError, match="carries no Keras architecture"):
        read_model(folder)


def test_real_keras3_export_is_refused_clearly(k3, tmp_path):
    model = k3.Sequential([k3.Input((4,)), k3.layers.Dense(2)])
    model.export(tmp_path / "export", verbose=False)
    line = one_error_line(run_cli("inspect", str(tmp_path / "export")))
    assert "no keras_metadata.pb" in line and "export" in line


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("empty.keras", b"", "file is empty"),
        ("notes.keras", b"hello, this is not a model", "not a Keras model file"),
        ("lfs.keras", b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n", "Git LFS pointer"),
        ("bad.json", b'{"class_name": "Sequential", "config": {', "not valid JSON"),
        ("latin.json", b'{"class_name": "\xff\xfe"}', "not UTF-8"),
        ("list.json", b"[1, 2, 3]", "does not describe a Keras model"),
        ("deep.json", b'{"a":' * 100000 + b"1" + b"}" * 100000, "nested too deeply"),
        ("fake.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "cannot read HDF5 file"),
    ],
)
def test_broken_files_give_one_line_and_exit_2(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    line = one_error_line(run_cli(str(path)))
    assert expected in line and name in line


def test_truncated_zip(tmp_path):
    whole = write_zip(tmp_path / "whole.keras", {"config.json": json.dumps(TINY).encode() * 50},
                      compression=zipfile.ZIP_DEFLATED)  # fmt: skip
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "corrupt .keras archive" in one_error_line(run_cli(str(cut)))


def test_zip_without_config(tmp_path):
    path = write_zip(tmp_path / "m.keras", {"model.weights.h5": b"x"})
    assert "no config.json" in one_error_line(run_cli(str(path)))


def test_zip_bomb_is_refused_without_inflating(tmp_path):
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("config.json", "w", force_zip64=True) as stream,
    ):
        for _ in range(40):  # 40 MiB of spaces, a few KiB compressed
            stream.write(b" " * (1 << 20))
    path = tmp_path / "bomb.keras"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 200_000
    assert "over the 16 MiB limit" in one_error_line(run_cli(str(path)))


def test_h5_weights_only_file(k3, tmp_path):
    model = k3.Sequential([k3.Input((4,)), k3.layers.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    assert "holds weights only" in one_error_line(run_cli(str(tmp_path / "w.weights.h5")))


def test_folder_that_is_not_a_model_for_inspect(tmp_path):
    (tmp_path / "stuff").mkdir()
    assert "folder is not a model" in one_error_line(run_cli("inspect", str(tmp_path / "stuff")))


def test_missing_path(tmp_path):
    assert "no such file or folder" in one_error_line(run_cli(str(tmp_path / "nope.keras")))


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_loop(tmp_path):
    os.symlink(tmp_path / "a.keras", tmp_path / "b.keras")
    os.symlink(tmp_path / "b.keras", tmp_path / "a.keras")
    line = one_error_line(run_cli(str(tmp_path / "a.keras")))
    assert "a.keras" in line


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads everything")
def test_unreadable_file(tmp_path):
    path = write_zip(tmp_path / "m.keras", {"config.json": json.dumps(TINY).encode()})
    path.chmod(0)
    assert "permission denied" in one_error_line(run_cli(str(path)))


def test_wrong_types_in_layer_config_via_cli(tmp_path):
    bad = json.loads(json.dumps(TINY))
    bad["config"]["layers"][1]["config"]["filters"] = "abc"
    path = write_zip(tmp_path / "m.keras", {"config.json": json.dumps(bad).encode()})
    line = one_error_line(run_cli(str(path)))
    assert "layer 'conv': filters must be an integer, got 'abc'" in line


def test_dangling_and_cyclic_inbound_nodes(tmp_path):
    def functional(inbound):
        return {"class_name": "Functional", "config": {
            "name": "f", "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]],
            "layers": [
                {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"},
                 "inbound_nodes": []},
                {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}, "inbound_nodes": inbound},
            ]}}  # fmt: skip

    dangling = tmp_path / "dangling.json"
    dangling.write_text(json.dumps(functional([[["ghost", 0, 0, {}]]])))
    assert "is not a layer of this model" in one_error_line(run_cli(str(dangling)))
    cyclic = tmp_path / "cyclic.json"
    cyclic.write_text(json.dumps(functional([[["d", 0, 0, {}]]])))
    assert "never computed" in one_error_line(run_cli(str(cyclic)))


def test_one_bad_file_among_good_ones_still_lints_the_others(tmp_path):
    good = write_zip(tmp_path / "good.keras", {"config.json": json.dumps(TINY).encode()})
    (tmp_path / "bad.keras").write_bytes(b"garbage")
    result = run_cli(str(good), str(tmp_path / "bad.keras"), "--format", "json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    by_path = {Path(m["path"]).name: m for m in data["models"]}
    assert by_path["good.keras"]["error"] is None and by_path["good.keras"]["model"]["trainable_params"] > 0
    assert "not a Keras model file" in by_path["bad.keras"]["error"]


@pytest.mark.parametrize("pread", [True, False], ids=["pread", "block"])
def test_the_window_on_a_stored_member_reads_what_zipfile_reads(pread, tmp_path, monkeypatch):
    from cnnlint.readers import weights

    if not pread:
        monkeypatch.setattr(weights, "_PREAD", None)
    member = random.Random(7).randbytes(200_000)
    archive = write_zip(tmp_path / "m.keras", {"config.json": b"{}", "model.weights.h5": member, "z": b"tail"})
    with weights.open_weights(weights.WeightsFile(str(archive), "keras3", "model.weights.h5")) as stream:
        assert stream.read() == member
        for at, size in ((0, 5), (65_530, 20), (70_000, 100_000), (199_990, 50), (250_000, 4)):
            stream.seek(at)
            assert stream.read(size) == member[at : at + size]
            stream.seek(at)
            buffer = bytearray(size)
            got = stream.readinto(buffer)
            assert bytes(buffer[:got]) == member[at : at + size]
        stream.seek(-10, io.SEEK_END)
        assert stream.read(None) == member[-10:]
        assert stream.read(1) == b""


@pytest.mark.skipif(not hasattr(os, "pread"), reason="os.pread is POSIX only")
def test_the_window_reads_a_member_claimed_larger_than_the_file_in_pieces(tmp_path, monkeypatch):
    """A hostile archive may claim a member of a terabyte: reading it to the end asks for small pieces, never one
    buffer of the claimed size, and gets the bytes that are there."""
    from cnnlint.readers import weights

    asked = []
    real = weights._PREAD
    monkeypatch.setattr(weights, "_PREAD", lambda fd, count, at: asked.append(count) or real(fd, count, at))
    path = tmp_path / "short.bin"
    path.write_bytes(b"h" * 100 + b"x" * 50_000)
    with weights._Window(open(path, "rb", buffering=0), 100, 1 << 40) as window:  # noqa: SIM115 - it closes the file
        assert window.read() == b"x" * 50_000
        assert window.read(10) == b""
    assert asked and max(asked) <= 1 << 16, max(asked)
