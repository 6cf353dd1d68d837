"""The search loop, its journal, and multi-seed simulations on tabular benchmarks.

``run_search`` asks the strategy for architectures, has the executor evaluate them,
and records every finished evaluation in ``OUT/journal.jsonl`` -- one JSON line
``{"i", "arch", "reward", "metrics", "cost", "seed", "time"}`` per evaluation
(``arch``: the space's canonical string; ``seed``: the evaluation's seed; ``time``:
wall-clock seconds of the evaluation), appended with a single ``write`` of the whole
line, then flush + fsync. After every batch of tells (one evaluation with the local
executor) the strategy state is saved atomically to ``OUT/strategy.pt`` (write to a
temporary file, fsync, rename), loaded back with ``weights_only=True``.

Resume = the same call on the same ``out_dir``. A torn last journal line (a kill in
the middle of a write) is detected and dropped. The strategy state is reloaded; if
the journal is ahead of it (a kill between the journal write and the state save), the
journal's results are replayed into the strategy: it is asked again (its RNG state
was saved, so it proposes the same architectures) and told the recorded results, so
no finished evaluation is lost or repeated. If a replayed proposal differs from the
journal, a warning says so and the journal's architecture and result are used.

``OUT/search.yaml`` records space, strategy (and their settings), evaluator and seed;
a resume with a different one is refused. The budget may grow, not shrink.

At the end: ``best.json`` (the best architecture by the search signal), ``search.json``
(the best-so-far curve and strategy statistics) and ``best_so_far.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
import yaml

from ..config import to_dict
from ..fileio import atomic_write_bytes
from ..errors import CheckpointError, ConfigError, DataError, NonFiniteLossError
from .base import Arch, Evaluator, SearchSpace, Strategy
from .executors.base import Done, Executor, Job

from ..layout import BEST, BEST_PLOT as PLOT, JOURNAL, SEARCH_CONFIG as CONFIG, STRATEGY_STATE as STATE, SUMMARY
from ..layout import read_search_config
from .best import BestSoFar, best_so_far, running_best


# -- files -------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


class Journal:
    """Append-only JSON-lines file of finished evaluations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """All complete entries; a torn last line is dropped (and cut from the file)."""
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        cut = raw.rfind(b"\n") + 1  # everything after the last newline is torn
        if cut < len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
        entries = []
        for n, line in enumerate(raw[:cut].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                int(e["i"]), str(e["arch"]), float(e["reward"])
            except (ValueError, KeyError, TypeError) as err:
                raise DataError(f"{self.path}: line {n} is not a journal entry ({err})") from None
            entries.append(e)
        return entries

    def append(self, entry: Mapping[str, Any]) -> None:
        line = (json.dumps(entry, default=_jsonable, sort_keys=True) + "\n").encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(line)
        while view:  # one write of the full line in practice; loop only on short writes
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _settings_of(obj: Any) -> dict[str, Any]:
    for attr in ("settings", "cfg", "config"):
        v = getattr(obj, attr, None)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return to_dict(v)
    return {}


def search_config(space: SearchSpace, strategy: Strategy, evaluator: Evaluator, budget: int,
                  seed: int) -> dict[str, Any]:
    return {
        "space": space.name,
        "space_settings": _settings_of(space),
        "strategy": strategy.name,
        "strategy_settings": _settings_of(strategy),
        "evaluator": evaluator.name or type(evaluator).__name__,
        "evaluator_settings": _settings_of(evaluator),
        "budget": int(budget),
        "seed": int(seed),
    }


def _check_config(path: Path, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key in ("space", "space_settings", "strategy", "strategy_settings", "evaluator",
                "evaluator_settings", "seed"):
        if old.get(key) != new.get(key):
            raise ConfigError(
                f"{path}: this search was started with {key}={old.get(key)!r}, not {new.get(key)!r}; "
                "resume it with the same settings or use another output folder"
            )
    if int(new["budget"]) < int(old.get("budget", 0)):
        raise ConfigError(
            f"{path}: budget may grow but not shrink (was {old.get('budget')}, asked {new['budget']})"
        )


def eval_seed(seed: int, i: int) -> int:
    """The seed of evaluation ``i`` of a search seeded ``seed``."""
    return (int(seed) * 1_000_003 + int(i)) % (2**31 - 1)


# -- the loop ------------------------------------------------------------------------------
@dataclasses.dataclass
class SearchResult:
    best_arch: Arch
    best: dict[str, Any]  # the journal entry of the best evaluation
    history: list[dict[str, Any]]  # every journal entry, by evaluation index
    out_dir: Path
    resumed_from: int = 0  # finished evaluations found in the journal at start
    replay_mismatches: int = 0


def _save_state(path: Path, told: int, strategy: Strategy) -> None:
    import io

    buf = io.BytesIO()
    torch.save({"version": 1, "told": told, "strategy": strategy.state_dict()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_state(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad checkpoint
        raise CheckpointError(f"{path}: cannot load the strategy state safely ({e})") from None
    if not isinstance(state, dict) or "told" not in state or "strategy" not in state:
        raise CheckpointError(f"{path}: not a strategy state written by run_search")
    return state


def run_search(space: SearchSpace, strategy: Strategy, evaluator: Evaluator, budget: int,
               out_dir: str | Path, seed: int = 0, executor: Executor | None = None) -> SearchResult:
    """Search ``budget`` evaluations into ``out_dir`` (resuming what is there)."""
    if budget < 1:
        raise ConfigError(f"budget must be >= 1, got {budget}")
    if executor is None:
        from .executors.local import LocalExecutor

        executor = LocalExecutor()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = search_config(space, strategy, evaluator, budget, seed)
    cfg_path = out / CONFIG
    if cfg_path.exists():
        _check_config(cfg_path, read_search_config(out), cfg)
    atomic_write_bytes(cfg_path, yaml.safe_dump(cfg, sort_keys=False).encode())

    journal = Journal(out / JOURNAL)
    known: dict[int, dict[str, Any]] = {}
    for e in journal.read():
        if int(e["i"]) in known:
            raise DataError(f"{journal.path}: evaluation {e['i']} recorded twice")
        known[int(e["i"])] = e
    resumed_from = len(known)
    told = 0
    if (out / STATE).exists():
        st = _load_state(out / STATE)
        strategy.load_state_dict(st["strategy"])
        told = int(st["told"])
    if told > len(known) or any(i not in known for i in range(told)):
        raise CheckpointError(
            f"{out / STATE}: the strategy state has seen {told} results but {journal.path} holds "
            f"{len(known)}; the journal was truncated or replaced"
        )
    mismatches = 0
    try:
        while told < budget:
            n = min(max(1, executor.slots), budget - told)
            jobs = [Job(told + j, strategy.ask(), eval_seed(seed, told + j)) for j in range(n)]
            todo = []
            for job in jobs:
                e = known.get(job.index)
                if e is None:
                    todo.append(job)
                    continue
                if space.to_string(job.arch) != e["arch"]:
                    mismatches += 1
                    warnings.warn(
                        f"{journal.path}: on resume, strategy {strategy.name!r} proposed "
                        f"{space.to_string(job.arch)} as evaluation {job.index} but the journal holds "
                        f"{e['arch']}; using the journal's architecture and result", stacklevel=2,
                    )

            def record(d: Done) -> None:
                r = float(d.result.reward)
                if not math.isfinite(r):
                    raise NonFiniteLossError(
                        f"evaluation {d.job.index} ({space.to_string(d.job.arch)}): non-finite reward {r}"
                    )
                entry = {"i": d.job.index, "arch": space.to_string(d.job.arch), "reward": r,
                         "metrics": dict(d.result.metrics), "cost": dict(d.result.cost),
                         "seed": d.job.seed, "time": d.seconds}
                journal.append(entry)
                known[d.job.index] = json.loads(json.dumps(entry, default=_jsonable))

            if todo:
                executor.run(evaluator, space, todo, on_done=record)
            for job in jobs:
                e = known[job.index]
                strategy.tell(space.from_string(e["arch"]), float(e["reward"]))
            told += n
            _save_state(out / STATE, told, strategy)
    finally:
        journal.close()
    history = [known[i] for i in sorted(known)]
    return _finish(out, cfg, history, strategy, resumed_from, mismatches, space)


def _finish(out: Path, cfg: Mapping[str, Any], history: list[dict[str, Any]], strategy: Strategy,
            resumed_from: int, mismatches: int, space: SearchSpace) -> SearchResult:
    rewards = [float(e["reward"]) for e in history]
    best = history[running_best(rewards)[-1]]  # first of equals (history is in order)
    curve = best_so_far(rewards)
    best_doc = {"i": best["i"], "arch": best["arch"], "reward": best["reward"], "metrics": best["metrics"],
                "cost": best["cost"], "space": cfg["space"], "strategy": cfg["strategy"]}
    atomic_write_bytes(out / BEST, json.dumps(best_doc, indent=2, default=_jsonable).encode())
    stats = strategy.stats() if callable(getattr(strategy, "stats", None)) else []  # type: ignore[attr-defined]
    summary = {**{k: cfg[k] for k in ("space", "strategy", "evaluator", "budget", "seed")},
               "evaluations": len(history), "best": best_doc,
               "curve": {"evaluation": list(range(1, len(history) + 1)), "reward": rewards,
                         "best_so_far": curve},
               "strategy_stats": stats, "plot": PLOT}
    atomic_write_bytes(out / SUMMARY, json.dumps(summary, indent=2, default=_jsonable).encode())
    from ..report.charts import write_search_curve
    write_search_curve(out / PLOT, curve, rewards, title=f"{cfg['strategy']} on {cfg['space']}: best reward so far")
    return SearchResult(space.from_string(best["arch"]), best, history, out, resumed_from, mismatches)


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
    there: the median would be "never").
    """
    from .strategies import make_strategy

    seeds = list(seeds)
    finals: list[float] = []
    firsts: dict[float, list[float]] = {t: [] for t in thresholds}
    seconds: list[float] = []
    for s in seeds:
        t0 = time.perf_counter()
        strat = make_strategy(strategy_name, space, seed=s, overrides=settings)
        tracker, best_rep = BestSoFar(), math.nan
        first = {t: math.inf for t in thresholds}
        for q in range(1, budget + 1):
            arch = strat.ask()
            res = evaluator.evaluate(space, arch, seed=eval_seed(s, q - 1))
            strat.tell(arch, float(res.reward))
            if tracker.update(res.reward):
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
    }
