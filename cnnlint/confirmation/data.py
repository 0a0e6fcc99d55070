"""The rows confirm trains and validates on: read by ``cnnlint/datasets.py`` and checked by ``cnnlint/probes.py``
(the readers and checks of ``--data``), then split and subsampled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from cnnlint.confirmation.options import ConfirmOptions
from cnnlint.errors import ConfigError
from cnnlint.readers import RawModel
from cnnlint.wording import in_api_call, option


def read_data(data_path: str, raw: RawModel) -> tuple[Any, Any, Any, Any]:
    """x, y and, when the data has them, x_val, y_val: an .npz, or an image folder at the model's input size."""
    from cnnlint.datasets import load_image_folder, load_npz

    data = Path(data_path)
    if not data.exists():
        raise ConfigError(f"no such data file or folder: '{data_path}'")
    if not data.is_dir():
        return load_npz(data)
    from cnnlint.graph import build_graph

    shape = build_graph(raw).input_shapes[0]
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ConfigError("an image folder needs a model with a fixed-size image input")
    x, y = load_image_folder(data, (shape[1], shape[2]), shape[3] or 3)
    return x, y, None, None


def check_data(x: Any, y: Any, input_shape: tuple, output_shape: tuple, what: str,
               names: tuple[str, str] = ("x", "y")) -> Any:  # fmt: skip
    """``y`` as class indices, once ``x`` and ``y`` are known to fit the model (the checks ``--data`` makes)."""
    import numpy as np

    from cnnlint.probes import class_indices, fit_problem

    x = np.asarray(x)
    if x.ndim < 1:
        raise ConfigError(f"the {what}: {names[0]} holds one value, not examples")
    indices, width = class_indices(y, len(x), *names)
    span = width or (int(indices.max()) + 1 if len(indices) else 0)
    problem = fit_problem(f"the {what}", tuple(x.shape[1:]), span, input_shape, output_shape)
    if problem:
        raise ConfigError(problem)
    return indices


def data_probes(x: Any, y: Any, source: str) -> Any:
    """The data probes of the training data confirm trains on (what ``--data`` measures for the lint)."""
    from cnnlint.probes import probe_arrays

    return replace(probe_arrays(x, y), source=source)


def split_validation(x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions, rng: Any) -> tuple[Any, Any, Any, Any]:
    """Training and validation rows: ``x_val``/``y_val`` when the data has them, else ``val_split`` of the rows
    (a seeded shuffle), then the training rows subsampled to ``samples``."""
    held_out = None
    if xv is None:
        order = rng.permutation(len(x))
        held_out = max(1, int(round(len(x) * opts.val_split)))
        val, train = order[:held_out], order[held_out:]
        xv, yv, x, y = x[val], y[val], x[train], y[train]
    if opts.samples:
        if opts.samples > len(x):
            raise ConfigError(too_many_samples(opts.samples, len(x), held_out, opts.val_split))
        pick = rng.permutation(len(x))[: opts.samples]
        x, y = x[pick], y[pick]
    return x, y, xv, yv


def too_many_samples(samples: int, train_rows: int, held_out: int | None, val_split: float) -> str:
    """Why ``samples`` is too many, counting the rows the validation split took, and what to change."""
    asked = f"{option('samples', samples)} is more than the {train_rows:,} training samples"
    if held_out is None:
        return f"{asked} in the data (the validation rows come from x_val/y_val); pass {option('samples', train_rows)} or fewer"
    rows = train_rows + held_out
    val_data = "x_val= and y_val=" if in_api_call() else "x_val/y_val in the .npz"
    return (f"{asked} left after the validation split: {option('val-split', val_split)} holds out {held_out:,} of the "
            f"{rows:,} rows; pass {option('samples', train_rows)} or fewer, a smaller {option('val-split')}, or the "
            f"validation rows separately ({val_data}), so that all {rows:,} rows can train")
