from __future__ import annotations

import math

import pytest
import torch

from ganas.data.latent import LatentSampler
from ganas.errors import ConfigError, GanasError
from ganas.gan.latent import arithmetic, interpolate, perturb, select_latents


def test_interpolate_endpoints_and_linear_midpoint() -> None:
    z0, z1 = torch.randn(8, 1, 1), torch.randn(1, 8, 1, 1)
    for mode in ("linear", "slerp"):
        path = interpolate(z0, z1, 5, mode)
        assert path.shape == (5, 8, 1, 1)
        assert torch.allclose(path[0].flatten(), z0.flatten(), atol=1e-5)
        assert torch.allclose(path[-1].flatten(), z1.flatten(), atol=1e-5)
    lin = interpolate(z0, z1, 3, "linear")
    assert torch.allclose(lin[1].flatten(), (z0.flatten() + z1.flatten()) / 2)


def test_slerp_keeps_the_norm_and_angle_steps_even() -> None:
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 1.0, 0.0])
    path = interpolate(a, b, 5, "slerp").reshape(5, 3)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-5)
    angles = torch.atan2(path[:, 1], path[:, 0])
    assert torch.allclose(angles, torch.linspace(0, math.pi / 2, 5), atol=1e-5)
    # linear would shrink the midpoint
    assert interpolate(a, b, 3, "linear").reshape(3, 3)[1].norm() < 0.75


def test_slerp_parallel_vectors_fall_back_to_linear() -> None:
    a = torch.tensor([1.0, 2.0])
    path = interpolate(a, 2 * a, 3, "slerp").reshape(3, 2)
    assert torch.isfinite(path).all() and torch.allclose(path[1], 1.5 * a)


def test_interpolate_refuses_bad_input() -> None:
    with pytest.raises(ConfigError, match="slerp, linear"):
        interpolate(torch.zeros(3), torch.ones(3), 4, "cubic")
    with pytest.raises(ConfigError, match="steps"):
        interpolate(torch.zeros(3), torch.ones(3), 1)
    with pytest.raises(ConfigError, match="one latent vector"):
        interpolate(torch.zeros(2, 3), torch.ones(3), 4)
    with pytest.raises(ConfigError, match="dims"):
        interpolate(torch.zeros(3), torch.ones(4), 4)


def test_arithmetic_averages_each_group() -> None:
    za, zb, zc = torch.randn(3, 6, 1, 1), torch.randn(3, 6, 1, 1), torch.randn(2, 6)
    z = arithmetic(za, zb, zc)
    assert z.shape == (1, 6, 1, 1)
    want = za.mean(0).flatten() - zb.mean(0).flatten() + zc.mean(0)
    assert torch.allclose(z.flatten(), want, atol=1e-6)
    # groups cancel: a - a + c = mean(c)
    assert torch.allclose(arithmetic(za, za, zc).flatten(), zc.mean(0), atol=1e-6)
    with pytest.raises(ConfigError, match="different nz"):
        arithmetic(za, zb, torch.randn(3, 5))


def test_perturb_stays_within_scale() -> None:
    z = torch.randn(1, 6, 1, 1)
    out = perturb(z, 8, scale=0.25, generator=torch.Generator().manual_seed(0))
    assert out.shape == (8, 6, 1, 1)
    d = out - z
    assert d.abs().max() <= 0.25 and d.abs().max() > 0.1
    assert not torch.equal(out[0], out[1])


def fake_generator(z: torch.Tensor) -> torch.Tensor:
    # "image" whose brightness is z's first coordinate: (B, 1, 4, 4)
    return z[:, :1].expand(-1, 1, 4, 4)


def fake_classifier(images: torch.Tensor) -> list[dict[str, tuple[str, float]]]:
    m = images.mean(dim=(1, 2, 3))
    return [{"tone": ("bright" if v > 0 else "dark", float(torch.sigmoid(4 * v.abs())))} for v in m]


def test_select_latents_keeps_only_matching_latents() -> None:
    pred = lambda p: p["tone"][0] == "bright" and p["tone"][1] > 0.9  # noqa: E731
    sel = select_latents(fake_generator, fake_classifier, pred, n=5, batch=8, seed=3, sampler=LatentSampler(4))
    assert sel.z.shape == (5, 4, 1, 1) and sel.images.shape == (5, 1, 4, 4)
    assert (sel.z[:, 0, 0, 0] > 0).all()  # bright with confidence > 0.9: z0 > ~0.55
    assert (torch.sigmoid(4 * sel.z[:, 0, 0, 0]) > 0.9).all()
    assert all(p["tone"][0] == "bright" for p in sel.predictions)
    assert torch.allclose(fake_generator(sel.z), sel.images)
    assert sel.tried % 8 == 0 and sel.tried >= 8
    again = select_latents(fake_generator, fake_classifier, pred, n=5, batch=8, seed=3, sampler=LatentSampler(4))
    assert torch.equal(sel.z, again.z)  # seeded
    other = select_latents(fake_generator, fake_classifier, pred, n=5, batch=8, seed=4, sampler=LatentSampler(4))
    assert not torch.equal(sel.z, other.z)


def test_select_latents_reports_shortfall() -> None:
    never = lambda p: False  # noqa: E731
    with pytest.raises(GanasError, match="found 0 of 3"):
        select_latents(fake_generator, fake_classifier, never, n=3, batch=4, max_tries=2, sampler=LatentSampler(4))
    rare = lambda p: p["tone"][1] > 0.999  # noqa: E731  (|z0| > ~1.73: a few per 100)
    with pytest.raises(GanasError, match="of 50"):
        select_latents(fake_generator, fake_classifier, rare, n=50, batch=10, max_tries=3, sampler=LatentSampler(4))
    sel = select_latents(
        fake_generator, fake_classifier, lambda p: p["tone"][0] == "bright", n=50, batch=10, max_tries=3,
        sampler=LatentSampler(4), allow_fewer=True,
    )
    assert 0 < sel.z.shape[0] < 50 and sel.tried == 30
