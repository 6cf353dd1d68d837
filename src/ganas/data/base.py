"""The data-provider contract (shared by every method and by NAS evaluators).

A dataset yields dicts (a *batch* after collation) so later layouts add fields
without new contracts:

- ``"image"``: float tensor (C, H, W), in [-1, 1] when ``normalize`` (the default)
- ``"label"``: int64 scalar tensor (class index; -1 when the layout has no classes)
- later layouts add ``"target"`` (aligned pairs), ``"attrs"`` (CelebA), ``"caption"``...

Datasets are named by a *spec* string: ``NAME`` or ``NAME:PATH`` with optional
``?key=value&key=value`` options (``shapes``, ``digits``, ``mnist:../data/mnist``,
``folder:/photos?skip_bad=true``, ``shapes?view=edges``). ``make_dataset`` parses it and
calls the registered factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..registry import Registry


@dataclass
class DataOptions:
    """Transform options common to every image dataset."""

    image_size: int = 64
    channels: int = 3  # 1 (grayscale) or 3 (RGB); conversion happens on load
    crop: Literal["none", "center", "random"] = "center"  # resize shorter side, then crop
    flip: bool = False  # random horizontal flip (train split only)
    normalize: bool = True  # to [-1, 1]; else [0, 1]
    skip_bad: bool = False  # skip and count corrupt files instead of raising DataError


DATASETS: Registry = Registry("dataset")
