from __future__ import annotations

import pytest
import torch

from ganas.data.latent import LatentSampler
from ganas.errors import ConfigError


def test_normal_shape_and_moments() -> None:
    z = LatentSampler(16).sample(4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 16, 1, 1) and z.dtype == torch.float32
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1.0) < 0.02
    assert z.min() < -3  # unbounded, unlike the uniform one


def test_uniform_range_and_moments() -> None:
    z = LatentSampler(16, "uniform").sample(4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 16, 1, 1)
    assert z.min() >= -1.0 and z.max() <= 1.0
    assert z.min() < -0.99 and z.max() > 0.99
    assert abs(z.mean().item()) < 0.02 and abs(z.var().item() - 1 / 3) < 0.01  # var of U(-1,1)


def test_fixed_is_the_same_every_call_and_differs_by_seed() -> None:
    s = LatentSampler(8)
    a, b = s.fixed(5, seed=3), s.fixed(5, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, s.fixed(5, seed=4))
    s.sample(7)  # drawing unseeded noise in between changes nothing
    assert torch.equal(a, s.fixed(5, seed=3))


def test_device_argument_and_unseeded_draws_differ() -> None:
    s = LatentSampler(4)
    z = s.sample(3, device="cpu")
    assert z.device.type == "cpu" and z.shape == (3, 4, 1, 1)
    assert not torch.equal(s.sample(3), s.sample(3))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="normal, uniform"):
        LatentSampler(8, "cauchy")
    with pytest.raises(ConfigError, match="nz"):
        LatentSampler(0)
