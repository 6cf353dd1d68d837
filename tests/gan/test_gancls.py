"""GAN-CLS: the matching-aware loss against hand computations, which pairs D scores,
GAN-INT, the encoder pre-training phase, precomputed embeddings, text sampling and a
short trainer run on the built-in caption task."""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import pytest
import torch

from ganas.errors import ConfigError, DataError
from ganas.gan import create_method
from ganas.gan.base import StepContext
from ganas.gan.gancls import GANCLS, GANCLSConfig, discriminator_loss, interpolate_embeddings


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def test_discriminator_loss_by_hand() -> None:
    s_r, s_w, s_f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.5]), torch.tensor([-3.0, 0.0])
    real = -sum(_log_sigmoid(v) for v in s_r.tolist()) / 2  # -log D(x, t)
    wrong = -sum(_log_sigmoid(-v) for v in s_w.tolist()) / 2  # -log(1 - D(x, t_wrong))
    fake = -sum(_log_sigmoid(-v) for v in s_f.tolist()) / 2  # -log(1 - D(G(z, t), t))
    assert discriminator_loss(s_r, s_w, s_f).item() == pytest.approx(real + 0.5 * (wrong + fake), rel=1e-6)
    assert discriminator_loss(s_r, None, s_f).item() == pytest.approx(real + fake, rel=1e-6)
    e1, e2 = torch.tensor([[1.0, 3.0]]), torch.tensor([[3.0, -1.0]])
    assert torch.equal(interpolate_embeddings(e1, e2, 0.5), torch.tensor([[2.0, 1.0]]))


def test_smoothed_real_target_and_feature_matching_by_hand() -> None:
    from ganas.gan.gancls import feature_matching_loss

    s_r, s_w, s_f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.5]), torch.tensor([-3.0, 0.0])
    # target 0.9 for {real, right}: -(0.9 log D + 0.1 log(1 - D))
    real = -sum(0.9 * _log_sigmoid(v) + 0.1 * _log_sigmoid(-v) for v in s_r.tolist()) / 2
    wrong = -sum(_log_sigmoid(-v) for v in s_w.tolist()) / 2
    fake = -sum(_log_sigmoid(-v) for v in s_f.tolist()) / 2
    assert discriminator_loss(s_r, s_w, s_f, real_label=0.9).item() == pytest.approx(real + 0.5 * (wrong + fake),
                                                                                     rel=1e-6)
    a = torch.zeros(2, 1, 2, 2)
    a[0, 0, 0, 0] = 2.0  # batch mean: 1 at (0, 0), 0 elsewhere
    b = torch.ones(3, 1, 2, 2)  # batch mean: 1 everywhere
    assert feature_matching_loss(a, b).item() == pytest.approx(3 / 4)  # three of four cells differ by 1


def test_aelnouby_terms_add_to_g_loss() -> None:
    """Same networks, batch and noise: G's loss with feature matching and L1 is the plain
    loss plus the weighted terms, which are reported."""
    outs = {}
    for name, kw in {"plain": {}, "extra": {"feature_matching": 2.0, "l1_weight": 3.0}}.items():
        m = tiny(gan_int=False, finetune_encoder=False, **kw)
        batch = m.example_batch(4)
        torch.manual_seed(1)
        outs[name] = m.train_step(batch, ctx(1))
    p, e = outs["plain"], outs["extra"]
    assert "loss_G_fm" not in p and "loss_G_l1" not in p
    assert e["loss_G_fm"].item() > 0 and e["loss_G_l1"].item() > 0
    assert e["loss_G"].item() == pytest.approx(
        p["loss_G"].item() + 2.0 * e["loss_G_fm"].item() + 3.0 * e["loss_G_l1"].item(), rel=1e-5)
    for key, bad in (("real_label", 0.0), ("real_label", 1.5), ("feature_matching", -1.0), ("l1_weight", -0.1)):
        with pytest.raises(ConfigError, match=key):
            create_method("gancls", {key: bad})


