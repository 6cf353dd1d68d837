"""Image transforms with Pillow + numpy (no torchvision).

The pipeline follows pix2pix/CycleGAN's ``get_transform`` (junyanz/pytorch-CycleGAN-and-pix2pix,
``data/base_dataset.py``): convert the mode, resize, crop, flip, to tensor, normalise to
[-1, 1] with mean = std = 0.5 per channel.

- ``crop="center"``/``"random"``: resize the shorter side to ``load_size`` (default
  ``image_size``), then crop ``image_size`` x ``image_size`` (random offsets on the train split
  only; the test split always crops the centre).
- ``crop="none"``: resize straight to ``image_size`` x ``image_size`` (aspect not kept).
- ``flip``: random horizontal flip, train split only.

Randomness comes from torch's global RNG (``torch.randint``/``torch.rand``), so a trainer that
checkpoints torch's RNG state resumes with the same crops and flips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import DataError
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


def to_tensor(img: Image.Image, normalize: bool) -> torch.Tensor:
    """uint8 L/RGB image -> float (C, H, W) in [-1, 1] (normalize) or [0, 1]."""
    a = np.array(img, dtype=np.uint8)  # a writable copy
    if a.ndim == 2:
        a = a[:, :, None]  # (H, W, 1)
    t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().div_(255.0)  # (C, H, W)
    return t.mul_(2.0).sub_(1.0) if normalize else t


class ImageTransform:
    """The per-sample transform of one split, built from ``DataOptions``."""

    def __init__(self, options: DataOptions, train: bool) -> None:
        self.options = options
        self.train = train
        self.size = options.image_size
        self.load_size = options.load_size or options.image_size

    def resize_crop(self, img: Image.Image) -> Image.Image:
        s = self.size
        if self.options.crop == "none":
            return img if img.size == (s, s) else img.resize((s, s), Image.BICUBIC)
        w, h = img.size
        short = min(w, h)
        if short != self.load_size:
            scale = self.load_size / short
            w, h = max(self.load_size, round(w * scale)), max(self.load_size, round(h * scale))
            img = img.resize((w, h), Image.BICUBIC)
        if (w, h) == (s, s):
            return img
        if self.train and self.options.crop == "random":
            left = int(torch.randint(0, w - s + 1, ()).item())
            top = int(torch.randint(0, h - s + 1, ()).item())
        else:  # centre, as torchvision's CenterCrop rounds it
            left, top = int(round((w - s) / 2.0)), int(round((h - s) / 2.0))
        return img.crop((left, top, left + s, top + s))

    def __call__(self, img: Image.Image, source: str) -> torch.Tensor:
        img = convert_mode(img, self.options.channels, source)
        img = self.resize_crop(img)
        if self.train and self.options.flip and bool(torch.rand(()) < 0.5):
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return to_tensor(img, self.options.normalize)  # (C, S, S)
