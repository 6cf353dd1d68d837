"""The base class every image dataset shares, and the deterministic split helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from .base import DataOptions
from .transforms import ImageTransform

SPLITS = ("train", "test")


@dataclass
class NoParams:
    """Datasets without their own ``?key=value`` params."""


class ImageDataset(Dataset):
    """A labelled image dataset yielding ``{"image": (C, H, W) float, "label": int64 scalar}``.

    Subclasses fill ``targets`` (one int per item), ``class_names`` and implement
    ``load(i) -> PIL.Image`` (any mode; the transform converts it) and ``source(i)`` (the
    file or ``spec[i]`` named in errors). They are built by ``make_dataset`` with the
    signature below; ``Params`` is a dataclass of the dataset's own ``?key=value`` params and
    ``needs_path`` says whether the spec must be ``NAME:PATH``.
    """

    Params: ClassVar[type] = NoParams
    needs_path: ClassVar[bool] = False

    def __init__(self, path: str | None, split: str, options: DataOptions, params: Any, spec: str) -> None:
        if split not in SPLITS:
            raise ConfigError(f"{spec}: unknown split {split!r}; valid: {', '.join(SPLITS)}")
        self.path = path
        self.split = split
        self.options = options
        self.params = params
        self.spec = spec
        self.transform = ImageTransform(options, train=split == "train")
        self.targets: np.ndarray = np.zeros(0, dtype=np.int64)
        self.class_names: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    # -- contract ------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.options.channels, self.options.image_size, self.options.image_size)

    def load(self, i: int) -> Image.Image:
        raise NotImplementedError

    def source(self, i: int) -> str:
        return f"{self.spec}[{i}]"

    def __len__(self) -> int:
        return len(self.targets)

    def _index(self, i: int) -> int:
        n = len(self)
        j = int(i) + n if int(i) < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError(f"{self.spec}: index {i} out of range for {n} items")
        return j

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = self._index(i)
        image = self.transform(self.load(j), self.source(j))  # (C, S, S)
        if image.shape != self.image_shape:  # never hand out a wrong tensor silently
            raise DataError(f"{self.source(j)}: produced shape {tuple(image.shape)}, expected {self.image_shape}")
        return {"image": image, "label": torch.tensor(int(self.targets[j]), dtype=torch.int64)}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(spec={self.spec!r}, split={self.split!r}, n={len(self)}, "
            f"classes={self.num_classes}, image_shape={self.image_shape})"
        )


class ArrayImageDataset(ImageDataset):
    """Images held in memory as uint8 ``(N, H, W)`` or ``(N, H, W, 3)`` arrays."""

    images: np.ndarray

    def set_arrays(self, images: np.ndarray, targets: np.ndarray, class_names: Sequence[str]) -> None:
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or len(images) != len(targets):
            raise DataError(f"{self.spec}: bad image array {images.dtype} {images.shape} for {len(targets)} labels")
        self.images = images
        self.targets = np.asarray(targets, dtype=np.int64)
        self.class_names = list(class_names)

    def load(self, i: int) -> Image.Image:
        a = self.images[i]
        return Image.fromarray(a, "L" if a.ndim == 2 else "RGB")


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic disjoint (train, test) index arrays, ``test_fraction`` of each class.

    Each class's indices are permuted by ``numpy.random.default_rng(seed)`` and the first
    ``round(len * test_fraction)`` go to test. Both outputs are sorted.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"holdout/test fraction must be in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * test_fraction))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