def test_instance_noise_reaches_d_annealed_to_zero() -> None:
    """D sees real + sigma * noise, sigma = instance_noise * (1 - (step - 1) / total): the
    images D scores differ from the batch's at step 1 and equal them at the last step."""
    seen: list[torch.Tensor] = []
    m = tiny(gan_int=False, finetune_encoder=False, instance_noise=0.5)
    m.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    batch = m.example_batch(4)
    m.train_step(batch, StepContext(step=1, device=torch.device("cpu"), total_steps=10))
    gap = (seen[0] - batch["image"]).std().item()
    assert gap == pytest.approx(0.5, rel=0.25) and torch.equal(seen[0], seen[1])  # right and wrong text: one draw
    seen.clear()
    m.train_step(batch, StepContext(step=11, device=torch.device("cpu"), total_steps=10))
    assert torch.equal(seen[0], batch["image"])
    with pytest.raises(ConfigError, match="instance_noise"):
        create_method("gancls", {"instance_noise": -0.1})


def tiny(**kw) -> GANCLS:
    torch.manual_seed(0)
    return GANCLS(dataclasses.replace(GANCLS.tiny_config(), **kw))


def ctx(step: int) -> StepContext:
    return StepContext(step=step, device=torch.device("cpu"))


class Recorder:
    """Records the embeddings of every D and G call (forward pre-hooks)."""

    def __init__(self, m: GANCLS) -> None:
        self.d: list[torch.Tensor] = []
        self.g: list[torch.Tensor] = []
        m.D.register_forward_pre_hook(lambda mod, args: self.d.append(args[1].detach().clone()))
        m.G.register_forward_pre_hook(lambda mod, args: self.g.append(args[1].detach().clone()))


@pytest.mark.parametrize("cls", [True, False])
def test_d_scores_right_wrong_and_fake_pairs(cls: bool) -> None:
    m = tiny(cls=cls, gan_int=False, finetune_encoder=False)
    batch = m.example_batch(4)
    rec = Recorder(m)
    before = {k: v.clone() for k, v in m.E_text.state_dict().items()}
    out = m.train_step(batch, ctx(1))
    right, wrong = m.embed_text(batch["caption"]), m.embed_text(batch["wrong_caption"])
    assert not torch.allclose(right, wrong)
    # D step: (real, right), [(real, wrong)], (fake, right); G step: (fake, right)
    expect = [right, wrong, right, right] if cls else [right, right, right]
    assert len(rec.d) == len(expect) and all(torch.allclose(a, b) for a, b in zip(rec.d, expect))
    assert len(rec.g) == 1 and torch.allclose(rec.g[0], right)
    assert ("D_wrong" in out) == cls and "loss_enc" not in out
    assert all(torch.equal(v, m.E_text.state_dict()[k]) for k, v in before.items())  # frozen encoder


def test_mixed_matching_batch_scores_right_and_wrong_pairs_in_one_pass() -> None:
    """``matching_batch="mixed"``: {real, right} and {real, wrong} share one D pass (so its
    BatchNorm statistics cover both kinds); {fake, right} stays its own pass."""
    m = tiny(matching_batch="mixed", gan_int=False, finetune_encoder=False)
    batch = m.example_batch(4)
    images: list[torch.Tensor] = []
    m.D.register_forward_pre_hook(lambda mod, args: images.append(args[0].detach().clone()))
    rec = Recorder(m)
    out = m.train_step(batch, ctx(1))
    right, wrong = m.embed_text(batch["caption"]), m.embed_text(batch["wrong_caption"])
    assert [len(e) for e in rec.d] == [8, 4, 4]  # D step: mixed, fake; G step: fake
    assert torch.allclose(rec.d[0], torch.cat([right, wrong])) and torch.allclose(rec.d[1], right)
    assert torch.equal(images[0][:4], batch["image"]) and torch.equal(images[0][4:], batch["image"])
    assert {"D_real", "D_wrong", "D_fake"} <= set(out) and all(torch.isfinite(v) for v in out.values())
    with pytest.raises(ConfigError, match="matching_batch"):
        create_method("gancls", {"matching_batch": "interleaved"})


