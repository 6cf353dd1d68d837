"""Alternating timed repeats of benchmark variants and their paired ratios to a baseline
(one place for the throughput benchmarks)."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Mapping, Sequence


def paired_ratios(fns: Mapping[str, Callable[[], tuple[float, float]]], rounds: int, per_call: float,
                  baseline: str, orders: Callable[[int], Sequence[str]]) -> dict:
    """Run every variant's ``fn() -> (wall s, cpu s)`` once per round, in ``orders(r)``;
    ``per_call`` items (steps or images) per call. Per variant and clock: the median
    items/s, the median of the per-round ratios to ``baseline`` and those ratios."""
    ips: dict[str, dict[str, list[float]]] = {v: {"wall": [], "cpu": []} for v in fns}
    for r in range(rounds):
        for v in orders(r):
            w, c = fns[v]()
            ips[v]["wall"].append(per_call / w)
            ips[v]["cpu"].append(per_call / c)
    out: dict = {}
    for v in fns:
        row: dict = {}
        for clock in ("wall", "cpu"):
            ratios = [x / y for x, y in zip(ips[v][clock], ips[baseline][clock])]
            row[f"{clock}_images_per_s"] = round(statistics.median(ips[v][clock]), 4)
            row[f"{clock}_ratio"] = round(statistics.median(ratios), 3)
            row[f"{clock}_ratios"] = [round(x, 3) for x in ratios]
        out[v] = row
    return out


def timed(step: Callable[[], object], steps: int) -> Callable[[], tuple[float, float]]:
    """A function running ``step`` ``steps`` times and returning (wall s, process CPU s)."""

    def run() -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        return time.perf_counter() - w0, time.process_time() - c0

    return run
