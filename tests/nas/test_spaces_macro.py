"""Zoph & Le macro space: value strings, anchor-point skips, padding and strides."""

from __future__ import annotations

import pytest
import torch

from ganas.errors import ConfigError
from ganas.nas import make_space


def test_defaults_follow_the_paper() -> None:
    sp = make_space("macro")
    ds = sp.decisions()
    assert [d.name for d in ds[:3]] == ["L0.fh", "L0.fw", "L0.nf"]
    assert ds[0].choices == (1, 3, 5, 7) and ds[2].choices == (24, 36, 48, 64)
    # 6 layers x 3 decisions + one anchor bit per earlier layer (0+1+...+5)
    assert len(ds) == 18 + 15
    strided = make_space("macro", {"strides": "true"})
    assert len(strided.decisions()) == 30 + 15 and strided.decisions()[3].choices == (1, 2, 3)


def test_string_shows_values_and_skips() -> None:
    sp = make_space("macro", {"layers": 3})
    s = "L0:fh3,fw5,nf36,sh1,sw1,in[]|L1:fh1,fw7,nf24,sh1,sw1,in[]|L2:fh7,fw1,nf64,sh1,sw1,in[0,1]"
    arch = sp.from_string(s)
    assert arch == (1, 2, 1, 0, 3, 0, 0, 3, 0, 3, 1, 1)  # L0 | L1 + in0 | L2 + in0, in1
    assert sp.to_string(arch) == s


@pytest.mark.parametrize(
    "settings, bad, why",
    [
        ({}, "L0:fh3,fw5,nf36,sh1,sw1,in[]", "need 6 layers"),
        ({"layers": 1}, "L0:fh2,fw5,nf36,sh1,sw1,in[]", "fh2 not in"),
        ({"layers": 1}, "L0:fh3,fw5,nf36,sh2,sw1,in[]", "strides are fixed"),
        ({"layers": 1}, "L1:fh3,fw5,nf36,sh1,sw1,in[]", "labelled L1"),
        ({"layers": 2}, "L0:fh3,fw5,nf36,sh1,sw1,in[]|L1:fh3,fw5,nf36,sh1,sw1,in[1]", "earlier layers"),
        ({"layers": 2, "skips": "false"}, "L0:fh3,fw5,nf36,sh1,sw1,in[]|L1:fh3,fw5,nf36,sh1,sw1,in[]", "previous layer"),
        ({"layers": 1}, "L0:fh3 fw5", "is not Li:"),
    ],
)
def test_bad_strings(settings: dict, bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        make_space("macro", settings).from_string(bad)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="num_filters"):
        make_space("macro", {"num_filters": "8,8"})
    with pytest.raises(ConfigError, match="layers must be"):
        make_space("macro", {"layers": "0"})


def test_network_wiring_follows_the_anchor_points() -> None:
    sp = make_space("macro", {"layers": 3, "num_filters": "4,6", "strides": "true"})
    # L0 stride 2 (8x8 -> 4x4), L1 takes the image (no input), L2 takes both: 4x4 padded to 8x8
    s = "L0:fh3,fw1,nf4,sh2,sw2,in[]|L1:fh1,fw7,nf6,sh1,sw1,in[]|L2:fh5,fw3,nf4,sh1,sw1,in[0,1]"
    net = sp.build(sp.from_string(s), (2, 8, 8), 3)
    assert [layer.conv.in_channels for layer in net.layers] == [2, 2, 10]
    assert net.outputs == [2] and net.classifier.in_features == 4
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for m in net.layers]
    assert net(torch.randn(2, 2, 8, 8)).shape == (2, 3)
    for h in hooks:
        h.remove()
    # 'same' padding per axis for asymmetric kernels: only the stride changes H, W
    assert shapes == [(4, 4, 4), (6, 8, 8), (4, 8, 8)]


def test_unconnected_outputs_are_concatenated_for_the_classifier() -> None:
    sp = make_space("macro", {"layers": 3, "num_filters": "4,6"})
    s = "L0:fh3,fw3,nf4,sh1,sw1,in[]|L1:fh3,fw3,nf6,sh1,sw1,in[]|L2:fh3,fw3,nf4,sh1,sw1,in[1]"
    net = sp.build(sp.from_string(s), (1, 6, 6), 2)
    assert net.outputs == [0, 2] and net.classifier.in_features == 4 + 4


def test_without_skips_layers_form_a_chain() -> None:
    sp = make_space("macro", {"layers": 3, "skips": "false"})
    assert len(sp.decisions()) == 9
    arch = sp.sample(__import__("random").Random(0))
    assert [v["inputs"] for v in sp.layer_values(arch)] == [[], [0], [1]]
    assert "in[0]" in sp.to_string(arch)
    assert sp.from_string(sp.to_string(arch)) == arch
