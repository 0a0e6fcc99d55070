"""Part of the file could not be scanned to the end.

## What it does
Reports every part of a model file the safety rules could not read
completely: an HDF5 file with more objects than the scan visits, a weights
file inside a ``.keras`` archive that is compressed or not HDF5, a second
view of a polyglot file that does not read, or a config larger than the
scan's budget.

## Why is this bad?
The safety rules can only vouch for what they read.  Keras reads all of
it, so anything left unscanned could hold what the other rules look for.
Silence would be a pass; this makes it a failure.

## Example
A ``.keras`` file whose ``model.weights.h5`` member is deflated (Keras
stores it uncompressed), so its links cannot be checked in place.

## Use instead
Re-save the model with Keras (``model.save("model.keras")``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnnlint.rules._scan import scan

from cnnlint.findings import Finding, Rule, RuleContext


def check(ctx: RuleContext, options: dict[str, Any]) -> Iterator[Finding]:
    if ctx.raw is None:
        return
    reasons = list(ctx.raw.incomplete)
    for view in ctx.raw.views:
        reasons += view.incomplete
    if not scan(ctx.raw).complete:
        reasons.append("the config holds more items than the safety scan's budget")
    for reason in dict.fromkeys(reasons):
        yield RULE.finding(
            f"the safety scan could not read everything: {reason[:300]}; what it did not read may be unsafe",
            layers=["model"],
            evidence={"reason": reason[:300]},
            content={"reason": reason},
            fix="treat the file as unsafe: do not load it; re-save the model with Keras from reviewed code",
        )


RULE = Rule(
    code="S408",
    name="incomplete-safety-scan",
    severity="error",
    category="safety",
    summary="Parts of the file the safety scan could not read",
    doc=__doc__ or "",
    check=check,
)
