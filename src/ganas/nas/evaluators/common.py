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
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import replace
from ...errors import ConfigError, DataError, NonFiniteLossError


@dataclass
class TrainSettings:
    """Child training and retraining settings (recipe defaults: NAS-Bench-201's).

    ``lr``/``weight_decay`` None take the optimizer's default (sgd: 0.1 / 5e-4; adam:
    1e-3 / 0). ``max_train``/``max_test`` cap the items loaded (the first ones; CPU
    budgets); ``max_test`` is used by ``retrain`` only. ``split_seed`` fixes the
    validation carve-out (the same for every child).
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


@dataclass
class LabelledData:
    """A whole split in memory: ``images`` (N, C, H, W) float32, ``labels`` (N,) int64."""

    images: Tensor
    labels: Tensor
    num_classes: int
    spec: str
    split: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, idx: Tensor, split: str) -> "LabelledData":
        return LabelledData(self.images[idx], self.labels[idx], self.num_classes, self.spec, split)


def load_split(spec: str, split: str, image_size: int, channels: int, limit: int | None = None) -> LabelledData:
    """Load split ``split`` of data spec ``spec`` into memory (first ``limit`` items if set).

    Goes through ``ganas.data.make_dataset`` (looked up at call time, so one patched
    provider serves every caller). Items are dicts with ``image`` (C, H, W) and ``label``.
    """
    from ... import data as gdata
    from ...data.base import DataOptions

    ds = gdata.make_dataset(spec, split, DataOptions(image_size=image_size, channels=channels, flip=False))
    n = len(ds) if limit is None else min(len(ds), int(limit))
    if n == 0:
        raise DataError(f"data spec {spec!r}: the {split} split is empty")
    images, labels = [], []
    for i in range(n):
        item = ds[i]
        images.append(item["image"])  # (C, H, W)
        labels.append(int(item["label"]))
    x = torch.stack(images).float()  # (N, C, H, W)
    y = torch.tensor(labels, dtype=torch.int64)  # (N,)
    if int(y.min()) < 0:
        raise DataError(f"data spec {spec!r}: the {split} split has no class labels (label -1); NAS needs labelled data")
    num_classes = int(getattr(ds, "num_classes", 0) or int(y.max()) + 1)
    if int(y.max()) >= num_classes:
        raise DataError(f"data spec {spec!r}: label {int(y.max())} >= num_classes {num_classes}")
    return LabelledData(x, y, num_classes, spec, split)


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


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as e:
        raise ConfigError(f"device: {device!r} is not a torch device ({e})") from None


def train_model(
    model: nn.Module, data: LabelledData, recipe: TrainSettings, seed: int, device: torch.device,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, float]:
    """Train ``model`` in place with the recipe of ``recipe``; batches shuffled by a generator seeded with
    ``seed``. Returns {"train_loss": mean loss of the last epoch, "steps"}. Raises
    NonFiniteLossError on a NaN/inf loss (naming epoch and step). ``on_epoch(epoch,
    model)`` is called after every epoch but the last (e.g. to score it; the model is
    put back in training mode afterwards)."""
    recipe.validate()
    model.to(device).train()
    opt = recipe.make_optimizer([p for p in model.parameters() if p.requires_grad])
    n = len(data)
    steps_per_epoch = math.ceil(n / recipe.batch_size)
    total = recipe.epochs * steps_per_epoch
    # Cosine annealing to 0 over all iterations (NB201 steps its scheduler per iteration).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * t / total)))
    g = torch.Generator().manual_seed(int(seed))
    x_all, y_all = data.images.to(device), data.labels.to(device)
    step, last = 0, float("nan")
    for epoch in range(recipe.epochs):
        perm = torch.randperm(n, generator=g).to(device)
        losses = []
        for b in range(steps_per_epoch):
            idx = perm[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            x, y = x_all[idx], y_all[idx]  # (B, C, H, W), (B,)
            loss = F.cross_entropy(model(x), y)  # logits (B, K)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"child training: loss is {loss.item()} at epoch {epoch}, step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.detach())
            step += 1
        last = float(torch.stack(losses).mean())
        if on_epoch is not None and epoch + 1 < recipe.epochs:
            on_epoch(epoch, model)
            model.train()
    return {"train_loss": last, "steps": float(step)}


@torch.no_grad()
def accuracy(model: nn.Module, data: LabelledData, device: torch.device, batch_size: int = 512) -> float:
    """Top-1 accuracy of ``model`` on ``data`` as a fraction in [0, 1] (eval mode)."""
    model.to(device).eval()
    correct = 0
    for b in range(0, len(data), batch_size):
        x = data.images[b : b + batch_size].to(device)  # (B, C, H, W)
        y = data.labels[b : b + batch_size].to(device)  # (B,)
        correct += int((model(x).argmax(dim=1) == y).sum())
    return correct / len(data)


def build_seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``build()`` with torch's global RNG seeded by ``seed`` (weight init), restoring
    the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()


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
    from ..flops import count_flops, count_params

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
