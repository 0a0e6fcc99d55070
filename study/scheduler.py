"""Running a campaign's pending runs: as local worker processes, or as tasks of a Ray cluster.

Either engine trains each id in a worker (``train_task``) and hands the record back to this process, the only
one that writes: it appends each record to ``runs-<host>-0.jsonl`` in the campaign's folder the moment it
arrives, so a stopped campaign resumes from what is on disk (``Campaign.pending``).

* ``processes`` (default): ``--workers`` spawned processes on this machine, each training one run at a time on
  one thread (TensorFlow's intra- and inter-op pools set to 1: on the 2-core machine two such workers beat one
  worker with two threads).  Workers are replaced after ``MAX_RUNS_PER_WORKER`` runs, which bounds the memory a
  long campaign can hold.
* ``ray``: each run is a Ray task (``pip install -e ".[study]"`` brings Ray).  Without ``--address`` Ray starts a
  local cluster on this machine; with one it joins that cluster.  ``--gpus-per-run 0.25`` packs four runs on each
  GPU (small CNNs leave most of a GPU idle; study/README.md, "GPU batches"), ``--retries`` re-runs a task whose
  worker died (a kill, an out-of-memory crash).  A run that raises is logged and not recorded, as with processes.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from . import records
from .campaigns import CAMPAIGNS, Campaign

MAX_RUNS_PER_WORKER = 25


@dataclass(frozen=True)
class Budget:
    """Which runs a machine takes: ``mode`` picks generate's cost budget, ``large_only`` keeps only the runs over
    the CPU budget (a GPU batch), ``max_cost`` caps the cost (so that a batch with a deadline ends its runs)."""

    mode: str = "cpu"
    large_only: bool = False
    max_cost: float = 0.0

    def cost_range(self, index: int) -> tuple[float, float] | None:
        from .generate import CPU_BUDGET, PHOTO_START

        if index >= PHOTO_START and not (self.large_only or self.max_cost):
            return None  # photo runs: each spec's own budget
        return (CPU_BUDGET["cpu"] if self.large_only else 0.0, self.max_cost or CPU_BUDGET[self.mode])


_DEVICE: list[str] = []


def _set_up_worker() -> str:
    """Once per worker: one thread per TensorFlow pool, and the device label every record carries."""
    if not _DEVICE:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        if os.environ["KERAS_BACKEND"] == "tensorflow":
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        from .generate import describe_device

        _DEVICE.append(describe_device())
    return _DEVICE[0]


_POOLS: dict = {}


def train_task(campaign_name: str, index: int, budget: Budget) -> dict:
    """Train one run in this worker. Returns its record, ``{"id", "left": reason}`` for a run this machine leaves
    to another (over its budget), or ``{"id", "failed": message}``."""
    campaign = CAMPAIGNS[campaign_name]
    device = _set_up_worker()
    try:
        if campaign.protocol == "v1":
            from .generate_v1 import train_index

            return train_index(index)
        from .generate import free_models, train_one

        try:
            record = train_one(campaign.spec(index), _POOLS, budget.mode, device, budget.cost_range(index))
        finally:
            free_models()
    except Exception as exc:  # one failed run must not stop the campaign; it is reported and retried next time
        return {"id": index, "failed": f"{type(exc).__name__}: {exc}"}
    return record if record is not None else {"id": index, "left": "over this machine's cost budget"}


@dataclass
class Progress:
    recorded: int = 0
    left: int = 0
    failed: int = 0
    started: float = 0.0

    def runs_per_hour(self) -> float:
        elapsed = time.time() - self.started
        return 3600 * self.recorded / elapsed if elapsed > 0 else 0.0


def _handle(result: dict, out, progress: Progress) -> None:
    if "failed" in result:
        progress.failed += 1
        print(f"{result['id']}: failed: {result['failed']}", file=sys.stderr, flush=True)
    elif "left" in result:
        progress.left += 1
    else:
        records.append(out, result)
        progress.recorded += 1
        if "skipped" in result:
            print(f"{result['id']}: skipped: {result['skipped']}", flush=True)
        else:
            spec = result["spec"]
            print(f"{result['id']}: {spec['dataset']} n={spec['n']} params={result['params']} "
                  f"gap={result['gap']:.3f} {result['seconds']}s", flush=True)  # fmt: skip


def _processes(campaign: Campaign, ids: list[int], budget: Budget, workers: int) -> Iterator[dict]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # a forked TensorFlow runtime deadlocks
    with ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=MAX_RUNS_PER_WORKER) as pool:
        queue, running = list(ids), set()
        while queue or running:
            while queue and len(running) < workers:  # submit as workers free up: a deadline stops new runs
                running.add(pool.submit(train_task, campaign.name, queue.pop(0), budget))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


def _ray(campaign: Campaign, ids: list[int], budget: Budget, address: str | None, gpus_per_run: float,
         retries: int) -> Iterator[dict]:  # fmt: skip
    import ray

    if not ray.is_initialized():
        # Ray starts its workers at niceness 15 by default; beside any other busy process they then train at a
        # third of the speed (measured on the 2-core machine), so a local cluster's workers run at normal priority
        os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(train_task).options(num_cpus=1, num_gpus=gpus_per_run, max_retries=retries)
    running = [task.remote(campaign.name, index, budget) for index in ids]
    while running:
        done, running = ray.wait(running, num_returns=1)
        for ref in done:
            try:
                yield ray.get(ref)
            except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError) as exc:
                yield {"id": -1, "failed": f"a Ray task failed after {retries} retries: {exc}"}


def run_campaign(campaign: Campaign, *, engine: str = "processes", workers: int = 1, limit: int = 0,
                 ids: list[int] | None = None, budget: Budget = Budget(), host: str | None = None,
                 address: str | None = None, gpus_per_run: float = 0.0, retries: int = 2,
                 out_folder=None) -> Progress:  # fmt: skip
    """Train the campaign's pending runs (or ``ids``), appending each record as it arrives."""
    folder = out_folder or campaign.folder
    done = records.recorded_ids((folder,))  # resumes: what this folder already holds is not trained again
    todo = [index for index in (ids if ids is not None else campaign.pending()) if index not in done]
    todo = todo[:limit] if limit else todo
    out = records.run_file(folder, host or socket.gethostname().split(".")[0][:20])
    progress = Progress(started=time.time())
    print(f"{campaign.name}: {len(todo)} runs to train with {engine}; records to {out}", flush=True)
    if not todo:
        results: Iterator[dict] = iter(())
    elif engine == "ray":
        results = _ray(campaign, todo, budget, address, gpus_per_run, retries)
    else:
        results = _processes(campaign, todo, budget, workers)
    for result in results:
        _handle(result, out, progress)
    print(f"{campaign.name}: {progress.recorded} recorded, {progress.left} left to a bigger budget, "
          f"{progress.failed} failed; {progress.runs_per_hour():.0f} runs an hour", flush=True)  # fmt: skip
    return progress
