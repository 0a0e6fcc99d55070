"""HDF5 links and datasets that reach outside the file, or alias inside it.

## What it does
Lists, anywhere in a legacy ``.h5`` model file and in the ``model.weights.h5``
of a ``.keras`` file (zipped or unzipped): external links, soft links,
datasets whose raw data is stored in external files, and virtual datasets
mapped onto other files.  cnnlint finds them from metadata, without
following any of them, and visits each group once (hard-link cycles cost
nothing).

## Why is this bad?
When Keras (through h5py) reads the weights, HDF5 opens the file an external
link, external storage or virtual dataset names, which can be any path on the
loading machine: loading then reads files the model's author chose, and legacy
``.h5`` loading ignored safe mode entirely (CVE-2025-9905).  Soft links make
one weight name read another object; older Keras and tf.keras follow them.
Keras never writes any of these.

## Example
``/model_weights/dense/kernel -> external link to /etc/secrets.h5:/data``

## Use instead
Re-save the model so that all data is inside the file; prefer the ``.keras`` format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext, digest


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None or not ctx.raw.external_links:
        return
    links = ctx.raw.external_links
    yield RULE.finding(
        f"the HDF5 data has {len(links)} link(s) or dataset(s) reaching outside the file or aliasing inside it, "
        f"e.g. '{links[0][:200]}'; reading the weights would follow them",
        layers=["model"],
        evidence={"links": list(links[:20]), "count": len(links)},
        fix="do not load this file; re-save the model as .keras from a trusted source",
        content={"links_sha256": digest(sorted(links)), "count": len(links)},  # every link and target, not just 20
    )


RULE = Rule(
    code="S406",
    name="hdf5-external-link",
    severity="error",
    category="safety",
    summary="HDF5 external or soft links, external storage, virtual datasets",
    doc=__doc__ or "",
    check=check,
)
