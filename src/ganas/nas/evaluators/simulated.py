"""A simulated training time around another evaluator (benchmarks of executors and the
parameter server on tabular benchmarks: a table lookup costs microseconds, a child
costs hours; this sleeps in between).

``SimulatedTime(inner, seconds, spread)``: each evaluation sleeps
``seconds * (1 - spread + 2 * spread * u)``, ``u`` uniform in [0, 1) drawn from
(arch, seed) -- the same child always takes the same time -- then returns what
``inner`` returns, with the simulated seconds in ``cost["simulated_s"]``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from ..base import Arch, EvalResult, Evaluator, SearchSpace


@dataclass
class SimulatedSettings:
    seconds: float = 1.0
    spread: float = 0.5


class SimulatedTime(Evaluator):
    def __init__(self, inner: Evaluator, seconds: float = 1.0, spread: float = 0.5) -> None:
        if seconds < 0 or not 0.0 <= spread <= 1.0:
            raise ValueError(f"simulated time: seconds >= 0 and spread in [0, 1], got {seconds}, {spread}")
        self.inner = inner
        self.settings = SimulatedSettings(seconds, spread)
        self.name = f"{inner.name or type(inner).__name__}+simulated"
        self.placement_keys = inner.placement_keys

    def place(self, device: str) -> None:
        self.inner.place(device)

    def duration(self, space: SearchSpace, arch: Arch, seed: int) -> float:
        h = hashlib.sha1(f"{space.to_string(arch)}/{seed}".encode()).digest()
        u = int.from_bytes(h[:8], "little") / 2**64
        s = self.settings
        return s.seconds * (1.0 - s.spread + 2.0 * s.spread * u)

    def evaluate(self, space: SearchSpace, arch: Arch, seed: int = 0) -> EvalResult:
        t = self.duration(space, arch, seed)
        time.sleep(t)
        r = self.inner.evaluate(space, arch, seed)
        return EvalResult(r.reward, dict(r.metrics), {**r.cost, "simulated_s": t})
