"""The Python API: lint a live Keras model (or a path, or a config dict) from a notebook.

A live model goes through its serialized config, the same JSON a ``.keras``
file holds, and then through the exact reader -> graph -> rules -> risk
pipeline the CLI uses.  cnnlint never imports Keras itself here: the caller
already has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint.config import OPTION_TYPES, Count, api_call, api_value
from cnnlint.errors import ConfigError, ModelError
from cnnlint.findings import Dataset, Finding
from cnnlint.graph import MODEL_CLASSES
from cnnlint.pipeline import DATA_KINDS, LintSettings, ModelReport, lint_source
from cnnlint.readers import RawModel, raw_from_dict
from cnnlint.readers.base import LiveWeights
from cnnlint.risk import Risk

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes

__all__ = ["Report", "check"]

#: ``check``'s numeric arguments, checked as the command line checks ``--samples``, ``--classes``, ...
CHECK_TYPES = {"samples": OPTION_TYPES["samples"], "classes": OPTION_TYPES["classes"], "training_steps": Count(min=1)}


@dataclass
class Report:
    """What ``cnnlint.check`` returns.

    Attributes:
        risk: level, predicted gap, interval and top factors (``None`` without ``samples``).
        probes: the training data's measurements (``None`` without ``data``).
        findings: the rule findings, each with code, severity, message, layers, evidence and fix.
        graph: a summary of the model graph (parameters, depth, width, head share, receptive field...).
        notes: remarks on the inputs, such as ``classes`` disagreeing with the model's output layer.
        error: always ``None``: ``check`` raises ``ModelError`` for a model it cannot read (kept for old code).
    """

    _report: ModelReport = field(repr=False)

    @property
    def risk(self) -> Risk | None:
        return self._report.risk

    @property
    def findings(self) -> list[Finding]:
        return list(self._report.findings)

    @property
    def graph(self) -> dict[str, Any] | None:
        from cnnlint.summary import graph_summary

        if self._report.graph is None or self._report.facts is None:
            return None
        return graph_summary(self._report.graph, self._report.facts)

    @property
    def probes(self) -> DataProbes | None:
        """The training data's measurements (``data=``): separability, balance, duplicates; or ``None``."""
        return self._report.probes

    @property
    def notes(self) -> list[str]:
        return list(self._report.notes)

    @property
    def error(self) -> str | None:
        return self._report.error

    def _render(self, fmt: str) -> str:
        from cnnlint.reports import FORMATS, RenderOptions

        return FORMATS[fmt]([self._report], RenderOptions())

    def to_json(self) -> str:
        return self._render("json")

    def to_markdown(self) -> str:
        return self._render("markdown")

    def to_html(self) -> str:
        return self._render("html")

    def to_sarif(self) -> str:
        return self._render("sarif")

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self._render("text")

    def __repr__(self) -> str:
        report = self._report
        codes = [f.code for f in report.findings]
        shown = ", ".join(codes[:REPR_CODES]) + (f", ... ({len(codes) - REPR_CODES} more)" if len(codes) > REPR_CODES else "")
        findings = f"{len(codes)} finding{'s' * (len(codes) != 1)}" + (f": {shown}" if codes else "")
        return f"<cnnlint.Report {report.path}: {_risk_words(report)}, {findings}>"


#: How many finding codes ``repr(report)`` lists before it says how many more there are.
REPR_CODES = 8


def _risk_words(report: ModelReport) -> str:
    risk = report.risk
    if risk is None:
        return "risk unknown (no samples given: pass samples=N or data=(x, y))" if not report.dataset.samples else (
            "risk unknown (no fitted risk model)")  # fmt: skip
    low, high = risk.interval
    return f"risk {risk.level}, gap {risk.gap:.2f} ({risk.coverage:.0%} interval {low:.2f} to {high:.2f})"


