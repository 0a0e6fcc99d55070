"""The risk study's corpus as the fit sees it: every trained run, its data probes and its feature row.

Static features come from cnnlint's own reader, graph and analysis code on the run's saved config
(``cnnlint.risk.features``), so the model sees exactly what ``cnnlint`` sees.  Data probes
(``cnnlint.probes.probe_arrays``, and ``patch_probe_arrays`` for the patch probe) are computed on the run's own
training subset, regenerated from its seeds, and cached in ``study/probe-cache/`` (the ``probes`` step; appended as
computed, so resumable).  A run's rerun (v3-reruns) draws the same data, so it shares its run's probes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sys
from dataclasses import dataclass

import numpy as np

from cnnlint.analysis import analyze
from cnnlint.findings import Dataset
from cnnlint.pipeline import model_graph
from cnnlint.readers import raw_from_dict
from cnnlint.risk import FEATURES, features

from . import generate, records
from .paths import DATA_PROBES, PATCH_PROBES, V1, V2, V3, V3_RERUNS, V4_PHOTOS

#: the columns of the feature matrix
ALL = tuple(f.name for f in FEATURES)
#: (label, folder): v1, v2 (fixed 20-40 epochs), v2 runs retrained for >= 600 steps, v3 (>= 600 steps), v4
#: (photos: CIFAR-10 and Imagenette, >= 600 steps)
CORPORA = (("v1", V1), ("v2", V2), ("v3r", V3_RERUNS), ("v3", V3), ("v4", V4_PHOTOS))


def load_runs() -> list[dict]:
    runs = []
    for corpus, folder in CORPORA:
        for record in records.trained(folder):
            record["corpus"] = corpus
            runs.append(record)
    unique = {(r["corpus"], r["id"]): r for r in runs}
    return [unique[key] for key in sorted(unique)]


def version(runs: list[dict]) -> str:
    """What the fitted files are a function of: the runs and their measured gaps."""
    return hashlib.sha256("".join(f"{run_key(r)}:{r['gap']}" for r in runs).encode()).hexdigest()[:12]


def run_key(run: dict) -> str:
    return f"{run['corpus']}:{run['id']}"


def data_key(run: dict) -> str:
    """Runs from v2 on draw their data from the spec's seeds alone, so a rerun shares its run's probes."""
    return f"v1:{run['id']}" if run["corpus"] == "v1" else f"{'v4' if run['corpus'] == 'v4' else 'v2'}:{run['id']}"


class Pools:
    """The data each run was trained on, regenerated from its seeds (for the probes)."""

    def __init__(self) -> None:
        self._pools: dict[str, tuple] = {}

    def training_subset(self, run: dict) -> tuple[np.ndarray, np.ndarray]:
        spec = run["spec"]
        if run["corpus"] == "v1":
            x_pool, y_pool = self._pool("v1-" + spec["dataset"])[:2]
            pick = np.random.RandomState(spec["seed"]).permutation(len(y_pool))[: spec["n"]]
            return x_pool[pick], y_pool[pick]
        x, y, *_ = generate.draw_data(spec, generate.load_pools(self._pools, spec))
        return x, y

    def _pool(self, name: str) -> tuple:
        if name not in self._pools:
            from . import generate_v1

            self._pools[name] = {"v1-digits": generate_v1.load_digits,
                                 "v1-mnist1d": generate_v1.load_mnist1d}[name]()  # fmt: skip
        return self._pools[name]


def load_probe_cache() -> dict[str, dict]:
    cache = {}
    if DATA_PROBES.exists():
        for line in DATA_PROBES.read_text().splitlines():
            entry = json.loads(line)
            cache[entry["key"]] = entry
    return cache


def probe_all(runs: list[dict]) -> dict[str, dict]:
    from cnnlint.probes import probe_arrays

    cache, pools = load_probe_cache(), Pools()
    missing = list({data_key(r): r for r in runs if data_key(r) not in cache}.values())
    for i, run in enumerate(missing):
        x, y = pools.training_subset(run)
        probes = probe_arrays(x, y)
        entry = {"key": data_key(run), "knn_accuracy": probes.knn_accuracy, "linear_accuracy": probes.linear_accuracy,
                 "duplicate_fraction": probes.duplicate_fraction, "probed": probes.probed}  # fmt: skip
        cache[entry["key"]] = entry
        with open(DATA_PROBES, "a") as stream:
            stream.write(json.dumps(entry) + "\n")
        if i % 50 == 0:
            print(f"probes: {i + 1}/{len(missing)}", file=sys.stderr, flush=True)
    return cache


def load_patch_cache() -> dict[str, float | None]:
    cache: dict[str, float | None] = {}
    if PATCH_PROBES.exists():
        for line in PATCH_PROBES.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                cache[entry["key"]] = entry["patch_accuracy"]
    return cache


def probe_patches(runs: list[dict]) -> dict[str, float | None]:
    """The patch probe of every run's training data (``PATCH_PROBES``, appended as computed: resumable)."""
    from cnnlint.probes import patch_probe_arrays

    cache, pools = load_patch_cache(), Pools()
    missing = list({data_key(r): r for r in runs if data_key(r) not in cache}.values())
    for i, run in enumerate(missing):
        x, y = pools.training_subset(run)
        cache[data_key(run)] = patch_probe_arrays(x, y)
        with open(PATCH_PROBES, "a") as stream:
            stream.write(json.dumps({"key": data_key(run), "patch_accuracy": cache[data_key(run)]}) + "\n")
        if i % 50 == 0:
            print(f"patch probes: {i + 1}/{len(missing)}", file=sys.stderr, flush=True)
    return cache


