"""Data probes: cheap, model-independent measurements of the training data (no training, no Keras).

How hard the task is at this n (issue 13): cross-validated 1-nearest-neighbour and linear-probe accuracy on a
bounded, class-stratified subsample; class balance; exact and near duplicates, and duplicates that carry
different labels (label-noise evidence).

The patch probe (risk v3) sees images as a convolutional network's first layer does, without training one: the
single-layer network of Coates, Lee and Ng (AISTATS 2011).  Each probed example is area-pooled to at most
``PATCH_SIDE`` (32) values a side, patches (6x6, or 5 steps of a sequence) are contrast-normalized and
ZCA-whitened, ``PATCH_CENTROIDS`` k-means centroids are learned from them (scikit-learn's ``MiniBatchKMeans``),
every patch at stride 2 is encoded by the triangle activation ``max(0, mean(d) - d_k)`` of its distances to the
centroids, and the codes are sum-pooled over the four quadrants into a linear probe.  On natural photos raw pixels
underrate what a CNN reaches (1-NN on CIFAR-10 pixels is about 0.3, a small CNN about 0.75); the patch probe's
accuracy tracks a CNN's there much more closely (``study/README.md`` measures which probe predicts the gap best on
each source).  It needs at least 8 values a side (images) or 16 steps (sequences) and at most 4 channels.

Features.  Each example is reduced by area averaging to at most ``MAX_FEATURES`` (256) values: the longest axis
of the per-example shape is halved (rounding up) until the product is <= 256, then every axis is averaged into
that many near-equal bins.  A 32x32x3 image becomes 8x8x3 (192 values), 28x28 becomes 14x14, 224x224x3 becomes
7x7x3, a 40-step sequence stays 40 values, a 1,000-step one becomes 250.  Features are then standardized per
feature with the subsample's mean and standard deviation.

Duplicates.  Every probed example is compared with every scanned example (all of them, unless the data is
larger than ``max_scan_bytes``): *exact* when the example's full bytes hash equal, *near* when the
root-mean-square difference of the standardized reduced features is below ``NEAR_TOLERANCE`` (0.05 standard
deviations per feature; two unrelated CIFAR-10 images are about 1.0 apart, their nearest neighbour among 50,000
about 0.3).  Fractions are shares of the probed examples, so they estimate the share in the whole data set.

Duplicates that land in different cross-validation folds make 1-NN look better than the task is; the
duplicate fractions say how much of that there is.

scikit-learn is optional (``pip install 'cnnlint[probes]'``); without it the separability probes are None and
a note says so.  Deterministic given (data, max_samples, seed).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlint.analysis import output_classes
from cnnlint.errors import ConfigError

MAX_FEATURES = 256
NEAR_TOLERANCE = 0.05
MAX_SCAN_BYTES = 512 << 20  # beyond this, duplicates are searched in a random part of the data
CHUNK_ROWS = 1024
CHUNK_BYTES = 16 << 20  # rows are read and pooled this many bytes at a time, at most
MAX_EXAMPLE_BYTES = 64 << 20
PATCH_SIDE = 32
PATCH_SIZE = 6
PATCH_SIZE_1D = 5
PATCH_STRIDE = 2
PATCH_CENTROIDS = 64
PATCH_KMEANS_SAMPLES = 20_000
PATCH_MAX_CHANNELS = 4
NO_SKLEARN = "scikit-learn is not installed: separability probes skipped (pip install 'cnnlint[probes]')"
ONE_CLASS = "the data has one class only: separability probes skipped"
TINY_CLASS = "a class has fewer than 2 examples in the subsample: separability probes skipped"
PARTIAL_SCAN = (
    "duplicates searched among {:,} of the {:,} examples (the data is larger than {:,} MiB), so they are a lower bound"
)
#: every note the probes write, as patterns: a cached entry's notes must match one (cnnlint/probe_cache.py)
NOTE_PATTERNS = tuple(
    re.escape(text).replace(re.escape("{:,}"), "[0-9,]+") for text in (NO_SKLEARN, ONE_CLASS, TINY_CLASS, PARTIAL_SCAN)
)


@dataclass(frozen=True)
class DataProbes:
    """The cheap measurements of how hard the training data is, taken on a bounded subsample."""

    samples: int  # n, examples in the training data given
    classes: int  # distinct labels (one-hot rows: their width)
    input_shape: tuple[int, ...]  # per-example shape
    probed: int  # examples in the bounded subsample the probes used
    knn_accuracy: float | None  # 5-fold stratified CV accuracy of 1-nearest-neighbour on the subsample
    linear_accuracy: float | None  # 5-fold stratified CV accuracy of a linear probe (multinomial logistic regression)
    majority_share: float  # share of the most common class (chance level of always guessing it)
    class_balance: float  # smallest class share / largest class share (1 = balanced)
    duplicate_fraction: float  # probed examples that exactly or nearly duplicate another example
    conflicting_duplicate_fraction: float  # probed examples with a duplicate that carries another label
    notes: tuple[str, ...] = ()
    exact_duplicate_fraction: float = 0.0
    #: 5-fold CV accuracy of a linear probe on single-layer k-means patch features (None: not an image or sequence)
    patch_accuracy: float | None = None  # probed examples whose bytes equal another example's
    scanned: int = 0  # examples the duplicate search compared against (all n unless the data is huge)
    features: int = 0  # reduced features per example
    label_span: int = 0  # largest class index + 1 (one-hot: the row width): what the model's output must cover
    resized: bool = False  # an image folder: every image resized to the first one's size
    source: str = ""  # where the data came from (a path, or "arrays"); not part of the cached numbers

    @property
    def chance(self) -> float:
        """Accuracy of always guessing the most common class: the floor the separability probes compare with."""
        return self.majority_share


#: reads the rows at the given sorted indices, in order, as (indices, rows) chunks
RowReader = Callable[[np.ndarray], Iterator[tuple[np.ndarray, np.ndarray]]]


def probe_arrays(x: Any, y: Any, *, max_samples: int = 2000, seed: int = 0,
                 max_scan_bytes: int = MAX_SCAN_BYTES) -> DataProbes:  # fmt: skip
    """Probe in-memory (or memory-mapped) arrays: x has one example per row, y int labels or one-hot rows."""
    if not isinstance(x, np.ndarray):  # lists, tf/torch tensors (a np.memmap is an ndarray, and stays lazy)
        x = np.asarray(x)
    return probe_rows(array_reader(x), (len(x), *x.shape[1:]), x.dtype, y, max_samples=max_samples, seed=seed,
                      max_scan_bytes=max_scan_bytes)  # fmt: skip


def chunk_rows(row_bytes: int) -> int:
    """How many rows to read at once: up to CHUNK_ROWS, and not more than CHUNK_BYTES."""
    return max(1, min(CHUNK_ROWS, CHUNK_BYTES // max(row_bytes, 1)))


def array_reader(x: Any) -> RowReader:
    """Chunks of rows from anything that supports numpy indexing (an ndarray, a np.memmap)."""
    step = chunk_rows(math.prod(x.shape[1:]) * x.dtype.itemsize)

    def read(indices: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(indices), step):
            chunk = indices[start : start + step]
            contiguous = len(chunk) and chunk[-1] - chunk[0] == len(chunk) - 1
            yield chunk, np.asarray(x[chunk[0] : chunk[-1] + 1] if contiguous else x[chunk])

    return read


def probe_rows(read: RowReader, shape: tuple[int, ...], dtype: Any, y: Any, *, max_samples: int = 2000,
               seed: int = 0, max_scan_bytes: int = MAX_SCAN_BYTES) -> DataProbes:  # fmt: skip
    """The probes, reading x only through ``read`` (rows of an .npz member read at their offsets, or streamed)."""
    n, input_shape = shape[0], tuple(int(d) for d in shape[1:])
    _check_x(n, input_shape, np.dtype(dtype))
    labels, classes, span = encode_labels(y, n)
    counts = np.bincount(labels, minlength=classes)
    present = counts[counts > 0]
    rng = np.random.default_rng(seed)
    probed = stratified_subsample(labels, max_samples, rng)
    row_bytes = max(1, math.prod(input_shape) * np.dtype(dtype).itemsize)
    scanned = _scan_indices(n, probed, max(len(probed), max_scan_bytes // row_bytes), rng)
    targets = reduced_shape(input_shape)
    position = np.searchsorted(scanned, probed)
    image_shape = patch_image_shape(input_shape)
    hashes, reduced, images = _read_scanned(read, scanned, input_shape, targets, position, image_shape)
    features, mean, scale = _standardize(reduced[position])
    notes: list[str] = []
    with _one_thread():
        knn, linear = separability(features, labels[probed], seed, notes)
        patch = patch_separability(images, labels[probed], seed) if images is not None and knn is not None else None
        reduced -= mean  # in place: the scaled copy would be another n x 256 floats
        reduced /= scale
        exact, near, conflict = duplicates(probed, position, scanned, hashes, reduced, labels)
    if len(scanned) < n:
        notes.append(PARTIAL_SCAN.format(len(scanned), n, max_scan_bytes // 2**20))
    return DataProbes(
        samples=n, classes=classes, input_shape=input_shape, probed=len(probed), knn_accuracy=knn,
        linear_accuracy=linear, majority_share=float(present.max() / n), class_balance=float(present.min() / present.max()),
        duplicate_fraction=float(np.mean(exact | near)), conflicting_duplicate_fraction=float(np.mean(conflict)),
        notes=tuple(notes), exact_duplicate_fraction=float(np.mean(exact)), scanned=len(scanned),
        features=math.prod(targets), label_span=span, patch_accuracy=patch,
    )  # fmt: skip


def patch_probe_arrays(x: Any, y: Any, *, max_samples: int = 2000, seed: int = 0) -> float | None:
    """The patch probe alone, on the same subsample ``probe_arrays`` draws (the study probes its corpus with it)."""
    x = np.asarray(x)
    labels, _, _ = encode_labels(y, len(x))
    probed = stratified_subsample(labels, max_samples, np.random.default_rng(seed))
    image_shape = patch_image_shape(tuple(x.shape[1:]))
    if image_shape is None:
        return None
    rows = np.asarray(x[probed]).reshape(len(probed), *_as_channels_last(tuple(x.shape[1:])))
    images = area_pool(rows, image_shape).reshape(len(probed), *image_shape)
    with _one_thread():
        return patch_separability(images, labels[probed], seed)


def data_fit_problem(probes: DataProbes, graph: Any) -> str | None:
    """Why this data cannot train this model (the checks ``confirm`` makes too), or None when it fits."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return None  # several inputs or outputs: one (x, y) pair cannot describe them
    data = f"data '{probes.source}'" if probes.source else "the data"
    shape = None if probes.resized else probes.input_shape
    return fit_problem(data, shape, probes.label_span, graph.input_shapes[0], graph.output_shapes[0])


