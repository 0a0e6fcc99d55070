"""Hostile and broken files: one clean line and exit 2 (or findings), never a traceback, never a hang.

Speed and memory limits for these files are measured by benchmarks/bench_hostile.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cnnlint.rules import select_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlint.errors import CnnlintError
from cnnlint.findings import Dataset
from cnnlint.graph import build_graph
from cnnlint.pipeline import LintSettings, lint_source
from cnnlint.readers import raw_from_dict
from tests.conftest import REPO
from tests.hostile_corpus import GOOD, build

ALL = LintSettings(tuple(select_rules()))
#: raise for a long local sweep: CNNLINT_HYPOTHESIS_EXAMPLES=5000 pytest tests/test_robustness.py
EXAMPLES = int(os.environ.get("CNNLINT_HYPOTHESIS_EXAMPLES", "300"))


#: Hostile files that are readable models: a custom layer with a garbage or padded weights file.  They are
#: linted (S402 flags the foreign module), and their custom layer stays uncounted.
READABLE = {"custom_garbage_weights.keras", "custom_padded_weights.keras"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hostile"))


def test_every_hostile_file_gets_a_clean_answer(corpus):
    """One process lints the whole corpus: each file is reported on its own line."""
    result = subprocess.run([sys.executable, "-m", "cnnlint", *map(str, corpus), "--format", "json"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2
    models = json.loads(result.stdout)["models"]
    assert len(models) == len(corpus)
    for model in models:
        if Path(model["path"]).name in READABLE:
            assert not model["error"] and not model["model"]["params_exact"], model
            assert {f["code"] for f in model["findings"]} >= {"S402"}
            continue
        assert model["error"], f"{model['path']} was accepted"
        assert "\n" not in model["error"]


@pytest.mark.parametrize("name", ["bomb.keras", "huge.json", "deep.json", "cyclic.json", "garbage_config.h5"])
def test_single_file_one_line(corpus, name):
    path = next(p for p in corpus if p.name == name)
    result = subprocess.run([sys.executable, "-m", "cnnlint", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    path = tmp_path / "locked.keras"
    path.write_bytes(b"PK\x03\x04")
    path.chmod(0)
    result = subprocess.run([sys.executable, "-m", "cnnlint", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "permission denied" in result.stderr


# ---- property-based: any config, however wrong, is a ModelError or a graph ---------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
CLASSES = ["Conv2D", "Dense", "Flatten", "MaxPooling2D", "BatchNormalization", "Dropout", "Reshape", "Concatenate",
           "LSTM", "Bidirectional", "TimeDistributed", "MultiHeadAttention", "EinsumDense", "Conv2DTranspose",
           "ZeroPadding2D", "Cropping2D", "Permute", "Embedding", "Lambda", "Sequential", "Functional", "Nope"]  # fmt: skip
KEYS = ["filters", "kernel_size", "strides", "padding", "units", "axis", "rate", "target_shape", "dims", "layer",
        "pool_size", "groups", "data_format", "cropping", "num_heads", "key_dim", "equation", "output_shape",
        "return_sequences", "input_dim", "output_dim", "layers", "use_bias", "dilation_rate"]  # fmt: skip


@st.composite
def layer_configs(draw):
    config = {key: draw(JSON_VALUES) for key in draw(st.lists(st.sampled_from(KEYS), max_size=5))}
    config["name"] = draw(st.text(min_size=1, max_size=5))
    return {"class_name": draw(st.sampled_from(CLASSES)), "config": config}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(layer_configs(), max_size=6), shape=st.lists(st.none() | st.integers(0, 64), max_size=5))
def test_random_sequential_configs_never_crash(layers, shape):
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, *shape], "name": "in"}}, *layers]}}  # fmt: skip
    try:
        report = lint_source(raw_from_dict(config), Dataset(samples=100), ALL)
    except CnnlintError:
        return
    assert report.error is None or isinstance(report.error, str)


@settings(max_examples=EXAMPLES, deadline=None)
@given(value=JSON_VALUES, where=st.sampled_from(["filters", "kernel_size", "strides", "padding", "units", "axis"]))
def test_wrong_values_in_a_real_model(value, where):
    config = json.loads(json.dumps(GOOD))
    layer = config["config"]["layers"][3 if where in ("units", "axis") else 1]["config"]
    layer[where] = value
    try:
        build_graph(raw_from_dict(config))
    except CnnlintError as exc:
        assert "\n" not in exc.one_line()


def test_mutation_fuzzer_smoke():
    """A few hundred cases of the mutation fuzzer (fuzz/fuzz_models.py runs 10,000)."""
    result = subprocess.run([sys.executable, str(REPO / "fuzz" / "fuzz_models.py"), "--cases", "300", "--seed",
                             str(random.Random(0).randrange(10**6))], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 unhandled" in result.stdout
