"""In-process, sequential executor."""

from __future__ import annotations

import time
from typing import Callable

from ..base import EXECUTORS, Evaluator, SearchSpace
from .base import Done, Executor, Job


@EXECUTORS.register("local", help="in-process, one evaluation at a time")
class LocalExecutor(Executor):
    name = "local"
    slots = 1

    def run(self, evaluator: Evaluator, space: SearchSpace, jobs: list[Job],
            on_done: Callable[[Done], None] | None = None) -> list[Done]:
        out = []
        for job in jobs:
            t0 = time.perf_counter()
            result = evaluator.evaluate(space, job.arch, seed=job.seed)
            done = Done(job, result, time.perf_counter() - t0)
            if on_done is not None:
                on_done(done)
            out.append(done)
        return out
