"""HDF5 external links: the .h5 file points into other files.

## What it does
Lists HDF5 external links anywhere in a ``.h5`` model file.  cnnlint finds
them without following them.

## Why is this bad?
When Keras (through h5py) reads the weights, HDF5 resolves an external link
by opening the file it names, which can be any path on the loading machine:
loading then reads files the model's author chose, and legacy ``.h5`` loading
ignored safe mode entirely (CVE-2025-9905).

## Example
``/model_weights/dense/kernel -> /etc/secrets.h5:/data``

## Use instead
Re-save the model so that all data is inside the file; prefer the ``.keras`` format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None or not ctx.raw.external_links:
        return
    links = ctx.raw.external_links
    yield RULE.finding(
        f"the HDF5 file has {len(links)} external link(s), e.g. '{links[0][:200]}'; reading the weights would open "
        "the linked files",
        layers=["model"],
        evidence={"links": list(links[:20]), "count": len(links)},
        fix="do not load this file; re-save the model as .keras from a trusted source",
    )


RULE = Rule(
    code="S406",
    name="hdf5-external-link",
    severity="error",
    category="safety",
    summary="HDF5 external links to other files",
    doc=__doc__ or "",
    check=check,
)
