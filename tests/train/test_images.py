"""uint8 conversion, grid layout and PNG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganas.errors import GanasError
from ganas.images import make_grid, save_grid, to_uint8


def test_to_uint8_maps_and_clamps():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0, -0.999])
    assert to_uint8(x).tolist() == [0, 0, 128, 255, 255, 0]
    assert to_uint8(x).dtype == np.uint8


def test_grid_places_images_row_major_with_padding():
    imgs = torch.stack([torch.full((3, 2, 3), v) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)])  # (5, 3, 2, 3)
    g = make_grid(imgs, nrow=2, padding=1)
    assert g.shape == (3 * 3 + 1, 2 * 4 + 1, 3)  # 3 rows of 2, (H', W', C)
    vals = to_uint8(torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    for i, v in enumerate(vals):
        r, c = divmod(i, 2)
        y, x = 1 + r * 3, 1 + c * 4
        assert (g[y : y + 2, x : x + 3] == v).all()
    assert (g[0] == 0).all() and (g[:, 0] == 0).all()  # padding
    assert (g[7:9, 5:8] == 0).all()  # the empty 6th cell
    assert make_grid(imgs).shape == (2 * 4 + 2, 3 * 5 + 2, 3)  # default: ceil(sqrt(5)) = 3 per row


def test_save_grid_png_rgb_and_gray(tmp_path):
    rgb = torch.rand(4, 3, 5, 5) * 2 - 1
    p = save_grid(rgb, tmp_path / "sub" / "g.png", nrow=2)
    with Image.open(p) as im:
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), make_grid(rgb, nrow=2))
    gray = torch.rand(3, 1, 4, 4) * 2 - 1
    with Image.open(save_grid(gray, tmp_path / "gray.png")) as im:
        assert im.mode == "L" and np.array_equal(np.asarray(im), make_grid(gray)[:, :, 0])
    assert sorted(f.name for f in tmp_path.rglob("*") if f.is_file()) == ["g.png", "gray.png"]


def test_bad_shapes_are_refused():
    with pytest.raises(GanasError, match=r"\(N, C, H, W\)"):
        make_grid(torch.zeros(2, 4, 3, 3))
    with pytest.raises(GanasError):
        make_grid(torch.zeros(0, 3, 3, 3))
