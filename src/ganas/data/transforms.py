"""Image transforms with Pillow + numpy (no torchvision), and the per-item random stream.

The pipeline follows pix2pix/CycleGAN's ``get_transform`` (junyanz/pytorch-CycleGAN-and-pix2pix,
``data/base_dataset.py``): convert the mode, resize, crop, flip, to tensor, normalise to
[-1, 1] with mean = std = 0.5 per channel. ``image_size`` is junyanz's ``crop_size``.

- ``crop="center"``/``"random"``: resize to ``load_size`` (default ``image_size``), then crop
  ``image_size`` x ``image_size`` (random offsets on the train split only; the test split
  always crops the centre). ``resize="shorter"`` (default) resizes the shorter side to
  ``load_size`` keeping the aspect (torchvision's ``Resize(int)``); ``resize="square"``
  resizes to ``load_size`` x ``load_size`` as junyanz's default ``resize_and_crop``
  (pix2pix: 286 then a random 256 crop).
- ``crop="none"``: resize straight to ``image_size`` x ``image_size`` (aspect not kept).
- ``flip``: random horizontal flip, train split only.
- NOTE: on the test split ``load_size`` is not used (images are resized to ``image_size``
  and centre-cropped), as junyanz's ``test_options.py`` sets ``load_size = crop_size``.

Randomness: a dataset item is addressed by a *key* ``(index, epoch, seed)`` (a plain int
``i`` means ``(i, 0, 0)``); ``item_rng`` seeds a ``numpy.random.Generator`` from it and
``ImageTransform.draw`` takes one ``Jitter`` (crop offsets as fractions and a flip) from
it, shared by every image field of the item (the same crop and flip for A and B). Nothing
reads a global RNG, so an item does not depend on the worker that loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError, DataError
from .base import DataOptions

#: Pillow modes we convert; anything else (F, HSV, LAB, I;32...) is refused.
_PLAIN_MODES = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def convert_mode(img: Image.Image, channels: int, source: str) -> Image.Image:
    """``img`` as ``"L"`` (channels=1) or ``"RGB"`` (channels=3).

    Handles 1, L, P, RGB, RGBA, LA, PA, CMYK, YCbCr and 16-bit grayscale (I;16 and I, scaled
    from 0..65535 to 0..255); anything else raises DataError naming ``source``.
    NOTE: the reference code calls ``.convert("RGB")``, which drops alpha and exposes whatever
    colour hides under transparent pixels; we composite transparent images onto white.
    """
    mode = img.mode
    if mode in _WIDE_MODES:
        a = np.asarray(img).astype(np.float64)  # (H, W)
        if mode == "I" and a.size and a.min() >= 0 and a.max() <= 255:
            pass  # NOTE: a 32-bit "I" image holding 8-bit values (e.g. converted from L) keeps them
        else:
            a = a / 257.0  # 65535 -> 255
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    elif mode in _ALPHA_MODES or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode not in _PLAIN_MODES:
        raise DataError(
            f"{source}: unsupported image mode {mode!r}; supported: "
            f"{', '.join(_PLAIN_MODES + _ALPHA_MODES + _WIDE_MODES)}"
        )
    target = "L" if channels == 1 else "RGB"
    return img if img.mode == target else img.convert(target)


def load_image_file(path: str | Path) -> Image.Image:
    """Open and fully decode an image file (first frame of animations).

    Any failure (missing, unreadable, not an image, truncated, decompression bomb) raises
    DataError naming the file.
    """
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()  # force the full decode now: a truncated file fails here, not later
            return im.copy()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
        raise DataError(f"{p}: cannot read image ({reason})") from None


def to_tensor(a: np.ndarray, normalize: bool) -> torch.Tensor:
    """uint8 (H, W, C) array -> float (C, H, W) in [-1, 1] (normalize) or [0, 1]."""
    t = torch.from_numpy(a).permute(2, 0, 1).float()  # (C, H, W), a copy
    return t.mul_(2.0 / 255.0).sub_(1.0) if normalize else t.div_(255.0)


Key = Any  # int | tuple[int, int, int] (index, epoch, seed)


def parse_key(key: Key) -> tuple[int, int, int]:
    """``(index, epoch, seed)`` from a dataset key: an int (epoch 0, seed 0) or a 3-tuple."""
    if isinstance(key, (tuple, list)):
        if len(key) != 3:
            raise TypeError(f"a dataset key is an int or (index, epoch, seed), got {key!r}")
        index, epoch, seed = (int(k) for k in key)
    elif isinstance(key, torch.Tensor):
        return parse_key(key.tolist())
    else:
        try:
            index = int(key.__index__())
        except AttributeError:
            raise TypeError(f"a dataset key is an int or (index, epoch, seed), got {key!r}") from None
        epoch, seed = 0, 0
    if epoch < 0 or seed < 0:
        raise ConfigError(f"dataset key {key!r}: epoch and seed must be >= 0")
    return index, epoch, seed


def item_rng(index: int, epoch: int, seed: int, stream: int = 0) -> np.random.Generator:
    """The random stream of one item: a pure function of (seed, epoch, index, stream).

    ``stream`` separates independent uses (0: the transform's jitter, 1: an unaligned B
    draw, 2: a wrong caption...), so adding one never shifts another.
    """
    return np.random.default_rng([seed, epoch, index, stream])


@dataclass(frozen=True)
class Jitter:
    """The random part of one item's transform, shared by all its image fields.

    ``x``/``y`` place the crop window as fractions of the free room (0 = left/top,
    just under 1 = right/bottom), so fields of different sizes get corresponding crops.
    """

    x: float = 0.5
    y: float = 0.5
    flip: bool = False
    random_crop: bool = False


CENTER = Jitter()


def crop_offset(free: int, u: float) -> int:
    """Offset in 0..free from a fraction in [0, 1)."""
    return min(int(u * (free + 1)), free)


class ImageTransform:
    """The per-sample transform of one split and one field, built from ``DataOptions``.

    ``channels`` overrides ``options.channels`` (fields A and B may differ).
    """

    def __init__(self, options: DataOptions, train: bool, channels: int | None = None) -> None:
        self.options = options
        self.train = train
        self.channels = channels or options.channels
        self.size = options.image_size
        # NOTE: junyanz's test options set load_size = crop_size (test_options.py)
        self.load_size = (options.load_size or options.image_size) if train else options.image_size

    @property
    def random(self) -> bool:
        """Whether items draw a random crop or flip (train split with crop=random or flip)."""
        return self.train and (self.options.crop == "random" or self.options.flip)

    def draw(self, rng: np.random.Generator) -> Jitter:
        """One item's crop position and flip (always three draws, so streams stay aligned)."""
        x, y, f = (float(v) for v in rng.random(3))
        flip = self.train and self.options.flip and f < 0.5
        if self.train and self.options.crop == "random":
            return Jitter(x, y, flip, random_crop=True)
        return Jitter(flip=flip)

    def resize(self, img: Image.Image) -> Image.Image:
        """The deterministic part: resize (before any crop)."""
        s = self.size
        if self.options.crop == "none":
            return img if img.size == (s, s) else img.resize((s, s), Image.BICUBIC)
        w, h = img.size
        if self.options.resize == "square":
            target = (self.load_size, self.load_size)
        else:
            short = min(w, h)
            if short == self.load_size:
                return img
            scale = self.load_size / short
            target = (max(self.load_size, round(w * scale)), max(self.load_size, round(h * scale)))
        return img if img.size == target else img.resize(target, Image.BICUBIC)

    def prepare(self, img: Image.Image, source: str) -> np.ndarray:
        """Mode conversion and resize: a writable uint8 (H, W, C) array (cacheable)."""
        img = self.resize(convert_mode(img, self.channels, source))
        a = np.array(img, dtype=np.uint8)  # (H, W) or (H, W, 3), a writable copy
        return a[:, :, None] if a.ndim == 2 else a

    def finish(self, a: np.ndarray, jitter: Jitter = CENTER) -> torch.Tensor:
        """Crop (at ``jitter``'s place, else the centre), flip, to (C, S, S) float."""
        s = self.size
        h, w = a.shape[:2]
        if (h, w) != (s, s):
            if jitter.random_crop:
                left, top = crop_offset(w - s, jitter.x), crop_offset(h - s, jitter.y)
            else:  # centre, as torchvision's CenterCrop rounds it
                left, top = int(round((w - s) / 2.0)), int(round((h - s) / 2.0))
            a = a[top : top + s, left : left + s]
        if jitter.flip:
            a = a[:, ::-1]
        return to_tensor(np.ascontiguousarray(a), self.options.normalize)  # (C, S, S)

    def __call__(self, img: Image.Image, source: str, jitter: Jitter = CENTER) -> torch.Tensor:
        return self.finish(self.prepare(img, source), jitter)  # (C, S, S)
