"""Findings, the dataset description rules judge against, and the rule contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlint.analysis import Facts
from cnnlint.edits import Edit
from cnnlint.graph import ModelGraph
from cnnlint.readers.base import RawModel

if TYPE_CHECKING:  # numpy stays off the lint path unless --data is given
    from cnnlint.probes import DataProbes

#: The class count assumed when neither the user nor the output layer gives one (a single sigmoid unit is 2).
DEFAULT_CLASSES = 2
#: The batch size of the planned run when none is given (``--batch-size``); ``config.DEFAULTS`` shows it.
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Dataset:
    """What the model will be trained on (from the CLI, the config or the API)."""

    samples: int | None = None
    classes: int | None = None
    augmented: bool = False
    #: measurements of the training data itself (``--data``); None without data
    probes: DataProbes | None = None
    #: optimizer steps of the training run the estimate is for; None: from ``epochs``, else a full run
    training_steps: int | None = None
    #: the planned run's length in epochs and its batch size (``--full-epochs``, ``--batch-size``)
    epochs: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    #: the share of wrong labels, where known (the calibration study sets it); None: correct labels are assumed
    label_noise: float | None = None

    @classmethod
    def of(cls, samples: int | None = None, classes: int | None = None, augmented: bool | None = None,
           epochs: int | None = None, batch_size: int | None = None, probes: DataProbes | None = None,
           training_steps: int | None = None) -> Dataset:  # fmt: skip
        """The training data as the CLI, the config, the API and confirm describe it: a value that was not given
        (None) takes its default."""
        return cls(samples=samples, classes=classes, augmented=bool(augmented), probes=probes,
                   training_steps=training_steps, epochs=epochs, batch_size=batch_size or DEFAULT_BATCH_SIZE)  # fmt: skip

    @property
    def planned_steps(self) -> int | None:
        """The optimizer steps of the planned run, if it is known."""
        if self.training_steps:
            return self.training_steps
        if self.epochs and self.samples:
            return self.epochs * -(-self.samples // self.batch_size)
        return None


@dataclass(frozen=True)
class Finding:
    """One problem a rule found: the rule (``code``, ``name``, ``severity``), the layers it is about, the numbers behind
    it (``evidence``) and a concrete ``fix``."""

    code: str
    name: str
    severity: str
    message: str
    layers: tuple[str, ...]
    evidence: dict[str, Any]
    fix: str
    category: str = ""
    edits: tuple[Edit, ...] = ()  # the fix as data, for the suggested code
    explains: tuple[str, ...] = ()  # the risk-model features this finding's rule explains (Rule.explains)
    #: what was found, for a security finding: the resolved name, the stored function's kind and digest, the link
    #: targets... (sorted pairs).  Part of the finding's identity: changed content is a new finding
    content: tuple[tuple[str, str], ...] = ()

    @property
    def layer(self) -> str:
        return self.layers[0] if self.layers else ""



FindingKey = tuple[str, str, str, str]


def finding_key(path: str, finding: Finding) -> FindingKey:
    """What identifies a finding across retraining and re-saving (baseline, SARIF): file, rule and layer, and for a
    security finding its content, so that a baseline entry accepts what was reviewed and nothing else."""
    return key_of(path, finding.code, finding.layer, dict(finding.content))


def key_of(path: str, code: str, layer: str, content: dict[str, str]) -> FindingKey:
    """The identity of a finding from its parts, as a finding and a baseline entry both give them."""
    pinned = json.dumps(content, sort_keys=True, ensure_ascii=True) if content else ""
    return Path(path).as_posix(), code, layer, pinned


def digest(value: Any) -> str:
    """sha256 of a config value's canonical JSON: the identity of stored code, a pickle, a reference."""
    import hashlib  # here: only security findings need it, and it loads OpenSSL (a few ms of every start)

    text = json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def codes_explaining(feature: str, findings: list[Finding]) -> tuple[str, ...]:
    """The rule codes among ``findings`` that explain a risk-model feature, each once: the rules whose main
    feature it is (first in ``Rule.explains``) first, then in finding order."""
    explaining = sorted((f for f in findings if feature in f.explains), key=lambda f: f.explains.index(feature))
    return tuple(dict.fromkeys(f.code for f in explaining))


def class_count(dataset: Dataset, facts: Facts) -> int:
    """The classes the model separates: the user's count, else the output layer's, else ``DEFAULT_CLASSES``."""
    return dataset.classes or facts.classes or DEFAULT_CLASSES


@dataclass(frozen=True)
class RuleContext:
    """What a rule's ``check()`` sees: the model graph, its facts, the training set and, for the safety rules, the raw
    config."""

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
    #: the risk-model features (cnnlint.risk.features) a finding of this rule explains, for "raised most by";
    #: the first is the one the rule is mainly about
    explains: tuple[str, ...] = ()

    def finding(self, message: str, *, layers: tuple[str, ...] | list[str], evidence: dict[str, Any], fix: str,
                severity: str | None = None, edits: tuple[Edit, ...] | list[Edit] = (),
                content: dict[str, Any] | None = None) -> Finding:  # fmt: skip
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            layers=tuple(layers),
            evidence=evidence,
            fix=fix,
            category=self.category,
            edits=tuple(edits),
            explains=self.explains,
            content=tuple(sorted((str(k), str(v)) for k, v in (content or {}).items())),
        )


def fmt_int(n: int | float) -> str:
    """1234567 -> '1.2 M', 5300 -> '5.3 k'."""
    n = float(n)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)}"


def fmt_ratio(ratio: float) -> str:
    """A ratio of counts (parameters per sample or per label): '590.1' below a thousand, then as ``fmt_int``
    writes counts ('15.0 M')."""
    return f"{ratio:.1f}" if abs(round(ratio, 1)) < 1000 else fmt_int(ratio)