def test_gan_int_trains_g_on_interpolated_embeddings() -> None:
    m = tiny(gan_int=True, finetune_encoder=False)
    batch = m.example_batch(4)
    rec = Recorder(m)
    out = m.train_step(batch, ctx(1))
    right = m.embed_text(batch["caption"])
    mixed = 0.5 * right + 0.5 * right.roll(1, dims=0)
    assert len(rec.g) == 2 and torch.allclose(rec.g[1], mixed, atol=1e-6)
    assert torch.allclose(rec.d[-1], mixed, atol=1e-6)  # D scores the interpolated fake (frozen)
    assert out["loss_G"].item() > out["loss_G_int"].item() > 0


def test_encoder_phase_then_gan_phase() -> None:
    m = tiny(encoder_steps=2, finetune_encoder=False, gan_int=False)
    m.configure_optimizers()
    batch = m.example_batch(4)
    g0 = [p.clone() for p in m.G.parameters()]
    for step in (1, 2):
        out = m.train_step(batch, ctx(step))
        assert set(out) == {"loss_enc"}
    assert all(torch.equal(a, b) for a, b in zip(g0, m.G.parameters()))  # G untouched in the phase
    vocab = m.vocab.state()
    assert "a" in vocab and len(vocab) > 5
    e0 = [p.clone() for p in m.E_text.parameters()]
    out = m.train_step({**batch, "caption": ["a never seen zebra"] * 4}, ctx(3))
    assert "loss_enc" not in out and {"loss_D", "loss_G"} <= set(out)
    assert not all(torch.equal(a, b) for a, b in zip(g0, m.G.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(e0, m.E_text.parameters()))
    assert m.vocab.state() == vocab  # frozen with the encoder: "zebra" is <unk>


def test_encoder_learns_to_match_captions_to_images() -> None:
    # images coloured by the caption's colour word: the contrastive loss must fall well below chance
    m = tiny(encoder_steps=10_000)
    torch.manual_seed(1)
    colours = {"red": (1.0, -1.0, -1.0), "green": (-1.0, 1.0, -1.0), "blue": (-1.0, -1.0, 1.0), "white": (1.0, 1.0, 1.0)}
    names = list(colours)
    losses = []
    for step in range(1, 151):
        idx = torch.randint(0, 4, (8,))
        caps = [f"a {names[i]} thing" for i in idx]
        img = torch.tensor([colours[names[i]] for i in idx])[:, :, None, None].expand(8, 3, 16, 16).contiguous()
        losses.append(float(m.encoder_step(img, caps)))
    assert sum(losses[:10]) / 10 > 1.5 and sum(losses[-10:]) / 10 < 1.2
    e = torch.nn.functional.normalize(m.embed_text([f"a {n} thing" for n in names]), dim=1)
    assert (e @ e.t()).fill_diagonal_(-1).max() < 0.99  # distinct colours, distinct embeddings


def test_precomputed_embeddings(tmp_path: Path) -> None:
    cfg = GANCLS.tiny_config()
    m0 = tiny()
    batch = m0.example_batch(4)
    caps = sorted(set(batch["caption"]) | set(batch["wrong_caption"]))
    table = torch.randn(len(caps), cfg.embed_dim)
    path = tmp_path / "emb.pt"
    torch.save({"captions": caps, "embeddings": table}, path)
    m = tiny(embeddings=str(path))
    assert set(m.networks()) == {"G", "D"} and "E" not in m.optimizers
    got = m.embed_text([caps[2], "  " + caps[0].replace(" ", "  ")])  # whitespace collapsed
    assert torch.equal(got, table[[2, 0]])
    out = m.train_step(batch, ctx(1))
    assert {"loss_D", "loss_G"} <= set(out) and "loss_enc" not in out
    with pytest.raises(DataError, match="emb.pt.*no vector"):
        m.embed_text(["a caption not in the file"])
    with pytest.raises(ConfigError, match="embed_dim"):
        tiny(embeddings=str(path), embed_dim=cfg.embed_dim + 1)
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="bad.pt"):
        tiny(embeddings=str(tmp_path / "bad.pt"))
    with pytest.raises(DataError, match="no such file"):
        tiny(embeddings=str(tmp_path / "missing.pt"))


