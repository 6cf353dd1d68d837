"""CycleGAN: the step against a hand-written junyanz step, the image pool, and a resume
with full pools that continues bit-identically."""

from __future__ import annotations

import copy
import io
import itertools

import pytest
import torch

from ganas.errors import ConfigError
from ganas.gan import METHODS, create_method
from ganas.gan.base import StepContext
from ganas.gan.cyclegan import CycleGAN, CycleGANConfig
from ganas.gan.image_pool import ImagePool

CPU = StepContext(1, torch.device("cpu"))


def tiny(**kw) -> CycleGAN:
    torch.manual_seed(0)
    return create_method("cyclegan", {**vars(CycleGAN.tiny_config()), **kw})


def test_registered_with_paper_defaults() -> None:
    assert METHODS.get("cyclegan").factory is CycleGAN
    c = CycleGANConfig()
    assert (c.blocks, c.norm, c.gan_mode, c.lambda_A, c.lambda_B, c.lambda_identity, c.pool_size) == \
        (9, "instance", "lsgan", 10.0, 10.0, 0.5, 50)
    assert (c.lr, c.beta1, c.batch_size, c.n_epochs, c.n_epochs_decay) == (2e-4, 0.5, 1, 100, 100)
    assert CycleGANConfig(image_size=128).blocks == 6
    assert CycleGAN.data_defaults(c)["layout"] == "unaligned" and CycleGAN.evaluation == "unpaired"
    m = tiny()
    assert set(m.networks()) == {"G_A", "G_B", "D_A", "D_B"}
    with pytest.raises(ConfigError, match="lambda_identity"):
        create_method("cyclegan", {"image_size": 32, "input_nc": 1})
    assert tiny(input_nc=1, lambda_identity=0.0).G_B(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 32, 32)


def test_image_pool_as_the_reference() -> None:
    pool = ImagePool(2, seed=0)
    a, b = torch.full((1, 1, 2, 2), 1.0), torch.full((1, 1, 2, 2), 2.0)
    assert torch.equal(pool.query(torch.cat([a, b])), torch.cat([a, b]))  # filling: returned as is
    assert len(pool) == 2
    seen = set()
    for i in range(3, 40):
        out = pool.query(torch.full((1, 1, 2, 2), float(i)))
        v = out.flatten()[0].item()
        assert v == i or v < i  # the new image, or an older one from the pool
        seen.add(v == i)
        assert len(pool) == 2
    assert seen == {True, False}  # both branches taken
    assert torch.equal(ImagePool(0).query(a), a)


def test_image_pool_state_replays_choices() -> None:
    pool = ImagePool(3, seed=5)
    for i in range(5):
        pool.query(torch.randn(2, 1, 2, 2))
    buf = io.BytesIO()
    torch.save(pool.state_dict(), buf)
    buf.seek(0)
    other = ImagePool(3, seed=99)
    other.load_state_dict(torch.load(buf, weights_only=True))
    xs = torch.randn(6, 1, 2, 2)
    assert torch.equal(pool.query(xs), other.query(xs))


def test_step_is_the_reference_step() -> None:
    """Losses and updates of junyanz ``optimize_parameters`` (pool off: deterministic)."""
    m = tiny(pool_size=0)
    GA, GB, DA, DB = (copy.deepcopy(n) for n in (m.G_A, m.G_B, m.D_A, m.D_B))
    opt_g = torch.optim.Adam(itertools.chain(GA.parameters(), GB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(DA.parameters(), DB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    batch = m.example_batch(2)
    A, B = batch["A"], batch["B"]
    got = m.train_step(batch, CPU)

    mse, l1 = torch.nn.MSELoss(), torch.nn.L1Loss()
    fake_B, fake_A = GA(A), GB(B)
    rec_A, rec_B = GB(fake_B), GA(fake_A)
    for p in itertools.chain(DA.parameters(), DB.parameters()):
        p.requires_grad_(False)
    opt_g.zero_grad()
    idt_A, idt_B = l1(GA(B), B) * 10 * 0.5, l1(GB(A), A) * 10 * 0.5
    pa, pb = DA(fake_B), DB(fake_A)
    g_A, g_B = mse(pa, torch.ones_like(pa)), mse(pb, torch.ones_like(pb))
    cyc_A, cyc_B = l1(rec_A, A) * 10, l1(rec_B, B) * 10
    loss_g = g_A + g_B + cyc_A + cyc_B + idt_A + idt_B
    loss_g.backward()
    opt_g.step()
    for p in itertools.chain(DA.parameters(), DB.parameters()):
        p.requires_grad_(True)
    opt_d.zero_grad()

    def d_basic(D, real, fake):
        pr, pf = D(real), D(fake.detach())
        loss = (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf))) * 0.5
        loss.backward()
        return loss

    d_A, d_B = d_basic(DA, B, fake_B), d_basic(DB, A, fake_A)
    opt_d.step()
    want = {"G_A": g_A, "G_B": g_B, "cycle_A": cyc_A, "cycle_B": cyc_B, "idt_A": idt_A, "idt_B": idt_B,
            "G": loss_g, "D_A": d_A, "D_B": d_B}
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k].item() == pytest.approx(v.item(), rel=1e-5), k
    for ours, ref in ((m.G_A, GA), (m.G_B, GB), (m.D_A, DA), (m.D_B, DB)):
        for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-7), n


