"""Smoke tests generated from the METHODS registry: every registered method trains one
step on its own example batch, with a gradient reaching every parameter."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganas.gan import METHODS, create_method
from ganas.gan.base import StepContext

#: tiny overrides per method (small images, narrow networks); methods not listed get the
#: generic ones that exist in their config
TINY: dict[str, dict[str, object]] = {
    "dcgan": {"image_size": 16, "nz": 8, "ngf": 4, "ndf": 4, "batch_size": 4},
}
GENERIC = {"image_size": 16, "ngf": 4, "ndf": 4, "batch_size": 4}


def build(name: str):
    cls = METHODS.get(name).factory
    if hasattr(cls, "tiny_config"):  # the protocol's own small config (docs/protocol.md)
        torch.manual_seed(0)
        return cls(cls.tiny_config())
    keys = {f.name for f in dataclasses.fields(cls.Config)}
    overrides = TINY.get(name) or {k: v for k, v in GENERIC.items() if k in keys}
    torch.manual_seed(0)
    return create_method(name, overrides)


@pytest.mark.parametrize("name", METHODS.list())
def test_one_step_reaches_every_parameter(name: str) -> None:
    m = build(name)
    params = {f"{net}.{n}": p for net, mod in m.networks().items() for n, p in mod.named_parameters()}
    assert params, "a method without parameters"
    got: dict[str, bool] = {}
    handles = [
        p.register_hook(lambda g, n=n: got.__setitem__(n, got.get(n, True) and bool(torch.isfinite(g).all())))
        for n, p in params.items()
    ]
    try:
        losses = m.train_step(m.example_batch(m.config.batch_size), StepContext(0, torch.device("cpu")))
    finally:
        for h in handles:
            h.remove()
    missing = sorted(set(params) - set(got))
    assert not missing, f"no gradient reached: {missing}"
    assert all(got.values()), f"non-finite gradients: {[n for n, ok in got.items() if not ok]}"
    assert losses and all(torch.isfinite(v) and not v.requires_grad for v in losses.values())


@pytest.mark.parametrize("name", METHODS.list())
def test_sample_shape_and_range(name: str) -> None:
    m = build(name)
    if getattr(m, "latent", True) is False:
        pytest.skip("no latent input: translation methods are covered by their translate tests")
    x = m.sample(3, generator=torch.Generator().manual_seed(0))
    shape = m.describe()["G"]["output_shape"]
    assert tuple(x.shape) == (3, *shape)
    assert x.min() >= -1 and x.max() <= 1 and torch.isfinite(x).all()
