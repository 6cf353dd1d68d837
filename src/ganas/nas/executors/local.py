"""In-process executors: one job at a time (``workers=1``, the default: the search's
exact sequential order), or ``workers`` threads (for evaluators that wait or release
the GIL: simulated training times, remote services)."""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections import deque
from pathlib import Path
from ..base import EXECUTORS, Evaluator, SearchSpace
from .base import Attempt, Executor, Job, evaluate_job


def resolve_device(device: str) -> str:
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@EXECUTORS.register("local", help="in-process: one evaluation at a time, or `workers` threads")
class LocalExecutor(Executor):
    """``device``: None keeps the evaluator's own setting; "auto" picks cuda when present."""

    name = "local"

    def __init__(self, workers: int = 1, device: str | None = None, retries: int = 2) -> None:
        super().__init__(retries)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.slots = workers
        self.device = device
        self._queue: deque[Job] = deque()
        self._pool: cf.ThreadPoolExecutor | None = None
        self._futures: set[cf.Future[Attempt]] = set()

    def start(self, evaluator: Evaluator, space: SearchSpace, run_dir: Path | None = None) -> None:
        super().start(evaluator, space, run_dir)
        if self.device is not None:
            evaluator.place(resolve_device(self.device))
        if self.slots > 1 and self._pool is None:
            self._pool = cf.ThreadPoolExecutor(self.slots, thread_name_prefix="ganas-eval")

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._futures)

    def _submit(self, job: Job) -> None:
        if self._pool is None:
            self._queue.append(job)
        else:
            assert self.evaluator is not None and self.space is not None
            self._futures.add(self._pool.submit(evaluate_job, self.evaluator, self.space, job,
                                                threading.current_thread().name))

    def _collect(self, timeout: float | None) -> list[Attempt]:
        if self._pool is None:
            assert self.evaluator is not None and self.space is not None
            return [evaluate_job(self.evaluator, self.space, self._queue.popleft(), "local")] if self._queue else []
        done, _ = cf.wait(self._futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        self._futures -= done
        return sorted((f.result() for f in done), key=lambda a: a.job.index)

    def close(self) -> None:
        if self._pool is not None:
            for f in self._futures:
                f.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None
        self._futures.clear()
        self._queue.clear()
