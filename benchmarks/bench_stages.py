"""Where the time of one small model goes: each pipeline stage timed in one warm process (issue 26).

    /tmp/bench/bin/python benchmarks/bench_stages.py [--files 200]     # a regular install, as for bench_floor.py

Reads the first ``--files`` of ``bench_floor.py``'s corpus (build it first with ``bench_floor.py``), lints each
once to warm the caches, then again with ``time.perf_counter`` around reading (inside the file's budget, as
``pipeline.lint_source`` does), the graph, the analysis, the rules, the risk estimate and the smallest-low-risk-n
search; prints the milliseconds per file of each.  Two more lines split out what no speed work may skip (issue 26): the
weights audit (the pure-Python HDF5 walk, part of "read") and writing the model's part of the JSON document
(``reports.with_part``, as a worker does; not part of the total).  Milliseconds move with the machine's load by a
third: compare installs in one sitting, or use ``bench_instructions.py``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from common import CACHE

STAGES = ("read", "graph", "analysis", "rules", "assess", "smallest")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--corpus", default=str(CACHE / "distinct_2000"))
    args = parser.parse_args()

    from cnnlint.reports import RenderOptions, with_part
    from cnnlint.rules import run_rules, select_rules

    from cnnlint import risk
    from cnnlint.analysis import analyze
    from cnnlint.findings import Dataset, RuleContext
    from cnnlint.pipeline import LintSettings, lint_source, model_graph
    from cnnlint.readers import hdf5_walk, read_model
    from cnnlint.readers.budget import per_file

    files = sorted(Path(args.corpus).iterdir())[: args.files]
    if not files:
        raise SystemExit(f"no corpus at {args.corpus}: run benchmarks/bench_floor.py first")
    rules, dataset = list(select_rules()), Dataset(samples=1000)
    risk.load_model()
    spent = dict.fromkeys(STAGES, 0.0)
    audit = _timing(hdf5_walk, "fast_audit")  # the readers import it from there at each call
    for timed in (False, True):
        audit[0] = 0.0  # the timed pass's alone
        for path in files:
            marks = [time.perf_counter()]
            with per_file():
                raw = read_model(path)
                marks.append(time.perf_counter())
                graph = model_graph(raw)
                marks.append(time.perf_counter())
            facts = analyze(graph)
            marks.append(time.perf_counter())
            given = replace(dataset, classes=facts.classes)
            findings = run_rules(RuleContext(graph, facts, given, raw), rules, {})
            marks.append(time.perf_counter())
            risk.assess(facts, given, findings)
            marks.append(time.perf_counter())
            risk.smallest_low_risk_samples(facts, given)
            marks.append(time.perf_counter())
            if timed:
                for stage, start, end in zip(STAGES, marks, marks[1:]):
                    spent[stage] += end - start
    audited = audit[0]
    reports = [lint_source(path, dataset, LintSettings(tuple(rules))) for path in files]
    writing = 0.0
    for timed in (False, True):
        start = time.perf_counter()
        for report in reports:
            with_part(report, "json", RenderOptions())
        writing = time.perf_counter() - start if timed else 0.0
    per_file_ms = {stage: seconds / len(files) * 1000 for stage, seconds in spent.items()}
    print(f"{len(files)} files, ms per file: " + "  ".join(f"{s} {ms:.2f}" for s, ms in per_file_ms.items())
          + f"  total {sum(per_file_ms.values()):.2f}")  # fmt: skip
    print(f"  of read, the weights audit: {audited / len(files) * 1000:.2f} ms per file")
    print(f"  writing the model's JSON part (with_part): {writing / len(files) * 1000:.2f} ms per file")


def _timing(module: object, name: str) -> list[float]:
    """Replace ``module.name`` with a wrapper that adds its seconds to the returned one-item list."""
    inner, total = getattr(module, name), [0.0]

    def timed(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - start

    setattr(module, name, timed)
    return total


if __name__ == "__main__":
    main()
