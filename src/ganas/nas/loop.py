"""The search loop: ask when a worker is free, tell each result as it arrives.

``run_search`` keeps up to ``executor.slots`` evaluations running. Whenever results
arrive it journals them (one write + fsync for the batch), tells the strategy each one
in arrival order, asks for new proposals to fill the free slots, submits them and
saves the strategy state (atomically; every ``save_every`` seconds, 0 = after every
batch). With the local executor (one slot) this is today's exact sequence: ask,
evaluate, journal, tell, save.

Failures: a child that raises (or whose worker dies) is retried by the executor up to
its ``retries``; then, or at once for a non-finite reward, it is journaled as failed
(``"failed": true``, its ``"error"``), the strategy is told ``failure_reward`` and the
search goes on. Failed evaluations count in the budget and are never "best".

Resume = the same call on the same ``out_dir`` (any executor, any number of slots).
The saved state holds the strategy, how many journal lines it has been told, and the
jobs it had asked for that were still running (resubmitted). Journal lines beyond the
saved state (a kill between the journal write and the state save) are replayed: told
in file order, the strategy asked again for what it proposed in between (its RNG state
was saved, so it proposes the same architectures); a proposal that differs from the
journal is reported and the journal's architecture and result are used. The number of
slots changes the order of proposals, so each invocation's executor and slots are
recorded in ``search.yaml`` (``runs``).

At the end: ``best.json`` (the best architecture by the search signal), ``search.json``
(the best-so-far curve and strategy statistics) and ``best_so_far.png``.
"""

from __future__ import annotations

import dataclasses
import io
import math
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from ..errors import CheckpointError, ConfigError, DataError
from ..fileio import atomic_write_bytes
from ..layout import read_search_config
from .base import Arch, Evaluator, SearchSpace, Strategy
from .best import best_so_far, running_best
from .strategies.base import SearchFinished, search_reward
from .executors.base import Done, Executor, Job
from .journal import (BEST, CONFIG, JOURNAL, PLOT, STATE, SUMMARY, Journal, _jsonable, check_config,
                      eval_seed, load_state, normalise, save_state, search_config)


@dataclasses.dataclass
class SearchResult:
    best_arch: Arch
    best: dict[str, Any]  # the journal entry of the best evaluation
    history: list[dict[str, Any]]  # every journal entry, by evaluation index
    out_dir: Path
    resumed_from: int = 0  # finished evaluations found in the journal at start
    replay_mismatches: int = 0
    failed: int = 0  # evaluations recorded as failed


def _entry(space: SearchSpace, d: Done, failure_reward: float, strategy: Strategy) -> dict[str, Any]:
    e: dict[str, Any] = {"i": d.job.index, "arch": space.to_string(d.job.arch), "seed": d.job.seed,
                         "time": d.seconds}
    if d.result is None:
        e.update(reward=float(failure_reward), metrics={}, cost={}, failed=True, error=d.error,
                 attempts=d.attempts)
    else:
        # the strategy's search signal (REINFORCE: max val acc of the last epochs, cubed)
        e.update(reward=search_reward(strategy, d.result), metrics=dict(d.result.metrics), cost=dict(d.result.cost))
        if getattr(d.result, "curve", None):  # per-epoch series (train evaluator: val_acc per epoch)
            e["curve"] = {k: list(v) for k, v in d.result.curve.items()}
        if d.attempts > 1:
            e["attempts"] = d.attempts
    return normalise(e)


def _record_run(cfg_path: Path, cfg: dict[str, Any], old: Mapping[str, Any] | None, executor: Executor,
                at: int) -> dict[str, Any]:
    runs = list((old or {}).get("runs") or [])
    runs.append({"executor": executor.name, "slots": int(executor.slots), "at": int(at)})
    cfg = {**cfg, "runs": runs}
    atomic_write_bytes(cfg_path, yaml.safe_dump(cfg, sort_keys=False).encode())
    return cfg


