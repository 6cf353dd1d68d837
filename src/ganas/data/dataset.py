"""The base class every image dataset shares, and the deterministic split helper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Hashable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError
from .base import DataOptions
from .transforms import CENTER, ImageTransform, Jitter, item_rng, load_image_file, parse_key

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

    Items are addressed by a key: ``dataset[i]`` or ``dataset[(i, epoch, seed)]`` (see
    ``transforms.parse_key``); the random crop and flip come from ``item_rng`` of the key.
    Datasets with several image fields (translation pairs) override ``item`` and
    ``field_shapes``; ``field_image`` loads, caches and transforms one field.
    """

    Params: ClassVar[type] = NoParams
    needs_path: ClassVar[bool] = False
    #: whether the dataset yields pairs "A"/"B" (so direction/channels_A/channels_B apply)
    pairs: ClassVar[bool] = False
    #: resized (converted, resized, not yet cropped) uint8 images are kept in memory when
    #: all of them fit in this many bytes
    CACHE_BYTES: ClassVar[int] = 1 << 30

    def __init__(self, path: str | None, split: str, options: DataOptions, params: Any, spec: str) -> None:
        if split not in SPLITS:
            raise ConfigError(f"{spec}: unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if not self.pairs and (options.direction != "AtoB" or options.channels_A or options.channels_B):
            raise ConfigError(
                f"{spec}: direction, channels_A and channels_B apply to translation pairs "
                f"(aligned:, paired:, unaligned:, shapes?task=...); {type(self).__name__} yields single images"
            )
        self.path = path
        self.split = split
        self.options = options
        self.params = params
        self.spec = spec
        self.transform = ImageTransform(options, train=split == "train")
        if self.pairs:  # the fields "A" and "B" as yielded (after direction), each its channels
            self.transforms = {
                "A": ImageTransform(options, split == "train", options.channels_A or options.channels),
                "B": ImageTransform(options, split == "train", options.channels_B or options.channels),
            }
        self.targets: np.ndarray = np.zeros(0, dtype=np.int64)
        self.class_names: list[str] = []
        self.skipped: list[tuple[str, str]] = []
        self.cache = True  # subclasses may turn it off
        self._cache: dict[Hashable, np.ndarray] | None = None  # made on first access when enabled
        self._cache_decided = False
        self._cache_bytes = 0

    # -- contract ------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of "image" (of "A" for pair datasets)."""
        if self.pairs:
            return self.field_shapes["A"]
        return (self.options.channels, self.options.image_size, self.options.image_size)

    @property
    def field_shapes(self) -> dict[str, tuple[int, int, int]]:
        """The shape of every image field an item holds ("image", or "A" and "B")."""
        if self.pairs:
            s = self.options.image_size
            return {f: (t.channels, s, s) for f, t in self.transforms.items()}
        return {"image": self.image_shape}

    # -- pairs ---------------------------------------------------------------------
    def side(self, j: int, side: str, key: tuple[int, int, int]) -> tuple[Hashable, Callable[[], Image.Image], str]:
        """Pair datasets: (cache key, loader, source) of the data's side "A" or "B" of item ``j``
        (before ``direction``); ``key`` is (j, epoch, seed), for a random B draw."""
        raise NotImplementedError

    def extras(self, j: int, key: tuple[int, int, int], jitter: Jitter) -> dict[str, Any]:
        """Pair datasets: fields beside "A" and "B" (e.g. "B_true", "factors")."""
        return {}

    def other(self, side: str) -> str:
        """The field that yields the data's ``side`` ("A" <-> "B" when direction is BtoA)."""
        return side if self.options.direction == "AtoB" else {"A": "B", "B": "A"}[side]

    def pair_item(self, j: int, jitter: Jitter, key: tuple[int, int, int]) -> dict[str, Any]:
        """``{"A", "B", "A_path", "B_path", ...extras}``, both images cropped and flipped alike."""
        out: dict[str, Any] = {}
        for side in ("A", "B"):
            field = self.other(side)
            cache_key, load, source = self.side(j, side, key)
            out[field] = self.field_image((side, cache_key), load, source, self.transforms[field], jitter, field)
            out[field + "_path"] = source
        out.update(self.extras(j, key, jitter))
        return out

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

    def _cache_on(self) -> bool:
        per_item = 0
        for c, _, _ in self.field_shapes.values():
            side = self.transform.load_size if self.options.crop != "none" else self.options.image_size
            per_item += c * side * side
        return self.cache and len(self) * per_item <= self.CACHE_BYTES

    def field_image(
        self, key: Hashable, load: Callable[[], Image.Image], source: str,
        transform: ImageTransform, jitter: Jitter, field: str = "image",
    ) -> torch.Tensor:
        """One image field: ``load()`` converted and resized (cached under ``key``), then
        cropped and flipped by ``jitter``; a shape other than ``field_shapes[field]`` raises."""
        if not self._cache_decided:
            self._cache = {} if self._cache_on() else None
            self._cache_decided = True
        a = self._cache.get(key) if self._cache is not None else None
        if a is None:
            a = transform.prepare(load(), source)  # (H, W, C) uint8
            if self._cache is not None and self._cache_bytes + a.nbytes <= self.CACHE_BYTES:
                self._cache[key] = a
                self._cache_bytes += a.nbytes
        image = transform.finish(a, jitter)  # (C, S, S)
        want = self.field_shapes[field]
        if image.shape != want:  # never hand out a wrong tensor silently
            raise DataError(f"{source}: produced shape {tuple(image.shape)}, expected {want}")
        return image

    def item(self, j: int, jitter: Jitter, key: tuple[int, int, int]) -> dict[str, Any]:
        """The item at index ``j`` with the transform's ``jitter``; ``key`` = (j, epoch, seed)."""
        if self.pairs:
            return self.pair_item(j, jitter, key)
        image = self.field_image(j, lambda: self.load(j), self.source(j), self.transform, jitter)
        return {"image": image, "label": torch.tensor(int(self.targets[j]), dtype=torch.int64)}

    def __getitem__(self, key: Any) -> dict[str, Any]:
        index, epoch, seed = parse_key(key)
        j = self._index(index)
        jitter = self.transform.draw(item_rng(j, epoch, seed)) if self.transform.random else CENTER
        return self.item(j, jitter, (j, epoch, seed))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(spec={self.spec!r}, split={self.split!r}, n={len(self)}, "
            f"classes={self.num_classes}, image_shape={self.image_shape})"
        )


class FileImageDataset(ImageDataset):
    """Images read from ``self.files`` (paths), each named in its errors."""

    files: list[Path]

    def source(self, i: int) -> str:
        return str(self.files[i])

    def load(self, i: int) -> Image.Image:
        return load_image_file(self.files[i])


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


def folder_of(path: str | None, spec: str) -> Path:
    """The existing folder a ``NAME:PATH`` spec names, else DataError naming it."""
    root = Path(str(path)).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such folder (spec {spec!r})")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (spec {spec!r})")
    return root


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
