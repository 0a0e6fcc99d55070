"""Configuration: ``[tool.cnnlint]`` in pyproject.toml or a ``cnnlint.toml``, found upward.

Keys (all optional; the command line overrides every one)::

    samples = 50000            # training-set size
    classes = 10
    augmented = false          # the input pipeline augments outside the model
    select = ["C", "R"]        # rule codes or prefixes; default: all
    ignore = ["C102"]
    extend-select = []
    severity = "warning"       # findings at or above this fail the run ("never": findings never fail)
    fail-on = "high"           # a risk level at or above this fails the run ("never": nothing fails, findings
                               # included, unless severity is set too)
    format = "text"
    baseline = "cnnlint-baseline.json"
    per-layer-ignores = { "R201" = ["backbone/*"] }   # model files cannot carry comments

    [tool.cnnlint.rules.C105]  # per-rule options (see `cnnlint rule C105`)
    max_share = 0.6

    [[tool.cnnlint.models]]    # dataset facts per model path (glob, relative to this file)
    path = "models/cifar/*.keras"
    samples = 50000
    classes = 10
    augmented = true
    per-layer-ignores = { "C104" = ["stem_conv"] }
    data = "data/cifar10_train.npz"   # training data to probe (like --data), relative to this file
    full-epochs = 50           # its real training run: the risk is for it, confirm forecasts there (also at the top)
"""

from __future__ import annotations

import numbers
import os
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import click

from cnnlint.errors import ConfigError
from cnnlint.findings import DEFAULT_BATCH_SIZE
from cnnlint.levels import FAIL_ON_CHOICES, SEVERITY_CHOICES
from cnnlint.reports import COMMAND_FORMATS
from cnnlint.wording import api_call, flag, in_api_call, option  # noqa: F401 (re-exported)

TOP_KEYS = {
    "samples", "classes", "augmented", "select", "ignore", "extend-select", "severity", "fail-on",
    "format", "baseline", "per-layer-ignores", "rules", "models", "full-epochs",
}  # fmt: skip
MODEL_KEYS = {"path", "samples", "classes", "augmented", "per-layer-ignores", "data", "full-epochs"}


class _PlainRange:
    """click says "'abc' is not a valid integer range" and "-5 is not in the range x>=1"; say what is expected."""

    kind = ""

    def expected(self) -> str:
        """What a valid value is: "expected a whole number, at least 1"."""
        low, high = self.min, self.max  # type: ignore[attr-defined]
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        return f"expected {self.kind}, {bounds}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)  # type: ignore[misc]
        except click.BadParameter:
            self.fail(f"{self.expected()}; got {str(value)!r}", param, ctx)  # type: ignore[attr-defined]


class Count(_PlainRange, click.IntRange):
    kind = "a whole number"


class Fraction(_PlainRange, click.FloatRange):
    kind = "a number"


#: The keys that have a command-line option, with that option's value type: the CLI declares its options with
#: these, and the config checks its values with them, so both accept the same values with the same message.
OPTION_TYPES: dict[str, click.ParamType] = {
    "samples": Count(min=1),
    "classes": Count(min=2),
    "format": click.Choice(COMMAND_FORMATS["check"]),
    "severity": click.Choice(SEVERITY_CHOICES, case_sensitive=False),
    "fail-on": click.Choice(FAIL_ON_CHOICES, case_sensitive=False),  # the text report writes levels as HIGH
    "full-epochs": Count(min=2),
}

#: ``cnnlint confirm``'s options with a value, declared with these types by the CLI and checked with them in
#: ``cnnlint.confirm(...)``: the same values are accepted, with the same message.
CONFIRM_OPTION_TYPES: dict[str, click.ParamType] = {
    "samples": Count(min=1),
    "full-epochs": OPTION_TYPES["full-epochs"],
    "fraction": Fraction(0.01, 1.0),
    "epochs": Count(min=1),
    "budget": Fraction(min=1),
    "val-split": Fraction(0.01, 0.9),
    "seed": Count(min=0, max=2**32 - 2),
    "batch-size": Count(min=1),
    "device": click.Choice(("auto", "cpu", "gpu")),
}

