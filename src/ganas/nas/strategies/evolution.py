"""Regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image
Classifier Architecture Search" (Algorithm 1; NB201 settings: population 10,
tournament 3, as in D-X-Y/AutoDL-Projects ``exps/NATS-algos/regularized_ea.py``).

The first ``population`` proposals are random. Afterwards each proposal is a mutation
of the best of ``sample`` individuals drawn (with replacement, as the paper's
pseudo-code) from the population; every result joins the population and the OLDEST
individual leaves it (aging), whatever its reward.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from ..base import STRATEGIES, Arch, SearchSpace
from .base import SeededStrategy, arch_key


@dataclasses.dataclass
class EvolutionSettings:
    population: int = 10
    sample: int = 3  # tournament size

    def validate(self) -> None:
        from ...errors import ConfigError

        if self.population < 1 or self.sample < 1:
            raise ConfigError("evolution: population and sample must be >= 1")


@STRATEGIES.register("evolution", help="regularized evolution (Real et al. 2019)")
class RegularizedEvolution(SeededStrategy):
    name = "evolution"
    Config = EvolutionSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: EvolutionSettings | None = None) -> None:
        super().__init__(space, seed, config)
        self.population: collections.deque[tuple[tuple[int, ...], float]] = collections.deque()
        self.asked = 0

    def mutate(self, arch: Arch) -> Arch:
        """A uniformly random neighbour: one decision changed to another choice."""
        neighbours = self.space.neighbors(arch)
        return neighbours[self.rng.randrange(len(neighbours))] if neighbours else arch

    def ask(self) -> Arch:
        self.asked += 1
        if self.asked <= self.cfg.population or not self.population:
            return self.space.sample(self.rng)
        pop = list(self.population)
        contenders = [pop[self.rng.randrange(len(pop))] for _ in range(self.cfg.sample)]
        parent = max(contenders, key=lambda ar: ar[1])[0]  # first of equals wins
        return self.mutate(parent)

    def tell(self, arch: Arch, reward: float) -> None:
        self.population.append((arch_key(arch), float(reward)))
        while len(self.population) > self.cfg.population:
            self.population.popleft()  # aging: the oldest dies

    def state_dict(self) -> dict[str, Any]:
        return {
            **self._base_state(),
            "asked": self.asked,
            "population": [[list(a), r] for a, r in self.population],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_base_state(state)
        self.asked = int(state["asked"])
        self.population = collections.deque((tuple(int(x) for x in a), float(r)) for a, r in state["population"])
