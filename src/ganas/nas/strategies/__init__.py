"""Search strategies: ``random``, ``reinforce`` (REINFORCE/PPO), ``evolution``, ``pnas``
(the paper's schedule) and ``predictor_local`` (PNAS levels, then predictor-ranked
local search).

Strategies propose (``ask``) and receive (``tell``); they import no evaluator and no
executor. Create one by name with typed settings::

    make_strategy("evolution", space, seed=0, overrides={"population": "20"})
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import STRATEGIES, SearchSpace, Strategy
from . import evolution, pnas, random_search, reinforce  # noqa: F401  (registration)
from .base import SearchFinished, SeededStrategy, make_config, search_reward

__all__ = ["make_strategy", "strategy_settings", "STRATEGIES", "SearchFinished", "search_reward"]


def strategy_settings(name: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The typed settings of strategy ``name`` with ``overrides`` applied (validated)."""
    cls = STRATEGIES.get(name).factory
    return make_config(cls, overrides)


def make_strategy(name: str, space: SearchSpace, seed: int = 0,
                  overrides: Mapping[str, Any] | None = None) -> Strategy:
    """A strategy by registry name; unknown names/settings raise with the valid ones."""
    cls = STRATEGIES.get(name).factory
    if isinstance(cls, type) and issubclass(cls, SeededStrategy):
        return cls(space, seed=seed, config=make_config(cls, overrides))
    return STRATEGIES.create(name, space, seed=seed, **dict(overrides or {}))
from .. import param_server  # noqa: E402,F401  (registers reinforce-ps; it builds on reinforce)
