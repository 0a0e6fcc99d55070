"""The risk model's tree ensembles as Python functions: each tree one conditional expression, so evaluating all of
them is straight-line comparisons instead of a walk per tree (issue 26: 100 trees in about 5 µs instead of 25 µs).

For each ensemble there are two kinds of function over the inputs ``x0, x1, ...`` (the ensemble's features in
order): ``full`` returns every tree's leaf, in tree order; ``partials[j]`` returns the leaves of only the trees that
split on input ``j``, in the order ``Trees.uses`` gives (an input varied alone moves only those trees).  A tree's
node ``(feature, threshold, missing_left, left, right)`` becomes ``(LEFT if x <= threshold else RIGHT)``, with
``or x != x`` (NaN) where missing values go left: what ``cnnlint.trees.walk`` does.

The shipped model's functions are generated modules, ``cnnlint/risk_trees_static.py`` and
``cnnlint/risk_trees_with_probes.py`` (imported, so Python's bytecode cache makes them free to load), written by
``python -m study fit-risk`` together with ``risk_model.json`` and checked against it by ``tests/test_tree_code.py``.
Each records the CRC-32 and size of the JSON text it was generated from, and each ensemble which trees split on
which input; a model file they do not match (a refit without regenerating) is compiled from the same source when
first used instead (slower, the same results).  The fingerprint catches a stale module, not a forged one: the JSON
ships inside the package and is as trusted as its code (a cryptographic hash would cost the ~7 ms of importing
``hashlib`` in every process).

The source holds only float literals (``repr`` of ``float()`` of each number: ``inf`` and ``nan`` are names this
module's namespace defines), ``x`` + an integer checked against the feature count, and the fixed syntax, so a model
file cannot put code into it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: the generated modules, per variant of risk_model.json
SHIPPED = {"static": "cnnlint.risk_trees_static", "with_probes": "cnnlint.risk_trees_with_probes"}
#: the ensembles of a variant, and whether each gets partials (``logged_fit`` is only ever predicted whole)
PARTS = {"fit": True, "held_out": True, "logged_fit": False}
#: deeper trees than this are not turned into nested expressions (Python's parser limits nesting)
MAX_DEPTH = 40

Leaves = Callable[..., tuple[float, ...]]


@dataclass(frozen=True)
class Compiled:
    """A tree ensemble's generated functions: the whole ensemble, and per input the part of it that splits on that
    input."""

    full: Leaves
    #: per input, the function over the trees that split on it
    partials: Mapping[int, Leaves]
    #: per input, the trees that split on it (``uses``): the order of the partials' leaves, and a check that the
    #: functions belong to the trees they are used for
    uses: Mapping[int, tuple[int, ...]]


def uses(trees: Sequence[dict[str, list]], features: int) -> dict[int, tuple[int, ...]]:
    """Per input, the trees that split on it, ascending."""
    found: dict[int, list[int]] = {j: [] for j in range(features)}
    for i, tree in enumerate(trees):
        for feature in sorted({f for f, left in zip(tree["feature"], tree["left"]) if left >= 0}):
            found[int(feature)].append(i)
    return {j: tuple(found[j]) for j in range(features)}


def expression(tree: dict[str, list], features: int) -> str:
    """One tree as a conditional expression over ``x0 .. x{features-1}``."""
    parts: list[str] = []
    stack: list[tuple[int, int] | str] = [(0, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node, depth = item
        left = int(tree["left"][node])
        if left < 0:
            parts.append(repr(float(tree["value"][node])))
            continue
        right, feature = int(tree["right"][node]), int(tree["feature"][node])
        if not 0 <= feature < features or depth >= MAX_DEPTH:  # as risk._checked_trees refuses
            raise ValueError("a tree this module cannot write")
        x, threshold = f"x{feature}", repr(float(tree["threshold"][node]))
        test = f"{x} <= {threshold} or {x} != {x}" if tree["missing_left"][node] else f"{x} <= {threshold}"
        stack.extend([")", (right, depth + 1), f" if {test} else ", (left, depth + 1), "("])
    return "".join(parts)


def functions(name: str, trees: Sequence[dict[str, list]], features: int, partials: bool) -> list[str]:
    """The source lines of one ensemble's ``full`` function (``name``) and its partials (``name_j``), then the line
    that gathers them as ``Compiled``; each function is one line."""
    arguments = ", ".join(f"x{j}" for j in range(features))
    expressions = [expression(tree, features) for tree in trees]
    lines = [_function(name, arguments, expressions)]
    used_by = uses(trees, features)
    columns = {j: used for j, used in used_by.items() if used} if partials else {}
    for j, used in columns.items():
        lines.append(_function(f"{name}_{j}", arguments, [expressions[i] for i in used]))
    listed = ", ".join(f"{j}: {name}_{j}" for j in columns)
    lines.append(f"{name.upper()} = Compiled({name}, {{{listed}}}, {used_by!r})")
    return lines


def _function(name: str, arguments: str, expressions: list[str]) -> str:
    listed = ", ".join(expressions) + ("," if len(expressions) == 1 else "")
    return f"def {name}({arguments}):\n    return ({listed})"


HEADER = '''"""Generated by cnnlint.tree_code from cnnlint/data/risk_model.json (variant {variant!r}); do not edit: ``python -m
study fit-risk`` writes it with the JSON, tests/test_tree_code.py checks that it is current."""

from cnnlint.tree_code import Compiled, inf, nan

#: CRC-32 and length of the risk_model.json text this module was generated from
SOURCE = {source!r}
'''

inf, nan = math.inf, math.nan


def module_source(variant_name: str, variant: dict, source: tuple[int, int]) -> str:
    """The generated module of one variant of a risk model document, ``source`` its text's fingerprint."""
    lines = [HEADER.format(variant=variant_name, source=source)]
    for part, partials in PARTS.items():
        features = len(variant[part]["features"])
        lines.extend(["", *functions(part, variant[part]["trees"], features, partials)])
    return "\n".join(lines) + "\n"


def fingerprint(text: str) -> tuple[int, int]:
    import zlib

    data = text.encode("utf-8")
    return zlib.crc32(data), len(data)


def shipped(variant_name: str, part: str, source: tuple[int, int]) -> Compiled | None:
    """A generated module's functions for one ensemble, if that module was generated from ``source``."""
    try:
        module = importlib.import_module(SHIPPED[variant_name])
    except ImportError:
        return None
    return getattr(module, part.upper(), None) if source == module.SOURCE else None


def compile_ensemble(trees: Sequence[dict[str, list]], features: int) -> Compiled:
    """The same functions, compiled now (a model file without a current generated module)."""
    namespace: dict = {"Compiled": Compiled, "inf": inf, "nan": nan}
    exec(compile("\n".join(functions("part", trees, features, True)), "<risk trees>", "exec"), namespace)  # noqa: S102
    return namespace["PART"]
