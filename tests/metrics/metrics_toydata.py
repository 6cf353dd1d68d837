"""A tiny labelled in-memory dataset following the contract of ganas/data/base.py."""

from __future__ import annotations

import torch

from ganas.data.base import DataOptions

CLASSES = ["hbar", "vbar", "box"]


def draw(label: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """One (1, size, size) image in [-1, 1]: a horizontal bar, a vertical bar or a hollow box."""
    img = torch.full((size, size), -1.0)
    lo, hi = size // 4, size - size // 4
    o = int(torch.randint(-1, 2, (1,), generator=gen))  # jitter by one pixel
    if label == 0:
        img[size // 2 + o - 1 : size // 2 + o + 1, lo:hi] = 1.0
    elif label == 1:
        img[lo:hi, size // 2 + o - 1 : size // 2 + o + 1] = 1.0
    else:
        img[lo + o : hi + o, lo] = img[lo + o : hi + o, hi - 1] = 1.0
        img[lo + o, lo:hi] = img[hi + o - 1, lo:hi] = 1.0
    img = img + 0.15 * torch.randn(size, size, generator=gen)
    return img.clamp(-1, 1)[None]


class Shapes3(torch.utils.data.Dataset):
    num_classes = len(CLASSES)
    class_names = CLASSES

    def __init__(self, n: int, size: int, seed: int, only: int | None = None) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.labels = [only if only is not None else i % 3 for i in range(n)]
        self.images = [draw(c, size, gen) for c in self.labels]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[i], "label": torch.tensor(self.labels[i], dtype=torch.int64)}


class FakeData:
    """``dataset_fn(spec, split, options)`` with a call counter; train/test use different seeds."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, spec: str, split: str, options: DataOptions) -> Shapes3:
        self.calls.append((spec, split))
        assert options.channels == 1
        n, seed = {"train": (192, 1), "test": (120, 2)}[split]
        return Shapes3(n, options.image_size, seed)


def sampler(seed: int, only: int | None = None, size: int = 12):
    """A 'generator' that draws fresh images from the true distribution (or one class)."""
    gen_seed = [seed]

    def sample(m: int) -> torch.Tensor:
        gen_seed[0] += 1
        ds = Shapes3(m, size, gen_seed[0], only=only)
        return torch.stack(ds.images)  # (m, 1, size, size)

    return sample


class HalfOfTest(torch.utils.data.Dataset):
    """One half (``part`` 0 or 1, seeded permutation) of a dataset, e.g. a test split: one
    half the metrics' reference, the other held out as a "generator" of real images."""

    def __init__(self, ds, part: int) -> None:
        perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))
        self.ds, self.index = ds, perm[part::2].sort().values.tolist()
        self.class_names, self.num_classes = ds.class_names, ds.num_classes

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.ds[self.index[i]]