def test_reedscot_residual_g_trains_every_parameter() -> None:
    m = tiny(residual=True)
    g0 = {k: v.clone() for k, v in m.G.state_dict().items()}
    out = m.train_step(m.example_batch(4), ctx(1))
    assert all(torch.isfinite(v) for v in out.values())
    moved = {k for k, v in m.G.state_dict().items() if v.is_floating_point() and not torch.equal(v, g0[k])}
    residual = {k for k in g0 if ".body." in k and g0[k].is_floating_point()}
    assert residual and residual <= moved  # the residual blocks' weights and BN statistics update
    assert len(m.G.state_dict()) > len(tiny().G.state_dict())


def test_text_sampling_and_state_round_trip() -> None:
    m = tiny()
    batch = m.example_batch(4)
    m.train_step(batch, ctx(1))
    m.eval()
    z = torch.randn(2, m.config.nz)
    x = m.generate_from_text(batch["caption"][:2], z)
    assert x.shape == (2, 3, 16, 16) and x.abs().max() <= 1
    path = m.interpolate_text(batch["caption"][0], batch["caption"][1], steps=4, z=z[:1])
    assert path.shape == (4, 3, 16, 16)
    ends = m.generate_from_text([batch["caption"][0], batch["caption"][1]], z[:1].expand(2, -1))
    assert torch.allclose(path[0], ends[0], atol=1e-5) and torch.allclose(path[-1], ends[1], atol=1e-5)
    assert m.sample(3, torch.Generator().manual_seed(0)).shape == (3, 3, 16, 16)
    with pytest.raises(ConfigError, match="captions but"):
        m.generate_from_text(["a"], torch.randn(2, m.config.nz))
    # the vocabulary and sample captions load with weights_only=True and restore the embeddings
    buf = io.BytesIO()
    torch.save({"model": m.state_dict(), "extra": m.extra_state()}, buf)
    buf.seek(0)
    payload = torch.load(buf, weights_only=True)
    r = tiny()
    r.load_state_dict(payload["model"])
    r.load_extra_state(payload["extra"])
    r.eval()
    assert torch.equal(r.embed_text(batch["caption"]), m.embed_text(batch["caption"]))
    assert torch.equal(r.sample(3, torch.Generator().manual_seed(0)), m.sample(3, torch.Generator().manual_seed(0)))
    with pytest.raises(ConfigError, match="no captions"):
        tiny().sample(2)


