"""The two fitted files that ship in ``cnnlint/data/``: their schema, written and read by this one module.

``study.fit_risk`` and ``study.fit_forecast`` write ``risk_model.json`` and ``forecast_model.json`` through
``ModelFile.dumps``; ``cnnlint.risk`` and ``cnnlint.forecast`` read them through ``ModelFile.loads``.  Each document
names its schema and version (``"schema": "cnnlint.risk_model/3"``): a reader refuses a file of another version
instead of misreading it, and a writer refuses a document that lacks what the reader needs.  The schema checks
structure (keys and their JSON types); the tree arrays themselves are checked where they are walked
(``cnnlint.risk._checked_trees``).  Pure Python: the lint path reads these files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NUMBER = (int, float)
#: an exported ensemble: a starting value and trees as node arrays (``study.export``, ``cnnlint.trees``)
ENSEMBLE = {"baseline": NUMBER, "trees": list}


class ModelFileError(ValueError):
    """A model file that is not of the schema this cnnlint reads."""


@dataclass(frozen=True)
class Shape:
    """Required keys and their types; a nested ``dict`` value is itself a shape."""

    keys: dict[str, Any]

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ModelFileError(f"{where}: expected an object")
        for key, kind in self.keys.items():
            if key not in value:
                raise ModelFileError(f"{where}: missing {key!r}")
            _check(value[key], kind, f"{where}.{key}")


@dataclass(frozen=True)
class EachValue:
    """An object whose every value has one shape (variants by name, ensembles by quantile)."""

    shape: Any

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict) or not value:
            raise ModelFileError(f"{where}: expected a non-empty object")
        for key, item in value.items():
            _check(item, self.shape, f"{where}.{key}")


def _check(value: Any, kind: Any, where: str) -> None:
    if isinstance(kind, dict):
        Shape(kind).check(value, where)
    elif isinstance(kind, (Shape, EachValue)):
        kind.check(value, where)
    elif isinstance(value, bool) or not isinstance(value, kind):
        raise ModelFileError(f"{where}: expected {_type_name(kind)}, got {type(value).__name__}")


def _type_name(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


@dataclass(frozen=True)
class ModelFile:
    """A versioned JSON file format of cnnlint's own (the risk model, the forecaster): its schema tag, the shape a
    document must have, and how it is written."""

    schema: str
    version: int
    shape: Shape
    #: ``readable``: indented, each tree on one line (the risk model is read in reviews); ``compact``: one line
    style: str

    @property
    def schema_tag(self) -> str:
        return f"{self.schema}/{self.version}"

    def check(self, document: Any) -> dict:
        if not isinstance(document, dict):
            raise ModelFileError(f"{self.schema}: the document is not a JSON object")
        tag = document.get("schema")
        if tag != self.schema_tag:
            raise ModelFileError(f"{self.schema}: schema {tag!r}, this cnnlint reads {self.schema_tag!r}")
        self.shape.check(document, self.schema)
        return document

    def dumps(self, document: dict) -> str:
        self.check(document)
        if self.style == "compact":
            return json.dumps(document, separators=(",", ":")) + "\n"
        return _readable(document)

    def loads(self, text: str) -> dict:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ModelFileError(f"{self.schema}: not JSON ({exc})") from None
        return self.check(document)

    def read(self, path: Path) -> dict:
        return self.loads(path.read_text(encoding="utf-8"))

    def write(self, path: Path, document: dict) -> None:
        text = self.dumps(document)
        partial = path.with_suffix(".json.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)


def _readable(document: dict) -> str:
    """Indented, except that each exported tree takes one line (they are data for a program, not for reading)."""
    trees: list[str] = []

    def placeholders(node: Any) -> Any:
        if isinstance(node, dict):
            if "left" in node and "value" in node:
                trees.append(json.dumps(node, separators=(",", ":")))
                return f"@tree{len(trees) - 1}@"
            return {k: placeholders(v) for k, v in node.items()}
        if isinstance(node, list):
            return [placeholders(v) for v in node]
        return node

    text = json.dumps(placeholders(document), indent=1)
    for i, tree in enumerate(trees):
        text = text.replace(f'"@tree{i}@"', tree, 1)
    return text + "\n"


_PART = {"features": list, **ENSEMBLE}
RISK_MODEL_FILE = ModelFile(
    schema="cnnlint.risk_model",
    version=3,
    shape=Shape({
        "version": str,
        "interval_coverage_target": NUMBER,
        "corpus_runs": int,
        "variants": Shape({name: {
            "kind": str, "features": list, "fit": _PART, "held_out": _PART, "logged_fit": _PART, "offsets": list,
            "reference": dict, "link": {"kind": str, "offset": NUMBER}, "ranges": dict, "medians": dict,
            "assumed": dict,
        } for name in ("with_probes", "static")}),
    }),
    style="readable",
)  # fmt: skip

FORECAST_MODEL_FILE = ModelFile(
    schema="cnnlint.forecast_model",
    version=2,
    shape=Shape({
        "min_epochs": int,
        "variants": EachValue({"features": list, "ensembles": EachValue(ENSEMBLE), "margin": NUMBER,
                               "regimes": list}),
        "meta": dict,
    }),
    style="compact",
)  # fmt: skip