def fit_problem(data: str, example_shape: tuple[int, ...] | None, label_span: int, model_in: tuple | None,
                model_out: tuple | None) -> str | None:  # fmt: skip
    """Why examples of ``example_shape`` with labels below ``label_span`` cannot train a model taking ``model_in``
    and giving ``model_out`` (None where a shape is unknown), or None when they fit."""
    if model_in is not None and example_shape is not None:
        wanted = tuple(model_in[1:])
        got = example_shape
        if len(got) != len(wanted) or any(w is not None and w != g for g, w in zip(got, wanted)):
            shown = "x".join("?" if d is None else str(d) for d in wanted)
            return (f"{data} holds examples of shape {'x'.join(map(str, got))}; the model takes {shown} "
                    "(reshape or resize the data, or check that it belongs to this model)")  # fmt: skip
    units = model_out[-1] if model_out else None
    if units is not None:
        classes = output_classes(units)
        if label_span > classes:
            return (f"{data} has labels up to {label_span - 1}; the model's output has {units} unit"
                    f"{'s' if units != 1 else ''} ({classes} classes)")  # fmt: skip
    return None


# ---- inputs --------------------------------------------------------------------------------


def _check_x(n: int, input_shape: tuple[int, ...], dtype: np.dtype) -> None:
    if n < 2:
        raise ConfigError(f"the data has {n} example{'s' if n != 1 else ''}; probes need at least 2")
    if dtype.kind not in "biuf":
        raise ConfigError(f"x holds {dtype} values; expected numbers (images or sequences)")
    if math.prod(input_shape) == 0:
        raise ConfigError(f"x has an empty per-example shape {input_shape}")
    if math.prod(input_shape) * dtype.itemsize > MAX_EXAMPLE_BYTES:
        raise ConfigError(f"each example has shape {input_shape}, over {MAX_EXAMPLE_BYTES >> 20} MiB; expected "
                          "images or sequences")  # fmt: skip


