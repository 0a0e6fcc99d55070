"""The gap forecaster (cnnlint/forecast.py) on synthetic curves, and confirm's plan and verdict logic.

No Keras here: the forecaster is pure Python over the shipped JSON.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from pathlib import Path

import pytest

from cnnlint.confirmation import ConfirmOptions, decided, judge, plan, progress_line
from cnnlint.errors import ConfigError
from cnnlint.forecast import MODEL_PATH, Forecast, Regime, curve_features, has_eval, load_forecaster

EPOCHS, FULL = 10, 50


def curves(train: list[float], val: list[float]) -> dict[str, list[float]]:
    """A history whose losses follow the accuracies (lower loss for higher accuracy), as Keras's do."""
    return {"accuracy": train, "val_accuracy": val, "loss": [2.3 * (1 - a) + 0.02 for a in train],
            "val_loss": [2.3 * (1 - a) + 0.02 for a in val]}  # fmt: skip


@pytest.fixture(scope="module")
def forecaster():
    model = load_forecaster()
    assert model is not None, f"{MODEL_PATH} is missing: run python -m study fit-forecast"
    return model


def flat(train: float, val: float) -> dict[str, list[float]]:
    return curves([train] * EPOCHS, [val] * EPOCHS)


@pytest.mark.parametrize("train, val", [(0.9, 0.8), (0.99, 0.95), (0.7, 0.65), (0.6, 0.6)])
def test_a_flat_curve_forecasts_near_its_current_gap(forecaster, train, val):
    """Near: the gap now lies inside the forecast's 80 % interval as the reports print it (two decimals), so the
    forecast claims no movement, and it moves less than a gap widening by 0.01 per epoch would (0.4 over the 40
    epochs left)."""
    f = forecaster.forecast(flat(train, val), EPOCHS, FULL, classes=10, fallback=False)
    now = train - val
    assert f.gap_now == pytest.approx(now)
    assert round(f.interval[0], 2) <= round(now, 2) <= round(f.interval[1], 2)
    assert abs(f.gap - now) < 0.01 * (FULL - EPOCHS) / 2


def falling_val(train: float, val: float) -> dict[str, list[float]]:
    return curves([train] * EPOCHS, [val + 0.02 * (EPOCHS - 1 - i) for i in range(EPOCHS)])


def rising_train(train: float, val: float) -> dict[str, list[float]]:
    return curves([train - 0.015 * (EPOCHS - 1 - i) for i in range(EPOCHS)], [val] * EPOCHS)


@pytest.mark.parametrize("widening", [falling_val, rising_train])
@pytest.mark.parametrize("train, val", [(0.9, 0.8), (0.99, 0.9), (0.8, 0.7)])
def test_a_still_widening_gap_forecasts_wider(forecaster, widening, train, val):
    """Same accuracies now as the flat curve, but the gap got there by widening (validation accuracy falling, or
    training accuracy rising while validation stays).

    Near the ceiling (training accuracy 0.99) the gap has no room left to widen, and the quantile loss re-fits
    each leaf's value after the tree is grown (scikit-learn), which can break a monotone constraint by a little:
    there "wider" allows a slack of 0.002."""
    slack = 0.002 if train > 0.95 else 0.0
    f = forecaster.forecast(widening(train, val), EPOCHS, FULL, classes=10, fallback=False)
    steady = forecaster.forecast(flat(train, val), EPOCHS, FULL, classes=10, fallback=False)
    assert f.gap > train - val - slack
    assert f.gap > steady.gap - slack
    if train < 0.95:
        assert f.gap > steady.gap + 0.005  # with headroom, clearly wider


@pytest.mark.parametrize("classes", [2, 10, 100])
def test_an_untrained_model_forecasts_about_zero(forecaster, classes):
    chance = 1 / classes
    f = forecaster.forecast(flat(chance, chance), EPOCHS, FULL, classes=classes, fallback=False)
    assert abs(f.gap) < 0.05
    assert f.interval[0] <= 0 <= f.interval[1]


