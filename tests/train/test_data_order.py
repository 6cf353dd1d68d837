"""The seeded, resumable data order."""

from __future__ import annotations

import pytest
import torch

from ganas.errors import DataError
from ganas.train.data import BatchStream, EpochBatchSampler


class Idx(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"image": torch.full((1, 2, 2), float(i)), "label": torch.tensor(i)}


def test_sampler_permutes_drops_last_and_starts_mid_epoch():
    s = EpochBatchSampler(10, 3, seed=5)
    full = list(s)
    assert len(full) == 3 and all(len(b) == 3 for b in full)
    flat = [i for b in full for i in b]
    assert len(set(flat)) == 9 and set(flat) <= set(range(10))
    assert flat != sorted(flat)  # shuffled (seed 5 happens not to be the identity)
    s.set_epoch(0, 1)
    assert list(s) == full[1:]
    s.set_epoch(1)
    assert list(s) != full  # a new permutation per epoch
    assert list(EpochBatchSampler(10, 3, seed=5)) == full  # and the same one per seed


def test_stream_state_resumes_the_same_sequence():
    a = BatchStream(Idx(7), 2, seed=1)
    labels = [a.next()["label"].tolist() for _ in range(8)]  # 3 batches per epoch
    assert a.state() == {"epoch": 2, "position": 2, "seed": 1}
    b = BatchStream(Idx(7), 2, seed=1)
    for _ in range(4):
        b.next()
    c = BatchStream(Idx(7), 2, seed=1)
    c.load_state(b.state())
    assert [c.next()["label"].tolist() for _ in range(4)] == labels[4:]
    rng_before = torch.get_rng_state()
    BatchStream(Idx(7), 2, seed=1).next()
    assert torch.equal(torch.get_rng_state(), rng_before)  # the loader leaves the global RNG alone


def test_stream_refuses_bad_data():
    with pytest.raises(DataError, match="fewer than one batch"):
        BatchStream(Idx(3), 4, seed=0)
    with pytest.raises(DataError, match="seed"):
        BatchStream(Idx(8), 4, seed=0).load_state({"epoch": 0, "position": 0, "seed": 1})


class Keyed(Idx):
    """Accepts ``(index, epoch, seed)``: its "augmentation" is drawn from the key alone."""

    accepts_keys = True

    def __getitem__(self, key) -> dict:
        i, epoch, seed = key
        noise = torch.rand((), generator=torch.Generator().manual_seed(hash(key) % 2**31))
        return {"image": torch.full((1, 2, 2), float(i)) + noise, "key": torch.tensor(key)}


def test_keys_for_datasets_that_accept_them():
    s = EpochBatchSampler(6, 2, seed=4, keys=True)
    s.set_epoch(2)
    batches = list(s)
    assert all(isinstance(k, tuple) and k[1:] == (2, 4) for b in batches for k in b)
    plain = EpochBatchSampler(6, 2, seed=4)
    plain.set_epoch(2)
    assert [[k[0] for k in b] for b in batches] == list(plain)  # the same order, with keys


def test_keyed_items_do_not_depend_on_workers_or_resume():
    def batches(workers: int, skip: int = 0) -> list[torch.Tensor]:
        a = BatchStream(Keyed(6), 2, seed=1, num_workers=workers)
        if skip:
            b = BatchStream(Keyed(6), 2, seed=1)
            for _ in range(skip):
                b.next()
            a.load_state(b.state())
        return [a.next()["image"] for _ in range(5 - skip)]

    ref = batches(0)
    with_workers = batches(2)
    assert all(torch.equal(x, y) for x, y in zip(ref, with_workers))
    assert all(torch.equal(x, y) for x, y in zip(ref[2:], batches(2, skip=2)))
