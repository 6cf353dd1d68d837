"""Surrogate accuracy predictors for PNAS (Liu et al. 2018, "Progressive Neural
Architecture Search", section 3.2): an LSTM over the cell's tokens and an ensemble of
MLPs whose mean is the prediction. Only the RANKING of the predictions matters.

Both read an architecture as its token vector (one choice index per decision, the
space's ``to_vector``) and are refitted from scratch on all (vector, reward) pairs at
every stage, from the caller's ``torch.Generator``: a strategy keeps its data and
generator state, not predictor weights, and a resumed search refits identically.
Targets are standardised (z-scores) before fitting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman rank correlation; None when undefined (fewer than 3 points or constant)."""
    if len(a) < 3 or np.ptp(np.asarray(a, float)) == 0 or np.ptp(np.asarray(b, float)) == 0:
        return None
    return float(spearmanr(a, b).statistic)


class Predictor(ABC):
    """Fits (token vectors, rewards) and predicts a score per token vector."""

    def __init__(self, sizes: Sequence[int], generator: torch.Generator) -> None:
        self.sizes = list(sizes)
        self.gen = generator
        self.mean, self.std = 0.0, 1.0

    def _targets(self, y: Sequence[float]) -> torch.Tensor:
        t = torch.tensor(list(y), dtype=torch.float32)
        self.mean = float(t.mean())
        self.std = float(t.std()) if len(t) > 1 and float(t.std()) > 0 else 1.0
        return (t - self.mean) / self.std  # (N,)

    @abstractmethod
    def fit(self, x: Sequence[Sequence[int]], y: Sequence[float]) -> None: ...

    @abstractmethod
    def predict(self, x: Sequence[Sequence[int]]) -> np.ndarray: ...


def one_hot(x: Sequence[Sequence[int]], sizes: Sequence[int]) -> torch.Tensor:
    """(N, sum(sizes)) concatenated one-hot codes of the decisions."""
    t = torch.tensor([list(v) for v in x], dtype=torch.long)  # (N, T)
    offsets = torch.tensor([0] + list(np.cumsum(sizes)[:-1]), dtype=torch.long)
    out = torch.zeros(t.shape[0], int(sum(sizes)))
    out.scatter_(1, t + offsets, 1.0)
    return out


class MLPEnsemble(Predictor):
    """``members`` MLPs (one-hot input, ``hidden`` ReLU units x 2) trained at once as one
    batched model; each member sees its own bootstrap resample of the data and its own
    initialisation. The prediction is the members' mean (PNAS: ensemble of 5 MLPs)."""

    def __init__(self, sizes: Sequence[int], generator: torch.Generator, members: int = 5,
                 hidden: int = 32, epochs: int = 150, lr: float = 1e-2, weight_decay: float = 1e-4) -> None:
        super().__init__(sizes, generator)
        self.members, self.hidden, self.epochs, self.lr, self.wd = members, hidden, epochs, lr, weight_decay
        self.params: list[torch.Tensor] = []

    def _init(self, d_in: int) -> None:
        e, h, g = self.members, self.hidden, self.gen

        def u(*shape: int, fan_in: int) -> torch.Tensor:
            bound = 1.0 / fan_in**0.5
            return ((torch.rand(*shape, generator=g) * 2 - 1) * bound).requires_grad_()

        self.params = [u(e, d_in, h, fan_in=d_in), u(e, 1, h, fan_in=d_in),
                       u(e, h, h, fan_in=h), u(e, 1, h, fan_in=h),
                       u(e, h, 1, fan_in=h), u(e, 1, 1, fan_in=h)]

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (E, N, D) -> (E, N)."""
        w1, b1, w2, b2, w3, b3 = self.params
        h = torch.relu(torch.bmm(x, w1) + b1)  # (E, N, H)
        h = torch.relu(torch.bmm(h, w2) + b2)  # (E, N, H)
        return (torch.bmm(h, w3) + b3).squeeze(-1)  # (E, N)

    def fit(self, x: Sequence[Sequence[int]], y: Sequence[float]) -> None:
        xs = one_hot(x, self.sizes)  # (N, D)
        ys = self._targets(y)  # (N,)
        n = xs.shape[0]
        self._init(xs.shape[1])
        idx = torch.randint(0, n, (self.members, n), generator=self.gen)  # bootstrap (E, N)
        xb, yb = xs[idx], ys[idx]  # (E, N, D), (E, N)
        opt = torch.optim.Adam(self.params, lr=self.lr, weight_decay=self.wd)
        for _ in range(self.epochs):
            opt.zero_grad()
            ((self._forward(xb) - yb) ** 2).mean().backward()
            opt.step()

    @torch.no_grad()
    def predict(self, x: Sequence[Sequence[int]]) -> np.ndarray:
        xs = one_hot(x, self.sizes)  # (N, D)
        out = self._forward(xs.unsqueeze(0).expand(self.members, -1, -1)).mean(0)  # (N,)
        return (out * self.std + self.mean).numpy()


class _LSTMRegressor(nn.Module):
    def __init__(self, sizes: Sequence[int], hidden: int) -> None:
        super().__init__()
        self.offsets = torch.tensor([0] + list(np.cumsum(sizes)[:-1]), dtype=torch.long)
        self.embed = nn.Embedding(int(sum(sizes)), hidden)  # a table per decision position
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (N, T) -> predictions (N,)."""
        h, _ = self.lstm(self.embed(tokens + self.offsets))  # (N, T, H)
        return self.out(h[:, -1]).squeeze(-1)  # (N,)


class LSTMPredictor(Predictor):
    """PNAS's RNN predictor: an LSTM reads the cell's tokens; a linear layer on its last
    hidden state gives the score (the paper: a 100-unit LSTM; smaller by default here)."""

    def __init__(self, sizes: Sequence[int], generator: torch.Generator, hidden: int = 32,
                 epochs: int = 150, lr: float = 1e-2) -> None:
        super().__init__(sizes, generator)
        self.hidden, self.epochs, self.lr = hidden, epochs, lr
        self.model: _LSTMRegressor | None = None

    def fit(self, x: Sequence[Sequence[int]], y: Sequence[float]) -> None:
        tokens = torch.tensor([list(v) for v in x], dtype=torch.long)  # (N, T)
        ys = self._targets(y)
        self.model = _LSTMRegressor(self.sizes, self.hidden)
        for p in self.model.parameters():
            nn.init.uniform_(p, -0.1, 0.1, generator=self.gen)
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        for _ in range(self.epochs):
            opt.zero_grad()
            ((self.model(tokens) - ys) ** 2).mean().backward()
            opt.step()

    @torch.no_grad()
    def predict(self, x: Sequence[Sequence[int]]) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("LSTMPredictor.predict before fit")
        tokens = torch.tensor([list(v) for v in x], dtype=torch.long)
        return (self.model(tokens) * self.std + self.mean).numpy()


PREDICTORS = {"mlp": MLPEnsemble, "lstm": LSTMPredictor}
