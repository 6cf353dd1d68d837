"""PatchGAN discriminators (Isola et al. 2017, sec. 3.2.2 and appendix 6.1.2).

``PatchDiscriminator`` is junyanz/pytorch-CycleGAN-and-pix2pix ``NLayerDiscriminator``:
a 4x4 stride-2 conv with LeakyReLU(0.2) (no norm), ``n_layers - 1`` more stride-2 convs
doubling the width up to 8*ndf with norm and LeakyReLU, one stride-1 conv, and a
stride-1 conv to one logit per patch. ``n_layers=3`` is the paper's 70x70 PatchGAN
(``patchgan_receptive_field(3) == 70``); ``n_layers=0`` gives the 1x1 ``PixelGAN``
(junyanz ``PixelDiscriminator``). Outputs are logits; the loss picks BCE or least squares.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .layers import conv_block, junyanz_use_bias


def patchgan_receptive_field(n_layers: int) -> int:
    """Receptive field in pixels of one output logit (70 for ``n_layers=3``, 1 for 0)."""
    if n_layers == 0:
        return 1
    r = 4  # the last 4x4 stride-1 conv
    r = (r - 1) * 1 + 4  # the 4x4 stride-1 conv before it
    for _ in range(n_layers):
        r = (r - 1) * 2 + 4  # the 4x4 stride-2 convs
    return r


def patchgan_min_size(n_layers: int) -> int:
    """The smallest input side the PatchGAN accepts: ``n_layers`` halvings then two 4x4
    stride-1 convs (each -1 px) must leave at least one logit, and the norm before the
    last one at least 2x2 values (24 px for the 70x70 PatchGAN)."""
    return 1 if n_layers == 0 else 3 * 2**n_layers


def check_patchgan_size(image_size: int, n_layers: int) -> None:
    if image_size < patchgan_min_size(n_layers):
        raise ConfigError(
            f"image_size={image_size} is too small for a PatchGAN with n_layers_D={n_layers} "
            f"(needs >= {patchgan_min_size(n_layers)} px); lower n_layers_D or raise image_size"
        )


class PatchDiscriminator(nn.Module):
    """(B, in_channels, H, W) -> logits (B, 1, H', W'), one per patch."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 0:
            raise ConfigError(f"n_layers must be >= 0 (0 = 1x1 PixelGAN), got {n_layers}")
        if in_channels < 1 or ndf < 1:
            raise ConfigError(f"in_channels and ndf must be positive, got {in_channels}, {ndf}")
        bias = junyanz_use_bias(norm)
        self.n_layers = n_layers
        layers: list[nn.Module] = []
        if n_layers == 0:  # PixelGAN: 1x1 convs
            layers += [
                conv_block(in_channels, ndf, 1, 1, 0, norm="none", act="leaky_relu", bias=True),
                conv_block(ndf, 2 * ndf, 1, 1, 0, norm=norm, act="leaky_relu", bias=bias),
                nn.Conv2d(2 * ndf, 1, 1, 1, 0, bias=bias),
            ]
        else:
            layers.append(conv_block(in_channels, ndf, 4, 2, 1, norm="none", act="leaky_relu", bias=True))
            mult = 1
            for n in range(1, n_layers + 1):
                prev, mult = mult, min(2**n, 8)
                stride = 2 if n < n_layers else 1  # the last hidden conv keeps the size
                layers.append(conv_block(ndf * prev, ndf * mult, 4, stride, 1, norm=norm, act="leaky_relu", bias=bias))
            layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # (B, 1, H', W') logits
