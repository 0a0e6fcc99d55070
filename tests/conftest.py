"""Shared fixtures.  Models are built with Keras inside the tests and cached per session.

Keras 3 (``keras``) and tf.keras 2 (``tf_keras``) are imported lazily: the
lint path itself never needs them, and ``test_cli.test_lint_path_never_imports_tensorflow_or_keras`` checks
that in a clean subprocess.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def k3():
    return pytest.importorskip("keras")


@pytest.fixture(scope="session")
def tfk():
    return pytest.importorskip("tf_keras")


def weight_counts(model) -> tuple[int, int]:
    """Keras's own trainable / non-trainable parameter counts."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert trainable + frozen == model.count_params()
    return int(trainable), int(frozen)


def save_keras3(model, folder: Path, name: str) -> dict[str, Path]:
    """Every format Keras 3 writes an architecture into."""
    paths = {"keras": folder / f"{name}.keras", "h5": folder / f"{name}.h5", "json": folder / f"{name}.json"}
    model.save(paths["keras"])
    model.save(paths["h5"])
    paths["json"].write_text(model.to_json())
    unzipped = folder / f"{name}_unzipped"
    with zipfile.ZipFile(paths["keras"]) as archive:
        archive.extract("config.json", unzipped)
        archive.extract("metadata.json", unzipped)
    paths["keras-folder"] = unzipped
    return paths


def save_tf_keras(model, folder: Path, name: str, savedmodel: bool = True) -> dict[str, Path]:
    """Every format tf.keras 2 writes an architecture into."""
    paths = {"keras": folder / f"{name}.keras", "h5": folder / f"{name}.h5", "json": folder / f"{name}.json"}
    model.save(paths["keras"])
    model.save(paths["h5"], save_format="h5")
    paths["json"].write_text(model.to_json())
    if savedmodel:
        paths["savedmodel"] = folder / f"{name}_savedmodel"
        model.save(paths["savedmodel"], save_format="tf")
    return paths


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``cnnlint`` entry point of this checkout in a subprocess.

    PYTHONPATH names the checkout: from another folder, ``-m cnnlint`` would otherwise find whatever cnnlint is
    installed (an editable install of another worktree, say).
    """
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "cnnlint", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        timeout=120,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that build or load models with Keras carry the ``keras`` marker, so ``-m "not keras"`` is the suite
    that needs no TensorFlow (the Keras parity tests are the rest)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})  # request.getfixturevalue("k3") cases
        used = set(getattr(item, "fixturenames", ())) | {v for v in params.values() if isinstance(v, str)}
        if {"k3", "tfk"} & used:
            item.add_marker(pytest.mark.keras)
