"""Executors run evaluations for the search loop: ``local`` (in-process, or threads)
and ``ray`` (Ray actors on this machine or a cluster; ``pip install ganas[ray]``)."""

from __future__ import annotations

from typing import Any

from ..base import EXECUTORS
from .base import Attempt, Done, Executor, InProcessHost, Job, evaluate_job
from .local import LocalExecutor

__all__ = ["Attempt", "Done", "Executor", "InProcessHost", "Job", "LocalExecutor", "EXECUTORS",
           "evaluate_job", "make_executor"]


def _ray_executor(**kwargs: Any) -> Executor:
    from .ray import RayExecutor  # imports ray (optional) only when asked for

    return RayExecutor(**kwargs)


EXECUTORS.register("ray", help="Ray actors, `workers` at a time, here or on a cluster (ganas[ray])")(_ray_executor)


def make_executor(name: str = "local", **kwargs: Any) -> Executor:
    return EXECUTORS.create(name, **kwargs)
