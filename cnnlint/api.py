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

from cnnlint.errors import ConfigError, ModelError
from cnnlint.findings import Dataset, Finding
from cnnlint.graph import MODEL_CLASSES
from cnnlint.pipeline import LintSettings, ModelReport, lint_source
from cnnlint.readers import RawModel, raw_from_dict
from cnnlint.readers.base import LiveWeights
from cnnlint.risk import Risk

if TYPE_CHECKING:
    from cnnlint.probes import DataProbes

__all__ = ["Report", "check"]


@dataclass
class Report:
    """What ``cnnlint.check`` returns.

    Attributes:
        risk: level, predicted gap, interval and top factors (``None`` without ``samples``).
        probes: the training data's measurements (``None`` without ``data``).
        findings: the rule findings, each with code, severity, message, layers, evidence and fix.
        graph: a summary of the model graph (parameters, depth, width, head share, receptive field...).
        error: why the model could not be read, or ``None``.
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
    the data probes (``report.probes``); ``samples`` then defaults to its size.  Unreadable data raises
    ``cnnlint.errors.ConfigError``.  ``training_steps``, the optimizer steps of the planned run (epochs x batches
    per epoch), makes the risk estimate one for that run; by default it is for a full run (see the risk notes).

    Example::

        model = keras.Sequential([...])
        report = cnnlint.check(model, samples=2000)            # or data=(x_train, y_train)
        report.risk.level, [f.code for f in report.findings]
    """
    from cnnlint.rules import select_rules

    if training_steps is not None and (isinstance(training_steps, bool) or not isinstance(training_steps, int)
                                       or training_steps < 1):  # fmt: skip
        raise ConfigError(f"training_steps must be a whole number of optimizer steps >= 1, not {training_steps!r}")
    settings = LintSettings(tuple(select_rules(select, ignore)))
    probes = None
    if data is not None:
        from cnnlint.probe_cache import probe_data

        probes = probe_data(data)
    dataset = Dataset(samples=samples, classes=classes, augmented=augmented, probes=probes,
                      training_steps=training_steps)  # fmt: skip
    return Report(lint_source(model_source(model_or_path), dataset, settings))


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
