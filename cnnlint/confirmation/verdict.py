"""The run's plan, the forecast of the full run's gap and the verdict against the static estimate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from cnnlint.confirmation.options import DEFAULT_FULL_EPOCHS, ConfirmOptions
from cnnlint.errors import ConfigError
from cnnlint.wording import option


@dataclass
class ConfirmResult:
    """What a confirm run measured, what it forecasts for the full run, and whether the risk estimate holds
    (``verdict``, said in words in ``verdict_text``)."""

    device: str
    backend: str
    train_samples: int
    val_samples: int
    epochs_run: int
    seconds: float
    history: dict[str, list[float]]
    train_accuracy: float
    val_accuracy: float
    measured_gap: float
    gap_trend: float
    converged: bool
    predicted_gap: float | None
    predicted_interval: tuple[float, float] | None
    verdict: str
    verdict_text: str
    probe: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    full_epochs: int = DEFAULT_FULL_EPOCHS
    full_epochs_assumed: bool = False
    planned_epochs: int = 0
    stopped_early: bool = False
    budget_saved: float = 0.0  # share of the planned epochs not trained because the verdict was already decided
    forecast: dict[str, Any] | None = None  # gap, interval, and the continuation path up to full_epochs

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["predicted_interval"] = list(self.predicted_interval) if self.predicted_interval else None
        return data



@dataclass(frozen=True)
class Plan:
    """How long the real run is, how much of it confirm trains, and whether it may stop sooner."""

    full_epochs: int
    full_epochs_assumed: bool
    epochs: int
    early_stop: bool


def plan(opts: ConfirmOptions, min_epochs: int) -> Plan:
    assumed = opts.full_epochs is None
    full = opts.full_epochs or max(DEFAULT_FULL_EPOCHS, opts.epochs or 0)
    if opts.epochs is not None:
        if opts.epochs > full:
            raise ConfigError(f"{option('epochs', opts.epochs)} is more than {option('full-epochs', full)}; a short run "
                              "must be shorter")  # fmt: skip
        return Plan(full, assumed, opts.epochs, early_stop=False)
    epochs = min(max(min_epochs, math.ceil(opts.fraction * full - 1e-9)), full)
    return Plan(full, assumed, epochs, early_stop=opts.early_stop)



def _slope(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den



@dataclass(frozen=True)
class Measured:
    """The raw measurements of one short training run: final accuracies, the per-epoch history and where it ran."""

    train_acc: float
    val_acc: float
    history: dict[str, list[float]]
    seconds: float
    device: str
    backend: str
    n_train: int
    n_val: int
    classes: int
    steps_per_epoch: int | None = None


def decided(forecast: tuple[float, float], predicted: tuple[float, float]) -> bool:
    """Whether the forecast's interval already settles the verdict: wholly inside, above or below the prediction."""
    (f_low, f_high), (p_low, p_high) = forecast, predicted
    return f_low > p_high or f_high < p_low or (p_low <= f_low and f_high <= p_high)


def judge(forecast: Any, predicted: tuple[float, float]) -> tuple[str, str]:
    """The verdict from the static interval and the forecast (a ``cnnlint.forecast.Forecast``)."""
    p_low, p_high = predicted
    f_low, f_high = forecast.interval
    what = (f"the gap observed so far is {forecast.gap:.2f} (the forecaster does not beat it here; the naive "
            f"forecast's 80 % band at epoch {forecast.full_epochs}: {f_low:.2f} to {f_high:.2f})"
            if getattr(forecast, "observed", False) else
            f"the forecast gap at epoch {forecast.full_epochs} is {forecast.gap:.2f} (80 % interval {f_low:.2f} to "
            f"{f_high:.2f})")  # fmt: skip
    said = f"{what}; the static estimate is {p_low:.2f} to {p_high:.2f}"
    if f_low > p_high:
        return "under-predicted", (f"under-predicted: {said}. This model will overfit your data more than its "
                                   "architecture suggests")  # fmt: skip
    if f_high < p_low:
        return "over-predicted", (f"over-predicted: {said}. Your data or training setup regularizes better than "
                                  "the estimate assumed")  # fmt: skip
    if p_low <= forecast.gap <= p_high:
        return "confirmed", f"confirmed: {said}"
    side = "above" if forecast.gap > p_high else "below"
    return "inconclusive", (f"inconclusive: {said}. The forecast is {side} the estimate, but its interval overlaps "
                            "it; a larger --fraction narrows the forecast")  # fmt: skip


