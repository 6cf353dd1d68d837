"""Item keys (index, epoch, seed): random crops and flips from the key, not a global RNG."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ganas.data import DataOptions, make_dataset
from ganas.data.transforms import ImageTransform, parse_key
from ganas.errors import ConfigError


def test_parse_key() -> None:
    assert parse_key(5) == (5, 0, 0) and parse_key(np.int64(5)) == (5, 0, 0)
    assert parse_key((5, 2, 9)) == (5, 2, 9) and parse_key(torch.tensor([5, 2, 9])) == (5, 2, 9)
    with pytest.raises(TypeError, match="index, epoch, seed"):
        parse_key((1, 2))
    with pytest.raises(TypeError):
        parse_key("3")
    with pytest.raises(ConfigError, match="epoch and seed"):
        parse_key((1, -1, 0))


class _Keys(torch.utils.data.Sampler):
    def __init__(self, n: int, epoch: int, seed: int) -> None:
        self.n, self.epoch, self.seed = n, epoch, seed

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([(i, self.epoch, self.seed) for i in range(self.n)])

    def __len__(self) -> int:
        return self.n


def test_results_do_not_depend_on_num_workers() -> None:
    torch.set_num_threads(1)
    d = make_dataset("shapes?n=8&task=edges2photo", image_size=16, load_size=20, crop="random", flip=True)
    batches = []
    for workers in (0, 2):
        loader = DataLoader(d, batch_size=4, sampler=_Keys(8, 3, 11), num_workers=workers)
        batches.append(torch.cat([b["A"] for b in loader]))
    assert torch.equal(batches[0], batches[1])
    plain = make_dataset("shapes?n=8", image_size=16, load_size=20, crop="random", flip=True)
    one = [plain[(i, 3, 11)]["image"] for i in range(8)]
    loader = DataLoader(plain, batch_size=4, sampler=_Keys(8, 3, 11), num_workers=2)
    assert torch.equal(torch.stack(one), torch.cat([b["image"] for b in loader]))


def test_resize_square_and_test_split_ignores_load_size() -> None:
    a = np.zeros((10, 20, 3), np.uint8)
    a[:, 10:] = 255  # left black, right white
    sq = ImageTransform(DataOptions(image_size=8, load_size=12, resize="square", crop="center"), train=True)
    assert sq.prepare(Image.fromarray(a), "x").shape == (12, 12, 3)
    sh = ImageTransform(DataOptions(image_size=8, load_size=12, crop="center"), train=True)
    assert sh.prepare(Image.fromarray(a), "x").shape == (12, 24, 3)
    te = ImageTransform(DataOptions(image_size=8, load_size=12, resize="square", crop="random"), train=False)
    assert te.prepare(Image.fromarray(a), "x").shape == (8, 8, 3)  # junyanz: load_size = crop_size at test


def test_single_image_datasets_refuse_pair_options() -> None:
    with pytest.raises(ConfigError, match="direction"):
        make_dataset("shapes?n=2&direction=BtoA")
    with pytest.raises(ConfigError, match="channels_A"):
        make_dataset("digits?channels_A=1")
