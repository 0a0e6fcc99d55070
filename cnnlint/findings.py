"""Findings, the dataset description rules judge against, and the rule contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlint.analysis import Facts
from cnnlint.graph import ModelGraph
from cnnlint.readers.base import RawModel

#: The class count assumed when neither the user nor the output layer gives one (a single sigmoid unit is 2).
DEFAULT_CLASSES = 2


@dataclass(frozen=True)
class Dataset:
    """What the model will be trained on (from the CLI, the config or the API)."""

    samples: int | None = None
    classes: int | None = None
    augmented: bool = False


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: str
    message: str
    layers: tuple[str, ...]
    evidence: dict[str, Any]
    fix: str
    category: str = ""

    @property
    def layer(self) -> str:
        return self.layers[0] if self.layers else ""


FindingKey = tuple[str, str, str]


def finding_key(path: str, finding: Finding) -> FindingKey:
    """What identifies a finding across retraining and re-saving: file, rule and layer (baseline, SARIF)."""
    return Path(path).as_posix(), finding.code, finding.layer


def class_count(dataset: Dataset, facts: Facts) -> int:
    """The classes the model separates: the user's count, else the output layer's, else ``DEFAULT_CLASSES``."""
    return dataset.classes or facts.classes or DEFAULT_CLASSES


@dataclass(frozen=True)
class RuleContext:
    graph: ModelGraph
    facts: Facts
    dataset: Dataset
    raw: RawModel | None = None

    @property
    def n(self) -> int | None:
        return self.dataset.samples

    @property
    def classes(self) -> int | None:
        return self.dataset.classes or self.facts.classes

    @property
    def memorization_ratio(self) -> float | None:
        """Trainable parameters per training label: P / (n x classes)."""
        if not self.n:
            return None
        return self.facts.trainable_params / (self.n * class_count(self.dataset, self.facts))


@dataclass(frozen=True)
class Rule:
    """A rule's identity and settings; its module's docstring is its documentation."""

    code: str
    name: str
    severity: str
    category: str
    summary: str
    doc: str
    check: Callable[[RuleContext, dict[str, Any]], Iterator[Finding]]
    options: dict[str, Any] = field(default_factory=dict)
    needs_samples: bool = False

    def finding(self, message: str, *, layers: tuple[str, ...] | list[str], evidence: dict[str, Any], fix: str,
                severity: str | None = None) -> Finding:  # fmt: skip
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            layers=tuple(layers),
            evidence=evidence,
            fix=fix,
            category=self.category,
        )


def fmt_int(n: int | float) -> str:
    """1234567 -> '1.2 M', 5300 -> '5.3 k'."""
    n = float(n)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)}"