def run_search(space: SearchSpace, strategy: Strategy, evaluator: Evaluator, budget: int,
               out_dir: str | Path, seed: int = 0, executor: Executor | None = None, *,
               failure_reward: float = 0.0, save_every: float = 0.0) -> SearchResult:
    """Search ``budget`` evaluations into ``out_dir`` (resuming what is there).

    ``executor``: default ``LocalExecutor()``; it is closed at the end, whatever
    happens. ``failure_reward``: what the strategy is told for a failed child.
    ``save_every``: seconds between strategy-state saves (0: after every batch).
    """
    if budget < 1:
        raise ConfigError(f"budget must be >= 1, got {budget}")
    if executor is None:
        from .executors.local import LocalExecutor

        executor = LocalExecutor()
    journal: Journal | None = None
    try:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        cfg = search_config(space, strategy, evaluator, budget, seed)
        cfg_path = out / CONFIG
        old = None
        if cfg_path.exists():
            old = read_search_config(out)
            check_config(cfg_path, old, cfg, evaluator.placement_keys)

        journal = Journal(out / JOURNAL)
        lines = journal.read()
        known: dict[int, dict[str, Any]] = {}
        for e in lines:
            if int(e["i"]) in known:
                raise DataError(f"{journal.path}: evaluation {e['i']} recorded twice")
            known[int(e["i"])] = e
        executor.start(evaluator, space, out)
        strategy.bind(executor.host)
        told, nxt, pending = 0, 0, []
        if (out / STATE).exists():
            st = load_state(out / STATE)
            strategy.load_state_dict(st["strategy"])
            told, nxt = int(st["told"]), int(st["next"])
            pending = [Job(int(i), space.from_string(a), int(s)) for i, a, s in st["pending"]]
        if told > len(lines) or nxt < told:
            raise CheckpointError(
                f"{out / STATE}: the strategy state has seen {told} results but {journal.path} holds "
                f"{len(lines)}; the journal was truncated or replaced"
            )
        cfg = _record_run(cfg_path, cfg, old, executor, told)
        loop = _Loop(space, strategy, executor, journal, budget, seed, failure_reward, known)
        loop.told, loop.next = told, nxt
        loop.ahead = deque(lines[told:])
        loop.outstanding = {j.index: j for j in pending}
        for j in pending:
            if j.index not in known:
                executor.submit(j)
                loop.live.add(j.index)
        loop.run(lambda: save_state(out / STATE, loop.state()), save_every)
    finally:
        try:
            executor.close()
        finally:
            if journal is not None:
                journal.close()
    history = [known[i] for i in sorted(known)]
    if not history:
        raise ConfigError(f"strategy {strategy.name!r} proposed nothing to evaluate")
    from .rank_quality import rank_quality

    extra = {"rank_quality": rank_quality(strategy, space, evaluator)}
    return _finish(out, cfg, history, strategy, len(lines), loop.mismatches, space, extra)


