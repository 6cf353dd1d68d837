from __future__ import annotations

import numpy as np

from ganas.data import make_dataset, stratified_split


def test_digits_split_is_disjoint_stratified_and_complete() -> None:
    tr = make_dataset("digits", "train", image_size=8, channels=1, normalize=False)
    te = make_dataset("digits", "test", image_size=8, channels=1, normalize=False)
    assert len(tr) + len(te) == 1797 and abs(len(te) - 360) <= 5
    assert tr.num_classes == 10 and tr.class_names == [str(i) for i in range(10)]
    counts = np.bincount(te.targets, minlength=10)
    assert counts.min() >= 30  # every class present in test
    from sklearn.datasets import load_digits
    raw = load_digits()
    x = tr[5]["image"][0].numpy()  # 8x8 in [0, 1]: no resize happened
    match = np.all(np.abs(raw.images / 16.0 - x[None]) < 1 / 255 + 1e-6, axis=(1, 2))
    assert match.any()


def test_stratified_split_properties() -> None:
    labels = np.repeat(np.arange(5), [10, 20, 30, 40, 50])
    a, b = stratified_split(labels, 0.2, seed=1)
    assert not set(a) & set(b) and len(a) + len(b) == len(labels)
    assert np.bincount(labels[b]).tolist() == [2, 4, 6, 8, 10]
    a2, b2 = stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(b, b2)
    assert not np.array_equal(b, stratified_split(labels, 0.2, seed=2)[1])


def test_digits_resized() -> None:
    d = make_dataset("digits?seed=3", image_size=32)
    assert d[0]["image"].shape == (3, 32, 32)
    assert len(make_dataset("digits?seed=3")) == len(d)
