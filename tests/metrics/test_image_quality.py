"""Paired image metrics: L1 by hand, PSNR by its formula, SSIM = scikit-image's,
sharpness ordering on blurred images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from ganas.errors import ConfigError
from ganas.metrics.image_quality import (
    PairedImageMetrics, high_frequency_energy, l1_distance, psnr, sharpness_ratio, ssim,
)


def test_l1_and_psnr_by_hand() -> None:
    real = torch.full((2, 3, 4, 4), -1.0)  # black
    fake = real.clone()
    fake[0] += 0.2  # 0.1 in [0, 1] units everywhere
    fake[1, :, :2] += 0.4  # 0.2 on half the pixels
    assert l1_distance(fake, real) == pytest.approx((0.1 + 0.1) / 2)
    want = (10 * math.log10(1 / 0.01) + 10 * math.log10(1 / (0.04 / 2))) / 2
    assert psnr(fake, real) == pytest.approx(want)
    with pytest.raises(ConfigError, match="one shape"):
        psnr(fake, real[:1])


def test_ssim_is_scikit_images() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    fake = (real + 0.3 * torch.randn(2, 3, 16, 16, generator=g)).clamp(-1, 1)
    to = lambda x: ((x + 1) / 2).permute(0, 2, 3, 1).double().numpy()  # noqa: E731
    want = np.mean([structural_similarity(r, f, data_range=1.0, channel_axis=-1) for f, r in zip(to(fake), to(real))])
    assert ssim(fake, real) == pytest.approx(want)
    assert ssim(real, real) == pytest.approx(1.0)


def test_blur_lowers_sharpness() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    kernel = torch.ones(3, 1, 5, 5) / 25
    blurred = F.conv2d(F.pad(real, (2, 2, 2, 2), mode="reflect"), kernel, groups=3)
    assert sharpness_ratio(real, real) == pytest.approx(1.0)
    assert sharpness_ratio(blurred, real) < 0.3
    flat = torch.zeros(1, 3, 8, 8)
    assert high_frequency_energy(flat)[0] == 0.0
    # a checkerboard (period 2 px, at Nyquist) is all high frequency
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None]) % 2 * 2.0 - 1
    assert high_frequency_energy(checker.expand(1, 3, 8, 8))[0] == pytest.approx(1.0)
    m = PairedImageMetrics()
    m.update(blurred[:2], real[:2])
    m.update(blurred[2:], real[2:])
    out = m.compute()
    assert out["n"] == 4 and out["L1"] == pytest.approx(l1_distance(blurred, real))
    assert out["SSIM"] == pytest.approx(ssim(blurred, real)) and out["sharpness"] < 0.3
