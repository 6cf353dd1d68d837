"""Image tensors to pixels: uint8 conversion, sample grids, PNG files (Pillow + numpy).

Used by the trainer (sample grids), ``ganas sample`` and the report. The grid layout
follows ``torchvision.utils.make_grid`` as used by the DCGAN reference code
(pytorch/examples dcgan/main.py saves ``vutils.save_image(..., normalize=True)``):
images in row-major order, ``nrow`` per row, ``padding`` pixels between and around them.
NOTE: we do not depend on torchvision; the padding colour here is black (0) as there.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import GanasError
from .fileio import atomic_write


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Tensor in [-1, 1] -> uint8 array of the same shape (values clamped, rounded)."""
    x = x.detach().to("cpu", torch.float32)
    # [-1, 1] -> [0, 255]; round half away from 0 like torchvision's ``add_(0.5)`` floor.
    y = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5 + 0.5).floor().clamp(0, 255)
    return y.to(torch.uint8).numpy()


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """``images`` (N, C, H, W) in [-1, 1] -> one uint8 grid image (H', W', C).

    ``nrow`` images per row (default: ceil(sqrt(N)), a square-ish grid); C is 1 or 3.
    """
    if images.dim() == 3:  # a single image (C, H, W)
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise GanasError(f"make_grid expects (N, C, H, W) with N >= 1 and C in (1, 3), got {tuple(images.shape)}")
    if padding < 0:
        raise GanasError(f"make_grid: padding must be >= 0, got {padding}")
    n, c, h, w = images.shape
    ncol = nrow if nrow is not None else max(1, math.ceil(math.sqrt(n)))
    ncol = max(1, min(ncol, n))
    nrows = math.ceil(n / ncol)
    pix = to_uint8(images).transpose(0, 2, 3, 1)  # (N, H, W, C)
    hp, wp = h + padding, w + padding
    grid = np.zeros((nrows * hp + padding, ncol * wp + padding, c), dtype=np.uint8)  # (H', W', C)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = r * hp + padding, col * wp + padding
        grid[y : y + h, x : x + w] = pix[i]
    return grid


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, padding: int = 2) -> Path:
    """Write ``images`` (N, C, H, W) in [-1, 1] as one PNG grid; atomic (temp + rename)."""
    p = Path(path)
    grid = make_grid(images, nrow=nrow, padding=padding)  # (H', W', C)
    img = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)  # "L" or "RGB"
    atomic_write(p, lambda f: img.save(f, format="PNG"))
    return p
