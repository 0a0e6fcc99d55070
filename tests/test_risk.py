"""Risk model v3: the shipped trees keep their guarantees, and the estimate passes common-sense scenarios.

The scenarios check orderings and levels, never exact numbers: more data never raises the estimate and lowers it
substantially over four orders of magnitude; adding dropout, a weight penalty or augmentation never raises it;
from-scratch ImageNet networks on a few thousand photos are high; a plain CNN on all of CIFAR-10 is not low; the
article's examples rank the way the article says; no interval reaches past 1 - 1/C.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

import cnnlint.risk as risk_module
from cnnlint.analysis import analyze
from cnnlint.findings import Dataset
from cnnlint.levels import RISK_LEVELS
from cnnlint.pipeline import model_graph
from cnnlint.probes import DataProbes
from cnnlint.readers import raw_from_dict, read_model
from cnnlint.risk import (
    FEATURES,
    FEATURES_BY_NAME,
    LOW_GAP,
    assess,
    contributions,
    features,
    level_of,
    load_model,
    smallest_low_risk_samples,
    variant_inputs,
)
from tests.conftest import REPO, run_cli

MODEL_FILE = REPO / "cnnlint" / "data" / "risk_model.json"
SIZES = (50, 200, 1_000, 5_000, 50_000, 1_280_000)


def facts_of_file(name: str):
    return analyze(model_graph(read_model(REPO / "examples" / name)))


def facts_of_keras(model):
    return analyze(model_graph(raw_from_dict(json.loads(model.to_json()), source=model.name)))


@pytest.fixture(scope="module")
def applications(k3):
    apps = k3.applications
    return {
        "ResNet50": facts_of_keras(apps.ResNet50(weights=None, classes=2)),
        "ResNet50-96": facts_of_keras(apps.ResNet50(weights=None, input_shape=(96, 96, 3), classes=2)),
        "EfficientNetB0": facts_of_keras(apps.EfficientNetB0(weights=None, classes=5)),
        "MobileNetV2": facts_of_keras(apps.MobileNetV2(weights=None, classes=10)),
    }


def probes(knn: float, linear: float, n: int = 2000, classes: int = 10, patch: float | None = None) -> DataProbes:
    return DataProbes(samples=n, classes=classes, input_shape=(28, 28, 1), probed=min(n, 2000), knn_accuracy=knn,
                      linear_accuracy=linear, majority_share=1 / classes, class_balance=1.0, duplicate_fraction=0.0,
                      conflicting_duplicate_fraction=0.0,
                      patch_accuracy=min(knn + 0.05, 1.0) if patch is None else patch)  # fmt: skip


# ---- the shipped tables -------------------------------------------------------------------------


def test_shipped_model_has_both_variants_over_the_declared_features():
    model = load_model()
    assert model is not None, "cnnlint/data/risk_model.json is missing: run python -m study fit-risk"
    assert set(model.with_probes.names) == {f.name for f in FEATURES if not f.static_only}
    assert set(model.static.names) == {f.name for f in FEATURES if not f.needs_probes}
    data = json.loads(MODEL_FILE.read_text())
    assert data["version"].startswith("v3-") and data["corpus_runs"] >= 1000
    for variant in (model.with_probes, model.static):
        assert set(variant.point.fit.names) == {n for n in variant.names if FEATURES_BY_NAME[n].in_fit}
        assert set(variant.point.held_out.names) == {n for n in variant.names if FEATURES_BY_NAME[n].in_held_out}


def _random_point(chosen, rng) -> dict[str, float]:
    x = {name: float(rng.uniform(*chosen.ranges[name])) for name in chosen.names}
    for name in chosen.names:
        if FEATURES_BY_NAME[name].binary:
            x[name] = float(rng.randint(0, 2))
    return x


@pytest.mark.parametrize("variant", ["with_probes", "static"])
def test_every_shipped_variant_is_monotone_in_each_feature_along_all_its_split_points(variant):
    """At random points of the studied ranges, moving one feature across every split point either part uses for it
    never moves the point estimate or the band (a constant shift of it) against the feature's direction, and each
    part moves in its own declared direction."""
    model = load_model()
    chosen = getattr(model, variant)
    rng = np.random.RandomState(7)
    for _ in range(40):
        x = _random_point(chosen, rng)
        for name in chosen.names:
            feature = FEATURES_BY_NAME[name]
            grid = sorted({*chosen.ranges[name], *chosen.point.thresholds(name)})
            for part in (chosen.point, chosen.low, chosen.high):
                values = [part.predict({**x, name: v}) for v in grid]
                assert feature.direction == 0 or (np.diff(values) * feature.direction >= -1e-9).all(), (variant, name)
            for label, trees in (("fit", chosen.point.fit), ("held_out", chosen.point.held_out)):
                direction = feature.part_direction(label)
                if name in trees.names and direction:
                    values = [trees.predict({**x, name: v}) for v in grid]
                    assert (np.diff(values) * direction >= -1e-9).all(), (variant, label, name)


@pytest.mark.parametrize("variant", ["with_probes", "static"])
def test_no_estimate_or_interval_edge_exceeds_the_largest_gap_the_classes_allow(variant):
    chosen = getattr(load_model(), variant)
    rng = np.random.RandomState(3)
    for _ in range(200):
        x = _random_point(chosen, rng)
        gap, low, high = risk_module.band(chosen, x)
        assert 0.0 <= low <= gap <= high <= 1 - 10 ** -x["log_classes"] + 1e-12


def test_a_tree_variant_explains_itself_in_factors_of_the_same_kind():
    facts = facts_of_file("example1_4x_width.keras")
    given = probes(0.7, 0.6, n=500)
    risk = assess(facts, Dataset(500, 10), probes=given)
    assert risk.uses_probes and risk.factors
    assert [f.contribution for f in risk.factors] == sorted((f.contribution for f in risk.factors), reverse=True)
    assert all(f.contribution > 0.005 and "_" not in f.describe().split(" (")[0] for f in risk.factors)


def test_risk_needs_samples_and_carries_an_interval_and_a_level():
    facts = facts_of_file("example2_plain.keras")
    assert assess(facts, Dataset(None, 10)) is None
    risk = assess(facts, Dataset(500, 10))
    assert risk.interval[0] <= risk.gap <= risk.interval[1] and risk.level == level_of(risk.gap)
    assert 0 < risk.coverage < 1 and not risk.uses_probes
    assert any("--data" in note for note in risk.notes)


def test_factors_are_the_largest_pushes_and_read_in_plain_words():
    facts = facts_of_file("example1_4x_width.keras")
    model = load_model()
    x, assumed = variant_inputs(model.static, features(facts, Dataset(300, 10)))
    pushes = sorted(((k, v) for k, v in contributions(model.static, x).items() if k not in assumed),
                    key=lambda kv: -kv[1])  # fmt: skip
    risk = assess(facts, Dataset(300, 10))
    expected = [(name, round(push, 4)) for name, push in pushes[:3] if push > 0.005]
    assert [(f.feature, f.contribution) for f in risk.factors] == expected
    for factor in risk.factors:
        text = factor.describe()
        assert f"{factor.contribution:+.2f}" in text and "_" not in text.split(" (")[0]


# ---- common-sense scenarios ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example1_reduced.keras", "example1_4x_width.keras", "example2_plain.keras",
                                  "example2_regularized.keras", "example3_augmented.keras"])  # fmt: skip
def test_the_estimate_never_rises_with_n_for_the_examples(name):
    facts = facts_of_file(name)
    for given in (None, probes(0.9, 0.85), probes(0.4, 0.3)):
        gaps = [assess(facts, Dataset(n, 10), probes=given).gap for n in SIZES]
        assert gaps == sorted(gaps, reverse=True), (given, gaps)
        intervals = [assess(facts, Dataset(n, 10), probes=given).interval for n in SIZES]
        assert [i[1] for i in intervals] == sorted((i[1] for i in intervals), reverse=True)


@pytest.mark.parametrize("app", ["ResNet50", "EfficientNetB0", "MobileNetV2"])
def test_applications_never_rise_with_n_and_fall_over_four_orders_of_magnitude(applications, app):
    facts = applications[app]
    gaps = [assess(facts, Dataset(n, facts.classes)).gap for n in SIZES]
    assert gaps == sorted(gaps, reverse=True), gaps
    assert gaps[SIZES.index(200)] - gaps[-1] >= 0.05, gaps


@pytest.mark.parametrize(("app", "n"), [("ResNet50", 2000), ("EfficientNetB0", 500), ("ResNet50", 500)])
def test_from_scratch_imagenet_networks_on_small_data_are_not_low(applications, app, n):
    facts = applications[app]
    assert assess(facts, Dataset(n, facts.classes)).level != "low"


def test_beyond_the_study_on_the_risky_side_is_never_rated_low(applications):
    risk = assess(applications["ResNet50"], Dataset(20, 2))
    assert risk.level != "low" and any("not rated low" in note for note in risk.notes)


def test_the_articles_small_cnn_on_mnist_sized_data_is_low():
    assert assess(facts_of_file("example1_reduced.keras"), Dataset(60_000, 10)).level == "low"


@pytest.mark.parametrize("n", [500, 2000, 10_000])
def test_the_oversized_unregularized_model_ranks_above_its_reduced_and_regularized_versions(n):
    data = Dataset(n, 10)
    wide = assess(facts_of_file("example1_4x_width.keras"), data).gap
    assert wide >= assess(facts_of_file("example1_reduced.keras"), data).gap
    plain = assess(facts_of_file("example2_plain.keras"), data).gap
    assert plain >= assess(facts_of_file("example2_regularized.keras"), data).gap
    assert plain >= assess(facts_of_file("example3_augmented.keras"), data).gap


def _variants(k3, base_layers):
    """The same network with nothing added, with Dropout, with L2 and with augmentation."""
    layers = k3.layers

    def build(extra_front=(), dropout=False, l2=None):
        stack = [layers.Input((28, 28, 1)), *extra_front, layers.Conv2D(32, 3, activation="relu",
                 kernel_regularizer=l2), layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu",
                 kernel_regularizer=l2), layers.Flatten()]  # fmt: skip
        stack += [layers.Dropout(0.5)] if dropout else []
        stack += [layers.Dense(10, activation="softmax", kernel_regularizer=l2)]
        return facts_of_keras(k3.Sequential(stack))

    return {
        "base": build(),
        "dropout": build(dropout=True),
        "l2": build(l2=k3.regularizers.L2(1e-4)),
        "augmentation": build(extra_front=[layers.RandomTranslation(0.1, 0.1)]),
    }


@pytest.mark.parametrize("n", [100, 1000, 20_000])
def test_adding_dropout_l2_or_augmentation_never_raises_the_gap(k3, n):
    variants = _variants(k3, None)
    for given in (None, probes(0.7, 0.6, n=n)):
        base = assess(variants["base"], Dataset(n, 10), probes=given)
        for name in ("dropout", "l2", "augmentation"):
            with_it = assess(variants[name], Dataset(n, 10), probes=given)
            assert with_it.gap <= base.gap and with_it.interval[1] <= base.interval[1], (name, given)


def test_harder_data_never_lowers_the_estimate():
    facts = facts_of_file("example2_plain.keras")
    gaps = [assess(facts, Dataset(2000, 10), probes=probes(acc, acc - 0.05)).gap for acc in (0.99, 0.9, 0.7, 0.4, 0.15)]
    assert gaps == sorted(gaps) and gaps[-1] - gaps[0] >= 0.05, gaps


def test_probes_are_used_when_given_and_skipped_when_incomplete():
    facts = facts_of_file("example2_plain.keras")
    assert assess(facts, Dataset(2000, 10), probes=probes(0.8, 0.7)).uses_probes
    missing = replace(probes(0.8, 0.7), knn_accuracy=None, linear_accuracy=None, notes=("scikit-learn is missing",))
    risk = assess(facts, Dataset(2000, 10), probes=missing)
    assert not risk.uses_probes and any("incomplete" in note for note in risk.notes)


def test_outside_the_study_range_the_estimate_saturates_and_says_so(applications):
    facts = applications["ResNet50"]
    risk = assess(facts, Dataset(2000, 2))
    assert risk.extrapolated and any("study's range" in note for note in risk.notes)
    assert assess(facts, Dataset(10**9, 2)).gap == assess(facts, Dataset(10**8, 2)).gap


@pytest.mark.parametrize("name", ["example1_4x_width.keras", "example2_plain.keras"])
@pytest.mark.parametrize("n", [100, 2000, 20_000])
def test_a_shorter_training_run_never_raises_the_estimate_and_unknown_length_means_a_full_run(name, n):
    facts = facts_of_file(name)
    gaps = [assess(facts, Dataset(n, 10, training_steps=steps)).gap for steps in (10, 40, 150, 600, 5_000, 10**6)]
    assert gaps == sorted(gaps)
    full = assess(facts, Dataset(n, 10))
    assert full.gap == gaps[-1] and any("full training run" in note for note in full.notes)
    given = assess(facts, Dataset(n, 10, training_steps=40))
    assert not any("full training run" in note for note in given.notes)
    assert all(factor.feature != "log_steps" for factor in full.factors)


def test_a_run_longer_than_the_studys_longest_is_a_full_run_not_a_warning_sign():
    facts = facts_of_file("example3_augmented.keras")
    full, long = (assess(facts, Dataset(5000, 10, training_steps=steps)) for steps in (None, 10**6))
    assert (long.gap, long.level, long.interval) == (full.gap, full.level, full.interval)
    assert not any("optimizer steps" in note and "range" in note for note in long.notes)


def test_the_smallest_low_risk_size_holds_the_training_length_fixed():
    facts = facts_of_file("example1_reduced.keras")
    planned = smallest_low_risk_samples(facts, Dataset(None, 10, epochs=1))
    assert planned == smallest_low_risk_samples(facts, Dataset(None, 10))


def test_a_malformed_tree_in_the_model_file_is_refused_not_walked():
    tree = {"feature": [0, 0, 0], "threshold": [0.5, 0, 0], "missing_left": [1, 0, 0], "left": [1, -1, -1],
            "right": [2, -1, -1], "value": [0, 1.0, 2.0]}  # fmt: skip
    assert risk_module._checked_trees([tree], 1) == (tree,)
    for broken in ({**tree, "left": [0, -1, -1]}, {**tree, "right": [9, -1, -1]}, {**tree, "feature": [3, 0, 0]},
                   {**tree, "value": [0, 1.0]}):  # fmt: skip
        with pytest.raises(ValueError):
            risk_module._checked_trees([broken], 1)


def test_training_length_matters_where_the_study_measured_it():
    facts = facts_of_file("example2_plain.keras")
    short, full = (assess(facts, Dataset(200, 10, training_steps=s)).gap for s in (20, None))
    assert full - short >= 0.02


@pytest.mark.parametrize("name", ["example1_4x_width.keras", "example2_plain.keras"])
@pytest.mark.parametrize("n", [100, 2000, 20_000])
def test_wrong_labels_never_lower_the_estimate_and_unknown_noise_means_correct_labels(name, n):
    facts = facts_of_file(name)
    gaps = [assess(facts, Dataset(n, 10, label_noise=noise)).gap for noise in (0.0, 0.1, 0.2, 0.4)]
    assert gaps == sorted(gaps)
    unknown = assess(facts, Dataset(n, 10))
    assert unknown.gap == gaps[0]
    assert all(factor.feature != "label_noise" for factor in unknown.factors)
    [note] = [note for note in unknown.notes if note.startswith("for correctly labelled data")]
    quoted = float(note.rsplit(" ", 1)[1])
    assert quoted == pytest.approx(gaps[2], abs=0.006)


def test_label_noise_matters_where_the_study_measured_it_and_is_left_to_the_probes_with_data():
    model = load_model()
    assert "label_noise" not in model.with_probes.names and model.static.assumed["label_noise"] == 0.0
    facts = facts_of_file("example2_plain.keras")
    clean, noisy = (assess(facts, Dataset(500, 10, label_noise=noise)).gap for noise in (0.0, 0.4))
    assert noisy - clean >= 0.05
    with_data = assess(facts, Dataset(2000, 10), probes=probes(0.9, 0.85))
    assert not any("correctly labelled" in note for note in with_data.notes)


def test_more_wrong_labels_than_studied_is_beyond_the_study_and_never_low():
    facts = facts_of_file("example3_augmented.keras")
    risk = assess(facts, Dataset(20_000, 10, label_noise=0.9))
    assert risk.extrapolated and risk.level != RISK_LEVELS[0]
    assert any("share of wrong labels" in note and "not rated low" in note for note in risk.notes)
    clean = smallest_low_risk_samples(facts, Dataset(None, 10))
    noisy = smallest_low_risk_samples(facts, Dataset(None, 10, label_noise=0.4))
    assert clean is not None and (noisy is None or noisy >= clean)


GRID = [m * 10**e for e in range(1, 8) for m in (1, 2, 5)]


@pytest.mark.parametrize("name", ["example1_reduced.keras", "example2_plain.keras", "example3_augmented.keras"])
def test_smallest_low_risk_training_set_is_the_first_low_grid_point_or_none(name):
    facts = facts_of_file(name)
    n = smallest_low_risk_samples(facts, Dataset(None, 10))
    levels = {size: assess(facts, Dataset(size, 10)).level for size in GRID}
    if n is None:
        assert "low" not in levels.values()
    else:
        assert levels[n] == "low" and assess(facts, Dataset(n, 10)).gap < LOW_GAP
        assert all(level != "low" for size, level in levels.items() if size < n)


def test_some_example_reaches_low_risk_on_enough_data():
    found = [smallest_low_risk_samples(facts_of_file(name), Dataset(None, 10))
             for name in ("example1_reduced.keras", "example2_plain.keras", "example3_augmented.keras")]  # fmt: skip
    assert any(n is not None for n in found)


# ---- the study's fitting code -----------------------------------------------------------------


def test_exported_two_part_trees_reproduce_the_fitted_model():
    pytest.importorskip("sklearn")
    from cnnlint.trees import ensemble
    from study import fit_risk as fit

    rng = np.random.RandomState(0)
    names = fit.SHIPPED.with_probes
    x = rng.uniform(0, 1, (300, len(names)))
    x[:, names.index("log_classes")] = rng.choice([np.log10(2), 1.0], 300)
    error = x[:, names.index("knn_error")]
    targets = {"fit": np.clip(0.5 + x[:, names.index("log_params_per_sample")], 0, 1),
               "held_out": np.clip(1 - error - 0.1 * (1 - x[:, names.index("log_samples")]), 0, 1)}  # fmt: skip
    targets["logged_fit"] = targets["fit"] - 0.05
    model = fit.TwoPart(names, fit.SHIPPED.held_out_min_fit).fit(x, targets, groups=np.arange(300) % 3)
    exported = model.export()
    fit.check_trees(model, exported, x)  # raises if a walk or cnnlint.risk.TwoPart differs from scikit-learn
    assert model.offsets[0] <= 0 <= model.offsets[1]
    part = exported["held_out"]
    columns = [names.index(n) for n in part["features"]]
    mine = [ensemble(part["baseline"], part["trees"], row) for row in x[:20][:, columns]]
    assert np.allclose(mine, model.models["held_out"].predict(x[:20][:, columns]), atol=1e-6)
    gap, low, high = model.predict(x)
    assert (low <= gap).all() and (gap <= high).all() and (high <= 1 - 10 ** -x[:, names.index("log_classes")]).all()


# ---- risk v3 scenarios: photos and large networks from scratch --------------------------------------


def random_labels(classes: int, n: int) -> DataProbes:
    """Probes of data whose labels carry no information: every probe at chance."""
    chance = 1 / classes
    return replace(probes(chance, chance, n=n, classes=classes, patch=chance), input_shape=(96, 96, 3))


@pytest.mark.slow
def test_a_from_scratch_resnet50_on_2000_photos_is_high_without_data_and_with_random_labels(applications):
    facts = applications["ResNet50-96"]
    assert assess(facts, Dataset(2000, 2)).level == RISK_LEVELS[2]
    with_data = assess(facts, Dataset(2000, 2), probes=random_labels(2, 2000))
    assert with_data.uses_probes and with_data.level == RISK_LEVELS[2]
    assert with_data.interval[1] <= 0.5 + 1e-9  # 1 - 1/C for two classes


def plain_cifar_cnn(k3, convs: int):
    """The Keras tutorial's CIFAR-10 network: a few convolutions, no dropout, no augmentation."""
    layers = k3.layers
    stack = [layers.Input((32, 32, 3))]
    for i, width in enumerate((32, 64, 64)[:convs]):
        stack += [layers.Conv2D(width, 3, activation="relu")]
        stack += [layers.MaxPooling2D()] if i < convs - 1 else []
    stack += [layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")]
    return facts_of_keras(k3.Sequential(stack))


@pytest.mark.parametrize("convs", [2, 3])
def test_a_plain_cnn_on_all_of_cifar10_is_not_low_without_data(k3, convs):
    risk = assess(plain_cifar_cnn(k3, convs), Dataset(50_000, 10))
    assert risk.level != RISK_LEVELS[0], risk


def test_the_4x_width_model_is_not_below_its_reduced_model_and_capacity_is_named_where_it_leads():
    data = Dataset(2000, 10)
    wide = assess(facts_of_file("example1_4x_width.keras"), data)
    reduced = assess(facts_of_file("example1_reduced.keras"), data)
    assert wide.gap >= reduced.gap
    model = load_model()
    x, assumed = variant_inputs(model.static, features(facts_of_file("example1_4x_width.keras"), data))
    pushes = contributions(model.static, x)
    leading = sorted((p for n, p in pushes.items() if n not in assumed), reverse=True)[:3]
    if pushes["log_params_per_sample"] in leading and pushes["log_params_per_sample"] > 0.005:
        assert "log_params_per_sample" in [f.feature for f in wide.factors]
        [factor] = [f for f in wide.factors if f.feature == "log_params_per_sample"]
        assert "parameters per training sample" in factor.describe()


def test_the_estimate_names_what_it_predicts_and_its_parts():
    risk = assess(facts_of_file("example2_plain.keras"), Dataset(2000, 10))
    assert risk.measure == "training accuracy in inference mode - held-out accuracy"
    assert 0.1 <= risk.held_out_accuracy <= risk.train_accuracy <= 1.0
    assert risk.gap == pytest.approx(max(risk.train_accuracy - risk.held_out_accuracy, 0), abs=2e-4)


def test_where_keras_logs_another_gap_the_estimate_says_what_it_will_show():
    shown = 0
    for name in ("example2_regularized.keras", "example3_augmented.keras", "example2_plain.keras",
                 "example1_reduced.keras"):  # fmt: skip
        facts = facts_of_file(name)
        for n in (200, 2000, 20_000):
            risk = assess(facts, Dataset(n, 10))
            says = [note for note in risk.notes if note.startswith("Keras's log will show")]
            assert bool(says) == (abs(risk.keras_gap - risk.gap) > risk_module.KERAS_GAP_NOTE)
            if says:
                shown += 1
                assert f"{risk.keras_gap:.2f}" in says[0]
                # the note blames only what this model has active in training mode
                assert ("dropout" in says[0]) == bool(facts.dropout_layers or facts.noise_layers)
                assert ("augmentation" in says[0]) == bool(facts.augment_layers)
                assert ("normalization" in says[0]) == bool(facts.norm_layers)
    assert shown  # the note is exercised


def test_where_the_beyond_the_study_floor_sets_the_level_the_output_says_so(monkeypatch):
    facts = facts_of_file("example1_reduced.keras")
    fewer_than_studied = Dataset(20, 10)
    risk = assess(facts, fewer_than_studied)
    assert risk.level != RISK_LEVELS[0] and any("not rated low" in note for note in risk.notes)
    assert risk.floored == (risk.gap < LOW_GAP)
    # force the case: parts that predict no gap at all, for a model beyond the study on the risky side
    monkeypatch.setattr(risk_module.TwoPart, "gap", lambda self, x, shares=None: 0.0)
    floored = assess(facts, fewer_than_studied)
    assert floored.floored and floored.level == RISK_LEVELS[1] and floored.gap == 0.0
    assert any("only because" in note for note in floored.notes)
    assert assess(facts, Dataset(5000, 10)).level == RISK_LEVELS[0]  # in range, the same zero gap is low


def test_the_full_run_note_rounds_the_step_count_it_estimated():
    """The saturation point is read off the trees' thresholds: two significant digits, not '2,382' steps."""
    note = next(n for n in assess(facts_of_file("example2_plain.keras"), Dataset(2000, 10)).notes
                if "full training run" in n)  # fmt: skip
    steps = re.search(r"after about ([\d,]+) optimizer steps", note)
    assert steps is not None, note
    digits = steps.group(1).replace(",", "").rstrip("0")
    assert len(digits) <= 2, note


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_an_extrapolated_estimate_is_named_as_its_note_names_it(fmt):
    """One name for one thing: the mark on the risk line says "outside the study's range", as the note does."""
    result = run_cli(str(REPO / "examples" / "example3_augmented.keras"), "-n", "10000000", "--format", fmt, "--no-color")
    assert result.returncode in (0, 1), result.stderr
    assert "extrapolated: outside the study's range" in result.stdout and "fitted range" not in result.stdout