def encode_labels(y: Any, n: int) -> tuple[np.ndarray, int, int]:
    """Labels as 0..k-1 (int labels, or the argmax of one-hot rows), the class count and the largest index + 1."""
    indices, width = class_indices(y, n)
    values, labels = np.unique(indices, return_inverse=True)
    span = width or (int(values[-1]) + 1 if len(values) else 0)
    return labels.reshape(-1).astype(np.int64), max(len(values), width), span


def class_indices(y: Any, n: int, x_name: str = "x", y_name: str = "y") -> tuple[np.ndarray, int]:
    """``n`` examples' labels as class indices (int labels, or the argmax of one-hot rows), and the one-hot width
    (0 for index labels); a ``ConfigError`` for labels that are neither."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ConfigError(f"{y_name} holds {y.dtype} values; expected class indices or one-hot rows")
    width = 0
    if y.ndim == 2 and y.shape[1] > 1:
        width = y.shape[1]
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ConfigError(f"{y_name} has shape {np.shape(y)}; expected one label per example or one-hot rows")
    if len(y) != n:
        raise ConfigError(f"{x_name} holds {n:,} examples but {y_name} holds {len(y):,} labels")
    if y.dtype.kind == "f" and not (np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0)):
        raise ConfigError(f"{y_name} holds labels that are not whole numbers; expected class indices or one-hot rows")
    if len(y) and y.min() < 0:
        raise ConfigError(f"{y_name} holds the negative label {int(y.min())}; expected class indices 0, 1, ...")
    return y.astype(np.int64), width


def stratified_subsample(labels: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of min(n, max_samples) examples, each class in proportion (largest remainders)."""
    n = len(labels)
    if n <= max_samples:
        return np.arange(n)
    counts = np.bincount(labels)
    exact = counts * (max_samples / n)
    quota = np.floor(exact).astype(np.int64)
    # at least two of every class that has two, so that cross-validation can stratify
    quota = np.maximum(quota, np.minimum(counts, 2))
    left = max_samples - int(quota.sum())
    for _ in range(-left):  # the minimum overshot: the largest classes give back
        quota[np.argmax(quota)] -= 1
    if left > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        for c in order[:left]:
            quota[c] += quota[c] < counts[c]
    picked = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in enumerate(quota) if q]
    return np.sort(np.concatenate(picked))


