"""NASNet and PNAS cell spaces: encoding, growth counts, and what the cells compute."""

from __future__ import annotations

import random

import pytest
import torch

from ganas.errors import ConfigError
from ganas.nas import make_space
from ganas.nas.spaces.cell_net import Cell

NAS_TINY = {"C": "2", "N": "1", "R": "1", "B": "2"}
PNAS_TINY = {"C": "2", "N": "1", "R": "1", "blocks": "3"}


def test_nasnet_decisions_follow_the_controller_order() -> None:
    sp = make_space("nasnet")
    ds = sp.decisions()
    assert len(ds) == 2 * 5 * 5
    assert [d.name for d in ds[:5]] == ["normal.b0.in1", "normal.b0.in2", "normal.b0.op1", "normal.b0.op2", "normal.b0.combine"]
    assert ds[25].name == "reduction.b0.in1"
    assert len(ds[2].choices) == 13 and ds[4].choices == ("add", "concat")
    assert ds[5].choices == (0, 1, 2)  # block 1 may take block 0's output


def test_nasnet_string_decodes() -> None:
    sp = make_space("nasnet", NAS_TINY)
    s = "normal=0:sep_conv_3x3,1:identity,add;2:max_pool_3x3,0:conv_1x7_7x1,concat|reduction=1:sep_conv_7x7,0:avg_pool_3x3,add;0:identity,2:dil_conv_3x3,add"
    arch = sp.from_string(s)
    ops = sp.decisions()[2].choices
    assert arch[:5] == (0, 1, ops.index("sep_conv_3x3"), ops.index("identity"), 0)
    assert arch[5:10] == (2, 0, ops.index("max_pool_3x3"), ops.index("conv_1x7_7x1"), 1)
    assert sp.to_string(arch) == s


