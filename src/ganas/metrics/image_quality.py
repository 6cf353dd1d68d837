"""Paired image quality: L1, PSNR, SSIM against the target, and a sharpness measure.

Images are tensors (N, C, H, W) in [-1, 1] (the networks' range); every measure works
on them mapped to [0, 1]. PSNR and SSIM are scikit-image's
(``skimage.metrics.peak_signal_noise_ratio`` / ``structural_similarity`` with
``data_range=1``; SSIM with the default 7x7 uniform window, over colour channels
with ``channel_axis``), computed per image and averaged, as pix2pix follow-ups report.

Sharpness (for the pix2pix ablation, Isola et al. 2017 sec. 4.2: L1 alone gives
"blurry results", L1 + cGAN "much sharper"): ``high_frequency_energy`` is the share of
an image's spectral power (grayscale, mean removed, ``|FFT|^2``) at radial spatial
frequencies above ``cutoff`` times Nyquist (default 0.5, i.e. periods shorter than 4
px); ``sharpness_ratio(fake, real)`` is the mean share over the generated images
divided by the mean share over the real photos: 1 means as much fine detail as the
photos, below 1 blurrier, above 1 noisier than them.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ..errors import ConfigError


def _unit(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) float64 in [0, 1]."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).double().numpy()


def _check(fake: torch.Tensor, real: torch.Tensor) -> None:
    if fake.ndim != 4 or fake.shape != real.shape:
        raise ConfigError(f"paired metrics need two (N, C, H, W) batches of one shape, got {tuple(fake.shape)} "
                          f"and {tuple(real.shape)}")


def l1_distance(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean absolute difference in [0, 1] units (half the L1 in the networks' [-1, 1])."""
    _check(fake, real)
    return float(np.abs(_unit(fake) - _unit(real)).mean())


def psnr(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean over images of scikit-image's PSNR (dB, data range 1); identical images
    give inf."""
    _check(fake, real)
    f, r = _unit(fake), _unit(real)
    return float(np.mean([peak_signal_noise_ratio(ri, fi, data_range=1.0) for fi, ri in zip(f, r)]))


def ssim(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean over images of scikit-image's SSIM (data range 1; the window shrinks to the
    largest odd size <= 7 that fits images smaller than 7 px)."""
    _check(fake, real)
    f, r = _unit(fake), _unit(real)
    win = min(7, *f.shape[1:3])
    win -= 1 - win % 2
    if win < 3:
        raise ConfigError(f"SSIM needs images of at least 3x3 px, got {f.shape[1]}x{f.shape[2]}")
    return float(np.mean([structural_similarity(ri, fi, data_range=1.0, channel_axis=-1, win_size=win)
                          for fi, ri in zip(f, r)]))


def high_frequency_energy(images: torch.Tensor, cutoff: float = 0.5) -> np.ndarray:
    """(N,) share of each image's spectral power above ``cutoff`` x Nyquist (see the
    module docstring); 0 for a flat image."""
    if not 0 < cutoff < 1:
        raise ConfigError(f"cutoff must be in (0, 1), got {cutoff}")
    g = _unit(images).mean(-1)  # (N, H, W) grayscale
    g = g - g.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(g)) ** 2  # (N, H, W)
    fy = np.fft.fftfreq(g.shape[1])[:, None]
    fx = np.fft.fftfreq(g.shape[2])[None, :]
    high = np.sqrt(fx**2 + fy**2) > cutoff * 0.5  # Nyquist = 0.5 cycles / px
    total = power.sum(axis=(1, 2))
    return np.where(total > 0, (power * high).sum(axis=(1, 2)) / np.maximum(total, 1e-300), 0.0)


def sharpness_ratio(fake: torch.Tensor, real: torch.Tensor, cutoff: float = 0.5) -> float:
    """Mean high-frequency share of ``fake`` over that of ``real`` (1 = as sharp)."""
    r = float(high_frequency_energy(real, cutoff).mean())
    if r == 0:
        raise ConfigError("sharpness_ratio: the real images have no high-frequency energy (flat images)")
    return float(high_frequency_energy(fake, cutoff).mean()) / r


class PairedImageMetrics:
    """Accumulates per-image L1, PSNR, SSIM and high-frequency shares over batches."""

    def __init__(self, cutoff: float = 0.5) -> None:
        self.cutoff = cutoff
        self._l1: list[float] = []
        self._psnr: list[float] = []
        self._ssim: list[float] = []
        self._hf_fake: list[float] = []
        self._hf_real: list[float] = []

    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        _check(fake, real)
        for f, r in zip(fake, real):
            f, r = f[None], r[None]
            self._l1.append(l1_distance(f, r))
            self._psnr.append(psnr(f, r))
            self._ssim.append(ssim(f, r))
        self._hf_fake += high_frequency_energy(fake, self.cutoff).tolist()
        self._hf_real += high_frequency_energy(real, self.cutoff).tolist()

    def compute(self) -> Mapping[str, float]:
        """``{"L1", "PSNR", "SSIM", "sharpness", "n"}`` (means over images)."""
        if not self._l1:
            raise ConfigError("PairedImageMetrics: no images were added")
        hf_real = float(np.mean(self._hf_real))
        return {"L1": float(np.mean(self._l1)), "PSNR": float(np.mean(self._psnr)),
                "SSIM": float(np.mean(self._ssim)),
                "sharpness": float(np.mean(self._hf_fake)) / hf_real if hf_real > 0 else float("nan"),
                "n": float(len(self._l1))}
