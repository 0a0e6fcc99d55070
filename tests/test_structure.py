"""The code's shape: one definition per concept, no import cycles, rule knowledge only in rules/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import yaml
from cnnlint.reports import COMMAND_FORMATS, CONFIRM_FORMATS, FORMATS
from cnnlint.rules import RULES

from cnnlint.analysis import analyze
from cnnlint.config import DEFAULTS, OPTION_TYPES
from cnnlint.findings import Dataset, Finding, finding_key
from cnnlint.levels import FAIL_ON_CHOICES, SEVERITIES, SEVERITY_CHOICES
from cnnlint.pipeline import model_graph
from cnnlint.readers import MODEL_SUFFIXES, read_model
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


def _code_strings(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]  # fmt: skip


def _outside_rules() -> dict[str, Path]:
    return {name: path for name, path in _modules().items() if not name.startswith("cnnlint.rules")}


def test_only_the_rules_know_rule_codes():
    """Rule knowledge lives in rules/: no other module's code (docstrings and comments aside) names a rule."""
    naming = {name: codes for name, path in _outside_rules().items()
              if (codes := sorted({c for text in _code_strings(path) for c in re.findall(r"\b[A-Z]\d{3}\b", text)}))}  # fmt: skip
    assert not naming, f"these modules name rules {naming}: the rule should carry that knowledge"


def _modules_matching(pattern: str, flags: int = 0) -> set[str]:
    return {name for name, path in _modules().items() if re.search(pattern, path.read_text(encoding="utf-8"), flags)}


def test_one_output_unit_is_two_classes_in_one_place():
    assert _modules_matching(r"2 if [\w.\[\]-]+ == 1 else") == {"cnnlint.analysis"}


def test_the_default_batch_size_is_defined_once():
    assert _modules_matching(r"^.*(batch.*\b32\b|\b32\b.*batch).*$", re.I | re.M) == {"cnnlint.findings"}
    from cnnlint.confirmation import ConfirmOptions

    assert Dataset().batch_size == ConfirmOptions().batch_size == DEFAULTS["batch-size"] == 32


def _click_defaults(command: str) -> dict[str, object]:
    from cnnlint.cli import cli

    return {p.name: p.default for p in cli.commands[command].params if isinstance(p, click.Option)}


def test_confirm_defaults_come_from_the_option_table():
    from dataclasses import fields

    from cnnlint.confirmation import DEFAULT_FULL_EPOCHS, ConfirmOptions

    given = {f.name: f.default for f in fields(ConfirmOptions)}
    shown = _click_defaults("confirm")
    for key in ("fraction", "val-split", "seed", "batch-size", "device"):
        assert given[key.replace("-", "_")] == shown[key.replace("-", "_")] == DEFAULTS[key]
    assert DEFAULTS["full-epochs"] == DEFAULT_FULL_EPOCHS
    assert _click_defaults("check")["batch_size"] == DEFAULTS["batch-size"]
    # no literal default beside the table: the dataclass and the click options name DEFAULTS
    for module in ("cnnlint.confirmation.options", "cnnlint.cli"):
        text = _modules()[module].read_text(encoding="utf-8")
        assert not re.search(r"(fraction|val_split|seed|batch_size): \w+ = [\d.]+$", text, re.M), module
        assert not re.search(r"--(fraction|val-split|seed|batch-size).*default=[\d.]+", text), module


def test_format_names_have_one_registry():
    assert COMMAND_FORMATS["check"] == tuple(FORMATS) and set(CONFIRM_FORMATS) <= set(FORMATS)
    assert COMMAND_FORMATS["confirm"] == tuple(CONFIRM_FORMATS)
    from cnnlint.cli import cli

    for command, names in COMMAND_FORMATS.items():
        choice = next(p.type for p in cli.commands[command].params if p.name == "fmt")
        assert tuple(choice.choices) == names, command  # type: ignore[attr-defined]
    # a list of format names anywhere else is a second registry
    literal = re.compile(r"[(\[{]\s*\"(text|json)\",\s*\"(json|html|markdown|sarif)\"")
    assert _modules_matching(literal.pattern) <= {"cnnlint.reports"}


