"""The DCGAN method: config, registry, and the training step against the reference loop."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganas.config import replace, to_dict
from ganas.errors import ConfigError, UnknownNameError
from ganas.gan import METHODS, create_method, list_methods
from ganas.gan.base import StepContext, count_params
from ganas.gan.dcgan import DCGAN, DCGANConfig, reference_step

TINY = {"image_size": 16, "nz": 8, "ngf": 4, "ndf": 4, "batch_size": 6}


def tiny(**kw: object) -> DCGAN:
    torch.manual_seed(0)
    return create_method("dcgan", {**TINY, **kw})


def ctx(step: int = 0) -> StepContext:
    return StepContext(step=step, device=torch.device("cpu"))


def test_paper_defaults_and_registry() -> None:
    c = DCGANConfig()
    assert (c.image_size, c.channels, c.nz, c.ngf, c.ndf, c.batch_size) == (64, 3, 100, 64, 64, 64)
    assert (c.lr, c.beta1, c.beta2, c.latent) == (2e-4, 0.5, 0.999, "normal")
    assert "dcgan" in list_methods() and METHODS.get("dcgan").factory is DCGAN
    m = create_method("dcgan", {"image_size": "16", "latent": "uniform", "lr": "1e-3"})
    assert m.config.image_size == 16 and m.config.latent == "uniform" and m.config.lr == 1e-3
    opt = m.optimizers["G"]
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.5, 0.999)
    assert to_dict(m.config)["image_size"] == 16


def test_config_errors_name_the_option() -> None:
    with pytest.raises(ConfigError, match="image_size=48.*16, 32, 64, 128, 256"):
        replace(DCGANConfig(), {"image_size": "48"})
    with pytest.raises(ConfigError, match="latent"):
        replace(DCGANConfig(), {"latent": "cauchy"})
    with pytest.raises(ConfigError, match="channels=2"):
        DCGANConfig(channels=2).validate()
    with pytest.raises(ConfigError, match="beta1"):
        DCGANConfig(beta1=1.5).validate()
    with pytest.raises(ConfigError, match="unknown option 'ngpu'.*ndf"):
        create_method("dcgan", {"ngpu": "2"})
    with pytest.raises(UnknownNameError, match="dcgan"):
        create_method("dcgan2", {})


def test_describe_matches_the_networks() -> None:
    m = tiny(channels=1)
    d = m.describe()
    assert d["G"] == {"params": count_params(m.G), "output_shape": [1, 16, 16]}
    assert d["D"] == {"params": count_params(m.D), "output_shape": [1]}
    assert set(d) == set(m.networks())


def test_train_step_equals_the_reference_loop() -> None:
    ours = tiny()
    ref = copy.deepcopy(ours)
    optD = torch.optim.Adam(ref.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(ref.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = ours.example_batch(6)["image"]
    for step in range(3):
        torch.manual_seed(100 + step)
        got = ours.train_step({"image": real}, ctx(step))
        torch.manual_seed(100 + step)
        z = torch.randn(6, 8, 1, 1)  # the reference draws its noise with the same RNG calls
        want = reference_step(ref.G, ref.D, optD, optG, real, z)
        assert got["loss_D"].item() == pytest.approx(want["loss_D"], rel=1e-5)
        assert got["loss_G"].item() == pytest.approx(want["loss_G"], rel=1e-5)
    for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
        assert torch.allclose(p, q, atol=1e-6), n
    for (n, b), c in zip(ours.named_buffers(), ref.buffers()):
        assert torch.allclose(b.float(), c.float(), atol=1e-6), n


def test_g_loss_uses_d_after_its_update() -> None:
    m = tiny()
    g0, d0 = copy.deepcopy(m.G), copy.deepcopy(m.D)
    real = m.example_batch(6)["image"]
    torch.manual_seed(7)
    out = m.train_step({"image": real}, ctx())
    torch.manual_seed(7)
    z = m.latent_sampler.sample(6)  # the step's first draw
    with torch.no_grad():
        fake = g0(z)  # G before its own update
        after = F.binary_cross_entropy_with_logits(m.D(fake), torch.ones(6))  # D after its update
        before = F.binary_cross_entropy_with_logits(d0(fake), torch.ones(6))
    assert out["loss_G"].item() == pytest.approx(after.item(), rel=1e-5)
    assert abs(after.item() - before.item()) > 1e-4  # the check could tell them apart
    assert out["D_G_z2"].item() == pytest.approx(torch.sigmoid(m.D(fake)).mean().item(), rel=1e-5)
    assert out["D_G_z1"].item() != pytest.approx(out["D_G_z2"].item(), rel=1e-4)


def test_real_and_fake_never_share_a_discriminator_pass() -> None:
    m = tiny()
    real = m.example_batch(6)["image"]
    calls: list[torch.Tensor] = []
    h = m.D.register_forward_pre_hook(lambda mod, args: calls.append(args[0].detach().clone()))
    m.train_step({"image": real}, ctx())
    h.remove()
    assert len(calls) == 3 and all(c.shape[0] == 6 for c in calls)
    assert torch.equal(calls[0], real)  # pass 1: the real batch alone
    assert torch.equal(calls[1], calls[2])  # passes 2 and 3: the same fake batch
    assert not torch.equal(calls[1], real)


def test_step_outputs_are_detached_scalars_and_autocast_wraps_forwards() -> None:
    m = tiny()
    entered = []

    class Counting:
        def __enter__(self) -> None:
            entered.append(1)

        def __exit__(self, *a: object) -> None:
            return None

    out = m.train_step(m.example_batch(6), StepContext(0, torch.device("cpu"), autocast=Counting))
    assert set(out) == {"loss_D", "loss_G", "D_x", "D_G_z1", "D_G_z2"}
    assert all(v.dim() == 0 and not v.requires_grad and torch.isfinite(v) for v in out.values())
    assert all(0 < out[k].item() < 1 for k in ("D_x", "D_G_z1", "D_G_z2"))
    assert len(entered) == 3
    assert all(p.requires_grad for p in m.D.parameters())  # D unfrozen after the G step


def test_bf16_autocast_and_channels_last_steps_are_finite() -> None:
    m = tiny()
    m.to(memory_format=torch.channels_last)
    batch = {"image": m.example_batch(6)["image"].contiguous(memory_format=torch.channels_last)}
    bf16 = StepContext(0, torch.device("cpu"), autocast=lambda: torch.autocast("cpu", dtype=torch.bfloat16))
    out = m.train_step(batch, bf16)
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in out.values())


def test_protocol_declarations_and_visuals() -> None:
    m = tiny(channels=1)
    assert DCGAN.latent and DCGAN.batch_fields == ("image",) and DCGAN.visual_fields == ()
    assert DCGAN.evaluation == "unconditional" and DCGAN.schedule == "step"
    assert DCGAN.data_defaults(m.config) == {"image_size": 16, "channels": 1}
    assert DCGAN.train_defaults(m.config)["steps"] == 1000
    grids = m.visuals(None, torch.Generator().manual_seed(4), 5)
    assert list(grids) == ["samples"]
    assert torch.equal(grids["samples"], m.sample(5, generator=torch.Generator().manual_seed(4)))
    assert grids["samples"].shape == (5, 1, 16, 16)


def test_sample_is_seeded_in_range_and_keeps_running_stats() -> None:
    m = tiny()
    stats = {k: v.clone() for k, v in m.G.state_dict().items() if "running" in k}
    a = m.sample(5, generator=torch.Generator().manual_seed(1))
    b = m.sample(5, generator=torch.Generator().manual_seed(1))
    assert a.shape == (5, 3, 16, 16) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, m.sample(5, generator=torch.Generator().manual_seed(2)))
    for k, v in stats.items():
        assert torch.equal(m.G.state_dict()[k], v), k
    assert m.G.training  # sampling leaves the mode alone


def test_a_few_steps_on_a_constant_image_move_the_losses() -> None:
    # a learnable toy: every real image is the same; D should quickly separate it
    m = tiny(lr=2e-3)
    real = torch.full((6, 3, 16, 16), 0.5)
    first = m.train_step({"image": real}, ctx())
    for s in range(1, 15):
        last = m.train_step({"image": real}, ctx(s))
    assert last["D_x"] > first["D_x"]


def test_channels_last_step_matches_contiguous() -> None:
    a = tiny()
    b = copy.deepcopy(a)
    assert a.preferred_memory_format() in ("channels_last", "contiguous")
    b.to(memory_format=torch.channels_last)
    real = a.example_batch(6)["image"]
    torch.manual_seed(3)
    la = a.train_step({"image": real}, ctx())
    torch.manual_seed(3)
    lb = b.train_step({"image": real.contiguous(memory_format=torch.channels_last)}, ctx())
    assert la["loss_G"].item() == pytest.approx(lb["loss_G"].item(), rel=1e-4)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-5), n
