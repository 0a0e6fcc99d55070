"""A file that is valid as two formats at once (a polyglot).

## What it does
Finds files that are both an HDF5 file and a zip archive: an HDF5 file
with a zip in its userblock, or a zip appended to an HDF5 file (or the
reverse); and folders that are both a SavedModel and an unzipped ``.keras``
folder (tf.keras loads the first, Keras 3 the second).  cnnlint reads the file the way Keras would for its name and
scans every other view as well; this rule flags the file itself.

## Why is this bad?
Which view a loader sees depends on the file's name and the loader:
Keras 3 and tf.keras take a ``.keras`` name as a zip whenever
``zipfile.is_zipfile`` says so (it looks at the end of the file), an
``.h5`` name as HDF5, and older tf.keras tries HDF5 first.  A reviewer or
scanner that looks at one view can be shown a harmless model while Keras
loads the other one.  No Keras version writes such a file.

## Example
``cat benign.h5 evil.keras > model.keras``

## Use instead
Re-save the model from reviewed code as a plain ``.keras`` file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext

NAMES = {"keras": ".keras zip", "h5": "HDF5", "json": "JSON", "savedmodel": "a SavedModel",
         "keras-folder": "an unzipped .keras folder"}
FOLDERS = {"savedmodel": "tf.keras", "keras-folder": "Keras 3"}


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None or len(ctx.raw.formats) < 2:
        return
    first, *others = (NAMES.get(name, name) for name in ctx.raw.formats)
    if ctx.raw.format in FOLDERS:
        loaders = ", ".join(f"{FOLDERS[name]} loads {NAMES[name]}" for name in ctx.raw.formats if name in FOLDERS)
        what = f"the folder is both {first} and {' and '.join(others)} ({loaders}); both were scanned"
    else:
        what = f"the file is valid both as {first} (read here, as Keras would for its name) and as {' and '.join(others)}"
    yield RULE.finding(
        f"{what}; a loader or scanner can be shown one while another loads the other",
        layers=["model"],
        evidence={"formats": list(ctx.raw.formats)},
        content={"formats": ",".join(ctx.raw.formats)},
        fix="do not load this file; re-save the model as a plain .keras file from reviewed code",
    )


RULE = Rule(
    code="S407",
    name="polyglot-file",
    severity="error",
    category="safety",
    summary="File valid as two formats (HDF5 and zip)",
    doc=__doc__ or "",
    check=check,
)
