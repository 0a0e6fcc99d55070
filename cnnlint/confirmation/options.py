"""What a confirm run is asked to do: ``ConfirmOptions``, and the API's keyword arguments checked into them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any

from cnnlint.config import CONFIRM_OPTION_TYPES, DEFAULTS, api_value
from cnnlint.errors import ConfigError

#: The full run assumed when the user names none (--full-epochs); the output says so.
DEFAULT_FULL_EPOCHS: int = DEFAULTS["full-epochs"]


@dataclass
class ConfirmOptions:
    """The settings of one ``cnnlint confirm`` run, from the command line or ``cnnlint.confirm(...)``'s keywords."""

    samples: int | None = None
    epochs: int | None = None  # exactly this many epochs; default: fraction * full_epochs
    full_epochs: int | None = None  # the real run's length, forecast target; default DEFAULT_FULL_EPOCHS
    fraction: float = DEFAULTS["fraction"]
    early_stop: bool = True
    budget: float | None = None
    val_split: float = DEFAULTS["val-split"]
    seed: int = DEFAULTS["seed"]
    batch_size: int = DEFAULTS["batch-size"]
    device: str = DEFAULTS["device"]
    probe: bool = False
    trust_code: bool = False
    progress: bool = False


#: ``ConfirmOptions`` fields that are on/off, and those that may be ``None`` (their default).
_SWITCHES = ("early_stop", "probe", "trust_code", "progress")
_OPTIONAL = ("samples", "epochs", "full_epochs", "budget")


def api_options(options: dict[str, Any]) -> ConfirmOptions:
    """``cnnlint.confirm``'s keyword arguments checked as ``cnnlint confirm`` checks its options.

    An unknown keyword is a ``TypeError`` (as Python raises it), with the closest known one; a bad value is a
    ``ConfigError`` worded with the argument's name.
    """
    known = sorted(f.name for f in fields(ConfirmOptions))
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise TypeError(f"cnnlint.confirm() got an unexpected keyword argument '{name}'"
                            + (f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"))  # fmt: skip
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name in _SWITCHES:
            if not isinstance(value, bool):
                raise ConfigError(f"invalid value for '{name}': expected True or False; got {value!r}")
            checked[name] = value
        elif value is None and name in _OPTIONAL:
            checked[name] = None
        else:
            checked[name] = api_value(value, name, CONFIRM_OPTION_TYPES[name.replace("_", "-")])
    return ConfirmOptions(**checked)
