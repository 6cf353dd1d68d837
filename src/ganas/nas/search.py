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

JOURNAL = "journal.jsonl"
STATE = "strategy.pt"
CONFIG = "search.yaml"
BEST = "best.json"
SUMMARY = "search.json"
PLOT = "best_so_far.png"


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
        old = yaml.safe_load(cfg_path.read_text()) or {}
        _check_config(cfg_path, old, cfg)
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
    from .strategies.base import SearchFinished, search_reward

    finished = False
    try:
        while told < budget and not finished:
            jobs = []
            for j in range(min(max(1, executor.slots), budget - told)):
                try:  # a strategy with its own schedule (pnas) may end before the budget
                    jobs.append(Job(told + j, strategy.ask(), eval_seed(seed, told + j)))
                except SearchFinished:
                    finished = True
                    break
            if not jobs:
                break
            n = len(jobs)
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
                r = search_reward(strategy, d.result)
                if not math.isfinite(r):
                    raise NonFiniteLossError(
                        f"evaluation {d.job.index} ({space.to_string(d.job.arch)}): non-finite reward {r}"
                    )
                entry = {"i": d.job.index, "arch": space.to_string(d.job.arch), "reward": r,
                         "metrics": dict(d.result.metrics), "cost": dict(d.result.cost),
                         "seed": d.job.seed, "time": d.seconds}
                if d.result.curve:  # per-epoch series (train evaluator: val_acc per epoch)
                    entry["curve"] = {k: list(v) for k, v in d.result.curve.items()}
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
    if not history:
        raise ConfigError(f"strategy {strategy.name!r} proposed nothing to evaluate")
    from .rank_quality import rank_quality

    extra = {"rank_quality": rank_quality(strategy, space, evaluator)}
    return _finish(out, cfg, history, strategy, resumed_from, mismatches, space, extra)


def best_so_far(rewards: Sequence[float]) -> list[float]:
    out, best = [], -math.inf
    for r in rewards:
        best = max(best, r)
        out.append(best)
    return out


def _finish(out: Path, cfg: Mapping[str, Any], history: list[dict[str, Any]], strategy: Strategy,
            resumed_from: int, mismatches: int, space: SearchSpace,
            extra: Mapping[str, Any] | None = None) -> SearchResult:
    best = max(history, key=lambda e: e["reward"])  # first of equals (history is in order)
    rewards = [float(e["reward"]) for e in history]
    curve = best_so_far(rewards)
    best_doc = {"i": best["i"], "arch": best["arch"], "reward": best["reward"], "metrics": best["metrics"],
                "cost": best["cost"], "space": cfg["space"], "strategy": cfg["strategy"]}
    atomic_write_bytes(out / BEST, json.dumps(best_doc, indent=2, default=_jsonable).encode())
    stats = strategy.stats() if callable(getattr(strategy, "stats", None)) else []  # type: ignore[attr-defined]
    summary = {**{k: cfg[k] for k in ("space", "strategy", "evaluator", "budget", "seed")},
               "evaluations": len(history), "best": best_doc,
               "curve": {"evaluation": list(range(1, len(history) + 1)), "reward": rewards,
                         "best_so_far": curve},
               "strategy_stats": stats, "plot": PLOT, **dict(extra or {})}
    atomic_write_bytes(out / SUMMARY, json.dumps(summary, indent=2, default=_jsonable).encode())
    plot_curve(out / PLOT, curve, rewards, title=f"{cfg['strategy']} on {cfg['space']}: best reward so far")
    return SearchResult(space.from_string(best["arch"]), best, history, out, resumed_from, mismatches)


# -- plot (Pillow only) ------------------------------------------------------------------
def _fmt(v: float) -> str:
    return f"{v:.4g}"


def plot_curve(path: Path, best: Sequence[float], rewards: Sequence[float] | None = None,
               title: str = "", size: tuple[int, int] = (640, 400)) -> None:
    """A PNG of best-so-far (line) and every reward (grey dots) against evaluations."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    left, right, top, bottom = 70, 20, 30, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    pts = list(rewards or []) + list(best)
    lo, hi = (min(pts), max(pts)) if pts else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(best), 2)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (w - left - right) * (i / (n - 1))
        y = h - bottom - (h - top - bottom) * ((v - lo) / (hi - lo))
        return x, y

    d.line([(left, top), (left, h - bottom), (w - right, h - bottom)], fill="black", width=1)
    for k in range(5):  # y ticks
        v = lo + (hi - lo) * k / 4
        _, y = xy(0, v)
        d.line([(left - 4, y), (left, y)], fill="black")
        d.text((4, y - 6), _fmt(v), fill="black", font=font)
    for k in range(5):  # x ticks (evaluation numbers, 1-based)
        i = round((n - 1) * k / 4)
        x, _ = xy(i, lo)
        d.line([(x, h - bottom), (x, h - bottom + 4)], fill="black")
        d.text((x - 8, h - bottom + 6), str(i + 1), fill="black", font=font)
    d.text((w // 2 - 30, h - 20), "evaluations", fill="black", font=font)
    d.text((4, 8), f"{title}  (y: reward)", fill="black", font=font)
    for i, r in enumerate(rewards or []):
        x, y = xy(i, r)
        d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(170, 170, 170))
    if len(best) == 1:
        x, y = xy(0, best[0])
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(31, 119, 180))
    elif best:
        d.line([xy(i, v) for i, v in enumerate(best)], fill=(31, 119, 180), width=2)
    buf_path = Path(path)
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(buf_path, buf.getvalue())


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
        best_r, best_rep = -math.inf, math.nan
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
            if r > best_r:
                if report_key not in res.metrics:
                    raise ConfigError(
                        f"run_seeds: evaluator {evaluator.name!r} reports no metric {report_key!r} "
                        f"(it has {sorted(res.metrics)})"
                    )
                best_r, best_rep = r, float(res.metrics[report_key])
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
