"""A toy search space and evaluator for the strategy/search tests (no test functions).

Space: ``n`` decisions x ``k`` choices; reward = 100 - sum_i (a_i - target_i)^2
(smooth, maximum 100 at ``target``). Progressive growth: level l assigns decisions
[2(l-1), 2l); unassigned decisions are -1 in a partial and 0 once completed.
"""

from __future__ import annotations

import itertools
import time

from torch import nn

from ganas.nas.base import Decision, EvalResult, Evaluator, SearchSpace

TARGET = (3, 1, 2, 0, 3, 2, 1, 0)


class ToySpace(SearchSpace):
    name = "toy"

    def __init__(self, n: int = 6, k: int = 4, progressive: bool = True) -> None:
        self.n, self.k, self.progressive = n, k, progressive

    def decisions(self) -> list[Decision]:
        return [Decision(f"d{i}", tuple(range(self.k))) for i in range(self.n)]

    def to_string(self, arch: tuple) -> str:
        return "-".join(str(a) for a in arch)

    def from_string(self, s: str) -> tuple:
        arch = tuple(int(x) for x in s.split("-"))
        self.validate(arch)
        return arch

    def build(self, arch: tuple, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        c, h, w = input_shape
        return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, num_classes))

    def progressive_levels(self) -> int:
        return (self.n + 1) // 2 if self.progressive else 0

    def initial(self) -> list[tuple]:
        return self.expand((-1,) * self.n)

    def expand(self, partial: tuple) -> list[tuple]:
        start = next((i for i, a in enumerate(partial) if a < 0), self.n)
        idx = list(range(start, min(start + 2, self.n)))
        out = []
        for choice in itertools.product(range(self.k), repeat=len(idx)):
            p = list(partial)
            for i, c in zip(idx, choice):
                p[i] = c
            out.append(tuple(p))
        return out

    def complete(self, partial: tuple) -> tuple:
        return tuple(max(a, 0) for a in partial)


def toy_reward(arch: tuple) -> float:
    return 100.0 - sum((a - t) ** 2 for a, t in zip(arch, TARGET))


class ToyEvaluator(Evaluator):
    name = "toy"

    def __init__(self, sleep: float = 0.0) -> None:
        self.sleep = sleep
        self.calls = 0

    def evaluate(self, space: SearchSpace, arch: tuple, seed: int = 0) -> EvalResult:
        self.calls += 1
        if self.sleep:
            time.sleep(self.sleep)
        r = toy_reward(arch)
        # the "reported" figure: correlated with the reward, not identical
        return EvalResult(r, {"test_acc": r - 0.5 * (arch[0] % 2)}, {"params": float(sum(arch))})
