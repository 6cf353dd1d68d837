"""The best-so-far computation of a search, in one place.

After each evaluation a search "returns" the architecture with the highest reward (the
search signal) seen so far; the first of equal rewards wins. The search loop
(``best.json``, ``search.json``'s curve), the report's charts and the multi-seed
harness all read it from here.
"""

from __future__ import annotations

import math
from typing import Sequence


def running_best(rewards: Sequence[float]) -> list[int]:
    """Index of the best reward so far after each evaluation (first of equals; -1 while
    there is none: a NaN reward never wins).

    ``running_best([0.3, 0.5, 0.5, 0.4])`` -> ``[0, 1, 1, 1]``.
    """
    out: list[int] = []
    best, at = -math.inf, -1
    for i, r in enumerate(rewards):
        r = float(r)
        if not math.isnan(r) and (at < 0 or r > best):
            best, at = r, i
        out.append(at)
    return out


def best_so_far(rewards: Sequence[float]) -> list[float]:
    """The best reward after each evaluation (NaN while there is none)."""
    return [float(rewards[i]) if i >= 0 else math.nan for i in running_best(rewards)]
