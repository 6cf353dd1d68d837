"""Supervised training shared by the metric classifier (``ganas.metrics``) and NAS child
training (``ganas.nas.evaluators``): a labelled split in memory, seeded stratified
subsets, the training loop and accuracy. Imports neither metrics nor nas.

Images are held as uint8 pixels (N, C, H, W), 4x smaller than float32 and exact for
8-bit sources; ``from_pixels`` turns a batch into floats in [-1, 1] on the way into a
network (both callers use ``DataOptions(normalize=True)``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..data.base import DataOptions
from ..errors import DataError, NonFiniteLossError

#: ``(spec, split, options) -> dataset``; defaults to ``ganas.data.make_dataset`` (looked
#: up at call time, so one patched provider serves every caller)
DatasetFn = Callable[[str, str, DataOptions], Any]


def to_pixels(x: Tensor) -> Tensor:
    """[-1, 1] floats -> uint8 0..255 (exact for 8-bit sources; 4x smaller in memory)."""
    return ((x.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def from_pixels(q: Tensor) -> Tensor:
    """uint8 0..255 -> float32 in [-1, 1]; float input is returned as float32."""
    return q.float() / 127.5 - 1 if q.dtype == torch.uint8 else q.float()


def tqdm_disable(progress: Optional[bool]) -> Optional[bool]:
    """tqdm's ``disable``: None (default) shows a bar only when stderr is a terminal."""
    return None if progress is None else not progress


@dataclass
class LabelledData:
    """A whole split in memory: ``pixels`` (N, C, H, W) uint8, ``labels`` (N,) int64 (-1 when
    the dataset has no classes), and the dataset's class names."""

    pixels: Tensor
    labels: Tensor
    class_names: list[str]
    spec: str
    split: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def images(self) -> Tensor:
        """All images as float32 in [-1, 1], (N, C, H, W)."""
        return from_pixels(self.pixels)

    @property
    def classes_present(self) -> int:
        """Number of distinct labels >= 0 in this split."""
        return int(torch.unique(self.labels[self.labels >= 0]).numel())

    def subset(self, idx: Tensor, split: str) -> "LabelledData":
        return LabelledData(self.pixels[idx], self.labels[idx], self.class_names, self.spec, split)


# -- data ------------------------------------------------------------------------------


def open_split(
    spec: str, split: str, image_size: int, channels: int, dataset_fn: Optional[DatasetFn] = None
) -> Any:
    """The dataset object of one split: centre crop, no flip, values in [-1, 1]."""
    options = DataOptions(image_size=image_size, channels=channels, crop="center", flip=False, normalize=True)
    if dataset_fn is None:
        from .. import data as gdata

        dataset_fn = gdata.make_dataset
    return dataset_fn(spec, split, options)


