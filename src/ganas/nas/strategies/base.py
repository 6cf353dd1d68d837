"""Shared machinery of the strategies: typed settings, seeded RNGs and their state.

Every strategy owns two generators, both seeded from its ``seed``: a python
``random.Random`` (sampling, tournaments, mutations) and a ``torch.Generator``
(controller/predictor initialisation and sampling). Their states travel in
``state_dict()`` as plain lists/tensors (``ganas.rng``, the encoding training
checkpoints use too), so ``torch.load(..., weights_only=True)``
(or JSON for the python part) reloads them and a resumed search continues exactly as
an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, ClassVar, Mapping

import torch

from ...config import replace, to_dict
from ...errors import CheckpointError, GanasError
from ...rng import python_rng_state, set_python_rng_state
from ..base import Arch, EvalResult, SearchSpace, Strategy


class SearchFinished(GanasError):
    """Raised by ``ask`` when a strategy's own schedule is over (PNAS after level B):
    the search loop stops there, with fewer evaluations than the budget."""


def search_reward(strategy: Strategy, result: EvalResult) -> float:
    """The search signal of ``result`` for ``strategy``: ``strategy.reward_of(result)``
    where the strategy defines one (REINFORCE: the max validation accuracy of the last
    epochs), else the evaluator's ``result.reward``. The search loop journals this value
    and tells it to the strategy."""
    fn = getattr(strategy, "reward_of", None)
    return float(fn(result)) if callable(fn) else float(result.reward)


@dataclasses.dataclass
class NoSettings:
    """A strategy without settings."""


class SeededStrategy(Strategy):
    """A strategy with a settings dataclass (``Config``) and seeded python/torch RNGs."""

    Config: ClassVar[type] = NoSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: Any = None) -> None:
        super().__init__(space, seed)
        self.cfg = config if config is not None else self.Config()
        self.rng = random.Random(seed)
        self.gen = torch.Generator().manual_seed(seed)

    # -- RNG and settings state; subclasses add their own keys -----------------------
    def _base_state(self) -> dict[str, Any]:
        return {
            "strategy": self.name,
            "seed": self.seed,
            "config": to_dict(self.cfg),
            "python_rng": python_rng_state(self.rng),
            "torch_rng": self.gen.get_state(),
        }

    def _load_base_state(self, state: Mapping[str, Any]) -> None:
        if state.get("strategy") != self.name:
            raise CheckpointError(
                f"strategy state is for {state.get('strategy')!r}, not {self.name!r}"
            )
        if state.get("config") != to_dict(self.cfg):
            raise CheckpointError(
                f"strategy {self.name!r}: saved settings {state.get('config')} differ from "
                f"the current ones {to_dict(self.cfg)}"
            )
        set_python_rng_state(self.rng, state["python_rng"])
        self.gen.set_state(state["torch_rng"])


def arch_key(arch: Arch) -> tuple[int, ...]:
    return tuple(int(a) for a in arch)


def make_config(cls: type, overrides: Mapping[str, Any] | None) -> Any:
    """``cls.Config`` with ``overrides`` coerced by ``ganas.config.replace``."""
    return replace(cls.Config(), dict(overrides or {}))
