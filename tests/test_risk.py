"""The risk model: shipped coefficients match the features, behave sanely, and the study's metrics are right."""

from __future__ import annotations

import json
import sys

import pytest

from cnnlint.analysis import analyze
from cnnlint.findings import Dataset
from cnnlint.graph import build_graph
from cnnlint.readers import read_model
from cnnlint.risk import assess, features, level_of, load_model, smallest_low_risk_samples
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "study"))
import fit  # noqa: E402

EXAMPLE = REPO / "examples" / "example2_plain.keras"


@pytest.fixture(scope="module")
def facts():
    return analyze(build_graph(read_model(EXAMPLE)))


def test_shipped_model_matches_the_feature_set(facts):
    model = load_model()
    assert model is not None, "cnnlint/data/risk_model.json is missing: run study/fit.py"
    assert list(model.names) == list(features(facts, Dataset(1000, 10)))
    data = json.loads((REPO / "cnnlint" / "data" / "risk_model.json").read_text())
    assert data["corpus_models"] >= 300 and data["version"].startswith("corpus-")


def test_more_data_means_a_smaller_predicted_gap(facts):
    gaps = [assess(facts, Dataset(n, 10)).gap for n in (100, 1000, 10_000)]
    assert gaps[0] >= gaps[1] >= gaps[2]


def test_risk_needs_samples_and_has_an_interval(facts):
    assert assess(facts, Dataset(None, 10)) is None
    risk = assess(facts, Dataset(500, 10))
    assert risk.interval[0] <= risk.gap <= risk.interval[1] and risk.level == level_of(risk.gap)
    assert 0 < risk.coverage < 1


def test_factors_add_up_and_read_against_the_corpus_average(facts):
    model = load_model()
    x = features(facts, Dataset(300, 10))
    risk = assess(facts, Dataset(300, 10))
    contributions = model.contributions(x)
    folded = contributions.pop("log_params_per_sample_sq") + contributions["log_params_per_sample"]
    contributions["log_params_per_sample"] = folded
    expected = sorted((kv for kv in contributions.items() if kv[1] > 0), key=lambda kv: -kv[1])[:3]
    assert [(f.feature, f.contribution) for f in risk.factors] == [(n, round(v, 4)) for n, v in expected]
    for factor in risk.factors:
        text = factor.describe()
        assert f"{factor.contribution:+.2f}" in text and "_" not in text.split(" (")[0]
        if factor.feature not in ("dropout", "normalization", "weight_penalty", "augmentation"):
            mean = dict(zip(model.names, model.mean))[factor.feature]
            assert factor.reference == mean and "vs. study average" in text


def test_smallest_low_risk_training_set(facts):
    n = smallest_low_risk_samples(facts, Dataset(None, 10))
    if n is not None:
        assert assess(facts, Dataset(n, 10)).level == "low"


def test_study_metrics_on_known_values():
    import numpy as np

    a = np.array([1.0, 2, 3, 4, 5])
    assert fit.kendall_tau(a, a) == pytest.approx(1.0)
    assert fit.kendall_tau(a, -a) == pytest.approx(-1.0)
    assert fit.kendall_tau(a, np.array([1.0, 3, 2, 4, 5])) == pytest.approx(0.8)
    assert fit.spearman(a, np.array([1.0, 3, 2, 4, 5])) == pytest.approx(0.9)
    assert fit.auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])) == pytest.approx(0.75)


def test_ridge_recovers_a_linear_law():
    import numpy as np

    rng = np.random.RandomState(0)
    x = rng.normal(size=(200, 3))
    y = 0.5 + x @ np.array([1.0, -2.0, 0.0])
    model = fit.Ridge(1e-6).fit(x, y)
    assert np.allclose(model.predict(x), y, atol=1e-6)
