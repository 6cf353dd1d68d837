"""The best-so-far computation of a search, in one place.

After each evaluation a search "returns" the architecture with the highest reward (the
search signal) seen so far; the first of equal rewards wins. The search loop
(``best.json``, ``search.json``'s curve), the report's charts and the multi-seed
harness all read it from here.
"""

from __future__ import annotations

import math
from typing import Sequence


class BestSoFar:
    """The running best, one reward at a time: ``update(reward)`` is True when that
    reward becomes the best so far (first of equals; a NaN reward never does)."""

    def __init__(self) -> None:
        self.best = -math.inf
        self.index = -1  # of the best so far; -1 while there is none
        self.count = 0

    def update(self, reward: float) -> bool:
        r, i = float(reward), self.count
        self.count += 1
        if not math.isnan(r) and (self.index < 0 or r > self.best):
            self.best, self.index = r, i
            return True
        return False


def running_best(rewards: Sequence[float]) -> list[int]:
    """Index of the best reward so far after each evaluation (first of equals; -1 while
    there is none: a NaN reward never wins).

    ``running_best([0.3, 0.5, 0.5, 0.4])`` -> ``[0, 1, 1, 1]``.
    """
    tracker, out = BestSoFar(), []
    for r in rewards:
        tracker.update(r)
        out.append(tracker.index)
    return out


def best_so_far(rewards: Sequence[float]) -> list[float]:
    """The best reward after each evaluation (NaN while there is none)."""
    return [float(rewards[i]) if i >= 0 else math.nan for i in running_best(rewards)]
