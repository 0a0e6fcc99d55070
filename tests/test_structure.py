"""The code's shape: one definition per concept, no import cycles, rule knowledge only in rules/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cnnlint.reports import CONFIRM_FORMATS, FORMATS
from cnnlint.rules import RULES

from cnnlint.analysis import analyze
from cnnlint.config import OPTION_TYPES
from cnnlint.findings import Dataset
from cnnlint.levels import FAIL_ON_CHOICES, SEVERITIES, SEVERITY_CHOICES
from cnnlint.pipeline import model_graph
from cnnlint.readers import read_model
from cnnlint.risk import features
from tests.conftest import REPO

#: Where each package's modules live in the checkout.
PACKAGES = {"cnnlint": REPO / "cnnlint", "cnnlint.rules": REPO / "rules", "cnnlint.reports": REPO / "reports"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every cnnlint module ``path`` imports, at the top or inside a function (both can close a cycle)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
    return out


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_import_cycles():
    modules = _modules()
    edges = {
        name: {t for t in _imports(path, modules) if t != name and not name.startswith(t + ".")}
        for name, path in modules.items()
    }
    assert _cycle(edges) is None


def test_fixes_and_risk_know_no_rule_codes():
    for path in (REPO / "reports" / "fixes.py", REPO / "cnnlint" / "risk.py"):
        codes = re.findall(r"\b[A-Z]\d{3}\b", path.read_text(encoding="utf-8"))
        assert not codes, f"{path.name} names rules {codes}: the rule should carry that knowledge"


def test_every_feature_a_rule_explains_is_a_risk_feature():
    facts = analyze(model_graph(read_model(REPO / "examples" / "example2_plain.keras")))
    names = set(features(facts, Dataset(samples=1000)) or {})
    explained = {feature for rule in RULES.values() for feature in rule.explains}
    assert explained and explained <= names


def test_cli_and_config_choices_come_from_the_registries():
    assert tuple(OPTION_TYPES["format"].choices) == tuple(FORMATS)  # type: ignore[attr-defined]
    assert set(CONFIRM_FORMATS) <= set(FORMATS)
    assert tuple(OPTION_TYPES["severity"].choices) == SEVERITY_CHOICES  # type: ignore[attr-defined]
    assert tuple(OPTION_TYPES["fail-on"].choices) == FAIL_ON_CHOICES  # type: ignore[attr-defined]


def test_presentation_tables_cover_exactly_the_defined_levels():
    from cnnlint.reports import github, sarif, text

    from cnnlint.levels import RISK_LEVELS

    assert set(github.LEVELS) == set(sarif.LEVELS) == set(SEVERITIES)
    assert set(text._COLORS) == set(SEVERITIES) | set(RISK_LEVELS)
