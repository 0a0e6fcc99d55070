"""``python -m study``: the study's steps, what each would redo, and the commands that run them.

    python -m study                          # the steps in order, each with its status
    python -m study sources                  # decode the photo repositories (fetched) and package-made pools
    python -m study generate CAMPAIGN [--engine ray] [--workers N] [--limit K] ...
    python -m study probes
    python -m study fit-risk [--check]       # --check: refit in memory, compare byte for byte, write nothing
    python -m study fit-forecast [--check]
    python -m study evaluate [--check]
    python -m study publish [--check]
    python -m study rebuild [--check]        # probes, fit-risk, fit-forecast, evaluate, publish
    python -m study experiment [NAME]        # list the experiments, or run one and write its record
"""

from __future__ import annotations

import argparse
import sys

from .pipeline import REBUILD, STEPS, STEPS_BY_NAME, load_stamps


def list_steps() -> int:
    stamps = load_stamps()
    print("The study's steps, in order (python -m study STEP runs one; --check compares without writing):\n")
    for i, step in enumerate(STEPS, 1):
        print(f"{i}. {step.name:<13} {step.summary}\n   {'':<13} {step.status(stamps)}")
    from .experiments import EXPERIMENTS_BY_NAME

    print("\nExperiments (python -m study experiment NAME): " + ", ".join(EXPERIMENTS_BY_NAME))
    return 0


def parse_ids(text: str) -> list[int]:
    """``"3,7-9"`` -> ``[3, 7, 8, 9]``."""
    ids: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        ids += list(range(int(low), int(high or low) + 1))
    return ids


def generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .campaigns import CAMPAIGNS
    from .scheduler import Budget, run_campaign

    campaign = CAMPAIGNS[args.campaign]
    progress = run_campaign(campaign, engine=args.engine, workers=args.workers, limit=args.limit,
                            ids=parse_ids(args.ids) if args.ids else None,
                            budget=Budget(args.mode, args.large_only, args.max_cost), host=args.host,
                            address=args.address, gpus_per_run=args.gpus_per_run, retries=args.retries,
                            out_folder=Path(args.out) if args.out else None)  # fmt: skip
    return 1 if progress.failed else 0


def fitted_step(name: str, check: bool) -> int:
    step = STEPS_BY_NAME[name]
    if name == "publish":
        from .publish import publish, stale_pages

        stale = stale_pages()
        if check:
            print("publish: " + ("differs: " + ", ".join(stale) if stale else "the pages match the results"))
            return 1 if stale else 0
        print("publish: rewrote " + (", ".join(str(p) for p in publish()) or "nothing"))
        return 0
    if name == "probes":
        from . import risk_corpus

        if check:
            print(f"probes: {step.status({})}")
            return 1 if step.pending and step.pending() else 0
        risk_corpus.load(compute_missing_probes=True)
        return 0
    differ = step.run(check=check)
    if check:
        print(f"{name}: " + ("differs: " + ", ".join(differ) if differ else "reproduced byte for byte"))
        return 1 if differ else 0
    print(f"{name}: wrote; changed: " + (", ".join(differ) or "nothing"))
    return 0


def experiment(name: str | None) -> int:
    from .experiments import EXPERIMENTS_BY_NAME, relative, run

    if not name:
        for e in EXPERIMENTS_BY_NAME.values():
            print(f"{e.name:<26} {e.question}\n{'':<26} {e.configuration()}; record {relative(e.record)}")
        return 0
    if name not in EXPERIMENTS_BY_NAME:
        print(f"no experiment {name!r}; python -m study experiment lists them", file=sys.stderr)
        return 2
    print(f"wrote {relative(run(EXPERIMENTS_BY_NAME[name]))}")
    return 0


def parser() -> argparse.ArgumentParser:
    from .campaigns import CAMPAIGNS

    main = argparse.ArgumentParser(prog="python -m study", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    steps = main.add_subparsers(dest="step")
    steps.add_parser("status", help="the steps and what each would redo (the default)")
    steps.add_parser("sources", help=STEPS_BY_NAME["sources"].summary)
    gen = steps.add_parser("generate", help=STEPS_BY_NAME["generate"].summary)
    gen.add_argument("campaign", choices=sorted(CAMPAIGNS))
    gen.add_argument("--engine", choices=("processes", "ray"), default="processes")
    gen.add_argument("--workers", type=int, default=2, help="processes engine: worker processes (default 2)")
    gen.add_argument("--limit", type=int, default=0, help="train at most this many of the pending ids")
    gen.add_argument("--ids", help="train these ids (e.g. 3,7-9) instead of the pending ones")
    gen.add_argument("--out", help="write the records to this folder instead of the campaign's")
    gen.add_argument("--host", help="the run file's name part (default: this machine's name)")
    gen.add_argument("--mode", choices=("cpu", "gpu"), default="cpu", help="which cost budget applies")
    gen.add_argument("--large-only", action="store_true", help="only runs over the CPU budget (a GPU batch)")
    gen.add_argument("--max-cost", type=float, default=0.0, help="skip runs over this cost")
    gen.add_argument("--address", help="ray engine: a cluster's address (default: a local cluster)")
    gen.add_argument("--gpus-per-run", type=float, default=0.0, help="ray engine: GPU share of each run")
    gen.add_argument("--retries", type=int, default=2, help="ray engine: reruns of a task whose worker died")
    for name in ("probes", "fit-risk", "fit-forecast", "evaluate", "publish", "rebuild"):
        step = steps.add_parser(name, help=STEPS_BY_NAME[name].summary if name in STEPS_BY_NAME else
                                "the steps that rebuild what ships: " + ", ".join(REBUILD))  # fmt: skip
        step.add_argument("--check", action="store_true", help="compare with the tree, write nothing")
    exp = steps.add_parser("experiment", help="list the experiments, or run one")
    exp.add_argument("name", nargs="?")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.step in (None, "status"):
        return list_steps()
    if args.step == "sources":
        from .photos import REPOSITORIES, decode
        from .sources import SOURCES, load_pool

        for name in SOURCES:
            load_pool(name)  # made once, cached where a package is needed
        for name in REPOSITORIES:
            decode(name)
        return 0
    if args.step == "generate":
        return generate(args)
    if args.step == "experiment":
        return experiment(args.name)
    names = REBUILD if args.step == "rebuild" else (args.step,)
    return max(fitted_step(name, args.check) for name in names)


if __name__ == "__main__":
    sys.exit(main())