def check(
    model_or_path: Any,
    samples: int | None = None,
    classes: int | None = None,
    augmented: bool = False,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    data: Any = None,
    training_steps: int | None = None,
) -> Report:
    """Lint a live ``keras.Model`` (Keras 3 or tf.keras), a model file or folder, or a config dict.

    ``data``, the training data as an ``(x, y)`` pair of arrays or a path (``.npz`` or an image folder), adds
    the data probes (``report.probes``); ``samples`` then defaults to its size.  ``training_steps``, the
    optimizer steps of the planned run (epochs x batches per epoch), makes the risk estimate one for that run; by
    default it is for a full run (see the risk notes).

    Arguments are checked as the command line checks its options (``samples`` >= 1, ``classes`` >= 2, rule
    codes that exist, ...).  Raises ``cnnlint.ConfigError`` for a bad argument and for data that cannot be read
    or does not fit the model, and ``cnnlint.ModelError`` for a model that cannot be read; both are
    ``cnnlint.CnnlintError``, whose message is the one line the CLI would print.

    Example::

        model = keras.Sequential([...])
        report = cnnlint.check(model, samples=2000)            # or data=(x_train, y_train)
        report.risk.level, [f.code for f in report.findings]
    """
    from cnnlint.rules import select_rules

    with api_call():  # messages name this function's arguments, not the CLI's flags
        given = {"samples": samples, "classes": classes, "training_steps": training_steps}
        checked = {name: None if value is None else api_value(value, name, CHECK_TYPES[name])
                   for name, value in given.items()}  # fmt: skip
        if not isinstance(augmented, bool):
            raise ConfigError(f"invalid value for 'augmented': expected True or False; got {augmented!r}")
        settings = LintSettings(tuple(select_rules(rule_codes(select, "select"), rule_codes(ignore, "ignore"))))
        probes = None
        if data is not None:
            from cnnlint.probe_cache import probe_data

            probes = probe_data(data)
        dataset = Dataset.of(samples=checked["samples"], classes=checked["classes"], augmented=augmented,
                             probes=probes, training_steps=checked["training_steps"])  # fmt: skip
        report = lint_source(model_source(model_or_path), dataset, settings)
    if report.error:
        raise (ConfigError if report.error_kind in DATA_KINDS else ModelError)(report.error)
    return Report(report)


def rule_codes(value: Any, name: str) -> list[str] | None:
    """``select``/``ignore``: a list of rule codes, prefixes or names, or one comma-separated string like the CLI's."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        from cnnlint.rules import RULES

        first, last = next(iter(RULES)), list(RULES)[-1]  # the example names codes that exist
        raise ConfigError(f"invalid value for '{name}': expected a list of rule codes or prefixes, like "
                          f"['{first[:2]}', '{last}']; got {value!r}")  # fmt: skip
    return list(value) or None


def model_source(obj: Any) -> str | Path | RawModel:
    """What ``lint_source`` reads for a path, a config dict or a live model (its config and weights)."""
    if isinstance(obj, (str, Path)):
        return obj
    if isinstance(obj, dict):
        return raw_from_dict(obj)
    if callable(getattr(obj, "to_json", None)):
        return _live_model(obj)
    raise ModelError(f"cannot lint a {type(obj).__name__}", hint="pass a keras.Model, a path or a config dict")


def _live_model(model: Any) -> RawModel:
    """The serialized config of a live model, plus its compile config when the JSON lacks one."""
    config = json.loads(model.to_json())
    compile_config = config.get("compile_config")
    style = "keras3"
    if not compile_config and callable(getattr(model, "get_compile_config", None)):
        try:
            compile_config = json.loads(json.dumps(model.get_compile_config(), default=str))
        except (TypeError, ValueError, AttributeError, RuntimeError):
            compile_config = None
    if compile_config and "optimizer_config" in compile_config:
        style = "keras2"
    name = getattr(model, "name", "model")
    raw = raw_from_dict(config, source=f"<{name}>", compile_config=compile_config)
    return RawModel(raw.source, "live", raw.config, raw.compile_config, style, raw.keras_version,
                    live_weights=_live_weights(model))  # fmt: skip


def _live_weights(model: Any, prefix: str = "") -> LiveWeights:
    """Each built layer's weights as the live model holds them, keyed by cnnlint's layer path.

    They count the layers a config cannot tell (custom ones), exactly, trainable split included.
    """
    found: dict[str, tuple[tuple[str, tuple[int, ...], bool], ...]] = {}  # LiveWeights, being built
    for layer in getattr(model, "layers", None) or []:
        path = prefix + str(layer.name)
        if type(layer).__name__ in MODEL_CLASSES and hasattr(layer, "layers"):
            found.update(_live_weights(layer, path + "/"))
        elif getattr(layer, "built", False):
            trainable = {id(w) for w in layer.trainable_weights}
            found[path] = tuple(
                (str(getattr(w, "path", None) or w.name), tuple(int(d) for d in w.shape), id(w) in trainable)
                for w in layer.weights
            )
    return found
