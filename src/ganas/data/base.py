"""The data-provider contract (shared by every method and by NAS evaluators).

A dataset yields dicts (a *batch* after collation) so later layouts add fields
without new contracts:

- ``"image"``: float tensor (C, H, W), in [-1, 1] when ``normalize`` (the default)
- ``"label"``: int64 scalar tensor (class index; -1 when the layout has no classes)
- translation pairs yield ``"A"``, ``"B"`` (+ ``"A_path"``, ``"B_path"``) instead of
  ``"image"``; CelebA and ``shapes?task=attributes`` add ``"attrs"`` (float multi-hot);
  ``captions:`` and ``shapes?task=captions`` add ``"caption"``, ``"wrong_caption"``
- items are keyed ``dataset[i]`` or ``dataset[(index, epoch, seed)]`` (docs/protocol.md)

Datasets are named by a *spec* string: ``NAME`` or ``NAME:PATH`` with optional
``?key=value&key=value`` options (``shapes``, ``digits``, ``mnist:../data/mnist``,
``folder:/photos?skip_bad=true``, ``shapes?view=edges``). ``make_dataset`` parses it and
calls the registered factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError
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
    # Added compatibly by the data helper: the size the shorter side is resized to before
    # cropping (pix2pix's ``load_size``, e.g. 286 for image_size 256); None = image_size.
    load_size: int | None = None
    # progress bars while a large dataset is scanned, checked or cached (only on a TTY;
    # see ganas.data.progress)
    progress: bool = True
    # how crop="center"/"random" resize first: "shorter" side to load_size keeping the aspect,
    # or "square" to load_size x load_size (junyanz's default preprocess, resize_and_crop)
    resize: Literal["shorter", "square"] = "shorter"
    # translation pairs (aligned:, paired:, unaligned:, shapes?task=...): AtoB yields the
    # data's A side as field "A"; BtoA swaps the sides. channels_A / channels_B are the
    # channels of the fields "A" and "B" as yielded, after the swap (junyanz's input_nc /
    # output_nc); None = channels.
    direction: Literal["AtoB", "BtoA"] = "AtoB"
    channels_A: int | None = None
    channels_B: int | None = None

    def validate(self) -> None:
        """Called by ``config.replace``: refuse values no transform can honour."""
        if self.image_size < 1:
            raise ConfigError(f"data option image_size must be >= 1, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"data option channels must be 1 or 3, got {self.channels}")
        for name in ("channels_A", "channels_B"):
            c = getattr(self, name)
            if c is not None and c not in (1, 3):
                raise ConfigError(f"data option {name} must be 1 or 3, got {c}")
        if self.load_size is not None and self.load_size < self.image_size:
            raise ConfigError(
                f"data option load_size ({self.load_size}) must be >= image_size ({self.image_size})"
            )


DATASETS: Registry = Registry("dataset")
