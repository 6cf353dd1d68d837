"""What child training and retraining share: labelled data in memory, a deterministic
validation carve-out of the training split, the fixed training recipe, and accuracy.

The recipe is NAS-Bench-201's (Dong & Yang, ICLR 2020, sec. 2.3 / Table 2; AutoDL-Projects
``configs/nas-benchmark/hyper-opts/*.config``): SGD, momentum 0.9, Nesterov, lr 0.1 with
cosine annealing to 0 (stepped every iteration), weight decay 5e-4, batch 256,
cross-entropy without label smoothing. ``optimizer="adam"`` (lr 1e-3, no weight decay
unless set) is offered for tiny CPU budgets where a few hundred SGD steps barely move.
NOTE: NB201 also augments (random crop with 4-pixel padding, horizontal flip); we train on
the images as loaded (the data spec decides any transform) to keep children cheap and
evaluations deterministic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

import torch
from torch import nn

from ...config import replace
from ...errors import ConfigError, DataError
from ...utils import count_params
from ...train import supervised
from ...train.config import resolve_device
from ...train.supervised import LabelledData, accuracy, build_seeded

__all__ = [
    "LabelledData", "TrainSettings", "accuracy", "build_seeded", "carve_validation", "fit_and_score", "load_split",
    "make_settings", "train_model",
]


@dataclass
class TrainSettings:
    """Child training and retraining settings (recipe defaults: NAS-Bench-201's).

    ``lr``/``weight_decay`` None take the optimizer's default (sgd: 0.1 / 5e-4; adam:
    1e-3 / 0). ``max_train``/``max_test`` cap the items loaded (CPU budgets) to a subset
    stratified by class and seeded by ``split_seed``; ``max_test`` is used by ``retrain``
    only. ``split_seed`` also fixes the validation carve-out (the same for every child).
    """

    data_spec: str = "digits"
    epochs: int = 1
    batch_size: int = 256
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float | None = None
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float | None = None
    val_fraction: float = 0.1
    image_size: int = 32
    channels: int = 3
    device: str = "cpu"
    max_train: int | None = None
    max_test: int | None = None
    split_seed: int = 0

    def validate(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.image_size < 1 or self.channels < 1:
            raise ConfigError(f"image_size and channels must be >= 1, got {self.image_size}, {self.channels}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            lr = 1e-3 if self.lr is None else self.lr
            wd = 0.0 if self.weight_decay is None else self.weight_decay
            return torch.optim.Adam(params, lr=lr, weight_decay=wd)
        lr = 0.1 if self.lr is None else self.lr
        wd = 5e-4 if self.weight_decay is None else self.weight_decay
        return torch.optim.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.nesterov, weight_decay=wd)


def make_settings(overrides: Mapping[str, Any]) -> TrainSettings:
    """``TrainSettings`` with ``overrides`` applied (strings coerced, unknown keys refused
    with the list of valid ones, values validated)."""
    return replace(TrainSettings(), dict(overrides))


def load_split(
    spec: str, split: str, image_size: int, channels: int, limit: int | None = None, seed: int = 0
) -> LabelledData:
    """Load split ``split`` of data spec ``spec`` into memory: all items, or a seeded
    stratified subset of ``limit`` (``supervised.stratified_subset``), with a warning when
    it holds fewer than two classes.

    Goes through ``ganas.data.make_dataset`` (looked up at call time, so one patched
    provider serves every caller). Items are dicts with ``image`` (C, H, W) and ``label``.
    """
    data = supervised.load_split(spec, split, image_size, channels, limit=limit, seed=seed, purpose="NAS")
    supervised.warn_if_few_classes(data, "" if limit is None else f" (a subset of {limit})")
    return data


def carve_validation(data: LabelledData, val_fraction: float, split_seed: int = 0) -> tuple[LabelledData, LabelledData | None]:
    """Split a training set into (train, val) by a fixed permutation (``split_seed``), the
    same for every child so rewards are comparable. ``val_fraction`` 0 returns (data, None)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0:
        return data, None
    n = len(data)
    n_val = max(1, int(round(n * val_fraction)))
    if n_val >= n:
        raise DataError(f"data spec {data.spec!r}: {n} training items are too few for val_fraction={val_fraction}")
    g = torch.Generator().manual_seed(int(split_seed))
    perm = torch.randperm(n, generator=g)
    val_idx, train_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
    return data.subset(train_idx, data.split + "-minus-val"), data.subset(val_idx, data.split + "-val")


def train_model(
    model: nn.Module, data: LabelledData, recipe: TrainSettings, seed: int, device: torch.device,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, float]:
    """Train ``model`` in place with the recipe of ``recipe`` (``supervised.fit``); batches
    shuffled by a generator seeded with ``seed``. Returns {"train_loss": mean loss of the
    last epoch, "steps"}. Raises NonFiniteLossError on a NaN/inf loss (naming epoch and step).
    ``on_epoch(epoch, model)`` runs after every epoch but the last (``supervised.fit``)."""
    recipe.validate()
    model.to(device)
    opt = recipe.make_optimizer([p for p in model.parameters() if p.requires_grad])

    def cosine(o: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LRScheduler:
        # Cosine annealing to 0 over all iterations (NB201 steps its scheduler per iteration).
        return torch.optim.lr_scheduler.LambdaLR(o, lambda t: 0.5 * (1.0 + math.cos(math.pi * t / total)))

    return supervised.fit(
        model, data, epochs=recipe.epochs, batch_size=recipe.batch_size, optimizer=opt, make_scheduler=cosine,
        seed=seed, device=device, what="child training", on_epoch=on_epoch,
    )


def fit_and_score(
    build: Callable[[], nn.Module],
    train: LabelledData,
    score_on: LabelledData,
    recipe: TrainSettings,
    seed: int,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> tuple[nn.Module, dict[str, float]]:
    """Build (seeded), count cost, train, and score: the one path for search-time child
    training and for retraining. Returns (model, {"acc" (fraction), "train_loss",
    "params", "flops", "seconds", "steps"}). ``on_epoch``: see ``train_model``."""
    from ..flops import count_flops

    t0 = time.perf_counter()
    model = build_seeded(build, seed)
    params = float(count_params(model))
    flops = float(count_flops(model, recipe.input_shape))
    device = resolve_device(recipe.device)
    # Dropout and other stochastic layers draw from the global RNG: keep it seeded too.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) + 1)
        stats = train_model(model, train, recipe, seed, device, on_epoch)
    acc = accuracy(model, score_on, device)
    return model, {"acc": acc, "params": params, "flops": flops, "seconds": time.perf_counter() - t0, **stats}
