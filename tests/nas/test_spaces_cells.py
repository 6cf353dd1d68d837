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
    assert normal.outputs == [3, 4] and normal(s, s).shape == (2, 8, 8, 8)  # states 2 + b
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


# block 0 reads h_{i-2} twice, block 1 reads block 0 and h_{i-2}: h_{i-1} (state 1) is unused
_WIRING = [[0, "sep_conv_3x3", 0, "identity", "add"], [2, "max_pool_3x3", 0, "conv_3x3", "add"]]


@pytest.mark.parametrize("rule, states", [("unused_states", [1, 3]), ("all_blocks", [2, 3]), ("unused_blocks", [3])])
def test_cell_output_rules(rule: str, states: list[int]) -> None:
    """unused_states (NASNet's code: an unused cell input is concatenated too),
    all_blocks (PNASNet's code: every block, even one a later block reads), and the
    earlier unused_blocks."""
    s = torch.randn(2, 6, 8, 8)
    normal = Cell(_WIRING, c_pp=6, c_p=6, c=4, reduction=False, reduction_prev=False, output=rule)
    assert normal.outputs == states and normal(s, s).shape == (2, 4 * len(states), 8, 8)
    red = Cell(_WIRING, c_pp=6, c_p=6, c=4, reduction=True, reduction_prev=False, output=rule)
    assert red(s, s).shape == (2, 4 * len(states), 4, 4)  # an unused input is reduced to the blocks' size
    assert ("1" in red.reduce_inputs) == (rule == "unused_states")


def test_unused_cell_input_reaches_the_output_under_nasnet_wiring() -> None:
    """Under unused_states the cell output depends on h_{i-1} although no block reads it."""
    cell = Cell(_WIRING, c_pp=3, c_p=3, c=2, reduction=False, reduction_prev=False, output="unused_states").eval()
    old = Cell(_WIRING, c_pp=3, c_p=3, c=2, reduction=False, reduction_prev=False, output="unused_blocks").eval()
    s0, s1 = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        assert not torch.equal(cell(s0, s1), cell(s0, s1 + 1.0))
        assert torch.equal(old(s0, s1), old(s0, s1 + 1.0))


def test_spaces_default_to_the_authors_wiring() -> None:
    nas, pnas = make_space("nasnet", NAS_TINY), make_space("pnas", PNAS_TINY)
    assert nas.settings.cell_output == "unused_states" and pnas.settings.cell_output == "all_blocks"
    # a 3-block PNAS cell whose blocks feed one another: all 3 concatenated (3 * C channels)
    arch = pnas.from_string("0:sep_conv_3x3,1:identity;2:max_pool_3x3,0:sep_conv_5x5;3:identity,2:avg_pool_3x3")
    assert pnas.spec(arch)["output"] == "all_blocks"
    assert pnas.build(arch, (3, 8, 8), 2).cells[0].multiplier == 3
    old = make_space("pnas", {**PNAS_TINY, "cell_output": "unused_blocks"})
    assert old.build(arch, (3, 8, 8), 2).cells[0].multiplier == 1
    with pytest.raises(ConfigError, match="cell_output"):
        make_space("nasnet", {**NAS_TINY, "cell_output": "everything"})
