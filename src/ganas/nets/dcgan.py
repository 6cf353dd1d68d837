"""DCGAN generator and discriminator (Radford, Metz, Chintala 2015, arXiv:1511.06434).

Architecture guidelines of the paper (sec. 3): no pooling (strided convolutions in D,
fractionally-strided convolutions in G), BatchNorm in both networks except G's output
and D's input layer, ReLU in G with tanh on the output, LeakyReLU(0.2) in D. Layer
shapes follow pytorch/examples ``dcgan/main.py`` (4x4 kernels, stride 2, padding 1; no
bias where a BatchNorm follows), generalised to any square power-of-two size from 16
to 256: the number of layers is derived from ``image_size`` instead of being fixed to
64 px (pytorch/examples issue #70: other sizes silently broke the reference).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .layers import conv_block

#: image sizes the DCGAN networks support: 4 * 2^n, n >= 2 (16) up to 256
DCGAN_IMAGE_SIZES: tuple[int, ...] = (16, 32, 64, 128, 256)
DCGAN_CHANNELS: tuple[int, ...] = (1, 3)


def dcgan_depth(image_size: int) -> int:
    """``k`` with ``image_size == 2**k``; refuses sizes outside ``DCGAN_IMAGE_SIZES``."""
    if image_size not in DCGAN_IMAGE_SIZES:
        allowed = ", ".join(str(s) for s in DCGAN_IMAGE_SIZES)
        raise ConfigError(
            f"image_size={image_size} is not supported by DCGAN; allowed: {allowed} "
            "(the networks go from/to 4x4 by doubling/halving with stride-2 4x4 convolutions)"
        )
    return image_size.bit_length() - 1


def _check(name: str, value: int, allowed: tuple[int, ...] | None = None) -> None:
    if allowed is not None and value not in allowed:
        raise ConfigError(f"{name}={value} is not supported; allowed: {', '.join(map(str, allowed))}")
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value}")


class DCGANGenerator(nn.Module):
    """z (B, nz, 1, 1) -> image (B, channels, image_size, image_size) in [-1, 1].

    A 4x4 transposed convolution projects z to (ngf * 2^(k-3), 4, 4) for
    ``image_size = 2^k``; each following stride-2 transposed convolution doubles the
    resolution and halves the width down to ``ngf``; the last one maps to ``channels``
    and tanh. At 64 px: 100 -> 512 -> 256 -> 128 -> 64 -> 3, as the reference.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 3, image_size: int = 64) -> None:
        super().__init__()
        k = dcgan_depth(image_size)
        _check("nz", nz)
        _check("ngf", ngf)
        _check("channels", channels, DCGAN_CHANNELS)
        self.nz, self.channels, self.image_size = nz, channels, image_size
        mult = 2 ** (k - 3)
        # (B, nz, 1, 1) -> (B, ngf*mult, 4, 4)
        blocks: list[nn.Module] = [conv_block(nz, ngf * mult, 4, 1, 0, norm="batch", act="relu", transpose=True, bias=False)]
        while mult > 1:
            # (B, ngf*mult, s, s) -> (B, ngf*mult/2, 2s, 2s)
            blocks.append(conv_block(ngf * mult, ngf * mult // 2, 4, 2, 1, norm="batch", act="relu", transpose=True, bias=False))
            mult //= 2
        # (B, ngf, size/2, size/2) -> (B, channels, size, size); no BatchNorm on the output
        blocks.append(conv_block(ngf, channels, 4, 2, 1, norm="none", act="tanh", transpose=True, bias=False))
        self.main = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:  # (B, nz) -> (B, nz, 1, 1)
            z = z[:, :, None, None]
        return self.main(z)  # (B, C, H, W)


class DCGANDiscriminator(nn.Module):
    """image (B, channels, image_size, image_size) -> one real/fake logit per image (B,).

    Stride-2 4x4 convolutions halve the resolution and double the width from ``ndf``
    down to 4x4, then a 4x4 valid convolution gives one logit. No BatchNorm on the
    first (input) layer nor on the last.

    NOTE: the reference ends with ``nn.Sigmoid()`` and trains with ``nn.BCELoss``; we
    return the logit and the method uses ``BCEWithLogits`` -- the same maths (sigmoid
    folded into the loss), numerically safer (log-sum-exp instead of log(sigmoid)), and
    required under bf16 autocast, where ``BCELoss`` is refused.
    """

    def __init__(self, channels: int = 3, ndf: int = 64, image_size: int = 64) -> None:
        super().__init__()
        k = dcgan_depth(image_size)
        _check("ndf", ndf)
        _check("channels", channels, DCGAN_CHANNELS)
        self.channels, self.image_size = channels, image_size
        # (B, C, size, size) -> (B, ndf, size/2, size/2); no BatchNorm on the input layer
        blocks: list[nn.Module] = [conv_block(channels, ndf, 4, 2, 1, norm="none", act="leaky_relu", bias=False)]
        mult = 1
        for _ in range(k - 3):
            # (B, ndf*mult, s, s) -> (B, ndf*2*mult, s/2, s/2)
            blocks.append(conv_block(ndf * mult, ndf * mult * 2, 4, 2, 1, norm="batch", act="leaky_relu", bias=False))
            mult *= 2
        # (B, ndf*mult, 4, 4) -> (B, 1, 1, 1)
        blocks.append(conv_block(ndf * mult, 1, 4, 1, 0, norm="none", act="none", bias=False))
        self.main = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).reshape(-1)  # (B,)
