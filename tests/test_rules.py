"""Every rule: a model that triggers it and a fixed variant that does not; the seed article's examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cnnlint.rules import RULES, get_rule, select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import raw_from_dict
from tests.conftest import REPO, run_cli

ALL = LintSettings(tuple(select_rules()))


def lint(model, samples=None, classes=None, augmented=False):
    raw = raw_from_dict(json.loads(model.to_json()), source=model.name)
    report = lint_source(raw, Dataset(samples, classes, augmented), ALL)
    assert report.error is None, report.error
    return report


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


def seq(k3, *stack, shape=(28, 28, 1), compile_with=None):
    model = k3.Sequential([k3.Input(shape), *stack])
    if compile_with is not None:
        model.compile(optimizer=compile_with, loss="sparse_categorical_crossentropy")
    return model


def convs(k3, n, filters=16, **kw):
    return [k3.layers.Conv2D(filters, 3, padding="same", activation="relu", **kw) for _ in range(n)]


def head(k3, classes=10):
    return [k3.layers.GlobalAveragePooling2D(), k3.layers.Dense(classes, activation="softmax")]


def test_every_rule_has_documentation_sections():
    for rule in RULES.values():
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert section in rule.doc, (rule.code, section)


def test_deep_network(k3):
    deep = seq(k3, *convs(k3, 16), *head(k3))
    shallow = seq(k3, *convs(k3, 4), *head(k3))
    assert "C101" in codes(lint(deep, samples=1000))
    assert "C101" not in codes(lint(shallow, samples=1000))
    assert "C101" not in codes(lint(deep, samples=1_000_000))  # the same network is fine with more data


def test_deep_network_needs_samples(k3):
    report = lint(seq(k3, *convs(k3, 16), *head(k3)))
    assert "C101" not in codes(report) and "C101" in report.needs_samples


def test_wasted_depth(k3):
    L = k3.layers
    stride2 = [L.Conv2D(8, 3, strides=2, padding="same") for _ in range(3)]
    wasteful = seq(k3, *stride2, *convs(k3, 6, filters=8), *head(k3), shape=(16, 16, 1))
    lean = seq(k3, *stride2, *convs(k3, 1, filters=8), *head(k3), shape=(16, 16, 1))
    report = lint(wasteful)
    assert "C102" in codes(report)
    finding = next(f for f in report.findings if f.code == "C102")
    assert finding.evidence["layers_after"] >= 4
    assert "C102" not in codes(lint(lean))


def test_wide_layers(k3):
    wide = seq(k3, *convs(k3, 2, filters=256), *head(k3))
    narrow = seq(k3, *convs(k3, 2, filters=32), *head(k3))
    report = lint(wide, samples=1000)
    finding = next(f for f in report.findings if f.code == "C103")
    assert finding.evidence["width"] == 256 and len(finding.layers) == 2
    assert "C103" not in codes(lint(narrow, samples=1000))


def test_large_kernel_priced_and_stem_excused(k3):
    L = k3.layers
    big = seq(k3, L.Conv2D(16, 3), L.Conv2D(32, 7, name="big"), *head(k3))
    report = lint(big)
    finding = next(f for f in report.findings if f.code == "C104")
    assert finding.layers == ("big",)
    # 7x7: 7*7*16*32 + 32 = 25120; three 3x3: 9*16*32 + 2*9*32*32 + 3*32 = 23136
    assert finding.evidence["params"] == 25120 and finding.evidence["stacked_params"] == 23136
    stem = seq(k3, L.Conv2D(16, 7, strides=2, name="stem"), L.Conv2D(16, 3), *head(k3))
    assert "C104" not in codes(lint(stem))
    small = seq(k3, L.Conv2D(16, 3), L.Conv2D(32, 3), *head(k3))
    assert "C104" not in codes(lint(small))


def test_two_3x3_price_matches_the_classic_28_percent():
    from cnnlint.rules.large_kernel import stacked_params

    layers, params = stacked_params(5, 2, 64, 64, bias=False)
    assert layers == 2 and round(1 - params / (25 * 64 * 64), 2) == 0.28


def test_dense_head_dominance(k3):
    L = k3.layers
    flat = seq(k3, *convs(k3, 2, filters=16), L.Flatten(), L.Dense(512, activation="relu"), L.Dense(10))
    report = lint(flat)
    finding = next(f for f in report.findings if f.code == "C105")
    assert finding.evidence["pooled_params"] == 16 * 512 + 512
    assert "GlobalAveragePooling2D" in finding.fix
    pooled = seq(k3, *convs(k3, 2, filters=16), *head(k3))
    assert "C105" not in codes(lint(pooled))


def test_capacity_vs_data_severity_follows_regularization(k3):
    L = k3.layers
    bare = seq(k3, *convs(k3, 2, filters=64), L.Flatten(), L.Dense(64), L.Dense(10))
    finding = next(f for f in lint(bare, samples=500).findings if f.code == "C106")
    assert finding.severity == "warning" and finding.evidence["params_per_label"] > 1
    regular = seq(k3, *convs(k3, 2, filters=64, kernel_regularizer="l2"), L.BatchNormalization(), L.Dropout(0.3),
                  L.Flatten(), L.Dense(64), L.Dense(10))  # fmt: skip
    assert next(f for f in lint(regular, samples=500).findings if f.code == "C106").severity == "info"
    assert "C106" not in codes(lint(bare, samples=1_000_000))


@pytest.mark.parametrize(
    "code, fixed_stack",
    [
        ("R201", lambda k3: [k3.layers.Dropout(0.3)]),
        ("R202", lambda k3: [k3.layers.BatchNormalization()]),
        ("R203", lambda k3: [k3.layers.Dense(10, kernel_regularizer=k3.regularizers.L2(1e-4))]),
        ("R204", lambda k3: [k3.layers.RandomFlip("horizontal")]),
    ],
)
def test_missing_regularization_rules(k3, code, fixed_stack):
    plain = seq(k3, *convs(k3, 2), k3.layers.Flatten(), k3.layers.Dense(10))
    fixed = seq(k3, *fixed_stack(k3), *convs(k3, 2), k3.layers.Flatten(), k3.layers.Dense(10))
    assert code in codes(lint(plain, samples=1000))
    assert code not in codes(lint(fixed, samples=1000))
    assert code not in codes(lint(plain, samples=10_000_000))  # the data dwarfs the model


def test_weight_decay_in_compile_config_counts_as_a_penalty(k3):
    plain = seq(k3, *convs(k3, 2), k3.layers.Flatten(), k3.layers.Dense(10), compile_with="adam")
    decayed = seq(k3, *convs(k3, 2), k3.layers.Flatten(), k3.layers.Dense(10),
                  compile_with=k3.optimizers.AdamW(weight_decay=1e-4))  # fmt: skip
    # to_json carries no optimizer; the saved file does
    assert "R203" in codes(lint(plain, samples=1000))
    report_plain, report_decayed = (_lint_saved(m, 1000) for m in (plain, decayed))
    assert "R203" in codes(report_plain) and "R203" not in codes(report_decayed)


def _lint_saved(model, samples, tmp=Path("/tmp")):
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "m.keras"
    model.save(path)
    return lint_source(path, Dataset(samples), ALL)


def test_augmented_flag_clears_augmentation_rule(k3):
    plain = seq(k3, *convs(k3, 2), k3.layers.Flatten(), k3.layers.Dense(10))
    assert "R204" not in codes(lint(plain, samples=1000, augmented=True))


def test_high_dropout_rate(k3):
    high = seq(k3, *convs(k3, 1), k3.layers.Dropout(0.8, name="drop"), *head(k3))
    finding = next(f for f in lint(high).findings if f.code == "R205")
    assert finding.layers == ("drop",) and "rate=0.2" in finding.fix
    assert "R205" not in codes(lint(seq(k3, *convs(k3, 1), k3.layers.Dropout(0.5), *head(k3))))


def test_dropout_before_batchnorm(k3):
    L = k3.layers
    bad = seq(k3, L.Conv2D(8, 3), L.Dropout(0.2, name="d"), L.BatchNormalization(name="bn"), *head(k3))
    finding = next(f for f in lint(bad).findings if f.code == "R206")
    assert finding.layers == ("d", "bn")
    good = seq(k3, L.Conv2D(8, 3), L.BatchNormalization(), L.Dropout(0.2), *head(k3))
    assert "R206" not in codes(lint(good))


def test_few_samples_per_class(k3):
    model = seq(k3, *convs(k3, 2), *head(k3), shape=(128, 128, 3))
    finding = next(f for f in lint(model, samples=500).findings if f.code == "D301")
    assert finding.evidence["samples_per_class"] == 50.0
    assert "D301" not in codes(lint(model, samples=50_000))


def lint_with_data(x, y) -> set[str]:
    from cnnlint.probes import probe_arrays

    probes = probe_arrays(x, y)
    report = lint_source(str(EXAMPLES / "example1_reduced.keras"), Dataset(probes=probes), ALL)
    assert report.error is None, report.error
    return codes(report)


def test_conflicting_duplicates_and_class_imbalance():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(400, 28, 28, 1), dtype=np.uint8)
    y = np.arange(400) % 10
    assert not {"D302", "D303"} & lint_with_data(x, y)
    noisy = y.copy()
    x[200:210], noisy[200:210] = x[:10], (y[:10] + 1) % 10  # 20 of 400 examples: a twin with another label
    assert "D302" in lint_with_data(x, noisy)
    rare = np.where(np.arange(400) < 396, np.arange(400) % 9, 9)  # class 9: 4 examples, the others 44
    assert "D303" in lint_with_data(x, rare)


def test_every_rule_is_exercised_by_a_test():
    text = "".join((Path(__file__).parent / name).read_text() for name in ("test_rules.py", "test_safety.py",
                                                                            "test_gate.py"))  # fmt: skip
    missing = [code for code in RULES if f'"{code}"' not in text]
    assert not missing


# ---- the seed article's examples (examples/, built by examples/build_examples.py) ------------

EXAMPLES = REPO / "examples"


def example(name: str):
    # the dataset facts come from pyproject.toml's [[tool.cnnlint.models]] entry for examples/*
    from cnnlint.commands import _dataset_for
    from cnnlint.config import find_config, load_config

    path = EXAMPLES / f"{name}.keras"
    dataset = _dataset_for(str(path), {"samples": None, "classes": None, "augmented": None},
                           load_config(find_config(REPO)))  # fmt: skip
    assert dataset.samples == 2000
    return lint_source(path, dataset, ALL)


def capacity_findings(report) -> list:
    return [f for f in report.findings if f.code.startswith("C") and f.severity != "info"]


def test_example1_reduced_has_fewer_capacity_findings_than_4x_width():
    assert len(capacity_findings(example("example1_reduced"))) < len(capacity_findings(example("example1_4x_width")))


def test_example2_clears_the_regularization_rules_the_plain_network_triggers():
    plain, regularized = codes(example("example2_plain")), codes(example("example2_regularized"))
    for code in ("R201", "R202", "R203"):
        assert code in plain and code not in regularized


def test_example3_in_model_augmentation_clears_the_augmentation_rule():
    assert "R204" in codes(example("example2_plain"))
    assert "R204" not in codes(example("example3_augmented"))


def test_resnet50_and_mobilenetv2_verdicts_differ_with_data(k3):
    for name in ("ResNet50", "MobileNetV2"):
        model = getattr(k3.applications, name)(weights=None)  # 1,000 classes: n = 1 M is ImageNet scale
        small, large = lint(model, samples=1000), lint(model, samples=1_000_000)
        small_warnings = {f.code for f in small.findings if f.severity == "warning"}
        large_warnings = {f.code for f in large.findings if f.severity == "warning"}
        assert {"C101", "C103", "C106"} <= small_warnings
        assert not ({"C101", "C103", "C106"} & large_warnings)
        assert len(large_warnings) < len(small_warnings)
        if small.risk is not None and large.risk is not None:
            assert small.risk.gap > large.risk.gap
        k3.backend.clear_session()


def test_cli_examples_folder_works():
    result = run_cli("examples/", "--format", "json", cwd=REPO)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert len(data["models"]) == 5 and all(m["error"] is None for m in data["models"])


def test_rule_documentation_command():
    result = run_cli("rule", "C105")
    assert result.returncode == 0
    assert "## What it does" in result.stdout and "GlobalAveragePooling2D" in result.stdout
    assert get_rule("dense-head-dominance").code == "C105"
    assert run_cli("rule", "X999").returncode == 2
