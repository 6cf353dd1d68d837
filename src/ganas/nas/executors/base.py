"""The executor seam: the search loop hands a list of jobs to an executor and gets
each result back through a callback as soon as it is finished (so the journal can
record it before anything else can go wrong), plus the full list in job order.

An executor is one class: ``LocalExecutor`` (in-process, sequential) now, a Ray
executor later implements the same ``run`` with ``slots`` > 1. The search loop never
knows which one runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

from ..base import Arch, EvalResult, Evaluator, SearchSpace


@dataclass(frozen=True)
class Job:
    """One evaluation: ``index`` is the search's global evaluation number."""

    index: int
    arch: Arch
    seed: int


@dataclass
class Done:
    job: Job
    result: EvalResult
    seconds: float  # wall-clock time of the evaluation, measured by the executor


class Executor(ABC):
    """Runs evaluation jobs; ``slots`` is how many it runs at once (the batch size of
    proposals the search loop asks for)."""

    name: str = ""
    slots: int = 1

    @abstractmethod
    def run(self, evaluator: Evaluator, space: SearchSpace, jobs: list[Job],
            on_done: Callable[[Done], None] | None = None) -> list[Done]:
        """Evaluate ``jobs``; call ``on_done`` once per job as it finishes (any order);
        return every ``Done`` in job order."""

    def close(self) -> None:
        """Release workers (nothing for in-process executors)."""