class _Probes:
    """The probe values ``cnnlint.risk.features`` reads, from the caches."""

    def __init__(self, entry: dict, patch_accuracy: float | None) -> None:
        self.knn_accuracy = entry["knn_accuracy"]
        self.linear_accuracy = entry["linear_accuracy"]
        self.patch_accuracy = patch_accuracy

def featurize(runs: list[dict], probes: dict[str, dict], patches: dict[str, float | None]
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # fmt: skip
    rows, extras = [], {"params": [], "n": [], "v1_features": []}
    for run in runs:
        facts = analyze(model_graph(raw_from_dict(run["config"], source=f"corpus#{run_key(run)}")))
        dataset = Dataset(samples=run["spec"]["n"], classes=run["spec"].get("classes", 10),
                          training_steps=generate.optimizer_steps(run),
                          label_noise=run["spec"].get("label_noise", 0.0))  # fmt: skip
        given = _Probes(probes[data_key(run)], patches.get(data_key(run)))
        values = features(facts, dataset, given)  # type: ignore[arg-type]
        rows.append([np.nan if values[name] is None else values[name] for name in ALL])
        extras["params"].append(facts.trainable_params)
        extras["n"].append(run["spec"]["n"])
        extras["v1_features"].append(v1_features(facts, dataset))
    x = np.array(rows, dtype=float)
    return x, {k: np.array(v, dtype=float) for k, v in extras.items()}


def shares(runs: list[dict]) -> dict[str, np.ndarray]:
    """Per run, as shares of the way from chance (1/C) to 1: the training accuracy (inference mode), the held-out
    accuracy, and the training accuracy Keras logged in the last epoch (training mode)."""
    chance = np.array([1 / r["spec"].get("classes", 10) for r in runs])
    train = np.array([r["train_acc"] for r in runs])
    test = np.array([r["test_acc"] for r in runs])
    logged = np.array([r["curves"]["accuracy"][-1] for r in runs])
    return {name: (acc - chance) / (1 - chance) for name, acc in (("fit", train), ("held_out", test),
                                                                  ("logged_fit", logged))}  # fmt: skip


def v1_features(facts, dataset: Dataset) -> list[float]:
    """The v1 model's inputs, as cnnlint 0.1 computed them (for the baseline only)."""
    n, classes = dataset.samples, dataset.classes or 10
    lpps = math.log10(max(facts.trainable_params, 1) / n)
    return [lpps, lpps * lpps, math.log10(max(n / classes, 1)), facts.head_share or 0.0, float(facts.depth),
            math.log2(facts.width or 1), float(facts.largest_kernel or 1),
            float(bool(facts.dropout_layers or facts.noise_layers)), float(bool(facts.norm_layers)),
            float(facts.has_weight_penalty), float(bool(facts.augment_layers))]  # fmt: skip


def missing_probes(runs: list[dict]) -> int:
    """How many distinct training subsets have no cached probe (what the ``probes`` step would compute)."""
    keys = {data_key(r) for r in runs}
    return len(keys - set(load_probe_cache())) + len(keys - set(load_patch_cache()))


@dataclass
class Corpus:
    """The fit's inputs: the runs, their feature rows (``ALL`` columns, NaN where unknown) and targets."""

    runs: list[dict]
    x: np.ndarray
    extras: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    y: np.ndarray
    sources: np.ndarray
    families: np.ndarray
    version: str


def load(compute_missing_probes: bool = True) -> Corpus:
    runs = load_runs()
    if compute_missing_probes:
        probes, patches = probe_all(runs), probe_patches(runs)
    else:
        probes, patches = load_probe_cache(), load_patch_cache()
    x, extras = featurize(runs, probes, patches)
    return Corpus(runs, x, extras, shares(runs), np.array([r["gap"] for r in runs]),
                  np.array([r["spec"]["dataset"] for r in runs]), np.array([r["spec"]["family"] for r in runs]),
                  version(runs))  # fmt: skip
