"""The CycleGAN ResNet generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016).

junyanz/pytorch-CycleGAN-and-pix2pix ``ResnetGenerator``: reflection pad 3 + 7x7 conv
(c7s1-64), two 3x3 stride-2 convs (d128, d256), ``n_blocks`` residual blocks (R256:
reflection pad, 3x3 conv, norm, ReLU, [dropout], reflection pad, 3x3 conv, norm, plus
the input), two 3x3 stride-2 transposed convs (u128, u64), reflection pad 3 + 7x7 conv
to the output channels, tanh. 9 blocks at 256 px, 6 at 128 px (paper appendix 7.2).
Instance norm without affine parameters is the reference's default.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .layers import check_positive_ints, conv_block, junyanz_use_bias, norm_layer


def resnet_blocks_for(image_size: int) -> int:
    """The paper's number of residual blocks: 6 below 256 px, 9 from 256 px."""
    return 9 if image_size >= 256 else 6


class ResidualBlock(nn.Module):
    """x + body(x); body indices as the reference's ``conv_block`` (import mapping)."""

    def __init__(self, dim: int, norm: str, use_dropout: bool, bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim),
                                   nn.ReLU(inplace=True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)  # (B, dim, H, W)


class ResnetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H, W multiples of 4."""

    multiple = 4

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
        norm: str = "instance", use_dropout: bool = False,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ConfigError(f"n_blocks must be >= 0, got {n_blocks}")
        check_positive_ints(in_channels=in_channels, out_channels=out_channels, ngf=ngf)
        bias = junyanz_use_bias(norm)
        self.n_blocks = n_blocks
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                  norm_layer(norm, ngf), nn.ReLU(inplace=True))
        self.down = nn.ModuleList(
            conv_block(ngf * 2**i, ngf * 2 ** (i + 1), 3, 2, 1, norm=norm, act="relu", bias=bias) for i in range(2)
        )
        self.blocks = nn.Sequential(*(ResidualBlock(4 * ngf, norm, use_dropout, bias) for _ in range(n_blocks)))
        self.up = nn.ModuleList()
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            up = nn.Sequential(nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias))
            n = norm_layer(norm, c // 2)
            if not isinstance(n, nn.Identity):
                up.append(n)
            up.append(nn.ReLU(inplace=True))
            self.up.append(up)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ConfigError(
                f"ResNet generator input of {x.shape[-2]}x{x.shape[-1]} px: height and width must be "
                "multiples of 4; pad the image (ganas translate does)"
            )
        h = self.stem(x)  # (B, ngf, H, W)
        for d in self.down:
            h = d(h)  # (B, 2ngf, H/2, W/2) then (B, 4ngf, H/4, W/4)
        h = self.blocks(h)  # (B, 4ngf, H/4, W/4)
        for u in self.up:
            h = u(h)  # (B, 2ngf, H/2, W/2) then (B, ngf, H, W)
        return self.head(h)  # (B, C_out, H, W)