def test_forecast_interval_contains_the_forecast_and_stays_in_range(forecaster):
    rising = curves([0.3 + 0.07 * i for i in range(EPOCHS)], [0.3 + 0.05 * i for i in range(EPOCHS)])
    for k in (2, 5, EPOCHS):
        for fallback in (True, False):
            f = forecaster.forecast(rising, k, FULL, classes=10, steps_per_epoch=10, fallback=fallback)
            assert -1 <= f.interval[0] <= f.gap <= f.interval[1] <= 1


def test_features_use_only_the_first_k_epochs():
    history = curves([0.5, 0.6, 0.7, 0.99], [0.5, 0.55, 0.6, 0.1])
    full, cut = curve_features(history, 3, 20, 10), curve_features({k: v[:3] for k, v in history.items()}, 3, 20, 10)
    assert json.dumps(full) == json.dumps(cut)  # NaN-aware equality
    assert math.isnan(full["log_steps_full"]) and curve_features(history, 3, 20, 10, 8)["log_steps_full"] == math.log(160)
    with pytest.raises(ValueError):
        curve_features(history, 5, 20, 10)


def test_the_inference_mode_curve_is_the_training_curve_when_measured(forecaster):
    history = curves([0.5, 0.6, 0.7, 0.8], [0.5, 0.55, 0.6, 0.6])
    measured = {**history, "train_eval_accuracy": [0.45, 0.5, 0.55, 0.6], "train_eval_loss": [1.3, 1.2, 1.1, 1.0]}
    assert not has_eval(history, 4) and has_eval(measured, 4) and not has_eval(measured | {"train_eval_loss": [1]}, 4)
    assert curve_features(history, 4, 20, 10)["gap"] == pytest.approx(0.2)
    assert curve_features(measured, 4, 20, 10)["gap"] == pytest.approx(0.0)
    assert forecaster.forecast(history, 4, 20, 10).variant == "logs"
    assert forecaster.forecast(measured, 4, 20, 10).variant == "eval"


def test_slopes_are_per_run_so_a_run_reads_the_same_at_any_length():
    """The same curve shape over twice the epochs (half the slope per epoch) gives the same slope features."""
    short = curves([0.5, 0.6, 0.7, 0.8], [0.5, 0.55, 0.6, 0.65])
    long = curves([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8], [0.5, 0.525, 0.55, 0.575, 0.6, 0.625, 0.65])
    a, b = curve_features(short, 4, 20, 10), curve_features(long, 7, 38, 10)
    assert a["acc_slope"] == pytest.approx(b["acc_slope"], rel=0.1)
    assert a["gap_slope"] == pytest.approx(b["gap_slope"], rel=0.1)


# ---- falling back to the observed gap ----------------------------------------------------------------


def test_where_the_forecaster_lost_held_out_the_observed_gap_is_shown(forecaster):
    variant = forecaster.variants["logs"]
    lost = tuple(dataclasses.replace(r, beats_naive=False, naive_band=(-0.05, 0.2), mae=0.2, mae_naive=0.1)
                 for r in variant.regimes)  # fmt: skip
    losing = dataclasses.replace(forecaster, variants={"logs": dataclasses.replace(variant, regimes=lost)})
    history = curves([0.3 + 0.07 * i for i in range(EPOCHS)], [0.3 + 0.05 * i for i in range(EPOCHS)])
    f = losing.forecast(history, EPOCHS, FULL, classes=10)
    now = history["accuracy"][-1] - history["val_accuracy"][-1]
    assert f.observed and f.gap == pytest.approx(now)
    assert f.interval == pytest.approx((now - 0.05, now + 0.2))
    assert "did not beat the gap observed so far" in f.note and "0.200 against 0.100" in f.note
    assert not losing.forecast(history, EPOCHS, FULL, classes=10, fallback=False).observed
    text = judge(f, (0.0, 0.05))[1]
    assert "the gap observed so far is" in text and "does not beat it" in text