@pytest.mark.parametrize(
    "bad, why",
    [
        ("normal=0:identity,1:identity,add;0:identity,1:identity,add", "two cells"),
        ("normal=0:identity,1:identity,add|reduction=0:identity,1:identity,add", "B=2 blocks"),
        ("normal=0:identity,1:identity,add;3:identity,1:identity,add|reduction=0:identity,1:identity,add;0:identity,1:identity,add", "inputs 0..2"),
        ("normal=0:identity,1:identity,mul;0:identity,1:identity,add|reduction=0:identity,1:identity,add;0:identity,1:identity,add", "add or concat"),
        ("normal=0:conv_5x5,1:identity,add;0:identity,1:identity,add|reduction=0:identity,1:identity,add;0:identity,1:identity,add", "unknown op 'conv_5x5'"),
        ("reduction=0:identity,1:identity,add;0:identity,1:identity,add|normal=0:identity,1:identity,add;0:identity,1:identity,add", "start with 'normal='"),
    ],
)
def test_nasnet_bad_strings(bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        make_space("nasnet", NAS_TINY).from_string(bad)


def test_cell_output_concatenates_unused_blocks_and_reduction_halves() -> None:
    # block 0 feeds block 1; blocks 1 and 2 are unused -> output has 2*C channels
    blocks = [[0, "sep_conv_3x3", 1, "identity", "add"], [2, "max_pool_3x3", 1, "conv_3x3", "concat"], [0, "avg_pool_3x3", 1, "identity", "add"]]
    normal = Cell(blocks, c_pp=6, c_p=6, c=4, reduction=False, reduction_prev=False)
    s = torch.randn(2, 6, 8, 8)
    assert normal.outputs == [1, 2] and normal(s, s).shape == (2, 8, 8, 8)
    red = Cell(blocks, c_pp=6, c_p=6, c=4, reduction=True, reduction_prev=False)
    assert red(s, s).shape == (2, 8, 4, 4)
    # after a reduction, h_{i-2} is twice as large: factorized reduce brings it down
    after = Cell(blocks, c_pp=6, c_p=8, c=4, reduction=False, reduction_prev=True)
    assert after(s, torch.randn(2, 8, 4, 4)).shape == (2, 8, 4, 4)
    # odd sizes reduce to ceil(H/2) on every path
    odd = torch.randn(1, 6, 7, 7)
    assert red(odd, odd).shape == (1, 8, 4, 4)


def test_cell_network_doubles_filters_and_halves_size_at_each_reduction() -> None:
    sp = make_space("nasnet", {"C": "2", "N": "1", "R": "2", "B": "2"})
    net = sp.build(sp.sample(random.Random(0)), (3, 16, 16), 4)
    shapes = []
    hooks = [c.register_forward_hook(lambda m, i, o: shapes.append((m.multiplier, tuple(o.shape[1:])))) for c in net.cells]
    net(torch.randn(1, 3, 16, 16))
    for h in hooks:
        h.remove()
    widths = [2, 4, 4, 8, 8]  # N=1 normal, reduction, normal, reduction, normal
    sizes = [16, 8, 8, 4, 4]
    assert [(m * w, s, s) for (m, _), w, s in zip(shapes, widths, sizes)] == [o for _, o in shapes]


def test_pnas_growth_counts_match_the_paper() -> None:
    sp = make_space("pnas")
    assert sp.progressive_levels() == 5
    level1 = sp.initial()
    assert len(level1) == 136 == len(set(level1))  # 256 before removing symmetric blocks
    assert all(sp.canonical(c) == c for c in level1)
    children = sp.expand(level1[0])
    assert len(children) == (3 * 8) * (3 * 8 + 1) // 2 == 300
    assert all(c[:4] == level1[0] and len(c) == 8 for c in children)
    grand = sp.expand(children[0])
    assert len(grand) == (4 * 8) * (4 * 8 + 1) // 2
    assert sp.complete(children[5]) == children[5]
    full = make_space("pnas", {"blocks": 2})
    assert full.expand(children[0]) == []


def test_pnas_symmetric_blocks_canonicalise_to_one() -> None:
    sp = make_space("pnas")
    a = sp.from_string("1:sep_conv_3x3,0:identity")
    b = sp.from_string("0:identity,1:sep_conv_3x3")
    assert a != b and sp.canonical(a) == sp.canonical(b) == b
    assert b in sp.initial() and a not in sp.initial()


def test_pnas_cells_of_fewer_blocks_are_architectures() -> None:
    sp = make_space("pnas", PNAS_TINY)
    one = sp.from_string("0:sep_conv_5x5,1:max_pool_3x3")
    assert len(one) == 4 and sp.num_blocks(one) == 1
    assert sp.from_string(sp.to_string(one)) == one
    assert len(sp.neighbors(one)) == 2 * (2 - 1) + 2 * (8 - 1)
    net = sp.build(one, (3, 8, 8), 3)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 3)
    # one cell everywhere: normal and reduction positions share the blocks
    spec = sp.spec(one)
    assert spec["normal"] == spec["reduction"] == [[0, "sep_conv_5x5", 1, "max_pool_3x3", "add"]]


@pytest.mark.parametrize(
    "bad, why",
    [
        ("", "1..3 blocks"),
        ("0:identity,1:identity;0:identity,1:identity;0:identity,1:identity;0:identity,1:identity", "1..3 blocks"),
        ("0:identity,1:identity,add", "is not in1:op1,in2:op2"),
        ("0:identity,2:identity", "inputs 0..1"),
        ("0:conv_3x3,1:identity", "unknown op 'conv_3x3'"),
        ("x:identity,1:identity", "not input:op"),
    ],
)
def test_pnas_bad_strings(bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        make_space("pnas", PNAS_TINY).from_string(bad)


def test_pnas_bad_tuples() -> None:
    sp = make_space("pnas", PNAS_TINY)
    with pytest.raises(ConfigError, match="4\\*b choices"):
        sp.validate((0, 1, 2))
    with pytest.raises(ConfigError, match="b0.in2"):
        sp.validate((0, 2, 0, 0))


def test_cell_settings_checked() -> None:
    with pytest.raises(ConfigError, match="B>=1"):
        make_space("nasnet", {"B": "0"})
    with pytest.raises(ConfigError, match="blocks>=1"):
        make_space("pnas", {"blocks": "0"})
    with pytest.raises(ConfigError, match="C>=2"):
        make_space("pnas", {"C": "1"})
