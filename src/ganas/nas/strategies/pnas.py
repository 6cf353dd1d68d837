"""Progressive NAS, Liu et al. 2018, "Progressive Neural Architecture Search"
(Algorithm 1), on any space with the ``progressive_levels/initial/expand/complete``
hooks of ``SearchSpace``.

Level 1: evaluate the initial partial architectures (all of them, or ``initial``
sampled ones). Level l -> l+1: expand the ``K`` best of level l by one step in every
possible way, fit the surrogate predictor on every (architecture, reward) seen so far,
rank the expansions by predicted reward and evaluate the top ``K``; their results join
the predictor's data. Partial architectures are evaluated as ``space.complete(p)``.

Past the last level (``refine``, NOTE: not in the paper, which stops after level B):
the budget left is spent on the same loop over the unevaluated last-level
expansions -- refit, rank, evaluate the top ``K`` -- and, once those are exhausted,
on the unevaluated neighbours of the ``K`` best architectures. A strategy does not
know the budget, so this keeps it useful however large the budget is.

Budget choice on NAS-Bench-201 (100 queries; the nb201 space grows node by node:
5 one-edge cells, then 25 and 125 extensions per parent): level 1 evaluates all 5
initial cells, and ``K = 10`` leaves ~85 queries for levels 2-3 and refinement, with
a predictor refit every 10 queries (see benchmarks/nas_nb201.py for K measured).

The predictor's Spearman rank correlation on each stage's newly evaluated
architectures (predicted before they were evaluated vs. their rewards) is kept in
``stats()`` -- the paper's measure of predictor quality (its Fig. 4).

Partial architectures are stored by their PATH (index in ``initial()``, then index in
each ``expand(parent)``), so the state holds only integers and a fresh instance can
rebuild every partial deterministically.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal



from ...errors import ConfigError
from ..base import STRATEGIES, Arch, SearchSpace
from .base import SeededStrategy, arch_key
from .predictors import PREDICTORS, Predictor, spearman

Path = tuple[int, ...]
Key = tuple[int, ...]


@dataclasses.dataclass
class PNASSettings:
    K: int = 10  # beam: best kept per level, and evaluations per stage
    initial: int = 0  # level-1 candidates evaluated: 0 = all of them, else a random sample
    predictor: Literal["mlp", "lstm"] = "mlp"
    members: int = 5  # MLP ensemble size (PNAS: 5)
    hidden: int = 32
    epochs: int = 150
    lr: float = 1e-2
    refine: bool = True  # keep searching past the last level (see module doc)

    def validate(self) -> None:
        if self.K < 1 or self.initial < 0 or self.members < 1 or self.epochs < 1:
            raise ConfigError("pnas: K, members, epochs must be >= 1 and initial >= 0")


@STRATEGIES.register("pnas", help="progressive NAS with a surrogate predictor (Liu et al. 2018)")
class PNAS(SeededStrategy):
    name = "pnas"
    Config = PNASSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: PNASSettings | None = None) -> None:
        super().__init__(space, seed, config)
        self.levels = space.progressive_levels()
        if self.levels < 1:
            raise ConfigError(
                f"strategy 'pnas' needs a space with progressive growth; space {space.name!r} has none "
                "(use random, evolution or reinforce)"
            )
        self.sizes = [d.n for d in space.decisions()]
        self._partials: dict[Path, Any] = {}
        self.level = 0  # 0: not started
        self.queue: list[tuple[Key, Path | None]] = []  # to ask: (arch, path at this level or None)
        self.stage_paths: dict[Key, Path] = {}  # this level's candidates queued -> their path
        self.level_results: list[tuple[Path, float]] = []
        self.pool: list[tuple[Key, Path]] = []  # last-level expansions not yet evaluated
        self.data: dict[Key, float] = {}  # everything evaluated: the predictor's data
        self.order: list[Key] = []  # evaluation order of ``data`` (deterministic refits)
        self.stage_preds: dict[Key, float] = {}
        self.stage_level = 0
        self._stats: list[dict[str, Any]] = []

    # -- partial architectures by path -----------------------------------------------
    def partial(self, path: Path) -> Any:
        if path not in self._partials:
            if len(path) == 1:
                self._partials[path] = self.space.initial()[path[0]]
            else:
                self._partials[path] = self.space.expand(self.partial(path[:-1]))[path[-1]]
        return self._partials[path]

    def _key(self, path: Path) -> Key:
        return arch_key(self.space.complete(self.partial(path)))

    # -- predictor -----------------------------------------------------------------------
    def _make_predictor(self) -> Predictor:
        c = self.cfg
        if c.predictor == "mlp":
            return PREDICTORS["mlp"](self.sizes, self.gen, members=c.members, hidden=c.hidden, epochs=c.epochs, lr=c.lr)
        return PREDICTORS["lstm"](self.sizes, self.gen, hidden=c.hidden, epochs=c.epochs, lr=c.lr)

    def _rank(self, keys: list[Key]) -> list[tuple[Key, float]]:
        """``keys`` with predicted rewards, best first (random order without data)."""
        if len(self.data) < 2:
            preds = [self.rng.random() for _ in keys]
        else:
            pred = self._make_predictor()
            pred.fit([list(k) for k in self.order], [self.data[k] for k in self.order])
            preds = [float(p) for p in pred.predict([list(k) for k in keys])]
        ranked = sorted(range(len(keys)), key=lambda i: -preds[i])  # stable: ties keep order
        return [(keys[i], preds[i]) for i in ranked]

    def _queue_top(self, cands: list[tuple[Key, Path | None]]) -> list[tuple[Key, Path | None]]:
        """Rank ``cands`` (unevaluated), queue the top K, return the rest."""
        by_key = {k: p for k, p in cands}
        ranked = self._rank([k for k, _ in cands])
        top, rest = ranked[: self.cfg.K], ranked[self.cfg.K :]
        self.stage_preds = {k: v for k, v in top}
        self.queue = [(k, by_key[k]) for k, _ in top]
        return [(k, by_key[k]) for k, _ in rest]

    def _close_stage(self) -> None:
        if not self.stage_preds:
            return
        done = [k for k in self.stage_preds if k in self.data]
        rho = spearman([self.stage_preds[k] for k in done], [self.data[k] for k in done])
        self._stats.append({"stage": len(self._stats) + 1, "level": self.stage_level,
                            "evaluated": len(done), "spearman": rho})
        self.stage_preds = {}

    def _advance(self) -> None:
        self._close_stage()
        if self.level == 0:  # level 1: the initial partials, no predictor
            n = len(self.space.initial())
            idx = list(range(n))
            if 0 < self.cfg.initial < n:
                idx = sorted(self.rng.sample(idx, self.cfg.initial))
            self.level, self.stage_level = 1, 1
            self._set_level([(i,) for i in idx], rank=False)
        elif self.level < self.levels:
            best = sorted(self.level_results, key=lambda pr: -pr[1])[: self.cfg.K]
            children = [p + (j,) for p, _ in best for j in range(len(self.space.expand(self.partial(p))))]
            self.level += 1
            self.stage_level = self.level
            self._set_level(children, rank=True)
        else:  # refinement past the last level
            self.stage_level = self.levels + 1
            self.pool = [(k, p) for k, p in self.pool if k not in self.data]
            if not self.pool:
                best = sorted(self.data, key=lambda k: -self.data[k])[: self.cfg.K]
                seen: set[Key] = set()
                for k in best:
                    for nb in self.space.neighbors(k):
                        nk = arch_key(nb)
                        if nk not in self.data and nk not in seen:
                            seen.add(nk)
                            self.pool.append((nk, ()))
            if not self.pool:  # the whole reachable space is evaluated: resample
                self.queue = [(arch_key(self.space.sample(self.rng)), None)]
                return
            self.pool = [(k, p) for k, p in self._queue_top([(k, p) for k, p in self.pool])]  # type: ignore[misc]

    def _set_level(self, paths: list[Path], rank: bool) -> None:
        self.level_results = []
        self.stage_paths = {}
        unique: list[tuple[Key, Path]] = []
        seen: set[Key] = set()
        for p in paths:
            k = self._key(p)
            if k in seen:
                continue
            seen.add(k)
            if k in self.data:  # evaluated earlier (e.g. same completion): reuse its reward
                self.level_results.append((p, self.data[k]))
            else:
                unique.append((k, p))
        self.stage_paths = {k: p for k, p in unique}
        if not rank:
            self.queue = [(k, p) for k, p in unique]
            self.stage_preds = {}
            return
        rest = self._queue_top([(k, p) for k, p in unique])  # type: ignore[misc]
        if self.level == self.levels:
            self.pool = rest  # type: ignore[assignment]

    # -- ask / tell -----------------------------------------------------------------------
    def ask(self) -> Arch:
        guard = 0
        while not self.queue:
            self._advance()
            guard += 1
            if guard > self.levels + 3:
                raise RuntimeError("pnas: no candidate to propose")  # should not happen
        key, _ = self.queue.pop(0)
        return tuple(key)

    def tell(self, arch: Arch, reward: float) -> None:
        k = arch_key(arch)
        if k not in self.data:
            self.order.append(k)
        self.data[k] = float(reward)
        if k in self.stage_paths and self.stage_level <= self.levels:
            self.level_results.append((self.stage_paths.pop(k), float(reward)))

    def stats(self) -> list[dict[str, Any]]:
        """Per stage: level, evaluated count, predictor Spearman on the new evaluations."""
        return [dict(s) for s in self._stats]

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **self._base_state(),
            "level": self.level,
            "stage_level": self.stage_level,
            "queue": [[list(k), None if p is None else list(p)] for k, p in self.queue],
            "stage_paths": [[list(k), list(p)] for k, p in self.stage_paths.items()],
            "level_results": [[list(p), r] for p, r in self.level_results],
            "pool": [[list(k), list(p)] for k, p in self.pool],
            "data": [[list(k), self.data[k]] for k in self.order],
            "stage_preds": [[list(k), v] for k, v in self.stage_preds.items()],
            "stats": [dict(s) for s in self._stats],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_base_state(state)

        def t(v: Any) -> tuple[int, ...]:
            return tuple(int(x) for x in v)

        self.level = int(state["level"])
        self.stage_level = int(state["stage_level"])
        self.queue = [(t(k), None if p is None else t(p)) for k, p in state["queue"]]
        self.stage_paths = {t(k): t(p) for k, p in state["stage_paths"]}
        self.level_results = [(t(p), float(r)) for p, r in state["level_results"]]
        self.pool = [(t(k), t(p)) for k, p in state["pool"]]
        self.order = [t(k) for k, _ in state["data"]]
        self.data = {t(k): float(r) for k, r in state["data"]}
        self.stage_preds = {t(k): float(v) for k, v in state["stage_preds"]}
        self._stats = [dict(s) for s in state["stats"]]


