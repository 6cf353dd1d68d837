"""Progressive NAS, Liu et al. 2018, "Progressive Neural Architecture Search"
(Algorithm 1), and ``predictor_local``, a predictor-guided local search built on it;
both on any space with the ``progressive_levels/initial/expand/complete`` hooks of
``SearchSpace``.

``pnas`` is the paper's algorithm and nothing more:

- level 1: evaluate the initial partial architectures (all of them, as the paper's
  136 one-block cells; or ``initial`` sampled ones), fit the predictor;
- level b -> b+1, for b < B: expand the ``K`` best of level b (by measured reward) in
  every possible way, rank ALL the children by the predictor (refitted from scratch on
  every (architecture, reward) evaluated so far), evaluate the top ``K``; their results
  join the predictor's data;
- after level B the search is over: ``ask`` raises ``SearchFinished`` (the search loop
  stops there; the budget is an upper bound). The schedule evaluates
  ``len(initial) + (B - 1) * K`` architectures at most. Partial architectures are
  evaluated as ``space.complete(p)``.

NOTE: the paper's beam is K = 256 (on 100s of GPUs); the default here is 10 so a CPU
search finishes. On NAS-Bench-201 (B = 3 node levels: 5, x25, x125) a 100-query budget
is filled by K = 47 (5 + 47 + 47 = 99 evaluations).

``predictor_local`` (NOTE: not in the paper) runs the same levels, then, instead of
stopping, spends the budget left on the same loop -- refit, rank, evaluate the top
``K`` -- over the unevaluated last-level expansions plus (``neighbors``, default) the
unevaluated neighbours (up to ``radius`` decisions changed) of the ``K`` best
architectures so far; ``refine_pool=space`` ranks every unevaluated architecture of a
small enumerable space instead. ``explore`` ranks by ensemble mean + ``explore`` x
ensemble std (an upper-confidence rule; PNAS ranks by the mean). Its NAS-Bench-201
figures follow a tuning protocol: ``benchmarks/nas_nb201.py`` chooses K and
``explore`` on CIFAR-100, seeds 0-29, and reports the choice on CIFAR-10 and
ImageNet16-120, seeds 1000.. (docs/benchmarks_nas.md has the tuning table).

Predictor input (``encode``): ``partial`` (default) gives the predictor the decisions
a partial has made and -1 for the others, as PNAS's predictor reads the b-block cell
itself; ``complete`` gives it the completed architecture.

Rank quality: ``stats()`` holds, per stage, the Spearman correlation of the
predictions with the rewards of the K candidates evaluated (the paper's Fig. 4 on the
few it trains); ``rank_log()`` holds EVERY candidate each stage ranked with its
prediction, so ``ganas.nas.rank_quality`` can score the whole ranking against a table
afterwards (never fed back into the search).

With several evaluations in flight (an executor with ``slots`` > 1), a level closes
when its queue is empty, i.e. with the results that have arrived by then.

Partial architectures are stored by their PATH (index in ``initial()``, then index in
each ``expand(parent)``), so the state holds only integers and a fresh instance can
rebuild every partial deterministically.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch

from ...errors import ConfigError
from ..base import STRATEGIES, Arch, SearchSpace
from .base import SearchFinished, SeededStrategy, arch_key
from .predictors import PREDICTORS, MLPEnsemble, Predictor, spearman

_MAX_RANKED = 200_000  # refine_pool=space: rank every architecture up to this size
Path = tuple[int, ...]
Key = tuple[int, ...]


@dataclasses.dataclass
class PNASSettings:
    K: int = 10  # beam: best kept per level, and evaluations per stage (NOTE: paper 256)
    initial: int = 0  # level-1 candidates evaluated: 0 = all of them (the paper), else a random sample
    predictor: Literal["mlp", "lstm"] = "mlp"
    members: int = 5  # MLP ensemble size (PNAS: 5)
    hidden: int = 32
    epochs: int = 100
    lr: float = 1e-2
    encode: Literal["partial", "complete"] = "partial"  # predictor input (see the module doc)

    def validate(self) -> None:
        if self.K < 1 or self.initial < 0 or self.members < 1 or self.epochs < 1:
            raise ConfigError(f"{type(self).__name__}: K, members, epochs must be >= 1 and initial >= 0")


@dataclasses.dataclass
class PredictorLocalSettings(PNASSettings):
    explore: float = 0.0  # rank by ensemble mean + explore * std
    refine_pool: Literal["local", "space"] = "local"
    neighbors: bool = True  # refinement also ranks the neighbours of the K best
    radius: int = 1  # refinement neighbours: up to this many decisions changed

    def validate(self) -> None:
        super().validate()
        if self.radius < 1:
            raise ConfigError(f"predictor_local: radius must be >= 1, got {self.radius}")


@STRATEGIES.register("pnas", help="progressive NAS, the paper's schedule (Liu et al. 2018)")
class PNAS(SeededStrategy):
    name = "pnas"
    Config = PNASSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: PNASSettings | None = None) -> None:
        super().__init__(space, seed, config)
        self.levels = space.progressive_levels()
        if self.levels < 1:
            raise ConfigError(
                f"strategy {self.name!r} needs a space with progressive growth; space {space.name!r} has none "
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
        self.enc: dict[Key, Key] = {}  # predictor input of an evaluated partial (see _encode)
        self.order: list[Key] = []  # evaluation order of ``data`` (deterministic refits)
        self.stage_preds: dict[Key, float] = {}
        self.stage_level = 0
        self._stats: list[dict[str, Any]] = []
        self._rank_log: list[dict[str, Any]] = []  # every ranking: stage, level, archs (N, T), predicted (N,)

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

    def _encode(self, path: Path | None, key: Key) -> Key:
        """The predictor's input: with ``encode=partial``, the decisions a partial has
        made and -1 for the others (PNAS's predictor reads the b-block cell itself, not
        a completion of it); needs partials that are int tuples (a prefix, or -1 for
        open decisions), else the completed architecture is used."""
        if self.cfg.encode == "partial" and path:
            p = self.partial(path)
            n = len(self.sizes)
            if isinstance(p, tuple) and len(p) <= n and all(isinstance(x, int) for x in p):
                return tuple(x if x >= 0 else -1 for x in p) + (-1,) * (n - len(p))
        return key

    # -- predictor -----------------------------------------------------------------------
    def _make_predictor(self) -> Predictor:
        c = self.cfg
        if c.predictor == "mlp":
            return PREDICTORS["mlp"](self.sizes, self.gen, members=c.members, hidden=c.hidden, epochs=c.epochs, lr=c.lr)
        return PREDICTORS["lstm"](self.sizes, self.gen, hidden=c.hidden, epochs=c.epochs, lr=c.lr)

    def _rank(self, keys: list[Key], paths: list[Path | None]) -> list[tuple[Key, float]]:
        """``keys`` with predicted rewards, best first (random order without data)."""
        if len(self.data) < 2:
            preds = [self.rng.random() for _ in keys]
        else:
            pred = self._make_predictor()
            pred.fit([list(self.enc.get(k, k)) for k in self.order], [self.data[k] for k in self.order])
            xs = [list(self._encode(p, k)) for k, p in zip(keys, paths)]
            explore = float(getattr(self.cfg, "explore", 0.0))
            if explore > 0 and isinstance(pred, MLPEnsemble):
                m = pred.predict_members(xs)  # (E, N): optimism in the face of disagreement
                preds = [float(v) for v in m.mean(0) + explore * m.std(0)]
            else:
                preds = [float(p) for p in pred.predict(xs)]
        self._log_ranking(keys, preds)
        ranked = sorted(range(len(keys)), key=lambda i: -preds[i])  # stable: ties keep order
        return [(keys[i], preds[i]) for i in ranked]

    def _log_ranking(self, keys: list[Key], preds: list[float]) -> None:
        if not keys:
            return
        by_len: dict[int, list[int]] = {}
        for i, k in enumerate(keys):  # one tensor per arch length (spaces with growing archs)
            by_len.setdefault(len(k), []).append(i)
        for idx in by_len.values():
            self._rank_log.append({
                "stage": len(self._stats) + 1, "level": self.stage_level,
                "archs": torch.tensor([keys[i] for i in idx], dtype=torch.int32),  # (N, T)
                "predicted": torch.tensor([preds[i] for i in idx], dtype=torch.float64),  # (N,)
            })

    def _queue_top(self, cands: list[tuple[Key, Path | None]]) -> list[tuple[Key, Path | None]]:
        """Rank ``cands`` (unevaluated), queue the top K, return the rest."""
        by_key = {k: p for k, p in cands}
        ranked = self._rank([k for k, _ in cands], [p for _, p in cands])
        top, rest = ranked[: self.cfg.K], ranked[self.cfg.K :]
        self.stage_preds = {k: v for k, v in top}
        self.queue = [(k, by_key[k]) for k, _ in top]
        return [(k, by_key[k]) for k, _ in rest]

    def _stage_stats(self) -> dict[str, Any]:
        done = [k for k in self.stage_preds if k in self.data]
        rho = spearman([self.stage_preds[k] for k in done], [self.data[k] for k in done])
        return {"stage": len(self._stats) + 1, "level": self.stage_level, "evaluated": len(done), "spearman": rho}

    def _close_stage(self) -> None:
        if not self.stage_preds:
            return
        self._stats.append(self._stage_stats())
        self.stage_preds = {}

    def schedule_length(self) -> int:
        """Most evaluations the levels take: len(initial) + (B - 1) * K (fewer where a
        level has fewer than K children or children repeat earlier architectures)."""
        n = len(self.space.initial())
        if 0 < self.cfg.initial < n:
            n = self.cfg.initial
        return n + (self.levels - 1) * self.cfg.K

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
        else:
            self._after_last_level()

    def _after_last_level(self) -> None:
        """The paper stops after level B."""
        raise SearchFinished(
            f"pnas: the paper's schedule is complete after {self.levels} levels ({len(self.data)} "
            f"evaluations; at most {self.schedule_length()} with K={self.cfg.K}); for a larger budget "
            "raise K, or use strategy 'predictor_local', which goes on past the last level"
        )

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
                raise RuntimeError(f"{self.name}: no candidate to propose")  # should not happen
        key, _ = self.queue.pop(0)
        return tuple(key)

    def tell(self, arch: Arch, reward: float) -> None:
        k = arch_key(arch)
        if k not in self.data:
            self.order.append(k)
        self.data[k] = float(reward)
        if k in self.stage_paths and self.stage_level <= self.levels:
            path = self.stage_paths.pop(k)
            self.level_results.append((path, float(reward)))
            if k not in self.enc:
                self.enc[k] = self._encode(path, k)

    def stats(self) -> list[dict[str, Any]]:
        """Per stage: level, evaluated count, predictor Spearman on the new evaluations
        (the stage in progress included, with the results it has so far)."""
        out = [dict(s) for s in self._stats]
        if self.stage_preds and any(k in self.data for k in self.stage_preds):
            out.append(self._stage_stats())
        return out

    def rank_log(self) -> list[tuple[int, int, list[Arch], list[float]]]:
        """Every ranking so far: (stage, level, candidate architectures, predicted rewards).
        Stage numbers match ``stats()``; level ``B + 1`` is a refinement stage."""
        return [(int(e["stage"]), int(e["level"]), [tuple(a) for a in e["archs"].tolist()],
                 e["predicted"].tolist()) for e in self._rank_log]

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
            "enc": [[list(k), list(v)] for k, v in self.enc.items()],
            "stage_preds": [[list(k), v] for k, v in self.stage_preds.items()],
            "stats": [dict(s) for s in self._stats],
            "rank_log": [dict(e) for e in self._rank_log],
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
        self.enc = {t(k): t(v) for k, v in state["enc"]}
        self.stage_preds = {t(k): float(v) for k, v in state["stage_preds"]}
        self._stats = [dict(s) for s in state["stats"]]
        self._rank_log = [dict(e) for e in state.get("rank_log", [])]


@STRATEGIES.register("predictor_local",
                     help="PNAS levels, then predictor-ranked local search over neighbours (not in the paper)")
class PredictorLocal(PNAS):
    """PNAS's levels, then refinement stages until the budget ends (see the module doc)."""

    name = "predictor_local"
    Config = PredictorLocalSettings

    def _after_last_level(self) -> None:
        self.stage_level = self.levels + 1
        pool = {k: p for k, p in self.pool if k not in self.data}
        if self.cfg.refine_pool == "space" and self.space.size() <= _MAX_RANKED:
            for a in self.space.enumerate():
                k = arch_key(a)
                if k not in self.data and k not in pool:
                    pool[k] = ()
        elif self.cfg.neighbors or not pool:
            frontier = sorted(self.data, key=lambda k: -self.data[k])[: self.cfg.K]
            for _ in range(self.cfg.radius):  # neighbours up to ``radius`` changes away
                ring = []
                for k in frontier:
                    for nb in self.space.neighbors(k):
                        nk = arch_key(nb)
                        if nk not in self.data and nk not in pool:
                            pool[nk] = ()
                            ring.append(nk)
                frontier = ring
        if not pool:  # the whole reachable space is evaluated: resample
            self.queue = [(arch_key(self.space.sample(self.rng)), None)]
            return
        self.pool = self._queue_top(list(pool.items()))  # type: ignore[arg-type]