#: The options' defaults, where an option has one: the CLI shows them, ``cnnlint.confirm(...)``, ``ConfirmOptions``
#: and the lint's ``Dataset`` use them.  ``full-epochs`` is confirm's assumed run (the lint's default is a full run).
DEFAULTS: dict[str, Any] = {
    "batch-size": DEFAULT_BATCH_SIZE,
    "full-epochs": 50,
    "fraction": 0.2,
    "val-split": 0.2,
    "seed": 0,
    "device": "auto",
}


def api_value(value: Any, name: str, kind: click.ParamType) -> Any:
    """A Python API argument checked by the type of the command-line option it mirrors, with that option's
    message, worded with the argument's name (``invalid value for 'samples': expected a whole number, ...``).

    Integers (numpy's included) for whole-number options, real numbers for the others; never ``True``/``False``.
    """
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        wanted = numbers.Integral if isinstance(kind, click.IntRange) else numbers.Real
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise ConfigError(f"invalid value for '{name}': {kind.expected()}; got {str(value)!r}")  # type: ignore[attr-defined]
        value = int(value) if wanted is numbers.Integral else float(value)
    try:
        return kind.convert(value, None, None)
    except click.BadParameter as exc:
        raise ConfigError(f"invalid value for '{name}': {exc.message}") from None


@dataclass(frozen=True)
class ModelEntry:
    """One ``[[models]]`` entry of the configuration: what is known of the models whose path matches ``pattern``."""

    pattern: str
    samples: int | None = None
    classes: int | None = None
    augmented: bool | None = None
    layer_ignores: tuple[tuple[str, str], ...] = ()
    data: str | None = None  # training data to probe, relative to the config file
    full_epochs: int | None = None  # the real training run's length, for `cnnlint confirm`


@dataclass(frozen=True)
class Config:
    """The configuration file, read and checked: its options (``values``), ``[[models]]`` entries, per-layer ignores
    and per-rule options. ``Config()`` is the configuration of a run without a file."""

    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    values: dict[str, Any] = field(default_factory=dict)
    models: tuple[ModelEntry, ...] = ()
    layer_ignores: tuple[tuple[str, str], ...] = ()
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def entry_for(self, model_path: str) -> ModelEntry | None:
        """The last ``[[models]]`` entry whose glob matches (later entries win, as in ruff).  A lint asks several
        times per model (its dataset, data, settings): each path is matched once."""
        if not self.models:
            return None
        matched = self.__dict__.setdefault("_entries", {})
        key = os.path.abspath(model_path)  # the match depends on the working directory a relative path is in
        if key not in matched:
            matched[key] = self._match(model_path)
        return matched[key]

    def _match(self, model_path: str) -> ModelEntry | None:
        try:  # abspath, not resolve: never follow links in a path a pull request chose
            relative = Path(os.path.abspath(model_path)).relative_to(os.path.abspath(self.root)).as_posix()
        except ValueError:
            relative = Path(model_path).as_posix()
        match = None
        for entry in self.models:
            if fnmatchcase(relative, entry.pattern) or fnmatchcase(relative, entry.pattern.replace("**/", "")):
                match = entry
        return match


def named_config(path: str | None) -> Path | None:
    """The config file given with ``--config``, which must exist (None when none was given)."""
    if path is None:
        return None
    candidate = Path(path)
    if not candidate.is_file():
        raise ConfigError(f"config file not found: '{path}'")
    return candidate


