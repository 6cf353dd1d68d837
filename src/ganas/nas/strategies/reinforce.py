"""Policy-gradient NAS: Zoph & Le 2017, "Neural Architecture Search with
Reinforcement Learning" (REINFORCE), and PPO as used by NASNet (Zoph et al. 2018).

Controller (``controller=lstm``, the paper's): a 2-layer LSTM of 35 units, every
weight initialised U(-0.08, 0.08). Step t reads the embedding of the token sampled
at step t-1 (step 0 reads a learned start vector), and a per-decision linear head
gives the softmax over that decision's choices. ``controller=table`` is the simpler
policy of the NAS-Bench-201 reference code (D-X-Y/AutoDL-Projects,
``exps/NATS-algos/reinforce.py``, ``PolicyTopology``): one independent logit vector
per decision, initialised 1e-3 * N(0, 1).

Update (REINFORCE, Williams 1992): for m = ``batch`` sampled architectures,

    loss = -(1/m) * sum_k (R_k - b) * sum_t log p(a_t^k | a_<t^k)

with ``b`` an exponential moving average of the rewards (decay ``baseline_decay``).
The seed notes' example ("token probability 0.8, reward 0.3, the loss is 0.8*0.3")
is the informal form: the gradient uses the LOG-probability of every emitted token,
weighted by the advantage (R - b), not the probability times the reward.

``baseline_order=after`` (Zoph & Le): the advantage of a reward is taken against the
average of the PREVIOUS rewards, then the average absorbs it. ``before`` (AutoDL's
reference code): the average absorbs the reward first. Both use AutoDL's
bias-corrected average (numerator/denominator), so the first reward has advantage 0
(``after``) instead of being compared with an arbitrary initial value.

``algo=ppo`` (Schulman et al. 2017; NASNet's controller update): ``ppo_epochs``
passes over the batch with the clipped surrogate
``min(rho * A, clip(rho, 1-eps, 1+eps) * A)``, rho = p_new(arch) / p_old(arch).

An optional entropy bonus (``entropy_weight``) subtracts the mean per-step entropy
from the loss (Zoph et al. 2018 use 1e-5 in NASNet's controller).

Skip connections (``skip_attention``, default on; Zoph & Le Sec. 3.3): in a space with
anchor points (``macro`` with ``skips=true``) each "layer j feeds layer i" decision is
the paper's attention sigmoid(v^T tanh(W_prev h_j + W_curr h_i)) over the anchor
states, not a head of its own (see ``LSTMController``); off, every skip decision is an
ordinary softmax head as the other decisions.

Reward (Zoph & Le Sec. 4.1, "the maximum validation accuracy of the last 5 epochs
cubed"): ``reward_of`` takes the maximum of the last ``reward_epochs`` (5) per-epoch
validation accuracies where the evaluator reports them (the ``train`` evaluator's
``curve["val_acc"]``; the search journals this value), else the evaluator's reward
(tables: the 12-epoch validation accuracy); ``tell`` raises it to ``reward_power`` (3)
before the baseline and the update. ``reward_epochs=0`` / ``reward_power=1`` turn them
off (AutoDL's NB201 reference code uses the plain accuracy).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import ConfigError
from ..base import STRATEGIES, Arch, EvalResult, SearchSpace
from .base import SeededStrategy, arch_key


AnchorPoints = Sequence[tuple[int, Sequence[int]]]  # per layer: (last decision before the anchor, skip decisions)


class LSTMController(nn.Module):
    """Zoph & Le's autoregressive controller over ``sizes[t]`` choices per step.

    ``anchors`` (spaces with skip decisions, e.g. ``macro`` with ``skips=true``; see
    ``MacroSpace.anchor_points``): per layer i, the index of its last non-skip decision
    and the indices of its skip decisions "does layer j feed layer i" (j < i). After that
    decision the controller takes one more step, the layer's ANCHOR POINT, whose top
    hidden state h_i is kept; each skip decision is then the paper's content-based
    attention (Zoph & Le 2017, Sec. 3.3)::

        P(layer j feeds layer i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i))

    emitted as the two logits (0, v^T tanh(...)) so the softmax is that sigmoid.
    NOTE: the paper does not say what the step after an anchor point reads; as ENAS's
    implementation of this controller (melodyguan/enas ``src/cifar10/general_controller.py``)
    it reads the mean of the chosen layers' anchor states, sum_j a_j h_j / (1 + sum_j a_j),
    and the learned start vector after layer 0.
    """

    def __init__(self, sizes: Sequence[int], hidden: int = 35, layers: int = 2,
                 init_range: float = 0.08, generator: torch.Generator | None = None,
                 anchors: AnchorPoints | None = None) -> None:
        super().__init__()
        self.sizes = list(sizes)
        self.anchors = [(int(last), [int(t) for t in skips]) for last, skips in (anchors or [])]
        skip_steps = {t for _, skips in self.anchors for t in skips}
        self.start = nn.Parameter(torch.zeros(1, hidden))  # input of step 0
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers)
        # one head and one embedding per decision; skip decisions use the attention instead
        self.heads = nn.ModuleList(nn.Identity() if t in skip_steps else nn.Linear(hidden, n)
                                   for t, n in enumerate(self.sizes))
        self.embeds = nn.ModuleList(nn.Identity() if t in skip_steps else nn.Embedding(n, hidden)
                                    for t, n in enumerate(self.sizes))
        if self.anchors:
            self.w_prev = nn.Linear(hidden, hidden, bias=False)
            self.w_curr = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range, generator=generator)

    def logits(self, archs: torch.Tensor) -> list[torch.Tensor]:
        """Teacher-forced logits of ``archs`` (B, T): a list of T tensors (B, n_t)."""
        if self.anchors:
            return self._steps(archs, None)[1]
        b = archs.shape[0]
        inputs = [self.start.expand(b, -1)]  # (B, H)
        for t in range(len(self.sizes) - 1):
            inputs.append(self.embeds[t](archs[:, t]))  # (B, H)
        out, _ = self.lstm(torch.stack(inputs))  # (T, B, H)
        return [head(out[t]) for t, head in enumerate(self.heads)]

    @torch.no_grad()
    def sample(self, generator: torch.Generator) -> list[int]:
        if self.anchors:
            return self._steps(None, generator)[0][0].tolist()
        x, state, tokens = self.start, None, []  # x: (1, H)
        for t, head in enumerate(self.heads):
            out, state = self.lstm(x.unsqueeze(0), state)  # (1, 1, H)
            probs = F.softmax(head(out[0]), dim=-1)  # (1, n_t)
            a = int(torch.multinomial(probs, 1, generator=generator))
            tokens.append(a)
            x = self.embeds[t](torch.tensor([a]))  # (1, H)
        return tokens

    def _steps(self, archs: torch.Tensor | None, generator: torch.Generator | None
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Step by step with anchor points: teacher-forced on ``archs`` (B, T), or sampled
        (B = 1) when ``archs`` is None. Returns (tokens (B, T), logits: T x (B, n_t))."""
        b = 1 if archs is None else archs.shape[0]
        n = len(self.sizes)
        tokens = torch.zeros(b, n, dtype=torch.long)
        logits: list[torch.Tensor | None] = [None] * n
        after = {last: (i, skips) for i, (last, skips) in enumerate(self.anchors)}
        skip_steps = {t for _, skips in self.anchors for t in skips}
        hs: list[torch.Tensor] = []  # anchor states h_j (B, H)
        hs_prev: list[torch.Tensor] = []  # W_prev h_j (B, H)
        x, state = self.start.expand(b, -1), None  # (B, H)

        def choose(t: int, lg: torch.Tensor) -> torch.Tensor:
            logits[t] = lg
            if archs is not None:
                a = archs[:, t]
            else:
                a = torch.multinomial(F.softmax(lg, dim=-1), 1, generator=generator).squeeze(1)  # (B,)
            tokens[:, t] = a
            return a

        for t in range(n):
            if t in skip_steps:
                continue
            out, state = self.lstm(x.unsqueeze(0), state)  # (1, B, H)
            x = self.embeds[t](choose(t, self.heads[t](out[0])))  # (B, H)
            if t not in after:
                continue
            layer, skips = after[t]
            out, state = self.lstm(x.unsqueeze(0), state)  # the anchor point of ``layer``
            h = out[0]  # (B, H)
            if skips:
                chosen = []
                for j, tj in enumerate(skips):
                    q = self.v(torch.tanh(hs_prev[j] + self.w_curr(h)))  # (B, 1)
                    chosen.append(choose(tj, torch.cat([torch.zeros_like(q), q], dim=1)).float())  # (B,)
                a = torch.stack(chosen, dim=1)  # (B, layer)
                x = (a.unsqueeze(2) * torch.stack(hs[: len(skips)], dim=1)).sum(1) / (1.0 + a.sum(1, keepdim=True))
            else:
                x = self.start.expand(b, -1)
            hs.append(h)
            hs_prev.append(self.w_prev(h))
        missing = [t for t, lg in enumerate(logits) if lg is None]
        if missing:
            raise ValueError(f"LSTMController: decisions {missing} are neither steps nor skips of an anchor")
        return tokens, logits  # type: ignore[return-value]


