"""Neural architecture search: spaces, strategies, evaluators, executors.

``make_space(name, overrides)`` creates a registered search space.
"""

from __future__ import annotations

from .base import EVALUATORS, EXECUTORS, SPACES, STRATEGIES, Decision, EvalResult, Evaluator, SearchSpace, Strategy
from .spaces import make_space

__all__ = [
    "EVALUATORS",
    "EXECUTORS",
    "SPACES",
    "STRATEGIES",
    "Decision",
    "EvalResult",
    "Evaluator",
    "SearchSpace",
    "Strategy",
    "make_space",
]
