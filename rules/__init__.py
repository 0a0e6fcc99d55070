"""The rule registry: every rule module is listed here, once.

A rule module holds a docstring (its user documentation, printed by
``cnnlint rule CODE``), a ``check(ctx, options)`` generator of findings and a
``RULE`` describing it.  To add a rule, add a module and a line to ``MODULES``.
"""

from __future__ import annotations

import copyreg
from collections.abc import Iterable
from typing import Any

from cnnlint.rules import (
    capacity,
    class_imbalance,
    conflicting_duplicates,
    deep_network,
    dense_head,
    dropout_before_batchnorm,
    few_samples_per_class,
    high_dropout,
    large_kernel,
    no_augmentation,
    no_dropout,
    no_normalization,
    no_weight_penalty,
    safety_custom_object,
    safety_external_file,
    safety_foreign_reference,
    safety_hdf5_link,
    safety_incomplete_scan,
    safety_keras_api,
    safety_lambda,
    safety_polyglot,
    wasted_depth,
    wide_layers,
)

from cnnlint.errors import ConfigError
from cnnlint.findings import Finding, Rule, RuleContext

MODULES = (
    deep_network,
    wasted_depth,
    wide_layers,
    large_kernel,
    dense_head,
    capacity,
    no_dropout,
    no_normalization,
    no_weight_penalty,
    no_augmentation,
    high_dropout,
    dropout_before_batchnorm,
    few_samples_per_class,
    conflicting_duplicates,
    class_imbalance,
    safety_lambda,
    safety_foreign_reference,
    safety_keras_api,
    safety_external_file,
    safety_custom_object,
    safety_hdf5_link,
    safety_polyglot,
    safety_incomplete_scan,
)

RULES: dict[str, Rule] = {module.RULE.code: module.RULE for module in MODULES}
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES.values()}


def registered_rule(code: str) -> Rule:
    """The rule registered under ``code``: what a pickled registered rule loads as."""
    return RULES[code]


def _pickled_rule(rule: Rule) -> Any:
    # a registered rule pickles as its code, so a job sent to a -j worker carries a few bytes per rule, not every
    # rule's documentation (about 28 KB a file, issue 26); any other Rule pickles as usual
    if RULES.get(rule.code) is rule:
        return registered_rule, (rule.code,)
    return object.__reduce_ex__(rule, 2)


copyreg.pickle(Rule, _pickled_rule)


def get_rule(code_or_name: str) -> Rule:
    key = code_or_name.strip()
    rule = RULES.get(key.upper()) or BY_NAME.get(key.lower())
    if rule is None:
        raise ConfigError(f"unknown rule '{code_or_name}'", hint="'cnnlint rules' lists them")
    return rule


def _matches(rule: Rule, patterns: Iterable[str]) -> bool:
    return any(rule.code.startswith(p.upper()) or rule.name == p.lower() for p in patterns)


def validate_patterns(patterns: Iterable[str], what: str) -> None:
    for pattern in patterns:
        if pattern.upper() == "ALL":
            continue
        if not any(_matches(rule, [pattern]) for rule in RULES.values()):
            raise ConfigError(f"{what}: '{pattern}' matches no rule code or name", hint="'cnnlint rules' lists them")


def select_rules(select: list[str] | None = None, ignore: list[str] | None = None,
                 extend_select: list[str] | None = None) -> list[Rule]:  # fmt: skip
    """Rules chosen by code prefix or name, ruff-style: ``select`` replaces the default (all)."""
    from cnnlint.wording import option

    select, ignore, extend = select or [], ignore or [], extend_select or []
    validate_patterns(select, option("select"))
    validate_patterns(ignore, option("ignore"))
    validate_patterns(extend, option("extend-select"))
    chosen = [r for r in RULES.values() if not select or "ALL" in (s.upper() for s in select) or _matches(r, select)]
    chosen += [r for r in RULES.values() if r not in chosen and _matches(r, extend)]
    return [r for r in chosen if not _matches(r, ignore)]


def run_rules(ctx: RuleContext, rules: list[Rule], options: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        merged = {**rule.options, **((options or {}).get(rule.code) or {})}
        findings.extend(rule.check(ctx, merged))
    return findings
