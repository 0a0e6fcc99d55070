"""``cnnlint confirm``: train a fresh copy briefly on the user's data and check the static estimate.

The architecture is rebuilt from the file's config with Keras's safe mode; the user's weights and file are never
loaded or touched.  Works with any Keras 3 backend (``KERAS_BACKEND=tensorflow|jax|torch``); tf.keras 2 files are
rebuilt by Keras 3, which reads their configs.  Keras is imported by ``training`` only, inside its functions.

- ``options``: ``ConfirmOptions`` and the API's keyword arguments checked into them;
- ``data``: the rows, read by ``cnnlint/datasets.py`` and checked by ``cnnlint/probes.py`` as ``--data`` is;
- ``training``: Keras, the device, the rebuild, the run, its callback and the shuffled-label probe;
- ``verdict``: the plan, the forecast and the verdict (``ConfirmResult``);
- ``run``: the steps end to end, from files (the CLI) or arrays (``cnnlint.confirm``).

The result is rendered by ``cnnlint.reports`` (``confirm_text`` for text, the lint's formats for the others).  The
package is not named ``confirm``: importing a submodule binds it on its parent, and ``cnnlint.confirm`` is the API
function.
"""

from __future__ import annotations

from cnnlint.confirmation.options import DEFAULT_FULL_EPOCHS, ConfirmOptions
from cnnlint.confirmation.run import confirm_arrays, confirm_path, confirm_raw, progress_wanted
from cnnlint.confirmation.training import progress_line
from cnnlint.confirmation.verdict import ConfirmResult, decided, judge, plan

__all__ = ["DEFAULT_FULL_EPOCHS", "ConfirmOptions", "ConfirmResult", "confirm_arrays", "confirm_path", "confirm_raw",
           "decided", "judge", "plan", "progress_line", "progress_wanted"]  # fmt: skip
