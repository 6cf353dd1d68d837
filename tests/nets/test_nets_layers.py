from __future__ import annotations

import pytest
import torch
from torch import nn

from ganas.errors import ConfigError
from ganas.nets.layers import activation, conv_block, init_dcgan_weights, norm_layer, preserved_bn_stats


def test_norm_layer_kinds() -> None:
    assert isinstance(norm_layer("batch", 8), nn.BatchNorm2d)
    inst = norm_layer("instance", 8)
    assert isinstance(inst, nn.InstanceNorm2d) and not inst.affine and not inst.track_running_stats
    assert isinstance(norm_layer("none", 8), nn.Identity)
    with pytest.raises(ConfigError, match="batch, instance, none"):
        norm_layer("layer", 8)


def test_activation_kinds() -> None:
    x = torch.tensor([-2.0, 0.5])
    assert torch.equal(activation("relu", inplace=False)(x), torch.tensor([0.0, 0.5]))
    assert torch.allclose(activation("leaky_relu", 0.2, inplace=False)(x), torch.tensor([-0.4, 0.5]))
    assert torch.allclose(activation("tanh")(x), torch.tanh(x))
    assert torch.allclose(activation("sigmoid")(x), torch.sigmoid(x))
    assert torch.equal(activation("none")(x), x)
    with pytest.raises(ConfigError, match="leaky_relu"):
        activation("gelu")


def test_conv_block_layers_bias_rule_and_shapes() -> None:
    down = conv_block(3, 8, norm="batch", act="leaky_relu")
    assert [type(m) for m in down] == [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU]
    assert down[0].bias is None  # BatchNorm follows: bias redundant
    up = conv_block(8, 3, transpose=True, norm="none", act="tanh")
    assert [type(m) for m in up] == [nn.ConvTranspose2d, nn.Tanh]
    assert up[0].bias is not None
    assert conv_block(3, 8, norm="instance", act="none")[0].bias is not None
    assert conv_block(3, 8, norm="none", act="none", bias=False)[0].bias is None
    x = torch.randn(2, 3, 16, 16)
    assert down(x).shape == (2, 8, 8, 8)  # 4x4 stride 2 pad 1 halves
    assert up(down(x)).shape == (2, 3, 16, 16)  # and the transposed one doubles


def test_init_dcgan_weights_distribution() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 128, 4), nn.BatchNorm2d(4096), nn.ConvTranspose2d(128, 64, 4), nn.Linear(300, 300))
    init_dcgan_weights(net)
    for m in (net[0], net[2], net[3]):
        w = m.weight
        assert abs(w.mean().item()) < 1e-3
        assert abs(w.std().item() - 0.02) < 1e-3
        assert torch.count_nonzero(m.bias) == 0
    bn = net[1]
    assert abs(bn.weight.mean().item() - 1.0) < 2e-3 and abs(bn.weight.std().item() - 0.02) < 2e-3
    assert torch.count_nonzero(bn.bias) == 0
    init_dcgan_weights(net, std=0.1)
    assert abs(net[0].weight.std().item() - 0.1) < 5e-3


def test_preserved_bn_stats_restores_running_stats() -> None:
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad(), preserved_bn_stats(net):
        net(torch.randn(4, 1, 8, 8) + 3.0)
        assert not torch.equal(net[1].running_mean, before["1.running_mean"])  # it did move
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