class TableController(nn.Module):
    """AutoDL's ``PolicyTopology``: independent logits per decision."""

    def __init__(self, sizes: Sequence[int], generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.sizes = list(sizes)
        self.alphas = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(n, generator=generator)) for n in self.sizes
        )

    def logits(self, archs: torch.Tensor) -> list[torch.Tensor]:
        b = archs.shape[0]
        return [a.unsqueeze(0).expand(b, -1) for a in self.alphas]  # T x (B, n_t)

    @torch.no_grad()
    def sample(self, generator: torch.Generator) -> list[int]:
        return [int(torch.multinomial(F.softmax(a, -1), 1, generator=generator)) for a in self.alphas]


def log_prob_and_entropy(logits: list[torch.Tensor], archs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over steps of log p(a_t) (B,) and mean per-step entropy (B,)."""
    logp = torch.zeros(archs.shape[0])
    ent = torch.zeros(archs.shape[0])
    for t, lg in enumerate(logits):
        lsm = F.log_softmax(lg, dim=-1)  # (B, n_t)
        logp = logp + lsm.gather(1, archs[:, t : t + 1]).squeeze(1)
        ent = ent + -(lsm.exp() * lsm).sum(-1)
    return logp, ent / max(len(logits), 1)


def reinforce_loss(logits: list[torch.Tensor], archs: torch.Tensor, advantages: torch.Tensor,
                   entropy_weight: float = 0.0) -> torch.Tensor:
    """-(1/B) sum_k A_k sum_t log p(a_t^k) - entropy_weight * mean entropy."""
    logp, ent = log_prob_and_entropy(logits, archs)
    return -(advantages * logp).mean() - entropy_weight * ent.mean()


def ppo_loss(logits: list[torch.Tensor], archs: torch.Tensor, advantages: torch.Tensor,
             old_logp: torch.Tensor, clip: float, entropy_weight: float = 0.0) -> torch.Tensor:
    """Clipped surrogate (Schulman et al. 2017), negated for minimisation."""
    logp, ent = log_prob_and_entropy(logits, archs)
    ratio = torch.exp(logp - old_logp)  # (B,)
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    return -surrogate.mean() - entropy_weight * ent.mean()


@dataclasses.dataclass
class ReinforceSettings:
    controller: Literal["lstm", "table"] = "lstm"
    hidden: int = 35  # Zoph & Le: 2 layers of 35 units
    layers: int = 2
    init_range: float = 0.08  # U(-0.08, 0.08)
    lr: float = 6e-4  # Adam
    batch: int = 8  # m architectures per update (NOTE: 8 per replica in the paper)
    baseline_decay: float = 0.95
    baseline_order: Literal["after", "before"] = "after"
    entropy_weight: float = 0.0
    algo: Literal["reinforce", "ppo"] = "reinforce"
    ppo_epochs: int = 4
    ppo_clip: float = 0.2
    # rewards are multiplied by this before use. ganas evaluators return fractions;
    # AutoDL's NB201 settings (lr 0.01) were tuned on percentages: reward_scale=100.
    reward_scale: float = 1.0
    # Zoph & Le Sec. 4.1: "the maximum validation accuracy of the last 5 epochs cubed"
    reward_epochs: int = 5  # max over the last N epochs where the evaluator reports them; 0: its reward
    reward_power: float = 3.0  # 1: not cubed (AutoDL's NB201 code uses the accuracy itself)
    skip_attention: bool = True  # skip decisions by the paper's attention (Sec. 3.3); False: a head each

    def validate(self) -> None:
        if self.batch < 1 or self.hidden < 1 or self.layers < 1 or self.ppo_epochs < 1:
            raise ConfigError("reinforce: batch, hidden, layers and ppo_epochs must be >= 1")
        if not 0.0 <= self.baseline_decay < 1.0:
            raise ConfigError(f"reinforce: baseline_decay must be in [0, 1), got {self.baseline_decay}")
        if self.reward_epochs < 0 or not self.reward_power > 0:
            raise ConfigError(f"reinforce: reward_epochs must be >= 0 and reward_power > 0 "
                              f"(got {self.reward_epochs}, {self.reward_power})")


@STRATEGIES.register("reinforce", help="RL controller, REINFORCE or PPO (Zoph & Le 2017; Zoph et al. 2018)")
class Reinforce(SeededStrategy):
    name = "reinforce"
    Config = ReinforceSettings

    def __init__(self, space: SearchSpace, seed: int = 0, config: ReinforceSettings | None = None) -> None:
        super().__init__(space, seed, config)
        sizes = [d.n for d in space.decisions()]
        c = self.cfg
        if c.controller == "lstm":
            anchors = space.anchor_points() if c.skip_attention and hasattr(space, "anchor_points") else None
            self.controller: nn.Module = LSTMController(sizes, c.hidden, c.layers, c.init_range, self.gen, anchors)
        else:
            self.controller = TableController(sizes, self.gen)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=c.lr)
        self.ema_num = 0.0  # bias-corrected EMA (AutoDL's ExponentialMovingAverage)
        self.ema_den = 0.0
        self.buffer: list[tuple[tuple[int, ...], float]] = []
        self.updates = 0

    # -- baseline -------------------------------------------------------------------
    def _ema_update(self, reward: float) -> None:
        d = self.cfg.baseline_decay
        self.ema_num = d * self.ema_num + (1 - d) * reward
        self.ema_den = d * self.ema_den + (1 - d)

    def baseline(self) -> float | None:
        return self.ema_num / self.ema_den if self.ema_den > 0 else None

    def _advantage(self, reward: float) -> float:
        if self.cfg.baseline_order == "before":
            self._ema_update(reward)
            return reward - float(self.baseline())  # type: ignore[arg-type]
        b = self.baseline()
        adv = 0.0 if b is None else reward - b
        self._ema_update(reward)
        return adv

    # -- ask / tell -----------------------------------------------------------------
    def ask(self) -> Arch:
        return tuple(self.controller.sample(self.gen))

    def reward_of(self, result: EvalResult) -> float:
        """The search signal (journalled, and what ``tell`` gets): the maximum validation
        accuracy of the last ``reward_epochs`` epochs where the evaluator reports epochs
        (``result.curve["val_acc"]``, real training), else the evaluator's reward (tables)."""
        curve = result.curve.get("val_acc") if self.cfg.reward_epochs > 0 else None
        return float(max(curve[-self.cfg.reward_epochs:])) if curve else float(result.reward)

    def shaped(self, reward: float) -> float:
        """What the update uses: ``reward_scale * reward ** reward_power`` (Zoph & Le: cubed)."""
        r = float(reward)
        if self.cfg.reward_power != 1.0:
            r = math.copysign(abs(r) ** self.cfg.reward_power, r)
        return r * self.cfg.reward_scale

    def tell(self, arch: Arch, reward: float) -> None:
        self.buffer.append((arch_key(arch), self.shaped(reward)))
        if len(self.buffer) >= self.cfg.batch:
            self._update()

    def _update(self) -> None:
        archs = torch.tensor([a for a, _ in self.buffer], dtype=torch.long)  # (B, T)
        adv = torch.tensor([self._advantage(r) for _, r in self.buffer])  # (B,)
        self.buffer = []
        c = self.cfg
        if c.algo == "reinforce":
            self.optimizer.zero_grad()
            reinforce_loss(self.controller.logits(archs), archs, adv, c.entropy_weight).backward()
            self.optimizer.step()
        else:
            with torch.no_grad():
                old, _ = log_prob_and_entropy(self.controller.logits(archs), archs)
            for _ in range(c.ppo_epochs):
                self.optimizer.zero_grad()
                ppo_loss(self.controller.logits(archs), archs, adv, old, c.ppo_clip, c.entropy_weight).backward()
                self.optimizer.step()
        self.updates += 1

    # -- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **self._base_state(),
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "ema": [self.ema_num, self.ema_den],
            "buffer": [[list(a), r] for a, r in self.buffer],
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._load_base_state(state)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ema_num, self.ema_den = (float(x) for x in state["ema"])
        self.buffer = [(tuple(int(x) for x in a), float(r)) for a, r in state["buffer"]]
        self.updates = int(state["updates"])
