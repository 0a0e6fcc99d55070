"""The study's data sources: five offline image or signal tasks, each regenerated bit-for-bit from a seed.

Every source returns a *pool*: ``(x_train, y_train, x_test, y_test)`` with ``uint8`` or ``float32`` inputs in
[0, 1] and integer labels.  Runs draw their training subset (n examples of k classes) from the train pool and are
measured on the whole test pool of those classes.  Only ``numpy.random.RandomState`` is used, whose streams numpy
keeps frozen across versions, so a pool made on the GPU machine and the one the ``probes`` step remakes here agree (each
run records its pool's digest; the probes step checks it).

* ``digits``: scikit-learn's bundled 8x8 handwritten digits, upsampled 2x to 16x16x1; 1,297 train / 500 test.
* ``mnist1d``: the ``mnist1d`` package's generator (its default arguments, 25,000 samples), 40 steps x 1 channel;
  20,000 train / 5,000 test.
* ``shapes``: procedurally drawn shapes (circle, square, triangle, ring, cross, diamond, ellipse, bars, X) at a
  random position, size, rotation and intensity on a noisy, cluttered background, 32x32x1; 2,000 / 200 per class.
* ``textures``: 32x32 grayscale patches of ten photographs bundled with scikit-image; a class is one photograph.
  Train patches come from the left 70 % of each photograph and test patches from the right 30 %, so no test patch
  overlaps a training patch.  2,000 / 200 per class.
* ``gratings``: oriented sinusoidal gratings in colour, 24x24x3, class = orientation bin, with random frequency,
  phase, colour and contrast, orientation jitter and noise; 2,000 / 200 per class.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .paths import DATA_CACHE

SOURCES = ("digits", "mnist1d", "shapes", "textures", "gratings")
CLASSES = {"digits": 10, "mnist1d": 10, "shapes": 10, "textures": 10, "gratings": 8}
PER_CLASS = 2000
PER_CLASS_TEST = 200
TEXTURE_IMAGES = ("brick", "grass", "gravel", "camera", "coins", "moon", "coffee", "chelsea", "astronaut", "rocket")
#: Pools that need a package (mnist1d, scikit-image) are cached here, so the GPU machine needs neither.
CACHE = DATA_CACHE


def load_pool(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return {"digits": _digits, "mnist1d": _mnist1d, "shapes": _shapes, "textures": _textures,
            "gratings": _gratings}[name]()  # fmt: skip


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def as_float(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") / 255.0 if x.dtype == np.uint8 else x.astype("float32")


def _digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = np.kron(data.images / 16.0, np.ones((1, 2, 2)))[..., None].astype("float32")
    y = data.target.astype("int64")
    order = np.random.RandomState(0).permutation(len(y))
    x, y = x[order], y[order]
    return x[:1297], y[:1297], x[1297:], y[1297:]


def _mnist1d():
    cached = CACHE / "mnist1d.npz"
    if cached.exists():
        with np.load(cached) as f:
            return f["x"], f["y"], f["x_test"], f["y_test"]
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = 25_000
    d = make_dataset(args)
    pool = (d["x"][..., None].astype("float32"), d["y"].astype("int64"),
            d["x_test"][..., None].astype("float32"), d["y_test"].astype("int64"))  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, x=pool[0], y=pool[1], x_test=pool[2], y_test=pool[3])
    return pool


def _balanced_split(make_one, classes: int, seed: int, size: int):
    """Draw PER_CLASS + PER_CLASS_TEST examples of each class with ``make_one(rng, label, split)``."""
    rng = np.random.RandomState(seed)
    xs, ys, xt, yt = [], [], [], []
    for split, count, xo, yo in (("train", PER_CLASS, xs, ys), ("test", PER_CLASS_TEST, xt, yt)):
        labels = np.repeat(np.arange(classes), count)
        rng.shuffle(labels)
        for label in labels:
            xo.append(make_one(rng, int(label), split, size))
            yo.append(label)
    return np.stack(xs), np.array(ys, "int64"), np.stack(xt), np.array(yt, "int64")


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def _shape_mask(label: int, u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    rad = np.hypot(u, v)
    w = 0.28 * r
    masks = [
        rad < r,                                                   # circle
        np.maximum(abs(u), abs(v)) < 0.85 * r,                     # square
        (v > -0.6 * r) & (v < 1.7 * u + 0.9 * r) & (v < -1.7 * u + 0.9 * r),  # triangle
        (rad < r) & (rad > 0.6 * r),                               # ring
        ((abs(u) < w) & (abs(v) < r)) | ((abs(v) < w) & (abs(u) < r)),  # plus
        abs(u) + abs(v) < r,                                       # diamond
        (u / r) ** 2 + (v / (0.45 * r)) ** 2 < 1,                  # ellipse
        (abs(v) < w) & (abs(u) < r),                               # bar
        ((abs(u - v) < 1.3 * w) | (abs(u + v) < 1.3 * w)) & (np.maximum(abs(u), abs(v)) < 0.8 * r),  # X
        (abs(v) < w) & (abs(u) < r) & (abs(u) > 0.35 * r),          # broken bar
    ]
    return masks[label]


def _draw_shape(rng: np.random.RandomState, label: int, split: str, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype("float64")
    img = rng.uniform(0.0, 0.3) + rng.normal(0, rng.uniform(0.03, 0.25), (size, size))
    for _ in range(rng.randint(0, 4)):  # clutter: faint blobs
        cy, cx, s = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(1.5, 4)
        img += rng.uniform(0.1, 0.4) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    r = rng.uniform(0.18, 0.38) * size
    cy, cx = rng.uniform(r, size - r), rng.uniform(r, size - r)
    angle = rng.uniform(0, 2 * np.pi)
    du, dv = xx - cx, yy - cy
    u, v = du * np.cos(angle) + dv * np.sin(angle), -du * np.sin(angle) + dv * np.cos(angle)
    img += rng.uniform(0.35, 0.9) * _shape_mask(label, u, v, r)
    return _to_uint8(img)[..., None]


def _shapes():
    return _balanced_split(_draw_shape, CLASSES["shapes"], seed=1, size=32)


def _texture_images() -> list[np.ndarray]:
    cached = CACHE / "textures.npz"
    if cached.exists():
        with np.load(cached) as f:
            return [f[name] for name in TEXTURE_IMAGES]
    import skimage.data

    images = []
    for name in TEXTURE_IMAGES:
        img = getattr(skimage.data, name)().astype("float64")
        if img.ndim == 3:
            img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, **dict(zip(TEXTURE_IMAGES, images)))
    return images


def _textures():
    images = _texture_images()
    size = 32

    def crop(rng, label, split, _size):
        img = images[label]
        h, w = img.shape
        cut = int(w * 0.7)
        lo, hi = (0, cut - size) if split == "train" else (cut, w - size)
        top, left = rng.randint(0, h - size + 1), rng.randint(lo, hi + 1)
        patch = img[top:top + size, left:left + size].astype("float64") / 255.0
        if rng.rand() < 0.5:
            patch = patch[:, ::-1]
        patch = (patch - patch.mean()) * rng.uniform(0.6, 1.3) + patch.mean() + rng.uniform(-0.15, 0.15)
        patch += rng.normal(0, 0.04, patch.shape)
        return _to_uint8(patch)[..., None]

    return _balanced_split(crop, CLASSES["textures"], seed=2, size=size)


def _grating(rng: np.random.RandomState, label: int, split: str, size: int) -> np.ndarray:
    classes = CLASSES["gratings"]
    theta = (label + rng.uniform(-0.45, 0.45)) * np.pi / classes
    freq = rng.uniform(0.08, 0.3)
    yy, xx = np.mgrid[0:size, 0:size].astype("float64")
    wave = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + rng.uniform(0, 2 * np.pi))
    color = rng.uniform(0.2, 1.0, 3)
    img = 0.5 + 0.5 * rng.uniform(0.2, 1.0) * wave[..., None] * color
    img += rng.normal(0, rng.uniform(0.05, 0.35), (size, size, 3))
    return _to_uint8(img)


def _gratings():
    return _balanced_split(_grating, CLASSES["gratings"], seed=3, size=24)