def find_config(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in ("cnnlint.toml", "pyproject.toml"):
            path = candidate / name
            if path.is_file() and (name == "cnnlint.toml" or _has_tool_section(path)):
                return path
    return None


def _has_tool_section(path: Path) -> bool:
    try:
        return "[tool.cnnlint" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    where = str(path)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", where=where) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=where) from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("cnnlint", {})
    elif "tool" in data and "cnnlint" in data.get("tool", {}):
        data = data["tool"]["cnnlint"]
    return _parse(data, path)


def _parse(data: dict[str, Any], path: Path) -> Config:
    where = str(path)
    _check_keys(data, TOP_KEYS, "[tool.cnnlint]", where)
    values = {k: v for k, v in data.items() if k not in ("models", "rules", "per-layer-ignores")}
    for key in OPTION_TYPES.keys() & values.keys():
        _option_value(values[key], key, where)
    if "augmented" in values and not isinstance(values["augmented"], bool):
        raise ConfigError("'augmented' must be true or false", where=where)
    for key in ("select", "ignore", "extend-select"):
        if key in values and (not isinstance(values[key], list) or not all(isinstance(v, str) for v in values[key])):
            raise ConfigError(f"'{key}' must be a list of rule codes", where=where)
    if "baseline" in values and not isinstance(values["baseline"], str):
        raise ConfigError(f"'baseline' must be a file path, got {values['baseline']!r}", where=where)
    models = tuple(_model_entry(item, i, where, path.parent) for i, item in enumerate(data.get("models", [])))
    rule_options = _rule_options(data.get("rules", {}), where)
    return Config(
        path=path,
        root=path.parent,
        values=values,
        models=models,
        layer_ignores=_layer_ignores(data.get("per-layer-ignores", {}), where),
        rule_options=rule_options,
    )


def _check_keys(data: Any, allowed: set[str], section: str, where: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{section} must be a table", where=where)
    for key in data:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(allowed))}"
            raise ConfigError(f"unknown key '{key}' in {section}", where=where, hint=hint)


def _option_value(value: Any, key: str, where: str) -> Any:
    """``value`` checked by the type of the command-line option of the same name, with its message."""
    kind = OPTION_TYPES[key]
    if isinstance(kind, click.IntRange) and (isinstance(value, bool) or not isinstance(value, int)):
        problem = f"{value!r} is not an integer."  # TOML has integers: a quoted number is a mistake, not converted
    else:
        try:
            return kind.convert(value, None, None)
        except click.BadParameter as exc:
            problem = exc.message
    raise ConfigError(f"invalid value for '{key}': {problem}", where=where)


def _model_entry(item: Any, index: int, where: str, path_root: Path) -> ModelEntry:
    section = f"[[tool.cnnlint.models]] #{index + 1}"
    _check_keys(item, MODEL_KEYS, section, where)
    if not isinstance(item.get("path"), str):
        raise ConfigError(f"{section} needs a 'path' glob", where=where)
    augmented = item.get("augmented")
    if augmented is not None and not isinstance(augmented, bool):
        raise ConfigError(f"{section}: 'augmented' must be true or false", where=where)
    return ModelEntry(
        pattern=item["path"],
        samples=_option_value(item["samples"], "samples", where) if "samples" in item else None,
        classes=_option_value(item["classes"], "classes", where) if "classes" in item else None,
        augmented=augmented,
        layer_ignores=_layer_ignores(item.get("per-layer-ignores", {}), where),
        data=_data_path(item.get("data"), section, path_root, where),
        full_epochs=_option_value(item["full-epochs"], "full-epochs", where) if "full-epochs" in item else None,
    )


def _data_path(value: Any, section: str, root: Path, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{section}: 'data' must be a path to an .npz or an image folder", where=where)
    return os.path.normpath(os.path.join(root, value))


def _layer_ignores(table: Any, where: str) -> tuple[tuple[str, str], ...]:
    from cnnlint.rules import validate_patterns

    if not isinstance(table, dict):
        raise ConfigError("'per-layer-ignores' must map rule codes to lists of layer globs", where=where)
    pairs = []
    for code, globs in table.items():
        validate_patterns([code], "per-layer-ignores")
        if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
            raise ConfigError(f"per-layer-ignores.{code} must be a list of layer globs", where=where)
        pairs += [(code, g) for g in globs]
    return tuple(pairs)


def _rule_options(table: Any, where: str) -> dict[str, dict[str, Any]]:
    from cnnlint.rules import get_rule

    if not isinstance(table, dict):
        raise ConfigError("[tool.cnnlint.rules] must be a table", where=where)
    options: dict[str, dict[str, Any]] = {}
    for code, values in table.items():
        try:
            rule = get_rule(code)
        except ConfigError as exc:
            raise ConfigError(exc.message, where=where, hint=exc.hint) from None
        _check_keys(values, set(rule.options), f"[tool.cnnlint.rules.{code}]", where)
        for key, value in values.items():
            default = rule.options[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(default, int) and not isinstance(value, int)
            ):
                raise ConfigError(f"rules.{code}.{key} must be a number like {default!r}", where=where)
        options[rule.code] = dict(values)
    return options
