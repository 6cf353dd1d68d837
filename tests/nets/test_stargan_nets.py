"""StarGAN's networks against yunjey/stargan model.py: parameter counts (worked out from
the reference's layers), shapes, the label injection and the norm layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganas.errors import ConfigError
from ganas.gan.base import count_params
from ganas.nets.stargan import StarGANDiscriminator, StarGANGenerator, d_kernel, tile_label


def _g_reference_count(conv_dim: int = 64, c_dim: int = 5, repeat: int = 6) -> int:
    """Parameters of the reference Generator, layer by layer (bias-free convs, affine IN)."""
    n = (3 + c_dim) * conv_dim * 49 + 2 * conv_dim  # 7x7 conv + IN
    d = conv_dim
    for _ in range(2):  # 4x4 stride-2 convs + IN
        n += d * 2 * d * 16 + 2 * 2 * d
        d *= 2
    n += repeat * 2 * (d * d * 9 + 2 * d)  # residual blocks: 2 x (3x3 conv + IN)
    for _ in range(2):  # 4x4 transposed convs + IN
        n += d * (d // 2) * 16 + 2 * (d // 2)
        d //= 2
    return n + d * 3 * 49  # last 7x7 conv


def _d_reference_count(image_size: int = 128, conv_dim: int = 64, c_dim: int = 5, repeat: int = 6) -> int:
    n, cin, d = 0, 3, conv_dim
    for _ in range(repeat):  # 4x4 convs with bias
        n += cin * d * 16 + d
        cin, d = d, 2 * d
    k = image_size // 2**repeat
    return n + cin * 9 + cin * c_dim * k * k  # conv1 (3x3 -> 1) + conv2 (k x k -> c_dim), no bias


def test_parameter_counts_equal_the_reference() -> None:
    assert _g_reference_count() == 8_430_528
    assert _d_reference_count() == 44_762_048
    assert count_params(StarGANGenerator(conv_dim=64, c_dim=5, repeat_num=6)) == 8_430_528
    assert count_params(StarGANDiscriminator(image_size=128, conv_dim=64, c_dim=5, repeat_num=6)) == 44_762_048
    # other sizes follow the same layer rule
    assert count_params(StarGANGenerator(8, 3, 2)) == _g_reference_count(8, 3, 2)
    assert count_params(StarGANDiscriminator(64, 8, 7, 4)) == _d_reference_count(64, 8, 7, 4)


def test_generator_layers_and_shapes() -> None:
    g = StarGANGenerator(conv_dim=4, c_dim=3, repeat_num=2)
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(m.affine and m.track_running_stats for m in norms)
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(m.bias is None for m in convs)
    assert convs[0].in_channels == 3 + 3 and convs[0].kernel_size == (7, 7)
    assert sum(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2) for m in convs) == 2
    assert isinstance(g.up[-1], nn.Tanh)
    x, c = torch.randn(2, 3, 16, 16), torch.tensor([[1.0, 0, 0], [0, 1, 1]])
    y = g(x, c)
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        g(x, c[:, :2])


def test_the_label_changes_the_output_at_either_place() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16)
    for at in ("input", "bottleneck"):
        g = StarGANGenerator(conv_dim=4, c_dim=2, repeat_num=1, label_at=at).train()
        a, b = g(x, torch.tensor([[1.0, 0.0]])), g(x, torch.tensor([[0.0, 1.0]]))
        # a real change, not rounding noise: an instance norm right after the bottleneck's
        # 1x1 fuse cancelled the tiled label exactly (max difference 5e-7)
        assert (a - b).abs().max() > 1e-2, at
    bott = StarGANGenerator(conv_dim=4, c_dim=2, repeat_num=1, label_at="bottleneck")
    assert bott.down[0].in_channels == 3 and bott.fuse[0].in_channels == 16 + 2
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in bott.fuse)
    with pytest.raises(ConfigError, match="label_at"):
        StarGANGenerator(label_at="middle")  # type: ignore[arg-type]


def test_tile_label() -> None:
    c = torch.tensor([[1.0, 0.0], [0.5, 2.0]])
    t = tile_label(c, torch.zeros(2, 7, 3, 4))
    assert t.shape == (2, 2, 3, 4) and torch.equal(t[1, 1], torch.full((3, 4), 2.0)) and t[0, 1].abs().sum() == 0


def test_discriminator_heads() -> None:
    d = StarGANDiscriminator(image_size=32, conv_dim=4, c_dim=5, repeat_num=4)
    acts = [m for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.01 for a in acts)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in d.modules())
    assert d.src.kernel_size == (3, 3) and d.cls.kernel_size == (2, 2) and d.src.bias is None and d.cls.bias is None
    src, cls = d(torch.randn(3, 3, 32, 32))
    assert src.shape == (3, 1, 2, 2) and cls.shape == (3, 5)


def test_d_kernel_refuses_sizes_it_cannot_halve() -> None:
    assert d_kernel(128, 6) == 2 and d_kernel(16, 4) == 1
    for size, r in ((16, 5), (48, 5), (100, 3)):
        with pytest.raises(ConfigError, match="image_size"):
            d_kernel(size, r)
