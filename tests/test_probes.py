"""Data probes (cnnlint/probes.py): separability, balance, duplicates, determinism, bad input."""

from __future__ import annotations

import builtins
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnnlint import probe_cache
from cnnlint.datasets import open_training_data
from cnnlint.errors import ConfigError
from cnnlint.probes import NO_SKLEARN, area_pool, probe_arrays, probe_rows, reduced_shape, stratified_subsample
from tests.conftest import REPO, run_cli
from tests.probe_data import learnable, write_image_folder, write_npz

pytest.importorskip("sklearn")


def clusters(n: int, classes: int, shape: tuple[int, ...], seed: int, spread: float = 3.0):
    """Images whose class decides a per-class mean pattern: separable for any reasonable probe."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(size=(classes, *shape)) * spread
    x = (centers[y] + rng.normal(size=(n, *shape))).astype(np.float32)
    return x, y


def test_separable_data_gives_high_probe_accuracy():
    x, y = clusters(600, 4, (16, 16, 3), seed=1)
    probes = probe_arrays(x, y)
    assert probes.knn_accuracy is not None and probes.knn_accuracy > 0.9
    assert probes.linear_accuracy is not None and probes.linear_accuracy > 0.9
    assert (probes.samples, probes.classes, probes.input_shape, probes.probed) == (600, 4, (16, 16, 3), 600)


def test_random_labels_give_about_chance():
    x, _ = clusters(800, 4, (16, 16, 3), seed=2)
    y = np.random.default_rng(3).integers(0, 4, len(x))
    probes = probe_arrays(x, y)
    assert abs(probes.knn_accuracy - 0.25) < 0.08
    assert abs(probes.linear_accuracy - 0.25) < 0.08
    assert probes.chance == pytest.approx(np.bincount(y).max() / len(y))


def test_one_hot_labels_equal_int_labels():
    x, y = clusters(300, 3, (8, 8, 1), seed=4)
    one_hot = np.eye(3, dtype=np.float32)[y]
    assert probe_arrays(x, one_hot) == probe_arrays(x, y)


def test_class_balance_and_majority_share():
    x = np.random.default_rng(5).normal(size=(100, 10)).astype(np.float32)
    y = np.array([0] * 80 + [1] * 20)
    probes = probe_arrays(x, y)
    assert probes.majority_share == pytest.approx(0.8)
    assert probes.class_balance == pytest.approx(20 / 80)


def test_duplicates_and_conflicting_duplicates_counted_exactly():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 256, size=(200, 12, 12, 3)).astype(np.uint8)
    y = rng.integers(0, 2, 200)
    x[1], y[1] = x[0], y[0]  # exact duplicate, same label
    x[3], y[3] = x[2], 1 - y[2]  # exact duplicate, other label
    x[5] = x[4]
    x[5, 0, 0, 0] ^= 1  # near duplicate: one byte differs by one
    y[5] = 1 - y[4]  # ... and carries another label
    x[7], x[8], y[7], y[8] = x[6], x[6], y[6], y[6]  # a triple, same label
    probes = probe_arrays(x, y)
    assert probes.exact_duplicate_fraction == pytest.approx(7 / 200)  # 0, 1, 2, 3, 6, 7, 8
    assert probes.duplicate_fraction == pytest.approx(9 / 200)  # and 4, 5
    assert probes.conflicting_duplicate_fraction == pytest.approx(4 / 200)  # 2, 3, 4, 5


def test_duplicates_in_a_subsample_are_searched_in_the_whole_data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1000, 20)).astype(np.float32)
    x[500:] = x[:500]  # every example has exactly one twin
    y = rng.integers(0, 2, 1000)
    probes = probe_arrays(x, y, max_samples=100)
    assert probes.probed == 100
    assert probes.duplicate_fraction == 1.0
    assert probes.exact_duplicate_fraction == 1.0


def test_deterministic_and_seed_dependent():
    x, y = clusters(3000, 3, (6, 6, 3), seed=8, spread=0.3)
    first = probe_arrays(x, y, max_samples=500, seed=0)
    assert probe_arrays(x.copy(), y.copy(), max_samples=500, seed=0) == first
    assert first.probed == 500
    assert probe_arrays(x, y, max_samples=500, seed=1).knn_accuracy != first.knn_accuracy


def test_subsample_is_stratified():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    picked = stratified_subsample(labels, 100, np.random.default_rng(0))
    assert len(picked) == 100 and len(set(picked)) == 100
    assert np.bincount(labels[picked]).tolist() == [89, 9, 2]  # the smallest class keeps two for CV


def test_reduction_keeps_at_most_256_values_and_averages_areas():
    assert reduced_shape((32, 32, 3)) == (8, 8, 3)
    assert reduced_shape((28, 28)) == (14, 14)
    assert reduced_shape((40,)) == (40,)
    assert reduced_shape((1000, 1)) == (250, 1)
    rows = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    pooled = area_pool(rows, (2, 2))
    assert pooled.shape == (2, 4)
    assert pooled[0].tolist() == pytest.approx([rows[0, :2, :2].mean(), rows[0, :2, 2:].mean(),
                                                rows[0, 2:, :2].mean(), rows[0, 2:, 2:].mean()])  # fmt: skip


def test_a_class_with_one_example_skips_separability_with_a_note():
    x = np.random.default_rng(9).normal(size=(30, 5)).astype(np.float32)
    y = np.array([0] * 15 + [1] * 14 + [2])
    probes = probe_arrays(x, y)
    assert probes.knn_accuracy is None and probes.linear_accuracy is None
    assert any("fewer than 2" in note for note in probes.notes)


def test_without_scikit_learn_separability_is_none_with_one_note(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    x, y = clusters(100, 2, (4, 4), seed=10)
    probes = probe_arrays(x, y)
    assert probes.knn_accuracy is None and probes.linear_accuracy is None
    assert probes.notes == (NO_SKLEARN,)
    assert probes.class_balance > 0


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((10, 4)), np.zeros(9), "10 examples but y holds 9"),
        (np.zeros((1, 4)), np.zeros(1), "at least 2"),
        (np.array([["a"], ["b"]]), np.zeros(2), "expected numbers"),
        (np.zeros((3, 4)), np.array(["a", "b", "c"]), "class indices"),
        (np.zeros((3, 4)), np.array([0.5, 1, 2]), "whole numbers"),
        (np.zeros((3, 4)), np.array([-1, 0, 1]), "negative label"),
        (np.full((3, 4), np.nan), np.zeros(3), "NaN"),
    ],
)
def test_bad_arrays_raise_one_clear_config_error(x, y, message):
    with pytest.raises(ConfigError, match=message):
        probe_arrays(x, y)


def test_probes_are_frozen_dataclasses():
    probes = probe_arrays(*clusters(50, 2, (4,), seed=11))
    with pytest.raises(dataclasses.FrozenInstanceError):
        probes.samples = 1  # type: ignore[misc]


# ---- data files, cache, CLI, config, API -----------------------------------------------------------------

MODEL = REPO / "examples" / "example1_reduced.keras"  # 28x28x1 in, 10 classes out


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "probe-cache"
    monkeypatch.setenv("CNNLINT_CACHE_DIR", str(folder))
    return folder


def probe_file(path):
    data = open_training_data(path)
    return probe_rows(data.read, data.shape, data.dtype, data.labels)


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("keys", [("x", "y"), ("x_train", "y_train")])
def test_npz_members_read_lazily_give_the_same_probes_as_the_arrays(tmp_path, compressed, keys):
    path = write_npz(tmp_path / "d.npz", (12, 12, 3), classes=3, n=300, compressed=compressed, keys=keys)
    x, y = learnable(300, (12, 12, 3), 3)
    assert probe_file(path) == probe_arrays(x, y)


def test_npz_read_in_chunks_matches_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr("cnnlint.probes.CHUNK_ROWS", 7)
    for compressed in (False, True):
        path = write_npz(tmp_path / f"d{compressed}.npz", (6, 6), classes=2, n=50, compressed=compressed)
        assert probe_file(path) == probe_arrays(*learnable(50, (6, 6), 2))


def test_image_folder_probes(tmp_path):
    pytest.importorskip("PIL")
    folder = write_image_folder(tmp_path / "images", (20, 16), classes=3, per_class=10)
    probes = probe_cache.probe_data(folder)
    assert (probes.samples, probes.classes, probes.input_shape) == (30, 3, (20, 16, 1))
    assert probes.resized and probes.source == str(folder)
    assert probes.knn_accuracy > 0.9


def test_cache_hit_miss_and_corrupt_entries(tmp_path, cache, monkeypatch):
    path = write_npz(tmp_path / "d.npz", (8, 8), classes=2, n=100)
    first = probe_cache.probe_data(path)
    entries = list(cache.rglob("*.json"))
    assert len(entries) == 1

    def fail(*args, **kwargs):
        raise AssertionError("probed again despite a valid cache entry")

    monkeypatch.setattr(probe_cache, "probe_rows", fail)
    assert probe_cache.probe_data(path) == first  # hit
    monkeypatch.undo()
    monkeypatch.setenv("CNNLINT_CACHE_DIR", str(cache))

    stored = json.loads(entries[0].read_text())
    corruptions = ["not json", json.dumps({**stored, "knn_accuracy": 7.0}), json.dumps({**stored, "samples": "9"}),
                   json.dumps({**stored, "notes": ["<script>"]}), json.dumps({k: v for k, v in stored.items() if k != "classes"}),
                   json.dumps([1, 2])]  # fmt: skip
    for corrupt in corruptions:
        entries[0].write_text(corrupt)
        assert probe_cache.probe_data(path) == first
        assert json.loads(entries[0].read_text()) == stored  # rewritten with the real numbers

    write_npz(path, (8, 8), classes=2, n=120, seed=1)  # new content: a miss, a second entry
    assert probe_cache.probe_data(path) != first
    assert len(list(cache.rglob("*.json"))) == 2


def test_arrays_are_cached_by_content(cache):
    x, y = learnable(80, (5, 5), 2)
    assert probe_cache.probe_data((x, y)) == probe_cache.probe_data((x.copy(), y.copy()))
    assert len(list(cache.rglob("*.json"))) == 1
    y[0] = 1 - y[0]
    probe_cache.probe_data((x, y))
    assert len(list(cache.rglob("*.json"))) == 2


def test_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CNNLINT_CACHE_DIR", str(blocker / "sub"))
    assert probe_cache.probe_data(learnable(40, (4,), 2)).samples == 40


def test_cli_every_format_shows_the_probes(tmp_path, cache):
    path = write_npz(tmp_path / "train.npz", (28, 28, 1), classes=10, n=300)
    env = {"CNNLINT_CACHE_DIR": str(cache)}
    text = run_cli(str(MODEL), "--data", str(path), "--no-color", env=env)
    assert text.returncode in (0, 1), text.stderr
    line = next(line for line in text.stdout.splitlines() if ": data: " in line)
    assert "n=300, 10 classes, 28x28x1" in line and "1-NN accuracy" in line and "chance 0.10" in line

    document = json.loads(run_cli(str(MODEL), "--data", str(path), "--format", "json", env=env).stdout)
    probes = document["models"][0]["probes"]
    assert probes["samples"] == 300 and probes["input_shape"] == [28, 28, 1] and probes["knn_accuracy"] > 0.9
    assert document["models"][0]["dataset"]["samples"] == 300  # the data's size is the training-set size

    sarif = json.loads(run_cli(str(MODEL), "--data", str(path), "--format", "sarif", env=env).stdout)
    assert sarif["runs"][0]["properties"]["models"][0]["probes"]["classes"] == 10

    github = run_cli(str(MODEL), "--data", str(path), "--format", "github", env=env).stdout
    assert any(
        line.startswith("::notice") and "data probes" in line and "n=300" in line for line in github.splitlines()
    )

    markdown = run_cli(str(MODEL), "--data", str(path), "--format", "markdown", env=env).stdout
    assert "| 1-NN acc. |" in markdown and "| 300 | 10 |" in markdown

    html = run_cli(str(MODEL), "--data", str(path), "--format", "html", env=env).stdout
    assert "<h3>Training data</h3>" in html and '<td class="num">300</td>' in html


def test_cli_without_data_shows_no_probes(cache):
    result = run_cli(str(MODEL), "--samples", "500", "--format", "json", env={"CNNLINT_CACHE_DIR": str(cache)})
    assert json.loads(result.stdout)["models"][0]["probes"] is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.npz", "no such data file or folder"),
        (lambda tmp: (tmp / "bad.npz").write_text("not a zip") and tmp / "bad.npz", "bad.npz: not a NumPy .npz"),
        (lambda tmp: MODEL, "holds no .npy arrays; expected x_train/y_train"),  # the model named as its own data
        (
            lambda tmp: np.savez(tmp / "obj.npz", x=np.array([{}, {}], dtype=object), y=np.zeros(2)) or tmp / "obj.npz",
            "obj.npz: the data holds Python objects (dtype object)",
        ),
        (lambda tmp: np.savez(tmp / "keys.npz", a=np.zeros(3)) or tmp / "keys.npz", "expected x_train/y_train"),
        (
            lambda tmp: np.savez(tmp / "len.npz", x=np.zeros((5, 28, 28, 1)), y=np.zeros(4)) or tmp / "len.npz",
            "5 examples but y holds 4",
        ),
        (lambda tmp: write_npz(tmp / "shape.npz", (32, 32, 3), classes=10), "the model takes 28x28x1"),
        (lambda tmp: write_npz(tmp / "classes.npz", (28, 28, 1), classes=12), "labels up to 11"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "no images found"),
    ],
)
def test_bad_data_is_one_clear_line_and_exit_2(tmp_path, cache, make, message):
    if "empty" in message or message == "no images found":
        pytest.importorskip("PIL")
    result = run_cli(str(MODEL), "--data", str(make(tmp_path)), env={"CNNLINT_CACHE_DIR": str(cache)})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.stderr, result.stderr
    assert "probes:" not in result.stdout  # the guide to the probes, with no probes shown, was a stray line


def test_config_data_per_model_relative_to_the_config(tmp_path, cache):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "data").mkdir()
    shutil.copy(MODEL, project / "models" / "good.keras")
    shutil.copy(MODEL, project / "models" / "bad.keras")
    write_npz(project / "data" / "train.npz", (28, 28, 1), classes=10, n=150)
    (project / "cnnlint.toml").write_text(
        '[[models]]\npath = "models/good.keras"\ndata = "data/train.npz"\n\n'
        '[[models]]\npath = "models/bad.keras"\ndata = "data/missing.npz"\n'
    )
    env = {"CNNLINT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}  # this checkout, from another folder
    result = run_cli("models", "--format", "json", "-o", "r.json", cwd=project, env=env)
    assert result.returncode == 2
    assert "no such data file or folder" in result.stderr and "bad.keras" in result.stderr
    models = {Path(m["path"]).name: m for m in json.loads((project / "r.json").read_text())["models"]}
    assert models["good.keras"]["probes"]["samples"] == 150  # the other model's results are still there
    assert models["good.keras"]["dataset"]["samples"] == 150
    assert models["bad.keras"]["error"]


def test_config_data_must_be_a_string(tmp_path):
    (tmp_path / "cnnlint.toml").write_text('[[models]]\npath = "*.keras"\ndata = 3\n')
    result = run_cli(str(MODEL), "--config", str(tmp_path / "cnnlint.toml"))
    assert result.returncode == 2 and "'data' must be a path" in result.stderr


def test_api_check_with_arrays_and_path(tmp_path):
    import cnnlint

    x, y = learnable(120, (28, 28, 1), 10)
    report = cnnlint.check(str(MODEL), data=(x, y))
    assert report.error is None
    assert report.probes.samples == 120 and report.probes.source == "arrays"
    assert report._report.dataset.samples == 120
    assert json.loads(report.to_json())["models"][0]["probes"]["classes"] == 10
    assert cnnlint.check(str(MODEL), data=(x, y), samples=5000)._report.dataset.samples == 5000
    path = write_npz(tmp_path / "d.npz", (28, 28, 1), classes=10)
    assert cnnlint.check(str(MODEL), data=path).probes.samples == 200
    with pytest.raises(ConfigError, match="the model takes 28x28x1"):  # data that does not fit: raised, as unreadable data
        cnnlint.check(str(MODEL), data=learnable(50, (8, 8), 2))
    with pytest.raises(ConfigError, match="no such data"):
        cnnlint.check(str(MODEL), data=tmp_path / "nope.npz")


def test_probes_reach_the_risk_model(monkeypatch):
    import cnnlint
    from cnnlint import pipeline

    seen = {}

    def spy(facts, dataset, findings=None, *, probes=None):
        seen["probes"] = probes

    monkeypatch.setattr(pipeline, "assess", spy)
    cnnlint.check(str(MODEL), data=learnable(60, (28, 28, 1), 10))
    assert seen["probes"] is not None and seen["probes"].samples == 60


def test_huge_data_searches_duplicates_in_a_part_and_says_so():
    x, y = learnable(400, (10, 10), 2)
    probes = probe_arrays(x, y, max_samples=50, max_scan_bytes=150 * 100)  # room for 150 rows of 100 bytes
    assert probes.probed == 50 and probes.scanned == 150
    assert any("lower bound" in note for note in probes.notes)
    assert probe_cache.from_dict(probe_cache.to_dict(probes)) == probes  # the cache accepts the probes' own notes


def test_cached_notes_must_be_the_probes_own():
    x, y = learnable(60, (4,), 2)
    stored = probe_cache.to_dict(probe_arrays(x, y))
    with pytest.raises(ValueError):
        probe_cache.from_dict({**stored, "notes": ["duplicates searched among 1 of the 2 examples; rm -rf /"]})


def test_image_folder_without_pillow_is_one_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    folder = write_image_folder(tmp_path / "images", (8, 8), classes=2, per_class=3)
    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(ConfigError, match="needs Pillow") as caught:
        probe_cache.probe_data(folder)
    assert "cnnlint[probes]" in caught.value.one_line()


def test_npz_header_promising_more_than_it_holds_is_refused_before_allocating(tmp_path):
    import zipfile

    x, y = learnable(20, (4,), 2)
    lying = tmp_path / "lying.npz"
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        with zipfile.ZipFile(lying, "w", compression) as archive:
            with archive.open("x.npy", "w") as stream:
                np.lib.format.write_array(stream, x)
            header = {"descr": "<i8", "fortran_order": False, "shape": (10**12,)}
            with archive.open("y.npy", "w") as stream:
                np.lib.format.write_array_header_1_0(stream, header)
                stream.write(y.astype("<i8").tobytes())
        with pytest.raises(ConfigError, match="claims shape"):
            probe_cache.probe_data(lying)


def test_lists_and_memory_maps_are_accepted(tmp_path):
    x, y = learnable(60, (6, 6), 3)
    expected = probe_arrays(x, y)
    assert probe_arrays(x.tolist(), y.tolist()) == expected
    np.save(tmp_path / "x.npy", x)
    assert probe_arrays(np.load(tmp_path / "x.npy", mmap_mode="r"), y) == expected


def test_many_identical_examples_take_the_full_distance_path():
    rng = np.random.default_rng(12)
    x = np.zeros((200, 6, 6), dtype=np.uint8)
    x[150:] = rng.integers(0, 256, size=(50, 6, 6))  # 150 blank examples, 50 distinct ones
    y = np.arange(200) % 2
    probes = probe_arrays(x, y)
    assert probes.exact_duplicate_fraction == probes.duplicate_fraction == pytest.approx(150 / 200)
    assert probes.conflicting_duplicate_fraction == pytest.approx(150 / 200)  # the blanks carry both labels
