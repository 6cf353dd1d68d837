"""``digits``: scikit-learn's 1797 real 8x8 handwritten digits (UCI optdigits test set).

Shipped inside scikit-learn (``sklearn.datasets.load_digits``), so no download. Values
0..16 are scaled to 0..255; the transform resizes 8x8 to ``image_size`` (bicubic). The split
is a deterministic stratified 80/20 (``stratified_split`` with ``seed``, rounding per class):
1438 train / 359 test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import DATASETS, DataOptions
from .dataset import ArrayImageDataset, stratified_split


@dataclass
class DigitsParams:
    seed: int = 0  # seed of the stratified split
    test_fraction: float = 0.2


@DATASETS.register("digits", help="scikit-learn's 1797 8x8 handwritten digits, 10 classes, 80/20 split (?seed=)")
class DigitsDataset(ArrayImageDataset):
    Params = DigitsParams

    def __init__(self, path: str | None, split: str, options: DataOptions, params: DigitsParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        from sklearn.datasets import load_digits  # local: sklearn is slow to import

        d = load_digits()
        images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
        train, test = stratified_split(d.target, params.test_fraction, params.seed)
        idx = train if split == "train" else test
        self.set_arrays(images[idx], d.target[idx], [str(c) for c in range(10)])
