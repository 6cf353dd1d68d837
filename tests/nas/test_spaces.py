"""Properties every search space must have: strings, vectors, neighbours, sizes,
networks that run, and exported sources that rebuild the same network."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from ganas.errors import ConfigError
from ganas.nas import SPACES, make_space
from ganas.nas.flops import count_flops, count_params

# tiny settings so every network builds and runs in milliseconds
TINY = {
    "nb201": {"C": "2", "N": "1"},
    "macro": {"layers": "4", "num_filters": "3,5", "strides": "true"},
    "nasnet": {"C": "2", "N": "1", "R": "1", "B": "3"},
    "pnas": {"C": "2", "N": "1", "R": "1", "blocks": "3"},
}
SHAPE = (3, 12, 12)


def test_every_space_is_registered() -> None:
    assert set(SPACES.list()) == set(TINY)


@pytest.mark.parametrize("name", sorted(TINY))
def test_unknown_and_bad_settings_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="unknown option 'bogus'.*valid: "):
        make_space(name, {"bogus": "1"})
    first = sorted(make_space(name).settings_dict())[0]
    with pytest.raises(ConfigError):
        make_space(name, {first: "not-a-number"})


@pytest.mark.parametrize("name", sorted(TINY))
def test_round_trips_of_random_samples(name: str) -> None:
    sp = make_space(name, TINY[name])
    rng = random.Random(1)
    for _ in range(30):
        a = sp.sample(rng)
        s = sp.to_string(a)
        assert sp.from_string(s) == a
        assert sp.to_string(sp.from_string(s)) == s
        assert sp.from_vector(sp.to_vector(a)) == a


@pytest.mark.parametrize("name", sorted(TINY))
def test_neighbours_differ_in_exactly_one_decision(name: str) -> None:
    sp = make_space(name, TINY[name])
    a = sp.sample(random.Random(2))
    nb = sp.neighbors(a)
    assert len(nb) == sum(d.n - 1 for d in sp.decisions()) == len(set(nb))
    for b in nb:
        assert sum(x != y for x, y in zip(a, b)) == 1
        sp.validate(b)


@pytest.mark.parametrize("name", sorted(TINY))
def test_size_is_product_of_decisions(name: str) -> None:
    sp = make_space(name, TINY[name])
    assert sp.size() == math.prod(d.n for d in sp.decisions())


def test_enumeration_of_a_small_macro_space() -> None:
    sp = make_space("macro", {"layers": 2, "filter_heights": "1,3", "filter_widths": "3", "num_filters": "4,8"})
    archs = list(sp.enumerate())
    # per layer 2*1*2 choices, plus one skip bit for layer 1
    assert len(archs) == sp.size() == 4 * 4 * 2
    assert len({sp.to_string(a) for a in archs}) == len(archs)


@pytest.mark.parametrize("name", sorted(TINY))
def test_build_forward_backward(name: str) -> None:
    sp = make_space(name, TINY[name])
    rng = random.Random(3)
    for _ in range(3):
        net = sp.build(sp.sample(rng), SHAPE, 5)
        y = net(torch.randn(2, *SHAPE))  # (2, 5)
        assert y.shape == (2, 5)
        y.square().mean().backward()
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert count_params(net) > 0 and count_flops(net, SHAPE) > 0


@pytest.mark.parametrize("name", sorted(TINY))
def test_exported_source_rebuilds_the_same_network(name: str, tmp_path: Path) -> None:
    sp = make_space(name, TINY[name])
    arch = sp.sample(random.Random(4))
    src = sp.export_source(arch, SHAPE, 5)
    assert "ganas" not in src.replace("# Exported by ganas", "")
    path = tmp_path / f"exported_{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
        exported = mod.build_model()
    finally:
        del sys.modules[spec.name]
    ours = sp.build(arch, SHAPE, 5)
    assert count_params(exported) == count_params(ours)
    # same structure: our weights load into it and give the same outputs
    exported.load_state_dict(ours.state_dict())
    x = torch.randn(2, *SHAPE)
    torch.testing.assert_close(exported.eval()(x), ours.eval()(x))


def test_count_flops_by_hand() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # 8*8 outputs * 4 ch * 3*3*3 MACs = 6912
        nn.Conv2d(4, 4, 3, padding=1, groups=4),  # 64 * 4 * 1*9 = 2304
        nn.Flatten(),
        nn.Linear(256, 10),  # 2560
    )
    assert count_flops(net, (3, 8, 8)) == 6912 + 2304 + 2560
    assert count_params(net) == (3 * 4 * 9 + 4) + (4 * 9 + 4) + (2560 + 10)
    net[0].weight.requires_grad_(False)
    assert count_params(net, trainable_only=True) == count_params(net) - 3 * 4 * 9
    assert net.training  # mode restored
