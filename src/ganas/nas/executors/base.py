"""The executor seam: submit jobs, collect them as they finish.

The search loop ``start``s an executor with the evaluator and space (shipped once to
every worker), ``submit``s up to ``slots`` jobs, and ``collect``s finished ones (a
batch: everything finished by then, at least one). Each ``Done`` is final: a job
whose evaluation raised, or whose worker died, is resubmitted up to ``retries`` times
by this base class, then returned as failed with its error; a non-finite reward (or a
``NonFiniteLossError``) fails at once, since the same (arch, seed) would diverge again.
``close()`` releases the workers; the loop calls it in a ``finally``.

Executors: ``local`` (in-process: one job at a time, or ``workers`` threads) and
``ray`` (Ray actors, ``executors/ray.py``). The search loop never knows which.
"""

from __future__ import annotations

import math
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ...errors import NonFiniteLossError
from ..base import ActorHost, Arch, EvalResult, Evaluator, InProcessHost, SearchSpace


@dataclass(frozen=True)
class Job:
    """One evaluation: ``index`` is the search's global evaluation number."""

    index: int
    arch: Arch
    seed: int


@dataclass
class Attempt:
    """What a worker sends back for one try of a job."""

    job: Job
    result: EvalResult | None
    seconds: float
    error: str | None = None  # the exception, formatted
    retry: bool = True  # False: the failure is deterministic (non-finite loss)
    worker: str = ""


@dataclass
class Done:
    job: Job
    result: EvalResult | None  # None when failed
    seconds: float  # wall-clock time of the (last) evaluation, measured by the worker
    error: str | None = None
    attempts: int = 1
    worker: str = ""

    @property
    def failed(self) -> bool:
        return self.result is None


def evaluate_job(evaluator: Evaluator, space: SearchSpace, job: Job, worker: str = "") -> Attempt:
    """Run one job in a worker; exceptions become ``Attempt.error`` (never raised)."""
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(space, job.arch, seed=job.seed)
        reward = float(result.reward)
    except NonFiniteLossError as e:
        return Attempt(job, None, time.perf_counter() - t0, f"NonFiniteLossError: {e}", False, worker)
    except Exception as e:  # noqa: BLE001 - any failure of a child is recorded, not fatal
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return Attempt(job, None, time.perf_counter() - t0, tb, True, worker)
    seconds = time.perf_counter() - t0
    if not math.isfinite(reward):
        return Attempt(job, None, seconds, f"non-finite reward {reward}", False, worker)
    return Attempt(job, result, seconds, None, True, worker)


class Executor(ABC):
    """Runs evaluation jobs; ``slots`` is how many it runs at once."""

    name: str = ""
    slots: int = 1

    def __init__(self, retries: int = 2) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.retries = retries
        self._tries: dict[int, int] = {}
        self.evaluator: Evaluator | None = None
        self.space: SearchSpace | None = None

    # -- what a subclass implements -------------------------------------------------
    @abstractmethod
    def _submit(self, job: Job) -> None:
        """Start one try of ``job``."""

    @abstractmethod
    def _collect(self, timeout: float | None) -> list[Attempt]:
        """Attempts finished by now (block until at least one, or ``timeout``)."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Jobs submitted and not yet collected."""

    def start(self, evaluator: Evaluator, space: SearchSpace, run_dir: Path | None = None) -> None:
        """Set the workers up for ``evaluator`` on ``space`` (``run_dir``: the search
        directory, where an executor may keep its files)."""
        self.evaluator, self.space = evaluator, space

    @property
    def host(self) -> ActorHost:
        return InProcessHost()

    def close(self) -> None:
        """Release the workers (idempotent)."""

    # -- the seam -------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        if self.evaluator is None:
            raise RuntimeError(f"executor {self.name!r}: start() before submit()")
        self._tries[job.index] = 1
        self._submit(job)

    def collect(self, timeout: float | None = None) -> list[Done]:
        """Finished jobs (at least one unless nothing is pending or ``timeout`` passed);
        failed tries are resubmitted here until ``retries`` is used up."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            out = []
            for a in self._collect(left):
                n = self._tries.get(a.job.index, 1)
                if a.error is not None and a.retry and n <= self.retries:
                    self._tries[a.job.index] = n + 1
                    self._submit(a.job)
                    continue
                self._tries.pop(a.job.index, None)
                out.append(Done(a.job, a.result, a.seconds, a.error, n, a.worker))
            if out or (deadline is not None and time.monotonic() >= deadline):
                return out
        return []

    def run(self, evaluator: Evaluator, space: SearchSpace, jobs: list[Job],
            on_done: Callable[[Done], None] | None = None) -> list[Done]:
        """Evaluate ``jobs`` (``slots`` at a time); ``on_done`` once per job as it
        finishes; every ``Done`` returned in job order."""
        self.start(evaluator, space)
        todo, got = list(jobs), {}
        while todo or self.pending:
            while todo and self.pending < self.slots:
                self.submit(todo.pop(0))
            for d in self.collect():
                got[d.job.index] = d
                if on_done is not None:
                    on_done(d)
        return [got[j.index] for j in jobs]

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
