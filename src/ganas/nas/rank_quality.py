"""What a tabular benchmark says about a search once it is over: how well a
predictor-guided strategy RANKED its candidates, and the reported-accuracy thresholds
of the multi-seed ``queries_to`` figure.

Rank quality (the point of PNAS, Liu et al. 2018, Sec. 5.3 / Fig. 4: the predictor's
ranking must be right). A strategy with ``rank_log()`` (``pnas``, ``predictor_local``)
keeps every candidate each stage ranked with its predicted reward. On a tabular
evaluator every candidate's true reward is a free lookup, so after the search each
stage's Spearman correlation is computed over ALL the candidates it ranked (not only
the K it evaluated), against the search signal (``spearman``: the reward the
predictor was trained to predict) and against the reported metric (``spearman_test``:
``metrics["test_acc"]``, the 200-epoch test accuracy on NAS-Bench-201). The lookups
are for the report only: nothing is told to the strategy.

``rank_quality(...)`` gives one row per stage for one search (``search.json`` key
``rank_quality``); ``mean_rank_quality(...)`` averages the rows of many seeds (the
``--seeds`` summary key ``rank_quality``); ``format_rank_quality`` prints either.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import ConfigError
from .base import Evaluator, SearchSpace, Strategy
from .strategies.predictors import spearman

#: default ``queries_to`` thresholds (reported test accuracy, percent) per NAS-Bench-201
#: dataset; the best cells reach 94.37 / 73.51 / 47.31
DEFAULT_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "cifar10": (94.0, 94.3),
    "cifar100": (72.5, 73.0),
    "imagenet16-120": (46.0, 46.5),
}


def default_thresholds(dataset: str | None) -> tuple[float, ...]:
    """The ``queries_to`` thresholds of a benchmark dataset (() for an unknown one)."""
    return DEFAULT_THRESHOLDS.get(str(dataset or "").lower(), ())


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``"94.0,94.3"`` -> (94.0, 94.3); a bad value names the option."""
    try:
        out = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"--thresholds expects numbers separated by commas, e.g. 94.0,94.3; got {text!r}") from None
    if not out or not all(math.isfinite(t) for t in out):
        raise ConfigError(f"--thresholds {text!r} names no finite threshold")
    return out


def _is_table(evaluator: Evaluator) -> bool:
    from .evaluators.tabular import TabularEvaluator

    return isinstance(evaluator, TabularEvaluator)


def rank_quality(strategy: Strategy, space: SearchSpace, evaluator: Evaluator,
                 report_key: str = "test_acc") -> list[dict[str, Any]] | None:
    """Per ranking stage of ``strategy``: ``{"stage", "level", "ranked", "spearman",
    "spearman_test"}`` over every candidate it ranked, looked up in ``evaluator``'s
    table. None when the strategy logs no rankings or the evaluator is not a table
    (real training would have to train every candidate)."""
    log = getattr(strategy, "rank_log", None)
    if not callable(log) or not _is_table(evaluator):
        return None
    stages: dict[int, dict[str, Any]] = {}
    for stage, level, archs, preds in log():
        s = stages.setdefault(int(stage), {"level": int(level), "pred": [], "reward": [], "reported": []})
        for arch, p in zip(archs, preds):
            res = evaluator.evaluate(space, tuple(arch))
            s["pred"].append(float(p))
            s["reward"].append(float(res.reward))
            s["reported"].append(float(res.metrics.get(report_key, math.nan)))
    rows = []
    for stage in sorted(stages):
        s = stages[stage]
        reported = s["reported"] if not any(math.isnan(v) for v in s["reported"]) else []
        rows.append({"stage": stage, "level": s["level"], "ranked": len(s["pred"]),
                     "spearman": spearman(s["pred"], s["reward"]),
                     "spearman_test": spearman(s["pred"], reported) if reported else None})
    return rows


def _mean_std(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def mean_rank_quality(per_seed: Iterable[list[dict[str, Any]] | None]) -> list[dict[str, Any]] | None:
    """Average ``rank_quality`` rows over seeds, stage by stage: ``{"stage", "level",
    "seeds", "ranked" (mean), "spearman": {"mean", "std"}, "spearman_test": ...}``
    (None where no seed has a defined correlation). None when no seed has rows."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    any_rows = False
    for rows in per_seed:
        if rows is None:
            continue
        any_rows = True
        for r in rows:
            groups.setdefault((int(r["stage"]), int(r["level"])), []).append(r)
    if not any_rows:
        return None
    out = []
    for (stage, level) in sorted(groups):
        rs = groups[(stage, level)]
        out.append({"stage": stage, "level": level, "seeds": len(rs),
                    "ranked": float(np.mean([r["ranked"] for r in rs])),
                    "spearman": _mean_std([r["spearman"] for r in rs if r["spearman"] is not None]),
                    "spearman_test": _mean_std([r["spearman_test"] for r in rs if r["spearman_test"] is not None])})
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, dict):
        return f"{v['mean']:.3f} +- {v['std']:.3f}"
    return f"{v:.3f}"


def format_rank_quality(rows: list[dict[str, Any]] | None) -> str:
    """Lines for the terminal: one per stage ("" when there is nothing to say)."""
    if not rows:
        return ""
    lines = ["predictor rank quality (Spearman over every candidate ranked, looked up in the table):"]
    for r in rows:
        seeds = f", {r['seeds']} seeds" if "seeds" in r else ""
        lines.append(f"  stage {r['stage']} (level {r['level']}): {r['ranked']:g} ranked{seeds}; "
                     f"vs reward {_fmt(r['spearman'])}, vs test accuracy {_fmt(r['spearman_test'])}")
    return "\n".join(lines)
