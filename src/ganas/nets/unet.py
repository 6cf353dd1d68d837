"""The pix2pix U-Net generator (Isola et al. 2017, sec. 3.2.1 and appendix 6.1.1).

Structure of junyanz/pytorch-CycleGAN-and-pix2pix ``UnetGenerator`` /
``UnetSkipConnectionBlock``, written as two flat lists instead of nested blocks:

- encoder level ``i`` (``down[i]``): LeakyReLU(0.2) (not at level 0), 4x4 stride-2
  conv, BatchNorm (not at the outermost nor the innermost level);
- decoder level ``i`` (``up[i]``): ReLU, 4x4 stride-2 transposed conv, BatchNorm
  (outermost: tanh instead), dropout 0.5 at the 8*ngf levels between level 4 and the
  innermost one;
- skips: decoder level ``i`` (``i`` < innermost) sees ``cat([down_i output, up_{i+1}
  output])``, encoder level ``i`` concatenated with the decoder at the same depth.

Widths: level ``i`` has ``ngf * min(2**i, 8)`` channels; with ``num_downs = log2(size)``
the bottleneck is 1x1 (1x1x512 at 256 px: ``unet_256`` = 8 levels, ``unet_128`` = 7).

NOTE (dropout placement): the paper's decoder is CD512-CD1024-CD1024-C1024-..., i.e.
dropout on the first three decoder layers; the reference puts it on the
``num_downs - 5`` levels just outside the innermost one (decoder layers 2-4 at 256 px,
2-3 at 128 px). We follow the reference, so its pretrained weights behave the same.
NOTE (in-place LeakyReLU): in the reference the next level's in-place LeakyReLU also
rewrites the skip tensor before it is concatenated; the decoder's ReLU follows, and
relu(leaky_relu(x)) == relu(x), so keeping the skip unmodified (our out-of-place
LeakyReLU) gives the same function.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..errors import ConfigError
from .layers import check_positive_ints, junyanz_use_bias, norm_layer


def unet_depth(image_size: int) -> int:
    """``num_downs`` that brings ``image_size`` to a 1x1 bottleneck (``log2``)."""
    if image_size < 2 or image_size & (image_size - 1):
        raise ConfigError(
            f"image_size={image_size}: the U-Net needs a power of two >= 2 so that its "
            "bottleneck is 1x1 (256 -> 8 levels, 128 -> 7); or set num_downs explicitly"
        )
    return image_size.bit_length() - 1


def _width(ngf: int, level: int) -> int:
    return ngf * min(2**level, 8)


class UNetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H, W multiples of
    ``2**num_downs`` (``multiple``)."""

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8, ngf: int = 64,
        norm: str = "batch", use_dropout: bool = True, dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_downs < 2:
            raise ConfigError(f"num_downs must be >= 2, got {num_downs}")
        check_positive_ints(in_channels=in_channels, out_channels=out_channels, ngf=ngf)
        bias = junyanz_use_bias(norm)
        n = num_downs
        self.num_downs, self.multiple = n, 2**n
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(n):
            inner = _width(ngf, i)
            c_in = in_channels if i == 0 else _width(ngf, i - 1)  # encoder input
            c_out = out_channels if i == 0 else _width(ngf, i - 1)  # decoder output
            outermost, innermost = i == 0, i == n - 1
            d: OrderedDict[str, nn.Module] = OrderedDict()
            if not outermost:
                d["act"] = nn.LeakyReLU(0.2)  # out of place: the input is also a skip
            d["conv"] = nn.Conv2d(c_in, inner, 4, 2, 1, bias=bias)
            if not (outermost or innermost):
                d["norm"] = norm_layer(norm, inner)
            self.down.append(nn.Sequential(d))
            u: OrderedDict[str, nn.Module] = OrderedDict()
            u["act"] = nn.ReLU(inplace=True)
            up_in = inner if innermost else 2 * inner  # skip concatenated below the innermost
            # the outermost transposed conv has a bias whatever the norm, as the reference
            u["conv"] = nn.ConvTranspose2d(up_in, c_out, 4, 2, 1, bias=True if outermost else bias)
            if outermost:
                u["tanh"] = nn.Tanh()
            else:
                u["norm"] = norm_layer(norm, c_out)
                if use_dropout and 4 <= i < n - 1:
                    u["dropout"] = nn.Dropout(dropout)
            self.up.append(nn.Sequential(u))

    def dropout_levels(self) -> list[int]:
        """Decoder levels with dropout (0 = outermost)."""
        return [i for i, u in enumerate(self.up) if "dropout" in u._modules]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.multiple
        if x.shape[-1] % m or x.shape[-2] % m:
            raise ConfigError(
                f"U-Net input of {x.shape[-2]}x{x.shape[-1]} px: height and width must be "
                f"multiples of {m} (2^num_downs); pad the image (ganas translate does)"
            )
        skips: list[torch.Tensor] = []
        h = x  # (B, C_in, H, W)
        for d in self.down:
            h = d(h)  # level i: (B, ngf*min(2^i, 8), H / 2^(i+1), W / 2^(i+1))
            skips.append(h)
        h = self.up[-1](skips[-1])  # innermost: no skip
        for i in range(self.num_downs - 2, -1, -1):
            h = self.up[i](torch.cat([skips[i], h], 1))  # (B, 2*width_i, ...) -> (B, width_{i-1}, 2x)
        return h  # (B, C_out, H, W)