def test_visual_rows_are_one_caption_each() -> None:
    m = tiny().eval()
    caps = m.example_batch(4)["caption"]
    grid = m.visuals({"caption": caps}, torch.Generator().manual_seed(0), 9)["samples"]
    assert grid.shape == (3, 3, 3, 16, 16)
    z = m.latent_sampler.sample(3, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(grid[1], m.generate_from_text([caps[1]] * 3, z), atol=1e-6)
    assert m.sample_captions == caps


def test_config_defaults_and_validation() -> None:
    c = GANCLSConfig()
    assert (c.nz, c.embed_dim, c.proj_dim, c.batch_size, c.lr, c.beta1, c.beta2, c.int_beta) == \
        (100, 1024, 128, 64, 2e-4, 0.5, 0.999, 0.5)
    assert GANCLS.data_defaults(c)["image_size"] == 64
    with pytest.raises(ConfigError, match="int_beta"):
        create_method("gancls", {"int_beta": 1.5})
    with pytest.raises(ConfigError, match="image_size"):
        create_method("gancls", {"image_size": 48})


def test_trainer_on_the_builtin_caption_task(tmp_path: Path) -> None:
    from ganas.data import make_dataset
    from ganas.data.base import DataOptions
    from ganas.train import TrainConfig, Trainer, restore_method

    m = tiny(encoder_steps=2, finetune_encoder=False)
    data = make_dataset("shapes?task=captions&n=16", "train", DataOptions(image_size=16))
    tc = TrainConfig(steps=4, sample_every=4, checkpoint_every=4, log_every=1, n_samples=4, device="cpu",
                     progress=False)
    Trainer("gancls", m, data, tmp_path, tc, data_spec="shapes?task=captions&n=16").fit()
    _, r, payload = restore_method(tmp_path)
    assert payload["fixed"]["caption"] and r.vocab.state() == m.vocab.state() and len(r.vocab) > 10
    assert r.sample_captions == list(payload["fixed"]["caption"])
    assert list((tmp_path / "samples").glob("step_000004.png"))


def test_canonical_frame_g_trains_and_round_trips() -> None:
    """``canonical_frame=True`` builds the layered G that turns by z's direction; one step
    moves every G parameter; the config alone rebuilds it from a checkpoint's state."""
    from ganas.nets.gancls import CanonicalFrameGenerator

    m = tiny(canonical_frame=True)
    assert isinstance(m.G, CanonicalFrameGenerator) and not isinstance(tiny().G, CanonicalFrameGenerator)
    g0 = {k: v.clone() for k, v in m.G.named_parameters()}
    out = m.train_step(m.example_batch(4), ctx(1))
    assert all(torch.isfinite(v) for v in out.values())
    still = [k for k, v in m.G.named_parameters() if torch.equal(v, g0[k])]
    assert not still
    r = GANCLS(dataclasses.replace(m.config))
    r.load_state_dict(m.state_dict())
    r.load_extra_state(m.extra_state())
    m.eval(), r.eval()
    z = torch.randn(2, m.config.nz)
    caps = m.example_batch(2)["caption"]
    assert torch.equal(r.generate_from_text(caps, z), m.generate_from_text(caps, z))
    with pytest.raises(ConfigError, match="canonical_frame"):
        create_method("gancls", {"canonical_frame": True, "latent": "uniform"})
    with pytest.raises(ConfigError, match="canonical_frame"):
        create_method("gancls", {"canonical_frame": True, "nz": 2})


def test_reedscot_halving_schedule() -> None:
    """``lr_decay=0.5``: reedscot halves G's and D's rates at the start of every 100th
    (1-based) epoch; the encoders keep theirs; the default is the paper's constant rate."""
    from ganas.gan.gancls import EveryNthEpoch

    rule = EveryNthEpoch(100, 0.5)
    assert [rule(d) for d in (0, 98, 99, 100, 198, 199)] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert tiny().schedulers == {}
    m = tiny(lr_decay=0.5, decay_every=2)
    assert set(m.schedulers) == {"G", "D"} and GANCLS.schedule == "epoch"
    lrs = []
    for _ in range(4):  # one scheduler step per finished epoch, as the trainer does
        lrs.append(m.optimizers["G"].param_groups[0]["lr"])
        for opt in m.optimizers.values():
            opt.step()
        for sched in m.schedulers.values():
            sched.step()
    assert lrs == pytest.approx([2e-4, 1e-4, 1e-4, 5e-5])
    assert m.optimizers["E"].param_groups[0]["lr"] == m.config.encoder_lr
    with pytest.raises(ConfigError, match="lr_decay"):
        create_method("gancls", {"lr_decay": 0.0})
    with pytest.raises(ConfigError, match="decay_every"):
        create_method("gancls", {"decay_every": 0})