def test_the_regime_table_covers_the_run_and_says_where_the_forecaster_wins(forecaster):
    for name, variant in forecaster.variants.items():
        cells = variant.regimes
        assert {r.rising for r in cells} == {False, True}
        assert min(r.fraction[0] for r in cells) == 0 and max(r.fraction[1] for r in cells) >= 0.9
        assert all(r.naive_band[0] <= r.naive_band[1] for r in cells if r.runs >= 2)
        assert all(r.runs >= 20 and r.mae < r.mae_naive for r in cells if r.beats_naive), name
    assert any(r.beats_naive for r in forecaster.variants["eval"].regimes)


def test_a_regime_matches_its_fraction_and_direction():
    cell = Regime((0.1, 0.2), True, 30, True, (-0.1, 0.1))
    assert cell.holds(0.1, True) and not cell.holds(0.2, True) and not cell.holds(0.15, False)


def test_shipped_model_is_small_and_says_how_it_was_evaluated(forecaster):
    assert MODEL_PATH.stat().st_size < 1_000_000
    assert forecaster.meta["runs"] > 0 and set(forecaster.variants) == {"eval", "logs"}
    assert all(set(by_fraction) == {"0.1", "0.2"} for by_fraction in forecaster.meta["evaluation"].values())


def test_the_evaluator_needs_neither_numpy_nor_sklearn():
    tree = ast.parse(Path("cnnlint/forecast.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in getattr(node, "names", [])} | {node.module.split(".")[0] for node in ast.walk(tree)
                                                             if isinstance(node, ast.ImportFrom) and node.module}  # fmt: skip
    assert not imported & {"numpy", "sklearn", "scipy", "keras", "tensorflow", "jax", "torch"}


# ---- plan and verdict ------------------------------------------------------------------------


def test_plan_trains_the_fraction_of_the_full_run():
    assert plan(ConfirmOptions(full_epochs=50), 2).epochs == 10
    assert plan(ConfirmOptions(full_epochs=50, fraction=0.1), 2).epochs == 5
    assert plan(ConfirmOptions(full_epochs=5, fraction=0.1), 2).epochs == 2  # the forecaster's minimum
    default = plan(ConfirmOptions(), 2)
    assert default.full_epochs_assumed and default.epochs == math.ceil(0.2 * default.full_epochs)
    exact = plan(ConfirmOptions(epochs=4), 2)
    assert exact.epochs == 4 and not exact.early_stop
    with pytest.raises(ConfigError, match="more than --full-epochs"):
        plan(ConfirmOptions(epochs=60, full_epochs=50), 2)


def _forecast(gap: float, low: float, high: float) -> Forecast:
    return Forecast(epochs_done=10, full_epochs=50, gap_now=0.05, gap=gap, interval=(low, high))


@pytest.mark.parametrize("forecast, verdict, settled", [
    ((0.30, 0.25, 0.40), "under-predicted", True),
    ((0.02, 0.00, 0.04), "over-predicted", True),
    ((0.12, 0.10, 0.15), "confirmed", True),
    ((0.12, 0.02, 0.30), "confirmed", False),
    ((0.25, 0.10, 0.40), "inconclusive", False),
])  # fmt: skip
def test_verdict_compares_the_estimate_with_the_forecast(forecast, verdict, settled):
    predicted = (0.05, 0.20)
    got, text = judge(_forecast(*forecast), predicted)
    assert got == verdict and text.startswith(verdict)
    assert "epoch 50" in text
    assert decided(forecast[1:], predicted) is settled


def test_progress_line_counts_epochs_and_time_left():
    assert progress_line(0, 10, 0.0).startswith("confirm: epoch 1/10 ") and "estimating" in progress_line(0, 10, 0)
    line = progress_line(2.5, 10, 5.0)  # 2 s an epoch, 7.5 epochs left
    assert "epoch 3/10" in line and "about 15 s left" in line and line.count("━") == 6
    assert "about 2 min 00 s left" in progress_line(1, 61, 2.0) and "epoch 10/10" in progress_line(10, 10, 9)
