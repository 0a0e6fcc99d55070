"""The confirm run end to end: lint, check the data, rebuild, train, forecast and judge (``confirm_raw``), from
files (``confirm_path``, the CLI's) or arrays (``confirm_arrays``, the API's ``cnnlint.confirm``)."""

from __future__ import annotations

import math
import sys
from typing import Any

from cnnlint.analysis import output_classes
from cnnlint.confirmation.data import check_data, data_probes, read_data, split_validation
from cnnlint.confirmation.options import ConfirmOptions, api_options
from cnnlint.confirmation.training import (
    TRAIN_EVAL_SAMPLES,
    Watch,
    ctrl_c_stops_training,
    describe_device,
    deterministic,
    import_keras_quietly,
    model_io,
    optimizer_for,
    rebuild,
    refuse_unsafe,
    seed_quietly,  # fmt: skip
    select_device,
    shuffled_label_probe,
    train,
)
from cnnlint.confirmation.verdict import ConfirmResult, Measured, Plan, build_result, decided, plan
from cnnlint.errors import ConfigError
from cnnlint.findings import Dataset
from cnnlint.readers import RawModel, read_model
from cnnlint.wording import api_call, option

#: Accuracy is evaluated in batches of at least this many rows (evaluation holds no gradients).
EVAL_BATCH = 256


def confirm_raw(raw: RawModel, x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions,
                data_source: str = "arrays") -> tuple[Any, ConfirmResult]:  # fmt: skip
    """Lint, check the data, rebuild, train and compare.  Returns (the static ModelReport, the result).

    ``data_source`` names the data in the reports (its path, or "arrays")."""
    with ctrl_c_stops_training():
        return _confirm_raw(raw, x, y, xv, yv, opts, data_source)


def _confirm_raw(raw: RawModel, x: Any, y: Any, xv: Any, yv: Any, opts: ConfirmOptions,
                 data_source: str) -> tuple[Any, ConfirmResult]:  # fmt: skip
    import numpy as np

    from cnnlint.forecast import MIN_EPOCHS, load_forecaster
    from cnnlint.pipeline import LintSettings, lint_source
    from cnnlint.rules import select_rules

    refuse_unsafe(raw, opts.trust_code)
    forecaster = load_forecaster()
    the_plan = plan(opts, forecaster.min_epochs if forecaster else MIN_EPOCHS)
    settings = LintSettings(tuple(select_rules()))
    input_shape, output_shape = model_io(lint_source(raw, Dataset(), settings), raw, opts.trust_code)
    classes = output_classes(output_shape[-1])
    y = check_data(x, y, input_shape, output_shape, "training data")
    if xv is not None:
        yv = check_data(xv, yv, input_shape, output_shape, "validation data", ("x_val", "y_val"))
    rng = np.random.RandomState(opts.seed)
    x, y, xv, yv = split_validation(np.asarray(x), y, xv, yv, opts, rng)
    x, xv = x.astype("float32"), np.asarray(xv).astype("float32")
    # the static estimate the forecast is judged against is for the user's full run, not for a generic long one,
    # and, since the data is at hand, measures how hard it is (the probes; without scikit-learn they say so)
    dataset = Dataset.of(samples=len(x), classes=classes, epochs=the_plan.full_epochs, batch_size=opts.batch_size,
                         probes=data_probes(x, y, data_source))  # fmt: skip
    report = lint_source(raw, dataset, settings)
    measured, stopped_early = _train_and_measure(raw, (x, y, xv, yv), opts, the_plan, forecaster, report, rng, classes)
    probe = None
    if opts.probe:
        probe = shuffled_label_probe(raw, x, y, xv, yv, opts, measured.history, import_keras_quietly())
    result = build_result(report, measured, the_plan, stopped_early, forecaster, probe)
    report.confirm = result.to_dict()
    return report, result


def _train_and_measure(raw: RawModel, rows: tuple[Any, Any, Any, Any], opts: ConfirmOptions, the_plan: Plan,
                       forecaster: Any, report: Any, rng: Any, classes: int) -> tuple[Measured, bool]:  # fmt: skip
    """Rebuild and train on the chosen device, stopping once the forecast decides; the accuracies at the end."""
    x, y, xv, yv = rows
    select_device(opts.device)
    keras = import_keras_quietly()
    seed_quietly(keras, opts.seed)
    deterministic(keras)
    model = rebuild(raw, opts.trust_code)
    device = describe_device(keras)
    if opts.device == "gpu" and not device.startswith("GPU"):
        raise ConfigError(f"{option('device', 'gpu')}, but the {keras.backend.backend()} backend sees no GPU")
    train_eval = None
    if forecaster and forecaster.needs("eval_"):
        pick = rng.permutation(len(x))[:TRAIN_EVAL_SAMPLES]  # a random subset: files are often sorted by class
        train_eval = (x[pick], y[pick], max(opts.batch_size, EVAL_BATCH))
    steps = math.ceil(len(x) / opts.batch_size)
    decide = None
    if the_plan.early_stop and forecaster and report.risk is not None:
        interval = report.risk.interval

        def decide(curves: dict[str, list[float]], k: int) -> bool:
            if k < forecaster.min_epochs or k >= the_plan.epochs:
                return False
            return decided(forecaster.forecast(curves, k, the_plan.full_epochs, classes, steps).interval, interval)

    watch = Watch(opts.budget, train_eval, decide, the_plan.epochs if opts.progress else None)
    history, seconds = train(model, x, y, xv, yv, opts, optimizer_for(keras, raw), the_plan.epochs, watch)
    _, train_acc = model.evaluate(x, y, batch_size=max(opts.batch_size, EVAL_BATCH), verbose=0)
    _, val_acc = model.evaluate(xv, yv, batch_size=max(opts.batch_size, EVAL_BATCH), verbose=0)
    measured = Measured(float(train_acc), float(val_acc), history, seconds, device, keras.backend.backend(), len(x),
                        len(xv), classes, steps)  # fmt: skip
    return measured, watch.stopped_early


def confirm_path(model_path: str, data_path: str, opts: ConfirmOptions) -> tuple[Any, ConfirmResult]:
    """``cnnlint confirm MODEL --data DATA``: the model file and an .npz or an image folder."""
    raw = read_model(model_path)
    x, y, xv, yv = read_data(data_path, raw)
    return confirm_raw(raw, x, y, xv, yv, opts, data_source=data_path)


def confirm_arrays(model_or_path: Any, x: Any, y: Any, *, x_val: Any = None, y_val: Any = None, **options: Any):
    """The API's ``cnnlint.confirm``: arrays in memory, the same steps and checks as the CLI, and messages that
    name its arguments (``samples=``, ``val_split=``) instead of the CLI's flags."""
    import numpy as np

    from cnnlint.api import Report, model_source

    with api_call():
        opts = api_options(options)
        if (x_val is None) != (y_val is None):
            raise ConfigError("pass both x_val and y_val (the validation rows and their labels), or neither")
        arrays = [None if a is None else np.asarray(a) for a in (x, y, x_val, y_val)]
        source = model_source(model_or_path)
        raw = source if isinstance(source, RawModel) else read_model(source)
        report, result = confirm_raw(raw, *arrays, opts)
    return Report(report), result


def progress_wanted() -> bool:
    return sys.stderr.isatty()
