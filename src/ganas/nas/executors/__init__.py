"""Executors run evaluations for the search loop: ``local`` (in-process) now."""

from __future__ import annotations

from typing import Any

from ..base import EXECUTORS
from .base import Done, Executor, Job
from .local import LocalExecutor

__all__ = ["Done", "Executor", "Job", "LocalExecutor", "EXECUTORS", "make_executor"]


def make_executor(name: str = "local", **kwargs: Any) -> Executor:
    return EXECUTORS.create(name, **kwargs)
