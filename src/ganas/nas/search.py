"""Architecture search: the loop, its journal, and multi-seed simulations.

The loop and its files live in ``loop.py`` (``run_search``) and ``journal.py`` (the
journal, the state and settings files); this module re-exports them and holds the
multi-seed benchmark harness ``run_seeds`` (in-memory searches on tabular
benchmarks). ``from ganas.nas.search import run_search, run_seeds, Journal`` keeps
working.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from .base import Evaluator, SearchSpace
from .journal import (BEST, CONFIG, JOURNAL, PLOT, STATE, SUMMARY, Journal, check_config, eval_seed,
                      load_state, save_state, search_config)
from .best import BestSoFar, best_so_far, running_best
from .loop import SearchResult, run_search

__all__ = ["BEST", "CONFIG", "JOURNAL", "PLOT", "STATE", "SUMMARY", "Journal", "SearchResult", "best_so_far",
           "check_config", "eval_seed", "load_state", "run_search", "running_best", "run_seeds", "save_state",
           "search_config"]


# -- multi-seed simulation on tabular benchmarks ----------------------------------------
def run_seeds(space: SearchSpace, strategy_name: str, evaluator: Evaluator, budget: int,
              seeds: Iterable[int], settings: Mapping[str, Any] | None = None,
              report_key: str = "test_acc", thresholds: Sequence[float] = (94.0, 94.3)) -> dict[str, Any]:
    """In-memory searches (no journal), one per seed, on a table-backed evaluator.

    Each search returns, after every query, the architecture with the best search
    signal (reward) so far; what is reported is ``metrics[report_key]`` of the one
    returned at the end (mean/std over seeds; population std, as the NB201 papers).
    ``queries_to[str(t)]``: the median over seeds of the first query count at which
    the returned architecture reports >= t (None when fewer than half the seeds get
    there: the median would be "never"). A strategy whose own schedule ends first
    (``pnas``) stops there: ``evaluations`` gives the mean and largest count used.
    ``rank_quality``: per stage, the predictor's Spearman correlation over every
    candidate it ranked, averaged over seeds (``ganas.nas.rank_quality``; None for
    strategies without a predictor).
    """
    from .rank_quality import mean_rank_quality, rank_quality
    from .strategies import SearchFinished, make_strategy, search_reward

    seeds = list(seeds)
    finals: list[float] = []
    firsts: dict[float, list[float]] = {t: [] for t in thresholds}
    seconds: list[float] = []
    queries: list[int] = []
    ranks: list[Any] = []
    for s in seeds:
        t0 = time.perf_counter()
        strat = make_strategy(strategy_name, space, seed=s, overrides=settings)
        tracker, best_rep = BestSoFar(), math.nan
        first = {t: math.inf for t in thresholds}
        q = 0
        for q in range(1, budget + 1):
            try:
                arch = strat.ask()
            except SearchFinished:  # the strategy's own schedule ended before the budget
                q -= 1
                break
            res = evaluator.evaluate(space, arch, seed=eval_seed(s, q - 1))
            r = search_reward(strat, res)
            strat.tell(arch, r)
            if tracker.update(r):
                if report_key not in res.metrics:
                    raise ConfigError(
                        f"run_seeds: evaluator {evaluator.name!r} reports no metric {report_key!r} "
                        f"(it has {sorted(res.metrics)})"
                    )
                best_rep = float(res.metrics[report_key])
            for t in thresholds:
                if first[t] == math.inf and best_rep >= t:
                    first[t] = q
        seconds.append(time.perf_counter() - t0)
        queries.append(q)
        ranks.append(rank_quality(strat, space, evaluator, report_key))  # after the timing
        finals.append(best_rep)
        for t in thresholds:
            firsts[t].append(first[t])

    def median_or_none(v: list[float]) -> float | None:
        m = statistics.median(v) if v else math.inf
        return None if math.isinf(m) else float(m)

    return {
        "strategy": strategy_name,
        "space": space.name,
        "budget": budget,
        "seeds": len(seeds),
        "reported": {"mean": float(np.mean(finals)), "std": float(np.std(finals))},
        "queries_to": {str(float(t)): median_or_none(firsts[t]) for t in thresholds},
        "seconds_per_search": float(np.mean(seconds)) if seconds else 0.0,
        "evaluations": {"mean": float(np.mean(queries)), "max": int(max(queries))},
        "rank_quality": mean_rank_quality(ranks),
    }
