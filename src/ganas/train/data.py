"""Deterministic, resumable data order: a seeded permutation per epoch, cut into full
batches (the last partial batch is dropped), that can start in the middle of an epoch.

A dataset that declares ``accepts_keys = True`` receives keys ``(index, epoch, seed)``
instead of plain indices and derives its random transforms (crops, flips, the unaligned
B draw) from them (docs/protocol.md, "Data items"): its items then depend neither on
``num_workers`` nor on the global RNG, and a resume is bit-identical with workers."""

from __future__ import annotations

from typing import Any, Iterator, Union

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import DataError


def epoch_seed(seed: int, epoch: int) -> int:
    """One independent permutation seed per (run seed, epoch)."""
    return (seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1)


#: what the sampler hands ``dataset[...]``: a plain index, or ``(index, epoch, seed)``
ItemKey = Union[int, tuple[int, int, int]]


def accepts_keys(dataset: Any) -> bool:
    """Does ``dataset[(index, epoch, seed)]`` work (``accepts_keys = True``)?"""
    return getattr(dataset, "accepts_keys", False) is True


class EpochBatchSampler(Sampler[list[ItemKey]]):
    """Batches of epoch ``epoch``'s permutation, starting at batch ``position``: indices,
    or ``(index, epoch, seed)`` keys with ``keys=True``.

    With ``world_size > 1`` (distributed training) ``batch_size`` is the global batch and
    rank ``rank`` yields its contiguous slice of each global batch of the same permutation:
    the order state (epoch, position) is global, so it resumes on any number of ranks."""

    def __init__(self, n: int, batch_size: int, seed: int, keys: bool = False, rank: int = 0,
                 world_size: int = 1) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size or batch_size % world_size:
            raise DataError(f"batch_size {batch_size} does not divide among {world_size} processes "
                            f"(rank {rank}); give a multiple of {world_size}")
        self.n, self.batch_size, self.seed, self.keys = n, batch_size, seed, keys
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size  # drop the last partial batch

    def set_epoch(self, epoch: int, position: int = 0) -> None:
        self.epoch, self.position = epoch, position

    def __len__(self) -> int:
        return self.batches_per_epoch - self.position

    def __iter__(self) -> Iterator[list[ItemKey]]:
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        perm = torch.randperm(self.n, generator=g).tolist()
        bs, epoch, seed = self.batch_size, self.epoch, self.seed
        part = bs // self.world_size
        lo, hi = self.rank * part, (self.rank + 1) * part  # this rank's slice of each global batch
        for b in range(self.position, self.batches_per_epoch):
            idx = perm[b * bs : (b + 1) * bs][lo:hi]
            yield [(i, epoch, seed) for i in idx] if self.keys else idx


class BatchStream:
    """An endless stream of batches over epochs; ``state()`` says where it stands.

    NOTE: the loader gets its own ``torch.Generator`` so that creating an iterator each
    epoch does not draw from the global torch RNG (DataLoader draws a base seed from it
    otherwise). A dataset with ``accepts_keys`` draws its transforms from its keys
    (bit-identical resume with any ``num_workers``); an older one draws from the global
    RNG in the same order in one run and in a resumed one (bit-identical with
    ``num_workers=0``; with workers, each worker reseeds from the loader's generator, so
    its augmentations after a resume differ from an uninterrupted run).
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, num_workers: int = 0, pin_memory: bool = False,
                 rank: int = 0, world_size: int = 1) -> None:
        try:
            n = len(dataset)  # type: ignore[arg-type]
        except TypeError:
            raise DataError("the trainer needs a dataset with a length (map-style)") from None
        self.sampler = EpochBatchSampler(n, batch_size, seed, keys=accepts_keys(dataset), rank=rank,
                                         world_size=world_size)
        if self.sampler.batches_per_epoch == 0:
            raise DataError(f"the dataset has {n} examples, fewer than one batch of {batch_size}")
        self.seed = seed
        self.loader_gen = torch.Generator()
        self.loader = DataLoader(
            dataset, batch_sampler=self.sampler, num_workers=num_workers,
            pin_memory=pin_memory, generator=self.loader_gen,
        )
        self._it: Iterator[Any] | None = None

    def state(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "position": self.sampler.position, "seed": self.seed}

    def load_state(self, state: dict[str, int]) -> None:
        if int(state["seed"]) != self.seed:
            raise DataError(f"data order seed {state['seed']} differs from the run seed {self.seed}")
        self.sampler.set_epoch(int(state["epoch"]), int(state["position"]))
        self._it = None

    def next(self) -> Any:
        """The next batch; ``position`` counts the batches consumed in the current epoch."""
        if self.sampler.position >= self.sampler.batches_per_epoch:
            self.sampler.set_epoch(self.sampler.epoch + 1, 0)
            self._it = None
        if self._it is None:
            self.loader_gen.manual_seed(epoch_seed(self.seed + 1, self.sampler.epoch))
            self._it = iter(self.loader)
        batch = next(self._it)
        self.sampler.position += 1
        return batch
