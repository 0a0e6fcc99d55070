"""Data probes (cnnlint/probes.py): separability, balance, duplicates, determinism, bad input."""

from __future__ import annotations

import builtins
import dataclasses

import numpy as np
import pytest

from cnnlint.errors import ConfigError
from cnnlint.probes import NO_SKLEARN, area_pool, probe_arrays, reduced_shape, stratified_subsample

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