def _judge_measured(gap: float, predicted: tuple[float, float], epochs: int) -> tuple[str, str]:
    """The whole run was trained: the measured gap is the answer."""
    low, high = predicted
    said = f"the measured gap after the full {epochs} epochs is {gap:.2f}; the static estimate is {low:.2f} to {high:.2f}"
    if gap > high:
        return "under-predicted", f"under-predicted: {said}"
    if gap < low:
        return "over-predicted", f"over-predicted: {said}"
    return "confirmed", f"confirmed: {said}"


def forecast_path(forecaster: Any, history: dict[str, list[float]], k: int, full: int, classes: int,
                  steps_per_epoch: int | None = None, steps: int = 8) -> list[dict[str, float]]:  # fmt: skip
    """The forecast for runs ending between epoch k and the full run: the continuation drawn after the curves."""
    ends = sorted({round(k + (full - k) * i / steps) for i in range(1, steps + 1)} - {k})
    path = []
    for end in ends:
        f = forecaster.forecast(history, k, end, classes, steps_per_epoch)
        path.append({"epoch": end, "gap": round(f.gap, 4), "low": round(f.interval[0], 4),
                     "high": round(f.interval[1], 4)})  # fmt: skip
    return path


def build_result(report: Any, m: Measured, the_plan: Plan, stopped_early: bool, forecaster: Any,
            probe: dict[str, Any] | None) -> ConfirmResult:  # fmt: skip
    from cnnlint.forecast import measured_gaps

    history = m.history
    k = len(history["loss"])
    gap = m.train_acc - m.val_acc
    gaps = measured_gaps(history)
    trend = _slope(gaps[-5:])
    converged = k >= 3 and abs(_slope(history["loss"][-3:])) < 0.01
    risk = report.risk
    notes = []
    if the_plan.full_epochs_assumed:
        notes.append(f"assumed a full run of {the_plan.full_epochs} epochs; pass --full-epochs (or full-epochs in "
                     "the config) for yours")  # fmt: skip
    forecast, forecast_dict = None, None
    if k >= the_plan.full_epochs:
        pass  # the full run itself was trained: nothing to forecast
    elif forecaster is None:
        notes.append("this build has no fitted forecaster (cnnlint/data/forecast_model.json)")
    elif k < forecaster.min_epochs:
        notes.append(f"trained {k} epoch{'s' if k != 1 else ''}; the forecast needs at least {forecaster.min_epochs}")
    else:
        forecast = forecaster.forecast(history, k, the_plan.full_epochs, m.classes, m.steps_per_epoch)
        forecast_dict = {**forecast.to_dict(), "path": forecast_path(forecaster, history, k, the_plan.full_epochs,
                                                                      m.classes, m.steps_per_epoch)}  # fmt: skip
        if forecast.observed:
            notes.append(f"no forecast used: {forecast.note}")
    if risk is None:
        verdict = "no-prediction"
        shown = f"forecast gap at epoch {forecast.full_epochs} {forecast.gap:.2f}" if forecast else f"measured gap {gap:.2f}"
        text = f"{shown}; no static estimate to compare (no fitted risk model)"
    elif forecast is not None:
        verdict, text = judge(forecast, risk.interval)
    elif k >= the_plan.full_epochs:
        verdict, text = _judge_measured(gap, risk.interval, k)
    else:
        verdict, text = "inconclusive", f"inconclusive: no forecast of the gap at epoch {the_plan.full_epochs} ({notes[-1]})"
    saved = 1 - k / the_plan.epochs if stopped_early else 0.0
    if stopped_early:
        notes.append(f"stopped after {k} of {the_plan.epochs} planned epochs: the forecast already decided the verdict "
                     f"({saved:.0%} of the training budget saved)")  # fmt: skip
    elif k < the_plan.epochs:
        notes.append(f"stopped after {k} of {the_plan.epochs} planned epochs: the --budget time ran out")
    return ConfirmResult(
        device=m.device, backend=m.backend, train_samples=m.n_train, val_samples=m.n_val, epochs_run=k,
        seconds=round(m.seconds, 2), history=history, train_accuracy=round(m.train_acc, 4),
        val_accuracy=round(m.val_acc, 4), measured_gap=round(gap, 4), gap_trend=round(trend, 4), converged=converged,
        predicted_gap=risk.gap if risk else None, predicted_interval=risk.interval if risk else None,
        verdict=verdict, verdict_text=text, probe=probe, notes=notes, full_epochs=the_plan.full_epochs,
        full_epochs_assumed=the_plan.full_epochs_assumed, planned_epochs=the_plan.epochs, stopped_early=stopped_early,
        budget_saved=round(saved, 4), forecast=forecast_dict,
    )  # fmt: skip