def _scan_indices(n: int, probed: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    others = np.setdiff1d(np.arange(n), probed, assume_unique=True)
    extra = rng.choice(others, size=limit - len(probed), replace=False)
    return np.sort(np.concatenate([probed, extra]))


# ---- features ------------------------------------------------------------------------------


def reduced_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Halve the longest axis (rounding up) until at most MAX_FEATURES values remain."""
    sizes = list(input_shape)
    while math.prod(sizes) > MAX_FEATURES:
        longest = sizes.index(max(sizes))
        sizes[longest] = -(-sizes[longest] // 2)
    return tuple(sizes)


def area_pool(rows: np.ndarray, targets: tuple[int, ...]) -> np.ndarray:
    """Average each example over near-equal bins: (batch, *shape) -> (batch, prod(targets)) float32."""
    out = rows
    for axis, target in enumerate(targets, start=1):
        length = out.shape[axis]
        if target == length:
            continue
        if length % target == 0:  # equal bins: a reshaped sum, 2-3x faster than reduceat
            size = length // target
            out = out.reshape(*out.shape[:axis], target, size, *out.shape[axis + 1 :]).sum(
                axis=axis + 1, dtype=np.float32
            )
            out /= np.float32(size)
            continue
        starts = (np.arange(target) * length) // target
        sizes = np.diff(np.append(starts, length)).astype(np.float32)
        # summing straight into float32 skips a float copy of the raw rows
        out = np.add.reduceat(out, starts, axis=axis, dtype=np.float32)
        out /= sizes.reshape([-1 if a == axis else 1 for a in range(out.ndim)])
    return out.astype(np.float32, copy=False).reshape(len(rows), -1)


def _read_scanned(read: RowReader, scanned: np.ndarray, input_shape: tuple[int, ...], targets: tuple[int, ...],
                  position: np.ndarray, image_shape: tuple[int, ...] | None,
                  ) -> tuple[list[bytes], np.ndarray, np.ndarray | None]:  # fmt: skip
    """Row hashes and reduced features of every scanned row, and the probed rows pooled for the patch probe."""
    hashes: list[bytes] = []
    reduced = np.empty((len(scanned), math.prod(targets)), dtype=np.float32)
    images = None if image_shape is None else np.empty((len(position), *image_shape), dtype=np.float32)
    probed_at = np.zeros(len(scanned), dtype=bool)
    probed_at[position] = True
    filled = 0
    for _, rows in read(scanned):
        rows = np.ascontiguousarray(rows).reshape(len(rows), *input_shape)
        raw = memoryview(rows.tobytes())  # one copy per chunk; slicing a memoryview copies nothing
        size = len(raw) // max(len(rows), 1)
        # sha256: hardware-accelerated on current CPUs, 2x faster than blake2b on 3 KiB rows
        hashes += [hashlib.sha256(raw[i : i + size]).digest()[:16] for i in range(0, len(raw), size)]
        reduced[filled : filled + len(rows)] = area_pool(rows, targets)
        if images is not None:
            wanted = probed_at[filled : filled + len(rows)]
            if wanted.any():
                start = int(probed_at[:filled].sum())
                chosen = rows[wanted].reshape(int(wanted.sum()), *_as_channels_last(input_shape))
                images[start : start + len(chosen)] = area_pool(chosen, image_shape).reshape(len(chosen), *image_shape)
        filled += len(rows)
    if filled != len(scanned):
        raise ConfigError(f"x ended after {filled:,} of {len(scanned):,} examples")
    if not np.all(np.isfinite(reduced)):
        raise ConfigError("x holds NaN or infinite values")
    return hashes, reduced, images


def _as_channels_last(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Examples as (sides..., channels): (L,) is a one-channel sequence, (L, C) with C <= 4 a sequence, (H, W) a
    greyscale image; (H, W, C) and anything else stay as they are."""
    if len(input_shape) == 1 or (len(input_shape) == 2 and input_shape[1] > PATCH_MAX_CHANNELS):
        return (*input_shape, 1)
    return input_shape


def patch_image_shape(input_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The probed examples' shape for the patch probe (channels last, at most PATCH_SIDE a side), or None when the
    examples are neither images nor sequences the probe can read."""
    shape = _as_channels_last(input_shape)
    *sides, channels = shape
    if channels > PATCH_MAX_CHANNELS or len(sides) not in (1, 2):
        return None
    limit, smallest = (PATCH_SIDE, 8) if len(sides) == 2 else (4 * PATCH_SIDE, 16)
    if min(sides) < smallest:
        return None
    factor = -(-max(sides) // limit)
    return (*(-(-side // factor) for side in sides), channels)


def _standardize(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = features.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = features.std(axis=0, dtype=np.float64).astype(np.float32)
    scale[scale < 1e-6] = 1.0  # a constant feature stays 0 instead of dividing by zero
    return (features - mean) / scale, mean, scale


def _one_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS and OpenMP on one thread: on a busy machine, oversubscribed threads make the probes 10-50x slower.

    threadpoolctl limits only the libraries already loaded, so scikit-learn (and its OpenMP) is imported first.
    """
    try:
        import sklearn.neighbors  # noqa: F401
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


# ---- probes --------------------------------------------------------------------------------


def separability(
    features: np.ndarray, labels: np.ndarray, seed: int, notes: list[str]
) -> tuple[float | None, float | None]:
    """Cross-validated 1-NN and logistic-regression accuracy, or (None, None) with a note saying why."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:
        notes.append(NO_SKLEARN)
        return None, None
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) < 2:
        notes.append(ONE_CLASS)
        return None, None
    if counts.min() < 2:
        notes.append(TINY_CLASS)
        return None, None
    folds = StratifiedKFold(n_splits=min(5, int(counts.min())), shuffle=True, random_state=seed)
    knn = cross_val_score(KNeighborsClassifier(n_neighbors=1), features, labels, cv=folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a probe, not a model to ship
        linear = cross_val_score(LogisticRegression(max_iter=200), features, labels, cv=folds)
    return float(knn.mean()), float(linear.mean())


def patch_separability(images: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    """5-fold CV accuracy of a logistic regression on single-layer k-means patch features (see the module doc)."""
    try:
        from sklearn.cluster import MiniBatchKMeans
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return None
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) < 2 or counts.min() < 2:
        return None
    images = (images - images.mean()) / max(float(images.std()), 1e-6)
    rng = np.random.default_rng(seed)
    sample = _patches(images[rng.permutation(len(images))[: max(1, PATCH_KMEANS_SAMPLES // 50)]], 1)
    sample = sample.reshape(-1, sample.shape[-1])
    sample = sample[rng.permutation(len(sample))[:PATCH_KMEANS_SAMPLES]]
    mean, whiten = _zca(_contrast_normalize(sample))
    kmeans = MiniBatchKMeans(PATCH_CENTROIDS, random_state=seed, n_init=3, batch_size=2048)
    centroids = kmeans.fit((_contrast_normalize(sample) - mean) @ whiten).cluster_centers_.astype(np.float32)
    codes = np.concatenate([_encode(images[i : i + 128], mean, whiten, centroids) for i in range(0, len(images), 128)])
    folds = StratifiedKFold(n_splits=min(5, int(counts.min())), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codes = StandardScaler().fit_transform(codes)
        scores = cross_val_score(LogisticRegression(max_iter=200, C=0.1), codes, labels, cv=folds)
    return float(scores.mean())


def _patches(images: np.ndarray, stride: int) -> np.ndarray:
    """(m, *positions, patch values) of every patch at ``stride``: 6x6xC for images, 5xC for sequences."""
    from numpy.lib.stride_tricks import sliding_window_view

    spatial = images.ndim - 2
    size = PATCH_SIZE if spatial == 2 else PATCH_SIZE_1D
    size = min(size, *images.shape[1:-1])
    axes = tuple(range(1, 1 + spatial))
    windows = sliding_window_view(images, (size,) * spatial, axis=axes)
    windows = windows[(slice(None), *(slice(None, None, stride),) * spatial)]
    return windows.reshape(*windows.shape[: 1 + spatial], -1)


def _contrast_normalize(patches: np.ndarray) -> np.ndarray:
    centred = patches - patches.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(centred.var(axis=-1, keepdims=True) + 0.1)


def _zca(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = patches.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(patches - mean, rowvar=False))
    whiten = (vectors * (1.0 / np.sqrt(np.maximum(values, 0) + 0.1))) @ vectors.T
    return mean.astype(np.float32), whiten.astype(np.float32)


def _encode(images: np.ndarray, mean: np.ndarray, whiten: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Triangle codes of every patch at PATCH_STRIDE, sum-pooled over the quadrants (halves of a sequence)."""
    patches = _patches(images, PATCH_STRIDE)
    grid = patches.shape[1:-1]
    flat = (_contrast_normalize(patches.reshape(-1, patches.shape[-1])) - mean) @ whiten
    distances = np.sqrt(np.maximum((flat * flat).sum(1)[:, None] - 2 * flat @ centroids.T
                                   + (centroids * centroids).sum(1)[None, :], 0))  # fmt: skip
    codes = np.maximum(distances.mean(axis=1, keepdims=True) - distances, 0).reshape(len(images), *grid, -1)
    halves = [(slice(0, -(-g // 2)), slice(g // 2, g)) for g in grid]
    pooled = [codes[(slice(None), *parts)].sum(axis=tuple(range(1, 1 + len(grid)))) for parts in _product(halves)]
    return np.concatenate(pooled, axis=1)


def _product(halves: list[tuple[slice, slice]]) -> list[tuple[slice, ...]]:
    import itertools

    return list(itertools.product(*halves))


def duplicates(probed: np.ndarray, position: np.ndarray, scanned: np.ndarray, hashes: list[bytes],
               scaled: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per probed example: has an exact duplicate, has a near duplicate, has a duplicate with another label."""
    by_hash: dict[bytes, list[int]] = {}
    for i, digest in enumerate(hashes):
        by_hash.setdefault(digest, []).append(i)
    scanned_labels = labels[scanned]
    exact = np.zeros(len(probed), dtype=bool)
    conflict = np.zeros(len(probed), dtype=bool)
    for k, pos in enumerate(position):
        same = by_hash[hashes[pos]]
        if len(same) > 1:
            exact[k] = True
            conflict[k] = bool(np.any(scanned_labels[same] != scanned_labels[pos]))
    near = np.zeros(len(probed), dtype=bool)
    for rows, cols in near_pairs(scaled[position], scaled, NEAR_TOLERANCE**2 * scaled.shape[1]):
        others = cols != position[rows]
        rows, cols = rows[others], cols[others]
        near[rows] = True
        conflict[rows[scanned_labels[cols] != scanned_labels[position[rows]]]] = True
    return exact, near, conflict


def near_pairs(queries: np.ndarray, points: np.ndarray, threshold: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(query row, point row) pairs whose squared distance is below ``threshold``, in blocks of points.

    A squared distance over a subset of the coordinates never exceeds the full one, so a cheap pass over
    32 coordinates discards almost every pair; only the survivors get the full, exact distance.
    """
    subset = np.unique(np.linspace(0, points.shape[1] - 1, min(points.shape[1], 32)).astype(np.int64))
    q_sub = queries[:, subset]
    # |q|^2 + |p|^2 - 2 q.p as one matrix product: [q, |q|^2, 1] . [-2p, 1, |p|^2]
    q_aug = np.hstack([q_sub, np.einsum("ij,ij->i", q_sub, q_sub)[:, None], np.ones((len(q_sub), 1), np.float32)])
    slack = threshold * 1.01 + 1e-3  # float32 rounding must never drop a true pair
    for start in range(0, len(points), CHUNK_ROWS):
        block = points[start : start + CHUNK_ROWS]
        b_sub = block[:, subset]
        b_aug = np.hstack(
            [-2 * b_sub, np.ones((len(b_sub), 1), np.float32), np.einsum("ij,ij->i", b_sub, b_sub)[:, None]]
        )
        close = q_aug @ b_aug.T < slack
        if not close.any():  # the usual case; any() is 20x cheaper than nonzero()
            continue
        rows, cols = np.nonzero(close)
        if len(rows) > 50 * len(queries):  # many look-alikes (blank images): the full distance, block-wise
            squares = np.einsum("ij,ij->i", queries, queries)[:, None] + np.einsum("ij,ij->i", block, block)[None, :]
            rows, cols = np.nonzero(squares - 2 * queries @ block.T < threshold)
        else:
            difference = queries[rows] - block[cols]
            keep = np.einsum("ij,ij->i", difference, difference) < threshold
            rows, cols = rows[keep], cols[keep]
        yield rows, cols + start
