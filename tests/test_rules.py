"""Every rule: a model that triggers it and a fixed variant that does not; the seed article's examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cnnlint.rules import RULES, get_rule, select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import raw_from_dict
from tests.conftest import REPO, run_cli

ALL = LintSettings(tuple(select_rules()))


FIXTURES = REPO / "tests" / "fixtures" / "rule_models"
#: the configs of the small models below, written by tests/fixtures/rule_models/make_rule_models.py
MODELS: dict[str, dict] = json.loads((FIXTURES / "rule_models.json").read_text())


def lint(model, samples=None, classes=None, augmented=False):
    """Lint a model of the fixture file (by name) or a live Keras model."""
    config = MODELS[model] if isinstance(model, str) else json.loads(model.to_json())
    raw = raw_from_dict(config, source=model if isinstance(model, str) else model.name)
    report = lint_source(raw, Dataset(samples, classes, augmented), ALL)
    assert report.error is None, report.error
    return report


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


def test_every_rule_has_documentation_sections():
    for rule in RULES.values():
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert section in rule.doc, (rule.code, section)


def test_deep_network():
    assert "C101" in codes(lint("deep16", samples=1000))
    assert "C101" not in codes(lint("shallow4", samples=1000))
    assert "C101" not in codes(lint("deep16", samples=1_000_000))  # the same network is fine with more data


def test_deep_network_needs_samples():
    report = lint("deep16")
    assert "C101" not in codes(report) and "C101" in report.needs_samples


def test_wasted_depth():
    report = lint("wasteful_depth")
    assert "C102" in codes(report)
    finding = next(f for f in report.findings if f.code == "C102")
    assert finding.evidence["layers_after"] >= 4
    assert "C102" not in codes(lint("lean_depth"))


def test_wide_layers():
    report = lint("wide256", samples=1000)
    finding = next(f for f in report.findings if f.code == "C103")
    assert finding.evidence["width"] == 256 and len(finding.layers) == 2
    assert "C103" not in codes(lint("narrow32", samples=1000))


def test_large_kernel_priced_and_stem_excused():
    report = lint("big_kernel")
    finding = next(f for f in report.findings if f.code == "C104")
    assert finding.layers == ("big",)
    # 7x7: 7*7*16*32 + 32 = 25120; three 3x3: 9*16*32 + 2*9*32*32 + 3*32 = 23136
    assert finding.evidence["params"] == 25120 and finding.evidence["stacked_params"] == 23136
    assert "C104" not in codes(lint("stem_kernel"))
    assert "C104" not in codes(lint("small_kernel"))


def test_two_3x3_price_matches_the_classic_28_percent():
    from cnnlint.rules.large_kernel import stacked_params

    layers, params = stacked_params(5, 2, 64, 64, bias=False)
    assert layers == 2 and round(1 - params / (25 * 64 * 64), 2) == 0.28


def test_dense_head_dominance():
    report = lint("flat_head")
    finding = next(f for f in report.findings if f.code == "C105")
    assert finding.evidence["pooled_params"] == 16 * 512 + 512
    assert "GlobalAveragePooling2D" in finding.fix
    assert "C105" not in codes(lint("pooled_head"))


def test_capacity_vs_data_severity_follows_regularization():
    finding = next(f for f in lint("bare_capacity", samples=500).findings if f.code == "C106")
    assert finding.severity == "warning" and finding.evidence["params_per_label"] > 1
    assert next(f for f in lint("regular_capacity", samples=500).findings if f.code == "C106").severity == "info"
    assert "C106" not in codes(lint("bare_capacity", samples=1_000_000))


@pytest.mark.parametrize("code", ["R201", "R202", "R203", "R204"])
def test_missing_regularization_rules(code):
    assert code in codes(lint("plain", samples=1000))
    assert code not in codes(lint(f"plain_with_{code}_fix", samples=1000))
    assert code not in codes(lint("plain", samples=10_000_000))  # the data dwarfs the model


def test_weight_decay_in_compile_config_counts_as_a_penalty():
    assert "R203" in codes(lint("plain_adam", samples=1000))
    assert "R203" not in codes(lint("plain_adamw", samples=1000))


def test_augmented_flag_clears_augmentation_rule():
    assert "R204" not in codes(lint("plain", samples=1000, augmented=True))


def test_high_dropout_rate():
    finding = next(f for f in lint("high_dropout").findings if f.code == "R205")
    assert finding.layers == ("drop",) and "rate=0.2" in finding.fix
    assert "R205" not in codes(lint("half_dropout"))


def test_dropout_before_batchnorm():
    finding = next(f for f in lint("dropout_before_bn").findings if f.code == "R206")
    assert finding.layers == ("d", "bn")
    assert "R206" not in codes(lint("bn_before_dropout"))


def test_few_samples_per_class():
    finding = next(f for f in lint("large_images", samples=500).findings if f.code == "D301")
    assert finding.evidence["samples_per_class"] == 50.0
    assert "D301" not in codes(lint("large_images", samples=50_000))


def test_fixture_models_are_what_keras_builds(k3):
    """Keras parity: every stored config lints like the model Keras builds today from make_rule_models.py."""
    import sys

    sys.path.insert(0, str(FIXTURES))
    try:
        import make_rule_models
    finally:
        sys.path.remove(str(FIXTURES))
    fresh = make_rule_models.build_all(k3)
    assert set(fresh) == set(MODELS)
    for name, config in fresh.items():
        for samples in (None, 1000):
            now, stored = lint_source(raw_from_dict(config), Dataset(samples), ALL), lint(name, samples=samples)
            assert (now.graph.trainable_params, now.graph.non_trainable_params) == (
                stored.graph.trainable_params, stored.graph.non_trainable_params), name  # fmt: skip
            assert [(f.code, f.layers, f.severity) for f in now.findings] == [
                (f.code, f.layers, f.severity) for f in stored.findings], name  # fmt: skip


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


def test_wide_layers_says_which_parameters_are_the_layer_and_which_the_model():
    report = lint("wide256", samples=1000)
    finding = next(f for f in report.findings if f.code == "C103")
    layer, model = finding.evidence["layer_params_per_sample"], finding.evidence["model_params_per_sample"]
    assert layer < model  # two wide layers: the widest alone holds less than the whole model
    assert "that layer holds" in finding.message and f"({layer:.1f} per training sample)" in finding.message
    assert "the whole model" in finding.message and f"({model:.1f} per training sample)" in finding.message
    assert model == round(report.facts.trainable_params / 1000, 2)


def test_wide_layers_counts_the_other_layers_in_singular_and_plural(k3):
    finding = next(f for f in lint("wide256", samples=1000).findings if f.code == "C103")
    assert len(finding.layers) == 2 and " and 1 more layer (" in finding.message
    layers = k3.layers
    wide = k3.Sequential([k3.Input((16, 16, 3)), *(layers.Conv2D(256, 3) for _ in range(3)),
                          layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])  # fmt: skip
    finding = next(f for f in lint(wide, samples=1000).findings if f.code == "C103")
    assert len(finding.layers) == 3 and " and 2 more layers (" in finding.message


def test_wide_layers_writes_large_ratios_like_parameter_counts():
    from cnnlint.findings import fmt_int

    report = lint("wide256", samples=10)
    finding = next(f for f in report.findings if f.code == "C103")
    assert finding.evidence["model_params_per_sample"] >= 1000, "the test needs a ratio in the thousands"
    assert f"({fmt_int(report.facts.trainable_params / 10)} per training sample)" in finding.message
    assert re.search(r"\d{4}", finding.message) is None, finding.message


def _flat_head_finding(model) -> tuple[str, str, str]:
    """C105's message, the Dense layer's share and the head's share of the model, worded as the message does."""
    finding = next(f for f in lint(model).findings if f.code == "C105")
    return finding.message, f"{finding.evidence['share']:.0%}", f"{finding.evidence['head_share']:.0%}"


def test_dense_head_dominance_says_a_share_once():
    message, share, head = _flat_head_finding("flat_head")
    assert share == head and message.count(share) == 1 and "Dense(512)" in message


def test_dense_head_dominance_gives_the_head_share_when_it_differs(k3):
    layers = k3.layers
    model = k3.Sequential([k3.Input((16, 16, 3)), layers.Conv2D(8, 3), layers.Flatten(), layers.Dense(64),
                           layers.Dense(512), layers.Dense(10, activation="softmax")])  # fmt: skip
    message, share, head = _flat_head_finding(model)
    assert share != head and message.count(share) == 1 and message.count(head) == 1 and "Dense(64)" in message


def test_capacity_ratio_is_written_like_the_counts_beside_it():
    """A ratio past a thousand reads as the parameter counts do ('1.2 k per label'), not as '1234.5'."""
    small = next(f for f in lint("bare_capacity", samples=500).findings if f.code == "C106")
    tiny = next(f for f in lint("bare_capacity", samples=2).findings if f.code == "C106")
    assert re.search(r"= \d{1,3}\.\d per label", small.message), small.message
    assert tiny.evidence["params_per_label"] >= 1000
    assert re.search(r"= \d+\.\d [kMB] per label", tiny.message), tiny.message
