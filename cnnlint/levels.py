"""The two ordered scales: a model's risk level and a finding's severity, lowest first.

One definition each: the command-line choices, the configuration checks, the
exit-code gate, the risk model and the reports all read them from here.  The
gap thresholds that separate the risk levels stay with the risk model
(``cnnlint.risk``).
"""

from __future__ import annotations

RISK_LEVELS = ("low", "medium", "high")
SEVERITIES = ("info", "warning", "error")
#: Turns a half of the exit-code gate off: ``--severity never`` (findings), ``--fail-on never`` (risk; and findings
#: too unless a severity is named, see ``commands.gate_settings``).
NEVER = "never"
FAIL_ON_CHOICES = (*RISK_LEVELS, NEVER)
SEVERITY_CHOICES = (*SEVERITIES, NEVER)


def risk_rank(level: str) -> int:
    return RISK_LEVELS.index(level)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)
