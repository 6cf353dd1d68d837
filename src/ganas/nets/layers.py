"""Shared building blocks for every network in ``ganas.nets``.

One place for the normalisation/activation factories, the DCGAN weight init and the
conv-norm-act block, so DCGAN, the pix2pix U-Net/PatchGAN, the CycleGAN ResNet
generator and StarGAN build their layers the same way.

References:
- DCGAN init: Radford et al. 2015, sec. 4 ("All weights were initialized from a
  zero-centered Normal distribution with standard deviation 0.02"); pytorch/examples
  ``dcgan/main.py`` ``weights_init`` (BatchNorm weight N(1, 0.02), bias 0).
- Norm kinds as junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``
  ``get_norm_layer`` (instance norm without affine parameters or running stats).
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Literal

import torch
from torch import nn

from ..errors import ConfigError

NormKind = Literal["batch", "instance", "none"]
ActKind = Literal["relu", "leaky_relu", "tanh", "sigmoid", "none"]

NORM_KINDS: tuple[str, ...] = ("batch", "instance", "none")
ACT_KINDS: tuple[str, ...] = ("relu", "leaky_relu", "tanh", "sigmoid", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-d normalisation layer over ``channels`` feature maps.

    ``"batch"``: ``BatchNorm2d`` (affine, running stats); ``"instance"``: ``InstanceNorm2d``
    without affine parameters or running stats (as pix2pix/CycleGAN's default);
    ``"none"``: identity.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm: unknown kind {kind!r}; valid: {', '.join(NORM_KINDS)}")


def activation(kind: str, negative_slope: float = 0.2, inplace: bool = True) -> nn.Module:
    """An activation module; ``negative_slope`` is LeakyReLU's (0.2 in DCGAN's D)."""
    if kind == "relu":
        return nn.ReLU(inplace=inplace)
    if kind == "leaky_relu":
        return nn.LeakyReLU(negative_slope, inplace=inplace)
    if kind == "tanh":
        return nn.Tanh()
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"activation: unknown kind {kind!r}; valid: {', '.join(ACT_KINDS)}")


def conv_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 4,
    stride: int = 2,
    padding: int = 1,
    *,
    norm: str = "batch",
    act: str = "relu",
    transpose: bool = False,
    bias: bool | None = None,
    negative_slope: float = 0.2,
) -> nn.Sequential:
    """``Conv2d`` (or ``ConvTranspose2d`` when ``transpose``) -> norm -> activation.

    ``bias=None`` picks the usual rule: no bias when a BatchNorm follows (its shift makes
    the bias redundant, as the DCGAN reference code does), a bias otherwise. The
    returned ``nn.Sequential`` holds only the layers that exist (identity norms and
    activations are left out), so parameter names stay ``0.weight``, ``1.weight``...
    """
    if bias is None:
        bias = norm != "batch"
    conv_cls = nn.ConvTranspose2d if transpose else nn.Conv2d
    layers: list[nn.Module] = [conv_cls(in_channels, out_channels, kernel_size, stride, padding, bias=bias)]
    n = norm_layer(norm, out_channels)
    if not isinstance(n, nn.Identity):
        layers.append(n)
    a = activation(act, negative_slope=negative_slope)
    if not isinstance(a, nn.Identity):
        layers.append(a)
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """``x + body(x)`` (the body keeps the shape)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)  # (B, C, H, W)


def bottleneck_residual(channels: int, reduction: int = 4) -> Residual:
    """reedscot/icml2016's residual block of G (``main_cls.lua``): x + [1x1 conv to
    channels / reduction, BN, ReLU, 3x3 conv, BN, ReLU, 3x3 conv back to channels, BN]."""
    mid = max(1, channels // reduction)
    return Residual(nn.Sequential(
        conv_block(channels, mid, 1, 1, 0, norm="batch", act="relu"),
        conv_block(mid, mid, 3, 1, 1, norm="batch", act="relu"),
        conv_block(mid, channels, 3, 1, 1, norm="batch", act="none"),
    ))


@torch.no_grad()
def init_dcgan_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN initialisation applied to every submodule of ``module`` (returned).

    Conv/ConvTranspose/Linear weights ~ N(0, std); BatchNorm weight ~ N(1, std), bias 0.
    NOTE: the reference leaves conv biases alone (its convs have none); we zero any
    conv/linear bias, as pix2pix's ``init_weights('normal')`` does, so blocks with a
    bias start from the same place.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


@contextlib.contextmanager
def preserved_bn_stats(module: nn.Module) -> Iterator[None]:
    """Run ``module`` in its current mode but restore BatchNorm (and InstanceNorm) running
    stats afterwards.

    Sampling a DCGAN generator in training mode (batch statistics, as pytorch/examples
    does with ``netG(fixed_noise)``) would otherwise move the running averages.
    """
    saved = [
        (m, m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
        for m in module.modules()
        # _NormBase: BatchNorm and InstanceNorm with running stats (StarGAN's G)
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats and m.running_mean is not None
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, mean, var, count in saved:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(count)


def junyanz_use_bias(norm: str) -> bool:
    """Whether a convolution followed by ``norm`` has a bias in pix2pix/CycleGAN.

    junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` sets
    ``use_bias = norm_layer.func == nn.InstanceNorm2d``: a bias with instance norm (no
    affine shift), none with batch norm, and (NOTE: as the reference) none with
    ``norm="none"`` either. Parameter counts and imported state dicts depend on it.
    """
    if norm not in NORM_KINDS:
        raise ConfigError(f"norm: unknown kind {norm!r}; valid: {', '.join(NORM_KINDS)}")
    return norm == "instance"


def check_positive_ints(**values: int) -> None:
    """Raise ``ConfigError`` naming the first of ``values`` that is not >= 1."""
    for key, v in values.items():
        if v < 1:
            raise ConfigError(f"{key} must be a positive integer, got {v}")
