"""Parameter-server training of the REINFORCE controller (Zoph & Le, ICLR 2017, sec. 3.3).

"We use distributed training and asynchronous parameter updates ... a parameter
server of S shards that store the shared parameters for K controller replicas. Each
controller replica samples m different child architectures that are trained in
parallel. The controller then collects gradients according to the results of that
minibatch of m architectures at convergence and sends them to the parameter server in
order to update the weights across all controller replicas." (S=20, K=100, m=8.)

Here (strategy ``reinforce-ps``, settings ``ReinforcePSSettings``):

- ``ServerShard``: one of ``shards`` S shards of the controller's parameters (greedy
  by size) with their own Adam (per-parameter, so sharding changes nothing
  numerically), a version counter and, in shard 0, the reward baseline (the
  bias-corrected moving average of ``Reinforce``). It runs wherever the executor's
  actor host puts it: a Ray actor with the Ray executor, an object in-process otherwise.
- ``replicas`` K controller replicas: each pulls the weights (and baseline), samples
  ``batch`` = m architectures, and once all m are evaluated computes the REINFORCE
  gradient of ``Reinforce`` (``reinforce_loss`` with advantages against the pulled
  baseline) and pushes it with its rewards.
- ``mode="async"`` (the paper's): a shard applies each push as it arrives; the push's
  staleness = the shard's version when applying it minus the version the replica
  pulled. ``mode="sync"``: a shard buffers one push from every replica, then applies
  their average (in replica order) and absorbs their rewards; a replica pulls again
  only after that step, so the sequence of architectures depends on the seed alone --
  in-process and on Ray it is the same.

NOTE: the replicas run in the search's driver process (sampling 8 architectures and
one backward pass of a 35-unit LSTM take milliseconds); the children run on the
executor's workers and the server shards on actors, which is where the time goes.
Which replica a result belongs to is found by matching the told architecture against
the replicas' outstanding proposals (earliest first): ``Strategy.tell`` carries no
job id, and equal architectures get equal rewards from tabular evaluators.

Every push is logged by the server (replica, pulled version, staleness) and by the
driver (how many pushes were still queued at the server: its queue). ``stats()``
summarises both into ``search.json``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from typing import Any, Literal

import torch

from ..errors import ConfigError
from .base import STRATEGIES, ActorHost, ActorRef, Arch, Call, InProcessHost, SearchSpace
from .strategies.base import SeededStrategy, arch_key
from .strategies.reinforce import Reinforce, ReinforceSettings, reinforce_loss


@dataclasses.dataclass
class ReinforcePSSettings(ReinforceSettings):
    replicas: int = 4  # K controller replicas (Zoph & Le: 100); ``batch`` is m (their 8)
    mode: Literal["async", "sync"] = "async"
    shards: int = 1  # S parameter-server shards (Zoph & Le: 20)

    def validate(self) -> None:
        super().validate()
        if self.replicas < 1 or self.shards < 1:
            raise ConfigError(f"reinforce-ps: replicas and shards must be >= 1, got {self.replicas}, {self.shards}")
        if self.algo != "reinforce":
            raise ConfigError("reinforce-ps: the parameter server trains with algo=reinforce only")


class ServerShard:
    """One shard: parameters, their Adam, a version; shard 0 also keeps the baseline."""

    def __init__(self, params: dict[str, torch.Tensor], lr: float, replicas: int, mode: str,
                 baseline_decay: float, keeps_baseline: bool) -> None:
        self.params = {n: torch.nn.Parameter(t.detach().clone()) for n, t in params.items()}
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=lr)
        self.replicas, self.mode, self.decay, self.keeps_baseline = replicas, mode, baseline_decay, keeps_baseline
        self.version = 0
        self.ema = [0.0, 0.0]  # numerator, denominator (bias-corrected average)
        self.buffer: dict[int, tuple[dict[str, torch.Tensor], list[float]]] = {}  # sync: replica -> push
        self.log: list[list[int]] = []  # [replica, pulled version, staleness] per applied push

    def pull(self) -> tuple[int, dict[str, torch.Tensor], list[float]]:
        return self.version, {n: p.detach().clone() for n, p in self.params.items()}, list(self.ema)

    def _absorb(self, rewards: list[float]) -> None:
        for r in rewards:
            self.ema = [self.decay * self.ema[0] + (1 - self.decay) * r, self.decay * self.ema[1] + (1 - self.decay)]

    def _step(self, grads: dict[str, torch.Tensor]) -> None:
        for n, p in self.params.items():
            p.grad = grads[n].clone()
        self.optimizer.step()
        self.version += 1

    def push(self, replica: int, pulled: int, grads: dict[str, torch.Tensor], rewards: list[float]) -> int:
        """Apply (async) or buffer (sync) one replica's gradient; returns its staleness."""
        staleness = self.version - pulled
        self.log.append([replica, pulled, staleness])
        if self.mode == "async":
            self._step(grads)
            self._absorb(rewards)
            return staleness
        if pulled != self.version or replica in self.buffer:
            raise RuntimeError(f"sync server at version {self.version}: push of replica {replica} "
                               f"from version {pulled} (or twice in one step)")
        self.buffer[replica] = (grads, rewards)
        if len(self.buffer) == self.replicas:
            order = sorted(self.buffer)
            mean = {n: torch.stack([self.buffer[r][0][n] for r in order]).mean(0) for n in self.params}
            self._step(mean)
            for r in order:
                self._absorb(self.buffer[r][1])
            self.buffer = {}
        return staleness

    def state(self) -> dict[str, Any]:
        return {"version": self.version, "params": {n: p.detach().clone() for n, p in self.params.items()},
                "optimizer": self.optimizer.state_dict(), "ema": list(self.ema),
                "buffer": {str(r): [g, list(rw)] for r, (g, rw) in self.buffer.items()},
                "log": torch.tensor(self.log, dtype=torch.int64).reshape(-1, 3)}

    def load(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(state["params"][n])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version, self.ema = int(state["version"]), [float(x) for x in state["ema"]]
        self.buffer = {int(r): (g, [float(x) for x in rw]) for r, (g, rw) in state["buffer"].items()}
        self.log = state["log"].tolist()


def shard_names(params: dict[str, torch.Tensor], shards: int) -> list[list[str]]:
    """Parameter names per shard: largest first onto the lightest shard."""
    out: list[list[str]] = [[] for _ in range(shards)]
    load = [0] * shards
    for n in sorted(params, key=lambda n: (-params[n].numel(), n)):
        s = min(range(shards), key=lambda k: (load[k], k))
        out[s].append(n)
        load[s] += params[n].numel()
    return out


def replica_seed(seed: int, r: int) -> int:
    return (int(seed) * 1_000_003 + 7_919 * (r + 1)) % (2**31 - 1)


@dataclasses.dataclass
class _Replica:
    index: int
    agent: Reinforce  # its controller copy (pulled weights), RNG, baseline arithmetic
    pulled: int | None = None
    baseline: list[float] = dataclasses.field(default_factory=lambda: [0.0, 0.0])
    round: list[list[Any]] = dataclasses.field(default_factory=list)  # [arch, scaled reward or None]
    handed: int = 0  # proposals of this round handed out


@STRATEGIES.register("reinforce-ps", help="REINFORCE with K controller replicas and a parameter server (Zoph & Le 2017)")
class ReinforcePS(SeededStrategy):
    name = "reinforce-ps"
    Config = ReinforcePSSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: ReinforcePSSettings | None = None) -> None:
        super().__init__(space, seed, config)
        c = self.cfg
        master = Reinforce(space, seed, c)  # the initial weights: those of `reinforce` with this seed
        init = {n: p.detach().clone() for n, p in master.controller.named_parameters()}
        self.names = shard_names(init, c.shards)
        self.reps = [_Replica(r, Reinforce(space, replica_seed(seed, r), c)) for r in range(c.replicas)]
        self.version = 0  # sync: completed steps
        self.pushed = 0  # sync: pushes in the current step
        self.rr = 0  # next replica to pull (round robin)
        self.outstanding: list[tuple[int, int]] = []  # (replica, position) handed out, not told
        self.queue_log: list[int] = []
        self.pushes = 0
        self._calls: list[Call] = []
        self._cache: tuple[int, list[dict[str, Any]]] | None = None
        self.shards: list[ActorRef] = self._spawn(InProcessHost(), init)

    def _spawn(self, host: ActorHost, params: dict[str, torch.Tensor]) -> list[ActorRef]:
        c = self.cfg
        return [host.spawn(ServerShard, {n: params[n] for n in names}, c.lr, c.replicas, c.mode,
                           c.baseline_decay, s == 0) for s, names in enumerate(self.names)]

    def bind(self, host: ActorHost) -> None:
        states = self._server_state()
        params = {n: t for st in states for n, t in st["params"].items()}
        self.shards = self._spawn(host, params)
        for ref, st in zip(self.shards, states):
            ref.call("load", st).result()
        self._cache = None

    # -- replicas -------------------------------------------------------------------
    def _pull(self, rep: _Replica) -> None:
        got = [c.result() for c in [s.call("pull") for s in self.shards]]
        weights = {n: t for _, w, _ in got for n, t in w.items()}
        rep.agent.controller.load_state_dict(weights)
        rep.pulled, rep.baseline = int(got[0][0]), list(got[0][2])
        rep.round = [[tuple(rep.agent.controller.sample(rep.agent.gen)), None] for _ in range(self.cfg.batch)]
        rep.handed = 0

    def _can_pull(self, rep: _Replica) -> bool:
        if rep.round:
            return False
        return self.cfg.mode == "async" or rep.pulled is None or rep.pulled < self.version

    def ask(self) -> Arch | None:
        rep = next((r for r in self.reps if r.handed < len(r.round)), None)
        if rep is None:
            k = len(self.reps)
            rep = next((self.reps[(self.rr + j) % k] for j in range(k) if self._can_pull(self.reps[(self.rr + j) % k])), None)
            if rep is None:
                return None  # sync: every replica waits for the server's step
            self.rr = (rep.index + 1) % k
            self._pull(rep)
        self.outstanding.append((rep.index, rep.handed))
        rep.handed += 1
        return rep.round[rep.handed - 1][0]

    def reward_of(self, result: Any) -> float:
        """The search signal, as ``reinforce``'s (the max val acc of the last epochs)."""
        return self.reps[0].agent.reward_of(result)

    def tell(self, arch: Arch, reward: float) -> None:
        key = arch_key(arch)
        hit = next((k for k, (r, p) in enumerate(self.outstanding) if self.reps[r].round[p][0] == key), None)
        if hit is None:
            if not self.outstanding:
                raise RuntimeError(f"reinforce-ps: told {arch} but nothing was asked")
            warnings.warn(f"reinforce-ps: told {arch}, which no replica proposed; it takes the place of "
                          "the earliest outstanding proposal", RuntimeWarning, stacklevel=2)
            hit = 0
        r, p = self.outstanding.pop(hit)
        rep = self.reps[r]
        rep.round[p] = [key, rep.agent.shaped(reward)]  # reinforce's reward shaping (Zoph & Le: cubed)
        if rep.handed == len(rep.round) and all(x[1] is not None for x in rep.round):
            self._push(rep)

    def _push(self, rep: _Replica) -> None:
        agent, c = rep.agent, self.cfg
        agent.ema_num, agent.ema_den = rep.baseline
        archs = torch.tensor([a for a, _ in rep.round], dtype=torch.long)  # (m, T)
        rewards = [float(x) for _, x in rep.round]
        adv = torch.tensor([agent._advantage(x) for x in rewards])  # (m,) against the pulled baseline
        agent.controller.zero_grad()
        reinforce_loss(agent.controller.logits(archs), archs, adv, c.entropy_weight).backward()
        grads = {n: torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()  # unused -> 0
                 for n, p in agent.controller.named_parameters()}
        assert rep.pulled is not None
        self._calls = [x for x in self._calls if not x.done()]
        self.queue_log.append(len(self._calls) // len(self.shards))  # pushes still waiting at the server
        for s, (ref, names) in enumerate(zip(self.shards, self.names)):
            self._calls.append(ref.call("push", rep.index, rep.pulled, {n: grads[n] for n in names},
                                        rewards if s == 0 else []))
        rep.round, rep.handed = [], 0
        self.pushes += 1
        if c.mode == "sync":
            self.pushed += 1
            if self.pushed == len(self.reps):
                self.version, self.pushed = self.version + 1, 0

    # -- state ----------------------------------------------------------------------
    def _server_state(self) -> list[dict[str, Any]]:
        if self._cache is None or self._cache[0] != self.pushes:
            self._cache = (self.pushes, [c.result() for c in [s.call("state") for s in self.shards]])
        return self._cache[1]

    def state_dict(self) -> dict[str, Any]:
        weights: dict[str, Any] = {}
        reps = []
        for rep in self.reps:
            if rep.round:
                weights.setdefault(str(rep.pulled), rep.agent.controller.state_dict())
            reps.append({"torch_rng": rep.agent.gen.get_state(), "pulled": -1 if rep.pulled is None else rep.pulled,
                         "baseline": list(rep.baseline), "handed": rep.handed,
                         "round": [[list(a), math.nan if x is None else x] for a, x in rep.round]})
        return {**self._base_state(), "server": self._server_state(), "weights": weights, "replicas": reps,
                "version": self.version, "pushed": self.pushed, "rr": self.rr, "pushes": self.pushes,
                "outstanding": [list(o) for o in self.outstanding],
                "queue_log": torch.tensor(self.queue_log, dtype=torch.int64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_base_state(state)
        for ref, st in zip(self.shards, state["server"]):
            ref.call("load", st).result()
        for rep, st in zip(self.reps, state["replicas"]):
            rep.agent.gen.set_state(st["torch_rng"])
            rep.pulled = None if int(st["pulled"]) < 0 else int(st["pulled"])
            rep.baseline, rep.handed = [float(x) for x in st["baseline"]], int(st["handed"])
            rep.round = [[tuple(int(v) for v in a), None if math.isnan(x) else float(x)] for a, x in st["round"]]
            if rep.round:
                rep.agent.controller.load_state_dict(state["weights"][str(rep.pulled)])
        self.version, self.pushed, self.rr = int(state["version"]), int(state["pushed"]), int(state["rr"])
        self.pushes = int(state["pushes"])
        self.outstanding = [(int(r), int(p)) for r, p in state["outstanding"]]
        self.queue_log = state["queue_log"].tolist()
        self._cache = None

    def stats(self) -> list[dict[str, Any]]:
        log = self._server_state()[0]["log"].tolist()
        stale = Counter(int(s) for _, _, s in log)
        q = self.queue_log
        return [{"pushes": len(log), "mode": self.cfg.mode, "replicas": len(self.reps), "shards": len(self.shards),
                 "server_version": int(self._server_state()[0]["version"]),
                 "staleness": {str(k): stale[k] for k in sorted(stale)},
                 "staleness_mean": (sum(k * v for k, v in stale.items()) / len(log)) if log else 0.0,
                 "queue_max": max(q) if q else 0, "queue_mean": (sum(q) / len(q)) if q else 0.0}]
