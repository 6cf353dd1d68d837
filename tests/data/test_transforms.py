"""Mode conversion, resize/crop and normalisation (through folder:PATH and directly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganas.data import DataOptions, make_dataset
from ganas.data.transforms import ImageTransform, convert_mode
from ganas.errors import DataError


def _one(tmp_path: Path, img: Image.Image, name: str, **opts: object) -> torch.Tensor:
    root = tmp_path / name.replace(".", "_")
    root.mkdir()
    img.save(root / name)
    return make_dataset(f"folder:{root}", image_size=4, crop="none", normalize=False, **opts)[0]["image"]


def _palette() -> Image.Image:
    img = Image.new("P", (4, 4), 0)
    img.putpalette([128, 128, 128] * 256)
    return img


@pytest.mark.parametrize("channels", [1, 3])
def test_input_modes(tmp_path: Path, channels: int) -> None:
    grey = np.full((4, 4), 128, np.uint8)
    cases = {
        "l.png": Image.fromarray(grey, "L"),
        "one.png": Image.fromarray(grey > 0).convert("1"),
        "rgb.png": Image.new("RGB", (4, 4), (128, 128, 128)),
        "p.gif": _palette(),
        "la.png": Image.new("LA", (4, 4), (128, 255)),
        "cmyk.tif": Image.new("RGB", (4, 4), (128, 128, 128)).convert("CMYK"),
        "i16.png": Image.fromarray(np.full((4, 4), 128 * 257, np.uint16)),
        "rgba.png": Image.new("RGBA", (4, 4), (128, 128, 128, 255)),
        "webp.webp": Image.new("RGB", (4, 4), (128, 128, 128)),
    }
    for name, img in cases.items():
        x = _one(tmp_path, img, name, channels=channels)
        assert x.shape == (channels, 4, 4), name
        want = 1.0 if name == "one.png" else 128 / 255
        assert torch.allclose(x, torch.full_like(x, want), atol=3 / 255), (name, x.flatten()[:3])


def test_transparent_pixels_become_white(tmp_path: Path) -> None:
    x = _one(tmp_path, Image.new("RGBA", (4, 4), (255, 0, 0, 0)), "clear.png")
    assert torch.allclose(x, torch.ones_like(x))


def test_exotic_mode_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"float\.tif.*mode 'F'"):
        _one(tmp_path, Image.fromarray(np.zeros((4, 4), np.float32), "F"), "float.tif")
    with pytest.raises(DataError, match="src.png"):
        convert_mode(Image.new("HSV", (2, 2)), 3, "src.png")


def test_center_crop_keeps_the_middle() -> None:
    a = np.zeros((8, 16, 3), np.uint8)
    a[:, 4:12] = 255  # white middle, black sides
    t = ImageTransform(DataOptions(image_size=8, crop="center"), train=True)
    x = t(Image.fromarray(a), "x")
    assert x.shape == (3, 8, 8) and torch.all(x == 1.0)
    t = ImageTransform(DataOptions(image_size=8, crop="none"), train=True)
    x = t(Image.fromarray(a), "x")  # squashed: the black sides survive
    assert x[:, :, 0].max() < 0 and x[:, :, 4].min() > 0.9


def test_shorter_side_goes_to_load_size_and_random_crop_moves() -> None:
    a = np.tile(np.arange(40, dtype=np.uint8)[None, :, None] * 6, (20, 1, 3))  # horizontal ramp
    t = ImageTransform(DataOptions(image_size=8, load_size=10, crop="random"), train=True)
    seen = {float(t(Image.fromarray(a), "x", t.draw(np.random.default_rng(k)))[0, 0, 0]) for k in range(30)}
    assert len(seen) > 3  # the crop window moves
    test_t = ImageTransform(DataOptions(image_size=8, load_size=10, crop="random"), train=False)
    assert len({float(test_t(Image.fromarray(a), "x")[0, 0, 0]) for _ in range(5)}) == 1


def test_normalisation_range() -> None:
    a = np.array([[0, 255]], np.uint8).repeat(2, 0)
    x = ImageTransform(DataOptions(image_size=2, channels=1), train=False)(Image.fromarray(a), "x")
    assert x.tolist() == [[[-1.0, 1.0], [-1.0, 1.0]]]