def dataset_labels(ds: Any) -> Optional[np.ndarray]:
    """The labels of every item without loading an image, when the dataset exposes them
    (``targets`` as ``ImageDataset`` does, or ``labels``); else None."""
    for name in ("targets", "labels"):
        t = getattr(ds, name, None)
        if t is not None and len(t) == len(ds):
            return np.asarray(t.numpy() if isinstance(t, Tensor) else t, dtype=np.int64).reshape(-1)
    return None


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset of exactly ``min(limit, len(labels))`` items with
    each class in proportion to its share (largest remainder; unlabelled -1 is a class here).

    NOTE: replaces "the first ``limit`` items", which on a class-sorted folder
    (``train/<class>/*.jpg``) is a single class.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if limit >= n:
        return np.arange(n)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (limit / n)
    take = np.floor(quota).astype(np.int64)
    rest = limit - int(take.sum())
    order = np.lexsort((classes, -(quota - take)))  # largest remainder first, ties by class
    take[order[:rest]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked))


def read_split(
    ds: Any,
    spec: str,
    split: str,
    image_size: int,
    channels: int,
    *,
    limit: Optional[int] = None,
    seed: int = 0,
    labelled: bool = True,
    purpose: str = "training",
    progress: Optional[bool] = False,
) -> LabelledData:
    """Read the items of ``ds`` (all, or a seeded stratified subset of ``limit``) into memory."""
    n_all = len(ds)
    if n_all == 0:
        raise DataError(f"data spec {spec!r}: the {split} split is empty")
    index: Optional[np.ndarray] = None
    if limit is not None and int(limit) < n_all:
        labels = dataset_labels(ds)
        if labels is not None:
            index = stratified_subset(labels, int(limit), seed)
    source = ds if index is None else torch.utils.data.Subset(ds, index.tolist())
    # a generator of its own: iterating a DataLoader otherwise draws its base seed from
    # the global RNG, which would disturb the caller's random stream
    loader = torch.utils.data.DataLoader(source, batch_size=256, shuffle=False, num_workers=0, generator=torch.Generator())
    images, ys = [], []
    for b in tqdm(loader, desc=f"reading {spec} ({split})", unit="batch", disable=tqdm_disable(progress), leave=False):
        images.append(to_pixels(b["image"]))  # (b, C, H, W) uint8
        ys.append(b["label"].long().reshape(-1))
    x, y = torch.cat(images), torch.cat(ys)  # (N, C, H, W), (N,)
    if limit is not None and index is None and int(limit) < n_all:  # labels known only now
        keep = torch.from_numpy(stratified_subset(y.numpy(), int(limit), seed))
        x, y = x[keep], y[keep]
    if tuple(x.shape[1:]) != (channels, image_size, image_size):
        raise DataError(
            f"data spec {spec!r} ({split}) gave images of shape {tuple(x.shape[1:])}, "
            f"expected {(channels, image_size, image_size)}"
        )
    names = [str(c) for c in (getattr(ds, "class_names", None) or [])]
    if labelled and int(y.min()) < 0:
        raise DataError(
            f"data spec {spec!r}: the {split} split has no class labels (label -1); {purpose} needs labelled data"
        )
    k = int(getattr(ds, "num_classes", 0) or len(names) or int(y.max()) + 1)
    if int(y.max()) >= k:
        raise DataError(f"data spec {spec!r} ({split}): label {int(y.max())} >= number of classes {k}")
    return LabelledData(x, y, names if len(names) == k else [str(i) for i in range(k)], spec, split)


def load_split(
    spec: str,
    split: str,
    image_size: int,
    channels: int,
    *,
    limit: Optional[int] = None,
    seed: int = 0,
    dataset_fn: Optional[DatasetFn] = None,
    labelled: bool = True,
    purpose: str = "training",
    progress: Optional[bool] = False,
) -> LabelledData:
    """``open_split`` + ``read_split``: one split in memory."""
    ds = open_split(spec, split, image_size, channels, dataset_fn)
    return read_split(
        ds, spec, split, image_size, channels, limit=limit, seed=seed, labelled=labelled, purpose=purpose,
        progress=progress,
    )


def warn_if_few_classes(data: LabelledData, what: str = "") -> None:
    """A warning when ``data`` holds fewer than two classes (nothing to tell apart)."""
    k = data.classes_present
    if k < 2:
        warnings.warn(
            f"data spec {data.spec!r}: the {data.split} split{what} holds {k} class(es); "
            "a classifier trained or scored on it learns nothing",
            RuntimeWarning,
            stacklevel=3,
        )


# -- training --------------------------------------------------------------------------

#: ``(images (B, C, H, W) in [-1, 1], generator) -> images``, applied to training batches
Augment = Callable[[Tensor, torch.Generator], Tensor]


def optimizer_step(loss: Tensor, optimizer: torch.optim.Optimizer, scheduler: Any, where: str) -> None:
    """One optimisation step on ``loss``, refusing a NaN/inf loss (``where.format(loss)``
    names the place in NonFiniteLossError); the scheduler steps every iteration."""
    if not torch.isfinite(loss):
        raise NonFiniteLossError(where.format(loss.item()))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()


def fit(
    model: nn.Module,
    data: LabelledData,
    *,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    make_scheduler: Callable[[torch.optim.Optimizer, int], Any],
    seed: int,
    device: torch.device,
    augment: Optional[Augment] = None,
    drop_last: bool = False,
    progress: Optional[bool] = False,
    what: str = "training",
    on_epoch: Optional[Callable[[int, nn.Module], Any]] = None,
) -> dict[str, float]:
    """Train ``model`` in place with cross-entropy; batches shuffled (and augmented) by a
    generator seeded with ``seed``, the scheduler stepped every iteration
    (``make_scheduler(optimizer, total_steps)``). ``drop_last`` drops the last partial
    batch of each epoch (BatchNorm on tiny batches). A tqdm bar over all steps unless
    ``progress`` is False (None: only on a terminal). Returns {"train_loss": mean loss of
    the last epoch, "steps"}; NonFiniteLossError names epoch and step on a NaN/inf loss.
    ``on_epoch(epoch, model)`` runs after every epoch but the last (e.g. to score it;
    the model is put back in training mode afterwards)."""
    n = len(data)
    per_epoch = max(1, n // batch_size) if drop_last else math.ceil(n / batch_size)
    sched = make_scheduler(optimizer, epochs * per_epoch)
    gen = torch.Generator().manual_seed(int(seed))
    model.to(device).train()
    step, last = 0, float("nan")
    bar = tqdm(total=epochs * per_epoch, desc=what, unit="step", disable=tqdm_disable(progress), leave=False)
    try:
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=gen)
            losses = []
            for b in range(per_epoch):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                x = from_pixels(data.pixels[idx].to(device))  # (B, C, H, W) in [-1, 1]
                if augment is not None:
                    x = augment(x, gen)
                loss = F.cross_entropy(model(x), data.labels[idx].to(device))  # logits (B, K)
                optimizer_step(loss, optimizer, sched, f"{what}: loss is {{}} at epoch {epoch}, step {step}")
                losses.append(loss.detach())
                step += 1
                bar.update(1)
            last = float(torch.stack(losses).mean())
            bar.set_postfix(epoch=epoch + 1, loss=f"{last:.4f}")
            if on_epoch is not None and epoch + 1 < epochs:
                on_epoch(epoch, model)
                model.train()
    finally:
        bar.close()
    return {"train_loss": last, "steps": float(step)}


@torch.no_grad()
def accuracy(model: nn.Module, data: LabelledData, device: torch.device, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` on ``data`` as a fraction in [0, 1] (eval mode)."""
    model.to(device).eval()
    correct = 0
    for b in range(0, len(data), batch_size):
        x = from_pixels(data.pixels[b : b + batch_size].to(device))  # (B, C, H, W)
        correct += int((model(x).argmax(dim=1).cpu() == data.labels[b : b + batch_size]).sum())
    return correct / len(data)


def build_seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``build()`` with torch's global RNG seeded by ``seed`` (weight init), restoring
    the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()
