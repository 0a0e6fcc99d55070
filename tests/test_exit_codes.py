"""The exit-code gate: ``--severity`` decides which findings fail, ``--fail-on`` which risk levels fail, and
``--fail-on never`` means never fail unless a severity is named too."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from cnnlint.commands import _exit_code
from cnnlint.config import Config
from tests.conftest import REPO, run_cli

DEFAULT = None
FAIL_ON = [DEFAULT, "low", "medium", "high", "never"]
SEVERITY = [DEFAULT, "info", "warning", "error", "never"]

# One model with a warning finding and a medium risk. Rows: --severity; columns: --fail-on in FAIL_ON's order.
# Written out by hand from the README's exit-code paragraph, not computed.
EXPECTED = {
    DEFAULT: [1, 1, 1, 1, 0],
    "info": [1, 1, 1, 1, 1],
    "warning": [1, 1, 1, 1, 1],
    "error": [0, 1, 1, 0, 0],
    "never": [0, 1, 1, 0, 0],
}


def model(severity: str | None, level: str | None) -> SimpleNamespace:
    findings = [SimpleNamespace(severity=severity)] if severity else []
    risk = SimpleNamespace(level=level) if level else None
    return SimpleNamespace(error=None, findings=findings, risk=risk)


def gate(reports, severity=None, fail_on=None, exit_zero=False, config: dict | None = None) -> int:
    opts = {"severity": severity, "fail_on": fail_on, "exit_zero": exit_zero}
    return _exit_code(reports, opts, Config(values=config or {}))


@pytest.mark.parametrize("fail_on", FAIL_ON)
@pytest.mark.parametrize("severity", SEVERITY)
def test_each_combination(severity, fail_on):
    expected = EXPECTED[severity][FAIL_ON.index(fail_on)]
    assert gate([model("warning", "medium")], severity, fail_on) == expected


@pytest.mark.parametrize("fail_on", FAIL_ON)
@pytest.mark.parametrize("severity", SEVERITY)
def test_exit_zero_and_unreadable_files_win_over_both(severity, fail_on):
    assert gate([model("error", "high")], severity, fail_on, exit_zero=True) == 0
    unreadable = SimpleNamespace(error="x.keras: file is empty", findings=[], risk=None)
    assert gate([model("error", "high"), unreadable], severity, fail_on, exit_zero=True) == 2


@pytest.mark.parametrize(("level", "expected"), [("low", 0), ("medium", 0), ("high", 1), (None, 0)])
def test_risk_alone_fails_at_the_default_level(level, expected):
    assert gate([model(None, level)]) == expected


def test_config_values_and_command_line(tmp_path):
    reports = [model("warning", "low")]
    assert gate(reports, config={"fail-on": "never"}) == 0
    assert gate(reports, config={"fail-on": "never", "severity": "warning"}) == 1
    assert gate(reports, severity="error", config={"severity": "info"}) == 0  # the command line wins
    assert gate(reports, fail_on="never", config={"severity": "info"}) == 1


def test_fail_on_never_from_the_command_line(tmp_path):
    """The issue's case: warnings, and the user said never fail."""
    shutil.copy(REPO / "examples" / "example2_plain.keras", tmp_path / "plain.keras")
    model_path = str(tmp_path / "plain.keras")
    assert run_cli(model_path, "--samples", "500").returncode == 1
    assert run_cli(model_path, "--samples", "500", "--fail-on", "never").returncode == 0
    assert run_cli(model_path, "--samples", "500", "--fail-on", "never", "--severity", "warning").returncode == 1
    assert run_cli(model_path, "--samples", "500", "--severity", "never", "--fail-on", "never").returncode == 0


def test_levels_are_accepted_as_the_report_writes_them(tmp_path):
    """The text report writes "risk HIGH": ``--fail-on HIGH`` means what ``--fail-on high`` does."""
    shutil.copy(REPO / "examples" / "example2_plain.keras", tmp_path / "plain.keras")
    model_path = str(tmp_path / "plain.keras")
    assert run_cli(model_path, "--samples", "500", "--fail-on", "NEVER", "--severity", "Never").returncode == 0
    upper = run_cli(model_path, "--samples", "500", "--fail-on", "HIGH", "--severity", "NEVER")
    lower = run_cli(model_path, "--samples", "500", "--fail-on", "high", "--severity", "never")
    assert upper.returncode == lower.returncode and upper.stdout == lower.stdout and upper.stderr == ""
