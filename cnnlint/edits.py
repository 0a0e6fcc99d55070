"""A finding's fix as data: which layers to add, replace, change or move, and with what arguments.

Rules build these next to their fix text (``Rule.finding(..., edits=...)``);
the suggested code in the reports (``reports/fixes.py``) applies them without
knowing which rule made them.  Arguments are Keras config values (the names a
layer's ``get_config()`` uses), so the same edit can be written as code and
counted by cnnlint's own graph builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: An argument value: a number, string, boolean, None, a tuple of numbers, or a Regularizer (cnnlint.graph).
Args = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class NewLayer:
    """A Keras layer a fix adds: ``keras.layers.<class_name>(**args)``."""

    class_name: str
    args: Args = ()

    @classmethod
    def of(cls, class_name: str, **args: Any) -> NewLayer:
        return cls(class_name, tuple(args.items()))


@dataclass(frozen=True)
class Edit:
    """One change to one layer of the model (or, for ``after``, to the model input when ``layer`` is an input)."""

    layer: str
    note: str = ""
    before: tuple[NewLayer, ...] = ()  # inserted right before the layer
    after: tuple[NewLayer, ...] = ()  # inserted right after it (normalization, then an activation, then the others)
    replace: tuple[NewLayer, ...] = ()  # take the layer's place (empty: the layer stays)
    args: Args = ()  # new values for the arguments of the layer that stays
    drop: tuple[str, ...] = ()  # arguments the layer that stays loses (back to the default: a moved activation)
    move_after: str | None = None  # move the layer to right after this one
