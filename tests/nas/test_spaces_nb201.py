"""NAS-Bench-201 space: strings, enumeration, progressive growth, network shape."""

from __future__ import annotations

import random

import pytest
import torch

from ganas.errors import ConfigError, UnknownNameError
from ganas.nas import SPACES, make_space
from ganas.nas.flops import count_flops, count_params

PAPER_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_registered_and_settings_coerced() -> None:
    assert "nb201" in SPACES.list()
    sp = make_space("nb201", {"C": "4", "N": "1"})
    assert sp.settings.C == 4 and sp.settings.N == 1
    with pytest.raises(ConfigError, match="valid: C, N"):
        make_space("nb201", {"channels": "4"})
    with pytest.raises(ConfigError, match="C and N"):
        make_space("nb201", {"C": "0"})
    with pytest.raises(UnknownNameError, match="nb201"):
        make_space("nb-201")


def test_paper_string_decodes_in_edge_order() -> None:
    sp = make_space("nb201")
    arch = sp.from_string(PAPER_CELL)
    names = [sp.decisions()[i].choices[a] for i, a in enumerate(arch)]
    assert names == ["nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect"]
    assert [d.name for d in sp.decisions()] == ["edge1<-0", "edge2<-0", "edge2<-1", "edge3<-0", "edge3<-1", "edge3<-2"]
    assert sp.to_string(arch) == PAPER_CELL


def test_enumeration_size_and_unique_strings() -> None:
    sp = make_space("nb201")
    archs = list(sp.enumerate())
    assert sp.size() == len(archs) == 15625
    strings = {sp.to_string(a) for a in archs}
    assert len(strings) == 15625
    assert all(s.count("~") == 6 for s in strings)


def test_random_round_trips_and_neighbours() -> None:
    sp = make_space("nb201")
    rng = random.Random(0)
    for _ in range(50):
        a = sp.sample(rng)
        assert sp.from_string(sp.to_string(a)) == a
        assert sp.from_vector(sp.to_vector(a)) == a
        nb = sp.neighbors(a)
        assert len(nb) == 6 * 4 == len(set(nb))
        assert all(sum(x != y for x, y in zip(a, b)) == 1 for b in nb)


@pytest.mark.parametrize(
    "bad, why",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "2 nodes separated"),
        ("|conv~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "unknown op 'conv'"),
        ("|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "op~0"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "needs 2 edges"),
        ("", "need 3"),
    ],
)
def test_bad_strings_refused(bad: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        make_space("nb201").from_string(bad)


def test_bad_vectors_refused() -> None:
    sp = make_space("nb201")
    with pytest.raises(ConfigError, match="6 choices"):
        sp.from_vector([0, 1, 2])
    with pytest.raises(ConfigError, match="0..4"):
        sp.from_vector([0, 1, 2, 3, 4, 5])


def test_progressive_growth_counts_and_completion() -> None:
    sp = make_space("nb201")
    assert sp.progressive_levels() == 3
    level1 = sp.initial()
    assert len(level1) == 5
    level2 = [c for p in level1 for c in sp.expand(p)]
    assert len(level2) == 125
    level3 = [c for p in level2 for c in sp.expand(p)]
    assert len(level3) == 15625 and set(level3) == set(sp.enumerate())
    assert sp.expand(level3[0]) == []
    for full in level3[:50]:
        assert sp.complete(full) == full
    conv = sp.decisions()[0].choices.index("nor_conv_3x3")
    assert sp.to_string(sp.complete((conv,))) == (
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    )
    with pytest.raises(ConfigError, match="1, 3 or 6"):
        sp.complete((0, 1))


def test_completed_partial_cell_computes_the_partial_dag() -> None:
    """A completed level-2 cell outputs node 2 of the partial DAG (node 3 = skip(node 2))."""
    torch.manual_seed(0)
    sp = make_space("nb201", {"C": 4, "N": 1})
    ops = sp.decisions()[0].choices
    partial = (ops.index("nor_conv_1x1"), ops.index("avg_pool_3x3"), ops.index("nor_conv_3x3"))
    net = sp.build(sp.complete(partial), (3, 8, 8), 5).eval()
    cell = net.cells[0]
    x = torch.randn(2, 4, 8, 8)
    node1 = cell.layers[0](x)
    node2 = cell.layers[1](x) + cell.layers[2](node1)
    torch.testing.assert_close(cell(x), node2)


def test_build_forward_backward_and_reference_costs() -> None:
    sp = make_space("nb201", {"C": 4, "N": 1})
    arch = sp.from_string(PAPER_CELL)
    net = sp.build(arch, (1, 8, 8), 7)
    x = torch.randn(2, 1, 8, 8)
    y = net(x)
    assert y.shape == (2, 7)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    # the benchmark's own network (C=16, N=5, CIFAR-10): all-3x3 cell = 1.53 M params and
    # 220.11 M FLOPs in NATS-Bench; counted on the real builder (construction only, one pass)
    big = make_space("nb201")
    all3 = big.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    m = big.build(all3, (3, 32, 32), 10)
    assert round(count_params(m) / 1e6, 2) == 1.53
    assert round(count_flops(m, (3, 32, 32)) / 1e6, 2) == 220.12
