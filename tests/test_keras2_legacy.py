"""Models saved by Keras 2.0 and 2.1: a Sequential's config is a bare list of layers.

The files in tests/fixtures/keras2_legacy/ are written by the script beside them, to the layout those versions
used (see its docstring).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "keras2_legacy"
ALL_RULES = LintSettings(tuple(select_rules()))


def conv(kernel: int, channels_in: int, filters: int) -> int:
    return kernel * kernel * channels_in * filters + filters


def expected_cnn_counts() -> tuple[int, int]:
    """The fixture CNN's (trainable, non-trainable) counts, layer by layer, from its 12x12x1 input."""
    batch_norm = 8 * 4  # gamma and beta train; moving mean and variance do not
    spatial = ((12 - 2) // 2 - 2) // 2  # valid 3x3, pool 2, valid 3x3, pool 2
    flat = spatial * spatial * 16
    trainable = conv(3, 1, 8) + batch_norm // 2 + conv(3, 8, 16) + (flat * 32 + 32) + (32 * 10 + 10)
    return trainable, batch_norm // 2


@pytest.mark.parametrize("name", ["cnn.h5", "cnn.json"])
def test_keras20_sequential_is_read_with_exact_counts(name):
    report = lint_source(FIXTURES / name, Dataset(samples=1000), ALL_RULES)
    assert report.error is None, report.error
    graph = report.graph
    assert (graph.trainable_params, graph.non_trainable_params) == expected_cnn_counts()
    assert graph.params_exact and graph.keras_version == "2.0.8"
    assert graph.input_shapes == [(None, 12, 12, 1)]
    assert [layer.path for layer in graph.layers if layer.class_name == "Conv2D"] == ["conv2d_1", "conv2d_2"]


def test_keras20_compile_and_regularization_are_read():
    report = lint_source(FIXTURES / "cnn.h5", Dataset(samples=1000), ALL_RULES)
    codes = {finding.code for finding in report.findings}
    assert not {"R201", "R202", "R203"} & codes  # dropout, batch norm and the L2 penalty were all found


def test_counts_agree_with_tf_keras(tfk):
    """tf.keras still loads a Keras 2.0 JSON config: its count_params() is the reference."""
    from tests.conftest import weight_counts

    model = tfk.models.model_from_json((FIXTURES / "cnn.json").read_text())
    graph = lint_source(FIXTURES / "cnn.json", Dataset(), ALL_RULES).graph
    assert weight_counts(model) == (graph.trainable_params, graph.non_trainable_params)


def test_keras20_lambda_is_flagged_and_never_run(tmp_path):
    """The Lambda's code would create LAMBDA_RAN in the current folder if it ran; an audit hook also watches for
    its bytecode being unmarshalled and for any lambda's code object being executed while the file is linted."""
    script = textwrap.dedent(f"""
        import base64, json, sys
        import h5py
        with h5py.File({str(FIXTURES / "lambda.h5")!r}, "r") as handle:
            layers = json.loads(handle.attrs["model_config"])["config"]
        payload = base64.b64decode(layers[0]["config"]["function"][0])
        events = []
        def hook(event, args):
            if event == "marshal.loads" and payload in bytes(args[0]):
                events.append(event)
            elif event == "exec" and getattr(args[0], "co_name", "") == "<lambda>":
                events.append(event)
        from cnnlint.cli import main
        sys.addaudithook(hook)
        try:
            main([{str(FIXTURES / "lambda.h5")!r}, "--format", "json"])
        except SystemExit as exc:
            code = exc.code
        print("EVENTS", events, "CODE", code, file=sys.stderr)
    """)
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)  # fmt: skip
    assert "EVENTS [] CODE 1" in result.stderr, result.stderr[-2000:]
    assert not (tmp_path / "LAMBDA_RAN").exists()
    findings = json.loads(result.stdout)["models"][0]["findings"]
    lambda_findings = [f for f in findings if f["code"] == "S401"]
    assert [f["layer"] for f in lambda_findings] == ["lambda_1"]
    assert "marshalled bytecode" in lambda_findings[0]["message"]
