"""StarGAN's generator and discriminator (Choi et al. 2018, "StarGAN: Unified Generative
Adversarial Networks for Multi-Domain Image-to-Image Translation", appendix tables 4-5;
yunjey/stargan ``model.py``).

- ``StarGANGenerator``: the target label ``c`` (B, c_dim), replicated spatially and
  concatenated with the image (C + c_dim channels); 7x7 conv, two 4x4 stride-2 down
  convolutions, ``repeat_num`` residual blocks, two 4x4 stride-2 transposed
  convolutions, a 7x7 conv to C channels, tanh. Every conv is bias-free and followed by
  ``InstanceNorm2d(affine=True, track_running_stats=True)`` and ReLU, as the reference.
  ``label_at="bottleneck"`` instead concatenates the label with the (C_b, H/4, W/4)
  bottleneck features and fuses them back to C_b channels with a bias-free 1x1 conv and
  a ReLU, no norm (an instance norm would cancel the label), before the residual blocks
  (the option the issue asks to compare; not in the paper).
- ``StarGANDiscriminator``: PatchGAN of ``repeat_num`` 4x4 stride-2 convolutions (with
  bias) and LeakyReLU(0.01), no normalisation; heads: a bias-free 3x3 conv to the patch
  real/fake map (B, 1, H/2^r, W/2^r) and a bias-free conv with kernel ``image_size/2^r``
  to the domain logits (B, c_dim).

With the reference's defaults (conv_dim 64, c_dim 5, G repeat 6; D image_size 128,
repeat 6) G has 8,430,528 and D 44,762,048 parameters (tests/nets/test_stargan_nets.py).
Weights keep PyTorch's default initialisation, as the reference.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError

LABEL_AT: tuple[str, ...] = ("input", "bottleneck")


def _in(channels: int) -> nn.InstanceNorm2d:
    """StarGAN's instance norm: affine, with running statistics (yunjey/stargan model.py)."""
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


def _conv_in_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, _in(channels), nn.ReLU(inplace=True)]


def tile_label(c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Labels (B, c_dim) replicated to (B, c_dim, H, W) of ``like`` (B, *, H, W)."""
    return c.to(like.dtype).view(c.size(0), c.size(1), 1, 1).expand(-1, -1, like.size(2), like.size(3))


class ResidualBlock(nn.Module):
    """conv3x3-IN-ReLU-conv3x3-IN plus the identity (reference ``ResidualBlock``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            *_conv_in_relu(nn.Conv2d(dim, dim, 3, 1, 1, bias=False), dim),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), _in(dim),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)  # (B, dim, H, W)


class StarGANGenerator(nn.Module):
    """G(x, c): (B, C, H, W) images in [-1, 1] and (B, c_dim) target labels -> (B, C, H, W)."""

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6, channels: int = 3,
                 label_at: Literal["input", "bottleneck"] = "input") -> None:
        super().__init__()
        if label_at not in LABEL_AT:
            raise ConfigError(f"label_at={label_at!r} is not supported; allowed: {', '.join(LABEL_AT)}")
        self.c_dim, self.label_at = c_dim, label_at
        cin = channels + (c_dim if label_at == "input" else 0)
        down: list[nn.Module] = _conv_in_relu(nn.Conv2d(cin, conv_dim, 7, 1, 3, bias=False), conv_dim)
        d = conv_dim
        for _ in range(2):
            down += _conv_in_relu(nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), 2 * d)
            d *= 2
        self.down = nn.Sequential(*down)
        # NOTE: not in the paper or the reference: the label joins the bottleneck features
        # through a 1x1 conv back to d channels and a ReLU (label_at="bottleneck"), with no
        # instance norm: the tiled label adds a spatially constant offset to each channel
        # of the 1x1 conv's output, which an instance norm right after subtracts exactly
        # (the label would reach nothing; benchmarks/stargan_quality.py stayed at chance).
        # The ReLU mixes it with the features, so the residual blocks' norms keep it.
        # (At the input the reference's label survives its IN the same way only through
        # the 7x7 conv's zero padding at the borders.)
        self.fuse = (nn.Sequential(nn.Conv2d(d + c_dim, d, 1, bias=False), nn.ReLU(inplace=True))
                     if label_at == "bottleneck" else None)
        up: list[nn.Module] = [ResidualBlock(d) for _ in range(repeat_num)]
        for _ in range(2):
            up += _conv_in_relu(nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False), d // 2)
            d //= 2
        up += [nn.Conv2d(d, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if c.dim() != 2 or c.size(1) != self.c_dim:
            raise ValueError(f"StarGAN G: labels must be (B, {self.c_dim}), got {tuple(c.shape)}")
        if self.fuse is None:
            x = torch.cat([x, tile_label(c, x)], dim=1)  # (B, C + c_dim, H, W)
        h = self.down(x)  # (B, 4 conv_dim, H/4, W/4)
        if self.fuse is not None:
            h = self.fuse(torch.cat([h, tile_label(c, h)], dim=1))  # (B, 4 conv_dim, H/4, W/4)
        return self.up(h)  # (B, C, H, W)


def d_kernel(image_size: int, repeat_num: int) -> int:
    """Side of D's last feature map, the classifier head's kernel (reference:
    ``image_size / 2**repeat_num``); ConfigError unless it is a whole number >= 1."""
    k = image_size // 2**repeat_num
    if k < 1 or k * 2**repeat_num != image_size:
        raise ConfigError(f"image_size={image_size} must be a positive multiple of 2**d_repeat_num="
                          f"{2 ** repeat_num} (StarGAN's D halves it d_repeat_num times)")
    return k


class StarGANDiscriminator(nn.Module):
    """D(x) -> (patch real/fake map (B, 1, k, k), domain logits (B, c_dim)), k = image_size/2^r."""

    def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6,
                 channels: int = 3) -> None:
        super().__init__()
        k = d_kernel(image_size, repeat_num)
        layers: list[nn.Module] = [nn.Conv2d(channels, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        d = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(d, 2 * d, 4, 2, 1), nn.LeakyReLU(0.01)]
            d *= 2
        self.main = nn.Sequential(*layers)
        self.src = nn.Conv2d(d, 1, 3, 1, 1, bias=False)  # reference conv1
        self.cls = nn.Conv2d(d, c_dim, k, bias=False)  # reference conv2

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)  # (B, conv_dim 2^(r-1), k, k)
        return self.src(h), self.cls(h).flatten(1)  # (B, 1, k, k), (B, c_dim)
