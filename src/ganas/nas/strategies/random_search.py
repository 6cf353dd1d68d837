"""Random search: architectures drawn uniformly from the space.

The NAS-Bench-201 baseline (Dong & Yang 2020, "RS"; Bergstra & Bengio 2012). With
``no_repeats`` (default) an architecture already proposed is never proposed again,
so no query of the budget is wasted on a duplicate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...errors import GanasError
from ..base import STRATEGIES, Arch, SearchSpace
from .base import SeededStrategy, arch_key

_MAX_REJECTIONS = 10_000  # then enumerate what is left (small spaces only)
_MAX_ENUMERATE = 2_000_000


@dataclasses.dataclass
class RandomSettings:
    no_repeats: bool = True  # never propose the same architecture twice


@STRATEGIES.register("random", help="uniform random sampling (optionally without repeats)")
class RandomSearch(SeededStrategy):
    name = "random"
    Config = RandomSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: RandomSettings | None = None) -> None:
        super().__init__(space, seed, config)
        self.seen: set[tuple[int, ...]] = set()

    def ask(self) -> Arch:
        if not self.cfg.no_repeats:
            return self.space.sample(self.rng)
        for _ in range(_MAX_REJECTIONS):
            arch = self.space.sample(self.rng)
            if arch_key(arch) not in self.seen:
                break
        else:  # nearly exhausted: choose among what is left
            size = self.space.size()
            if size > _MAX_ENUMERATE:
                raise GanasError(f"random search: no unseen architecture found in {_MAX_REJECTIONS} draws")
            left = [a for a in self.space.enumerate() if arch_key(a) not in self.seen]
            if not left:
                raise GanasError(
                    f"random search (no_repeats=true): all {size} architectures of space "
                    f"{self.space.name!r} were proposed; use a smaller budget or no_repeats=false"
                )
            arch = left[self.rng.randrange(len(left))]
        self.seen.add(arch_key(arch))
        return arch

    def tell(self, arch: Arch, reward: float) -> None:
        self.seen.add(arch_key(arch))  # results may arrive for archs not asked (replay)

    def state_dict(self) -> dict[str, Any]:
        return {**self._base_state(), "seen": sorted(list(a) for a in self.seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_base_state(state)
        self.seen = {tuple(int(x) for x in a) for a in state["seen"]}
