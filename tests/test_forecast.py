"""The gap forecaster (cnnlint/forecast.py) on synthetic curves, and confirm's plan and verdict logic.

No Keras here: the forecaster is pure Python over the shipped JSON.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest

from cnnlint.confirm import ConfirmOptions, decided, judge, plan
from cnnlint.errors import ConfigError
from cnnlint.forecast import MODEL_PATH, Forecast, curve_features, load_forecaster

EPOCHS, FULL = 10, 50


def curves(train: list[float], val: list[float]) -> dict[str, list[float]]:
    """A history whose losses follow the accuracies (lower loss for higher accuracy), as Keras's do."""
    return {"accuracy": train, "val_accuracy": val, "loss": [2.3 * (1 - a) + 0.02 for a in train],
            "val_loss": [2.3 * (1 - a) + 0.02 for a in val]}  # fmt: skip


@pytest.fixture(scope="module")
def forecaster():
    model = load_forecaster()
    assert model is not None, f"{MODEL_PATH} is missing: run python study/fit_forecast.py"
    return model


def flat(train: float, val: float) -> dict[str, list[float]]:
    return curves([train] * EPOCHS, [val] * EPOCHS)


@pytest.mark.parametrize("train, val", [(0.9, 0.8), (0.99, 0.95), (0.7, 0.65), (0.6, 0.6)])
def test_a_flat_curve_forecasts_near_its_current_gap(forecaster, train, val):
    """Near: the gap now lies inside the forecast's 80 % interval, so the forecast claims no movement, and the
    forecast moves less than a gap widening by 0.01 per epoch would (0.4 over the 40 epochs left)."""
    f = forecaster.forecast(flat(train, val), EPOCHS, FULL, classes=10)
    now = train - val
    assert f.gap_now == pytest.approx(now)
    assert f.interval[0] <= now <= f.interval[1]
    assert abs(f.gap - now) < 0.01 * (FULL - EPOCHS) / 2


def falling_val(train: float, val: float) -> dict[str, list[float]]:
    return curves([train] * EPOCHS, [val + 0.02 * (EPOCHS - 1 - i) for i in range(EPOCHS)])


def rising_train(train: float, val: float) -> dict[str, list[float]]:
    return curves([train - 0.015 * (EPOCHS - 1 - i) for i in range(EPOCHS)], [val] * EPOCHS)


@pytest.mark.parametrize("widening", [falling_val, rising_train])
@pytest.mark.parametrize("train, val", [(0.9, 0.8), (0.99, 0.9), (0.8, 0.7)])
def test_a_still_widening_gap_forecasts_wider(forecaster, widening, train, val):
    """Same accuracies now as the flat curve, but the gap got there by widening (validation accuracy falling, or
    training accuracy rising while validation stays)."""
    f = forecaster.forecast(widening(train, val), EPOCHS, FULL, classes=10)
    steady = forecaster.forecast(flat(train, val), EPOCHS, FULL, classes=10)
    assert f.gap > train - val
    assert f.gap > steady.gap


@pytest.mark.parametrize("classes", [2, 10, 100])
def test_an_untrained_model_forecasts_about_zero(forecaster, classes):
    chance = 1 / classes
    f = forecaster.forecast(flat(chance, chance), EPOCHS, FULL, classes=classes)
    assert abs(f.gap) < 0.05
    assert f.interval[0] <= 0 <= f.interval[1]


def test_forecast_interval_contains_the_forecast_and_stays_in_range(forecaster):
    rising = curves([0.3 + 0.07 * i for i in range(EPOCHS)], [0.3 + 0.05 * i for i in range(EPOCHS)])
    for k in (2, 5, EPOCHS):
        f = forecaster.forecast(rising, k, FULL, classes=10)
        assert -1 <= f.interval[0] <= f.gap <= f.interval[1] <= 1


def test_features_use_only_the_first_k_epochs():
    history = curves([0.5, 0.6, 0.7, 0.99], [0.5, 0.55, 0.6, 0.1])
    full, cut = curve_features(history, 3, 20, 10), curve_features({k: v[:3] for k, v in history.items()}, 3, 20, 10)
    assert json.dumps(full) == json.dumps(cut)  # NaN-aware equality
    assert math.isnan(curve_features(history, 3, 20, 10)["eval_gap"])
    with pytest.raises(ValueError):
        curve_features(history, 5, 20, 10)


def test_shipped_model_is_small_and_says_how_it_was_evaluated(forecaster):
    assert MODEL_PATH.stat().st_size < 1_000_000
    assert forecaster.meta["runs"] > 0 and set(forecaster.meta["evaluation"]) == {"0.1", "0.2"}


def test_the_evaluator_needs_neither_numpy_nor_sklearn():
    tree = ast.parse(Path("cnnlint/forecast.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in getattr(node, "names", [])} | {node.module.split(".")[0] for node in ast.walk(tree)
                                                             if isinstance(node, ast.ImportFrom) and node.module}  # fmt: skip
    assert not imported & {"numpy", "sklearn", "scipy", "keras", "tensorflow"}


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