def test_confirm_renders_through_the_reports_package():
    package = {name for name in _modules() if name.startswith("cnnlint.confirmation")}
    assert package and not any(name.split(".")[-1] == "confirm" for name in _modules())
    for name in package:
        tree = ast.parse(_modules()[name].read_text(encoding="utf-8"))
        defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not {d for d in defs if "render" in d or "sparkline" in d}, name
    import types

    import cnnlint
    import cnnlint.confirmation.run  # noqa: F401  (a submodule import must not rebind cnnlint.confirm)

    assert isinstance(cnnlint.confirm, types.FunctionType)


def test_image_folders_are_read_in_one_place():
    assert _modules_matching(r"from PIL|import PIL") == {"cnnlint.datasets"}
    assert not _modules_matching(r"image_dataset_from_directory\(")
    assert _modules_matching(r"\.argmax\(axis=1\)|\.argmax\(1\)") == {"cnnlint.probes"}  # one-hot labels


def test_code_carrying_layers_are_listed_once():
    from cnnlint.names import CODE_CARRYING_LAYERS

    listed = re.compile(r"[({\[][^)}\]]*\"(" + "|".join(CODE_CARRYING_LAYERS) + r")\"\s*[,:]", re.S)
    assert _modules_matching(listed.pattern, re.S) == {"cnnlint.names"}


def test_a_baseline_entry_has_the_identity_of_its_finding(tmp_path):
    from cnnlint.baseline import load_baseline, write_baseline
    from cnnlint.pipeline import ModelReport

    finding = Finding("S401", "code", "error", "m", ("lam",), {}, "f", content=(("sha256", "ab"), ("kind", "é")))
    plain = Finding("R201", "no-dropout", "warning", "m", ("dense",), {}, "f")
    report = ModelReport(path="models/m.keras", dataset=Dataset(), findings=[finding, plain])
    write_baseline(str(tmp_path / "b.json"), [report])
    assert load_baseline(str(tmp_path / "b.json")) == {finding_key(report.path, f) for f in (finding, plain)}
    assert "as_posix" not in (REPO / "cnnlint" / "baseline.py").read_text(encoding="utf-8")


def test_a_dataset_is_described_by_one_constructor():
    """``Dataset.of`` applies the defaults; other modules call it (``Dataset()`` is the empty description)."""
    calls = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Dataset" and (
                node.args or node.keywords
            ):
                calls.add(name)
    assert calls == set()


def test_the_pre_commit_hook_takes_every_model_suffix():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    pattern = hooks["cnnlint"]["files"]
    found = re.fullmatch(r"\\\.\((.+)\)\$", pattern)
    assert found, pattern
    assert {"." + s for s in found.group(1).split("|")} == set(MODEL_SUFFIXES)
    assert all(re.search(pattern, f"models/m{suffix}") for suffix in MODEL_SUFFIXES)
    assert "--skip-non-models" in hooks["cnnlint"]["entry"]  # JSON that is no model's is skipped, not an error
    assert _modules_matching(r"\"\.hdf5\"") == {"cnnlint.readers"}


def test_every_feature_a_rule_explains_is_a_risk_feature():
    facts = analyze(model_graph(read_model(REPO / "examples" / "example2_plain.keras")))
    names = set(features(facts, Dataset(samples=1000)) or {})
    explained = {feature for rule in RULES.values() for feature in rule.explains}
    assert explained and explained <= names


def test_cli_and_config_choices_come_from_the_registries():
    assert tuple(OPTION_TYPES["format"].choices) == tuple(FORMATS)  # type: ignore[attr-defined]
    assert tuple(OPTION_TYPES["severity"].choices) == SEVERITY_CHOICES  # type: ignore[attr-defined]
    assert tuple(OPTION_TYPES["fail-on"].choices) == FAIL_ON_CHOICES  # type: ignore[attr-defined]


def test_presentation_tables_cover_exactly_the_defined_levels():
    from cnnlint.reports import github, sarif, text

    from cnnlint.levels import RISK_LEVELS

    assert set(github.LEVELS) == set(sarif.LEVELS) == set(SEVERITIES)
    assert set(text._COLORS) == set(SEVERITIES) | set(RISK_LEVELS)
