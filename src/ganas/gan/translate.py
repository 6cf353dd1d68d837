"""Inference for translation methods: every image of a folder at its own size.

``translate_folder(method, input_dir, out_dir, direction)`` converts each image file of
``input_dir`` (sorted; or one file) with ``method.translate``: the image is reflected-
padded on the right and bottom up to a multiple of what the generator needs (``2^depth``
for the U-Net, 4 for the ResNet generator), translated, cropped back to its size and
written to ``out_dir`` under the same file name. Unlike the reference's ``test.py``
(``--num_test 50``, a resize to ``load_size`` and a crop) nothing is skipped or resized.
``map_folder`` is the loop itself (read, convert, write under the same name), shared with
StarGAN's ``ganas translate --target/--grid`` (``workflows/attributes.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from ..errors import DataError
from ..fileio import atomic_write
from ..images import to_uint8
from .image_translation import TranslationMethod

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H', W') with H', W' the next multiples of ``multiple``,
    reflecting on the bottom and right (repeatedly when the pad exceeds the image)."""
    h, w = x.shape[-2:]
    need_h, need_w = (-h) % multiple, (-w) % multiple
    while need_h or need_w:
        ph = min(need_h, x.shape[-2] - 1)
        pw = min(need_w, x.shape[-1] - 1)
        if ph == 0 and pw == 0:  # a 1-pixel side cannot be reflected
            return F.pad(x, (0, need_w, 0, need_h), mode="replicate")
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        need_h, need_w = need_h - ph, need_w - pw
    return x


def list_images(path: Path) -> list[Path]:
    """The image files of a folder (sorted, not recursive), or ``[path]`` for a file."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{path}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def load_image(path: Path, channels: int) -> torch.Tensor:
    """(1, channels, H, W) in [-1, 1]; grayscale for 1 channel, RGB for 3."""
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None
    t = torch.from_numpy(arr.copy())
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return (t / 127.5 - 1.0)[None]


def translate_image(method: TranslationMethod, x: torch.Tensor, direction: str | None = None) -> torch.Tensor:
    """(B, C_in, H, W) of any size -> (B, C_out, H, W): pad, translate, crop back."""
    h, w = x.shape[-2:]
    y = method.translate(pad_to_multiple(x, method.pad_multiple(direction)), direction)
    return y[..., :h, :w]


def map_folder(
    convert: Callable[[torch.Tensor], np.ndarray], input_dir: str | Path, out_dir: str | Path, channels: int,
    device: torch.device, progress: bool = True, seed: int = 0, desc: str = "translate",
) -> list[Path]:
    """Write ``convert(image)`` for every image file of ``input_dir`` into ``out_dir`` under
    the same name (in its format); ``image`` is (1, channels, H, W) in [-1, 1] on
    ``device``, ``convert`` returns uint8 pixels (H', W', C). The global RNG is seeded
    with ``seed`` and restored afterwards. Returns the written paths."""
    src, dst = Path(input_dir), Path(out_dir)
    files = list_images(src)
    if dst.exists() and any(f.parent.resolve() == dst.resolve() for f in files):
        raise DataError(f"{dst}: the output folder is the input folder; choose another --out")
    dst.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    formats = Image.registered_extensions()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for f in tqdm(files, desc=desc, unit="img", disable=not progress):
            arr = convert(load_image(f, channels).to(device))  # (H', W', C)
            im = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
            out = dst / f.name
            atomic_write(out, lambda fh, im=im, fmt=formats[f.suffix.lower()]: im.save(fh, format=fmt))
            written.append(out)
    return written


def translate_folder(
    method: TranslationMethod, input_dir: str | Path, out_dir: str | Path, direction: str | None = None,
    progress: bool = True, seed: int = 0,
) -> list[Path]:
    """Translate every image of ``input_dir`` into ``out_dir`` (same names); returns the
    written paths. ``seed`` fixes the test-time dropout noise (pix2pix ``test_mode=train``)
    without touching the caller's RNG state."""
    def convert(x: torch.Tensor) -> np.ndarray:
        return to_uint8(translate_image(method, x, direction)[0]).transpose(1, 2, 0)  # (H, W, C)

    return map_folder(convert, input_dir, out_dir, method.in_channels(direction), method.device,
                      progress=progress, seed=seed)
