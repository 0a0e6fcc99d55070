"""Configuration values are checked by the type of the command-line option of the same name."""

from __future__ import annotations

import json

import pytest

from cnnlint.config import OPTION_TYPES
from tests.conftest import REPO, run_cli

MODEL = str(REPO / "examples" / "example2_plain.keras")

BAD_VALUES = [("format", "xml"), ("severity", "loud"), ("fail-on", "sometimes"), ("samples", 0), ("classes", 1)]


def test_every_option_backed_key_has_a_bad_value_here():
    assert {key for key, _ in BAD_VALUES} == set(OPTION_TYPES)


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_config_value_fails_like_the_option(tmp_path, key, value):
    config = tmp_path / "cnnlint.toml"
    config.write_text(f"{key} = {json.dumps(value)}\n")
    from_config = run_cli(MODEL, "--config", str(config))
    from_option = run_cli(MODEL, f"--{key}", str(value))
    assert from_config.returncode == from_option.returncode == 2
    assert len(from_config.stderr.strip().splitlines()) == 1, from_config.stderr
    assert "Traceback" not in from_config.stderr and "internal error" not in from_config.stderr
    option_problem = from_option.stderr.split("': ", 1)[1].split(" (see", 1)[0].strip()
    assert from_config.stderr.strip().endswith(f"invalid value for '{key}': {option_problem}")


def test_quoted_number_in_config_is_not_taken_for_a_number(tmp_path):
    config = tmp_path / "cnnlint.toml"
    config.write_text('samples = "5000"\n')
    result = run_cli(MODEL, "--config", str(config))
    assert result.returncode == 2 and "'samples'" in result.stderr and "not an integer" in result.stderr


def test_good_config_values_are_used(tmp_path):
    config = tmp_path / "cnnlint.toml"
    config.write_text('format = "json"\nsamples = 5000\nclasses = 10\nfail-on = "never"\nseverity = "error"\n')
    result = run_cli(MODEL, "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["models"][0]["dataset"]["samples"] == 5000