def test_no_identity_term_when_lambda_is_zero() -> None:
    out = tiny(lambda_identity=0.0).train_step(tiny().example_batch(2), CPU)
    assert "idt_A" not in out and "idt_B" not in out


def _snapshot(m: CycleGAN) -> bytes:
    buf = io.BytesIO()
    torch.save({"model": m.state_dict(), "opt": {k: o.state_dict() for k, o in m.optimizers.items()},
                "sched": {k: s.state_dict() for k, s in m.schedulers.items()}, "extra": m.extra_state(),
                "rng": torch.get_rng_state()}, buf)
    return buf.getvalue()


def _restore(blob: bytes) -> CycleGAN:
    p = torch.load(io.BytesIO(blob), weights_only=True)
    m = tiny(pool_size=2, pool_seed=123)  # a different seed: the saved generator state must win
    m.load_state_dict(p["model"])
    for k, o in m.optimizers.items():
        o.load_state_dict(p["opt"][k])
    for k, s in m.schedulers.items():
        s.load_state_dict(p["sched"][k])
    m.load_extra_state(p["extra"])
    torch.set_rng_state(p["rng"])
    return m


def test_resume_with_full_pools_is_bit_identical() -> None:
    m = tiny(pool_size=2)
    g = torch.Generator().manual_seed(0)
    batches = [{"A": torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, "B": torch.rand(2, 3, 32, 32, generator=g) * 2 - 1}
               for _ in range(5)]
    for b in batches[:3]:
        m.train_step(b, CPU)
    assert len(m.fake_A_pool) == 2 and len(m.fake_B_pool) == 2  # full: random choices from now on
    blob = _snapshot(m)
    for b in batches[3:]:
        m.train_step(b, CPU)
    r = _restore(blob)
    for b in batches[3:]:
        r.train_step(b, CPU)
    for (n, p), q in zip(m.state_dict().items(), r.state_dict().values()):
        assert torch.equal(p, q), n
    for pa, pb in zip(m.fake_A_pool.images, r.fake_A_pool.images):
        assert torch.equal(pa, pb)
    # and the pool state matters: without it the run diverges
    p = torch.load(io.BytesIO(blob), weights_only=True)
    fresh = tiny(pool_size=2, pool_seed=123)
    fresh.load_state_dict(p["model"])
    for k, o in fresh.optimizers.items():
        o.load_state_dict(p["opt"][k])
    for b in batches[3:]:
        fresh.train_step(b, CPU)
    assert not all(torch.equal(a, b) for a, b in zip(m.D_A.state_dict().values(), fresh.D_A.state_dict().values()))


def test_translate_both_directions_and_visuals() -> None:
    m = tiny(input_nc=1, lambda_identity=0.0)
    batch = m.example_batch(2)
    assert m.translate(batch["A"], "AtoB").shape == batch["B"].shape
    assert m.translate(batch["B"], "BtoA").shape == batch["A"].shape
    assert m.pad_multiple("BtoA") == 4 and m.in_channels("AtoB") == 1 and m.in_channels("BtoA") == 3
    v = m.visuals(batch)
    assert set(v) == {"AtoB", "BtoA"} and v["AtoB"].shape == (6, 3, 32, 32)
    with pytest.raises(ConfigError, match="direction"):
        m.translate(batch["A"], "AtoA")
