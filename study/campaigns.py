"""Campaigns: which run ids a protocol trains, how each id becomes a spec, and which folder holds the records.

A campaign is resumable by construction: the ids it still has to train are its planned ids less those recorded
(trained or skipped) in the folders it counts as done.  Closed campaigns (v1, v2: protocols that later ones
replaced) plan exactly the ids they recorded, so ``python -m study generate v2`` on an empty ``study/runs/v2``
retrains the v2 runs the fit reads, and on the committed one does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import generate, generate_v1, records
from .generate import V3_MIN_STEPS, rerun_order
from .paths import REPLICATES, V1, V2, V3, V3_RERUNS, V4_PHOTOS

V3_START, V3_END = 9_000, 12_000
PHOTO_RANGE = (20_000, 21_000)
APP_RANGE = (30_000, 30_200)
REPLICATE_START, REPLICATE_COUNT = 1_540, 60


@dataclass(frozen=True)
class Campaign:
    name: str
    protocol: str
    folder: Path
    description: str
    #: the ids it plans, in the order they are trained (cheapest first where that is known)
    planned: Callable[[], list[int]]
    #: what the spec of an id is changed by (``min_steps``, ``replicate``) before training
    overrides: dict = field(default_factory=dict)
    #: other folders whose recorded ids count as done (a v2 run that took 600 steps is a v3 run as it is)
    also_done: tuple[Path, ...] = ()
    closed: bool = False

    def pending(self) -> list[int]:
        done = records.recorded_ids((self.folder, *self.also_done))
        return [index for index in self.planned() if index not in done]

    def spec(self, index: int) -> dict:
        if self.protocol == "v1":
            return generate_v1.sample_spec(index)
        return {**generate.sample_spec(index), **self.overrides}


def _recorded(folder: Path) -> Callable[[], list[int]]:
    return lambda: sorted(records.recorded_ids((folder,)))


def _reruns() -> list[int]:
    return rerun_order(V2, V3_MIN_STEPS)


def _replicates() -> list[int]:
    trained = sorted(r["id"] for r in records.trained(V2))
    return [i for i in trained if i >= REPLICATE_START][:REPLICATE_COUNT]


CAMPAIGNS: dict[str, Campaign] = {c.name: c for c in (
    Campaign("v1", "v1", V1, "digits and MNIST-1D, stopped at 99 % training accuracy (closed)",
             _recorded(V1), closed=True),
    Campaign("v2", "v2", V2, "five offline sources, 20-40 epochs, label noise (closed: v3 trains longer)",
             _recorded(V2), closed=True),
    Campaign("v3-reruns", "v3", V3_RERUNS, "v2 runs that took fewer than 600 optimizer steps, retrained to 600 "
             "with the same seed, cheapest first", _reruns, overrides={"min_steps": V3_MIN_STEPS}),
    Campaign("v3", "v3", V3, f"new v2 specs trained at least 600 steps (ids {V3_START}-{V3_END - 1})",
             lambda: list(range(V3_START, V3_END)), overrides={"min_steps": V3_MIN_STEPS}, also_done=(V2,)),
    Campaign("v4-photos", "v4", V4_PHOTOS, "small CNNs and the article's models on CIFAR-10 and Imagenette "
             f"(ids {PHOTO_RANGE[0]}-{PHOTO_RANGE[1] - 1})", lambda: list(range(*PHOTO_RANGE))),
    Campaign("v4-apps", "v4", V4_PHOTOS, "keras.applications networks from scratch on the photo sources "
             f"(ids {APP_RANGE[0]}-{APP_RANGE[1] - 1})", lambda: list(range(*APP_RANGE))),
    Campaign("replicates", "v2", REPLICATES, f"{REPLICATE_COUNT} v2 runs from id {REPLICATE_START} retrained "
             "with a second training seed (the noise ceiling)", _replicates, overrides={"replicate": 1}),
)}  # fmt: skip

