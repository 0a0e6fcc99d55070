"""Where the study's inputs, intermediate files and outputs live (one place, so every step agrees)."""

from __future__ import annotations

import os
from pathlib import Path

STUDY = Path(__file__).resolve().parent
REPO = STUDY.parent

#: measured runs, one ``runs-<host>-<worker>.jsonl`` file per process that trained them (committed)
RUNS = STUDY / "runs"
V1 = RUNS / "v1"
V2 = RUNS / "v2"
V3_RERUNS = RUNS / "v3-reruns"
V3 = RUNS / "v3"
V4_PHOTOS = RUNS / "v4-photos"
REPLICATES = RUNS / "replicates"

#: the data probes of each run's training subset, computed once (committed: they take hours to regenerate)
PROBE_CACHE = STUDY / "probe-cache"
DATA_PROBES = PROBE_CACHE / "data_probes.jsonl"
PATCH_PROBES = PROBE_CACHE / "patch_probes.jsonl"

#: what the pipeline writes besides the shipped model files (committed)
RESULTS = STUDY / "results"
RISK_EVALUATION = RESULTS / "evaluation"  # .json and .md
FORECAST_EVALUATION = RESULTS / "forecast_evaluation"  # .json and .md
NOISE_CEILING = RESULTS / "noise_ceiling"  # .json and .md
TRAINING_LENGTH = RESULTS / "training_length.md"
EXPERIMENTS = RESULTS / "experiments"
STAMPS = RESULTS / "stamps.json"
BASELINES = STUDY / "baselines"

#: what ships in the package
RISK_MODEL = REPO / "cnnlint" / "data" / "risk_model.json"
FORECAST_MODEL = REPO / "cnnlint" / "data" / "forecast_model.json"

#: the documentation pages whose tables ``publish`` regenerates
RISK_PAGE = REPO / "docs" / "risk-model.md"
CONFIRM_PAGE = REPO / "docs" / "confirm.md"
STUDY_README = STUDY / "README.md"

#: decoded data pools that need a package or a fetched repository: outside the checkout, never committed
DATA_CACHE = Path(os.environ.get("CNNLINT_STUDY_DATA", str(STUDY / ".data")))
PHOTO_CACHE = Path(os.environ.get("CNNLINT_PHOTO_CACHE", str(Path.home() / ".cache" / "cnnlint-study" / "photos")))