class _Loop:
    """The event loop of one ``run_search`` call (its state is what gets saved)."""

    def __init__(self, space: SearchSpace, strategy: Strategy, executor: Executor, journal: Journal,
                 budget: int, seed: int, failure_reward: float, known: dict[int, dict[str, Any]]) -> None:
        self.space, self.strategy, self.executor, self.journal = space, strategy, executor, journal
        self.budget, self.seed, self.failure_reward, self.known = budget, seed, failure_reward, known
        self.told = 0  # journal lines (file order) told to the strategy
        self.next = 0  # index of the next proposal
        self.ahead: deque[dict[str, Any]] = deque()  # journal lines not yet told
        self.outstanding: dict[int, Job] = {}  # asked, not told
        self.live: set[int] = set()  # submitted to the executor, not collected
        self.mismatches = 0
        self.finished = False  # the strategy's own schedule ended (pnas after level B)

    def state(self) -> dict[str, Any]:
        pending = [[j.index, self.space.to_string(j.arch), j.seed] for _, j in sorted(self.outstanding.items())]
        return {"told": self.told, "next": self.next, "pending": pending, "slots": self.executor.slots,
                "strategy": self.strategy.state_dict()}

    def _tell(self, e: Mapping[str, Any]) -> None:
        self.outstanding.pop(int(e["i"]), None)
        self.strategy.tell(self.space.from_string(e["arch"]), float(e["reward"]))
        self.told += 1

    def _ask(self) -> bool:
        """One proposal as evaluation ``next``; False when the strategy has none now."""
        if self.finished:
            return False
        try:
            arch = self.strategy.ask()
        except SearchFinished:  # a strategy with its own schedule may end before the budget
            self.finished = True
            return False
        if arch is None:
            return False
        job = Job(self.next, tuple(arch), eval_seed(self.seed, self.next))
        self.next += 1
        e = self.known.get(job.index)
        if e is None:
            self.executor.submit(job)
            self.live.add(job.index)
        elif self.space.to_string(job.arch) != e["arch"]:
            self.mismatches += 1
            warnings.warn(
                f"{self.journal.path}: on resume, strategy {self.strategy.name!r} proposed "
                f"{self.space.to_string(job.arch)} as evaluation {job.index} but the journal holds "
                f"{e['arch']}; using the journal's architecture and result", stacklevel=3,
            )
        self.outstanding[job.index] = job
        return True

    def _replay(self) -> None:
        """Tell the journal lines beyond the saved state, in file order. Lines that were
        running together are told together, then the free slots are refilled (as the
        live loop does after each batch); a line asked after the saved state is asked
        again."""
        while self.ahead:
            i = int(self.ahead[0]["i"])
            if i in self.outstanding:
                self._tell(self.ahead.popleft())
                continue
            if i < self.next:
                raise CheckpointError(f"{self.journal.path}: evaluation {i} is in the journal twice "
                                      "or was never proposed")
            self._refill()
            while i not in self.outstanding:
                if i < self.next or not self._ask():
                    raise CheckpointError(
                        f"{self.journal.path}: evaluation {i} is in the journal but strategy "
                        f"{self.strategy.name!r} does not propose it on replay")

    def _refill(self) -> None:
        while len(self.outstanding) < self.executor.slots and self.next < self.budget:
            if not self._ask():
                return

    def run(self, save: Any, save_every: float) -> None:
        last_save = -math.inf
        while True:
            self._replay()
            self._refill()
            finished = self.told >= self.budget or (self.finished and not self.outstanding)
            if finished or save_every <= 0 or time.monotonic() - last_save >= save_every:
                save()
                last_save = time.monotonic()
            if finished:
                return
            if not self.live:
                raise ConfigError(
                    f"strategy {self.strategy.name!r} proposes nothing while no evaluation is running "
                    f"({self.told} of {self.budget} told)")
            dones = self.executor.collect()
            entries = [_entry(self.space, d, self.failure_reward, self.strategy) for d in dones
                       if d.job.index not in self.known]  # exactly once, whatever a worker sends
            self.journal.append_many(entries)
            for d in dones:
                self.live.discard(d.job.index)
            for e in entries:
                self.known[int(e["i"])] = e
                self._tell(e)
            for e in entries:
                if e.get("failed"):
                    warnings.warn(f"evaluation {e['i']} ({e['arch']}) failed after {e['attempts']} "
                                  f"attempt(s): {e['error']}", RuntimeWarning, stacklevel=2)


def _finish(out: Path, cfg: Mapping[str, Any], history: list[dict[str, Any]], strategy: Strategy,
            resumed_from: int, mismatches: int, space: SearchSpace,
            extra: Mapping[str, Any] | None = None) -> SearchResult:
    ok = [e for e in history if not e.get("failed")]
    if not ok:
        raise DataError(f"{out / JOURNAL}: every one of the {len(history)} evaluations failed "
                        f"(first error: {history[0].get('error') if history else None})")
    rewards = [float(e["reward"]) for e in history]
    # first of equals (history is in order); a failed child never wins
    best = history[running_best([math.nan if e.get("failed") else r for e, r in zip(history, rewards)])[-1]]
    curve = best_so_far(rewards)
    best_doc = {"i": best["i"], "arch": best["arch"], "reward": best["reward"], "metrics": best["metrics"],
                "cost": best["cost"], "space": cfg["space"], "strategy": cfg["strategy"]}
    atomic_write_bytes(out / BEST, json_bytes(best_doc))
    stats = strategy.stats() if callable(getattr(strategy, "stats", None)) else []  # type: ignore[attr-defined]
    summary = {**{k: cfg[k] for k in ("space", "strategy", "evaluator", "budget", "seed")},
               "evaluations": len(history), "failed": len(history) - len(ok), "best": best_doc,
               "curve": {"evaluation": list(range(1, len(history) + 1)), "reward": rewards,
                         "best_so_far": curve},
               "strategy_stats": stats, "plot": PLOT, **dict(extra or {})}
    atomic_write_bytes(out / SUMMARY, json_bytes(summary))
    from ..report.charts import write_search_curve

    write_search_curve(out / PLOT, curve, rewards, title=f"{cfg['strategy']} on {cfg['space']}: best reward so far")
    return SearchResult(space.from_string(best["arch"]), best, history, out, resumed_from, mismatches,
                        len(history) - len(ok))


def json_bytes(doc: Any) -> bytes:
    import json

    return json.dumps(doc, indent=2, default=_jsonable).encode()
