"""DCGAN networks against the pytorch/examples reference (dcgan/main.py), written out
here independently of ganas.nets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganas.errors import ConfigError
from ganas.nets.dcgan import DCGAN_IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator


def reference_netG(nz: int, ngf: int, nc: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )


def reference_netD(nc: int, ndf: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def shapes(m: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in m.parameters()]


@pytest.mark.parametrize("nc", [3, 1])
def test_param_counts_and_shapes_match_reference_at_64(nc: int) -> None:
    g, d = DCGANGenerator(100, 64, nc, 64), DCGANDiscriminator(nc, 64, 64)
    rg, rd = reference_netG(100, 64, nc), reference_netD(nc, 64)
    assert n_params(g) == n_params(rg)
    assert n_params(d) == n_params(rd)
    # stronger than the counts: the same parameter tensors in the same order
    assert shapes(g) == shapes(rg)
    assert shapes(d) == shapes(rd)
    # the same buffers too (BatchNorm running stats at the same places)
    assert [tuple(b.shape) for b in g.buffers()] == [tuple(b.shape) for b in rg.buffers()]
    assert [tuple(b.shape) for b in d.buffers()] == [tuple(b.shape) for b in rd.buffers()]


def test_reference_weights_load_and_give_the_same_outputs() -> None:
    # same layer order => the reference's weights load into ours (names differ) and the
    # outputs agree (ours returns D's logit: sigmoid(ours) == reference)
    torch.manual_seed(0)
    rg, rd = reference_netG(16, 4, 3), reference_netD(3, 4)
    g, d = DCGANGenerator(16, 4, 3, 64), DCGANDiscriminator(3, 4, 64)
    with torch.no_grad():
        for p, q in zip(g.parameters(), rg.parameters()):
            p.copy_(q)
        for p, q in zip(d.parameters(), rd.parameters()):
            p.copy_(q)
    z = torch.randn(3, 16, 1, 1)
    img = g(z)
    assert torch.allclose(img, rg(z), atol=1e-6)
    assert torch.allclose(torch.sigmoid(d(img)), rd(img).view(-1), atol=1e-6)


@pytest.mark.parametrize("size", DCGAN_IMAGE_SIZES)
@pytest.mark.parametrize("nc", [1, 3])
def test_output_shapes_for_every_allowed_size(size: int, nc: int) -> None:
    width = 2 if size >= 128 else 4
    g, d = DCGANGenerator(8, width, nc, size), DCGANDiscriminator(nc, width, size)
    img = g(torch.randn(2, 8, 1, 1))
    assert img.shape == (2, nc, size, size)
    assert img.abs().max() <= 1.0  # tanh output
    assert d(img).shape == (2,)
    # (B, nz) is accepted as (B, nz, 1, 1)
    assert g(torch.randn(2, 8)).shape == (2, nc, size, size)


@pytest.mark.parametrize("size", DCGAN_IMAGE_SIZES)
def test_layer_count_and_batchnorm_placement(size: int) -> None:
    k = size.bit_length() - 1
    g, d = DCGANGenerator(8, 2, 3, size), DCGANDiscriminator(3, 2, size)
    g_convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    g_bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    d_bns = [m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(g_convs) == k - 1 and len(d_convs) == k - 1  # 4x4 start/end, one layer per doubling
    assert len(g_bns) == len(g_convs) - 1  # all but the output layer
    assert len(d_bns) == len(d_convs) - 2  # all but the input and last layers
    assert g_convs[0].in_channels == 8 and g_convs[0].out_channels == 2 * 2 ** (k - 3)
    assert d_convs[-2].out_channels == 2 * 2 ** (k - 3) and d_convs[-1].out_channels == 1
    assert all(c.bias is None for c in g_convs + d_convs)  # the reference has no conv biases
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in d.modules())
    assert isinstance(list(g.modules())[-1], nn.Tanh)
    assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in d.modules()) == k - 2


@pytest.mark.parametrize("size", [48, 8, 512, 100])
def test_unsupported_sizes_are_refused_with_the_allowed_list(size: int) -> None:
    for build in (lambda: DCGANGenerator(8, 4, 3, size), lambda: DCGANDiscriminator(3, 4, size)):
        with pytest.raises(ConfigError) as e:
            build()
        msg = str(e.value)
        assert f"image_size={size}" in msg and "16, 32, 64, 128, 256" in msg


def test_bad_channels_refused() -> None:
    with pytest.raises(ConfigError, match="channels=2"):
        DCGANGenerator(8, 4, 2, 16)
    with pytest.raises(ConfigError, match="channels=4"):
        DCGANDiscriminator(4, 4, 16)
