"""Small training-data files for the ``--data`` tests: an .npz and an image folder, both with learnable classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def learnable(n: int, shape: tuple[int, ...], classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 examples whose class sets a per-class mean pattern, plus noise; labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    rng.shuffle(y)
    centers = rng.uniform(40, 215, size=(classes, *shape))
    x = np.clip(centers[y] + rng.normal(0, 20, size=(n, *shape)), 0, 255).astype(np.uint8)
    return x, y


def write_npz(path: Path, shape: tuple[int, ...], classes: int, n: int = 200, *, compressed: bool = False,
              keys: tuple[str, str] = ("x", "y"), seed: int = 0) -> Path:  # fmt: skip
    x, y = learnable(n, shape, classes, seed)
    (np.savez_compressed if compressed else np.savez)(path, **{keys[0]: x, keys[1]: y})
    return path


def write_image_folder(folder: Path, size: tuple[int, int], classes: int, per_class: int = 12, seed: int = 0) -> Path:
    """PNG files in one subfolder per class (grayscale, ``size`` = (height, width))."""
    from PIL import Image

    x, y = learnable(per_class * classes, size, classes, seed)
    for i, (image, label) in enumerate(zip(x, y)):
        target = folder / f"class_{label:02d}"
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(target / f"{i:04d}.png")
    return folder
