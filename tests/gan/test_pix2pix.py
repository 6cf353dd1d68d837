"""pix2pix: the step against a hand-written junyanz step, losses on tiny tensors,
schedule, direction, test-time mode and folder translation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganas.errors import ConfigError, DataError
from ganas.gan import METHODS, create_method
from ganas.gan.base import StepContext
from ganas.gan.image_translation import gan_loss, linear_decay_factor, rows
from ganas.gan.pix2pix import Pix2Pix, Pix2PixConfig
from ganas.gan.translate import pad_to_multiple, translate_folder

CPU = StepContext(1, torch.device("cpu"))


def tiny(**kw) -> Pix2Pix:
    torch.manual_seed(0)
    return create_method("pix2pix", {**vars(Pix2Pix.tiny_config()), **kw})


def test_registered_with_paper_defaults() -> None:
    assert METHODS.get("pix2pix").factory is Pix2Pix
    c = Pix2PixConfig()
    assert (c.image_size, c.depth, c.lambda_L1, c.gan_mode, c.norm, c.n_layers_D) == (256, 8, 100.0, "vanilla", "batch", 3)
    assert (c.lr, c.beta1, c.beta2, c.batch_size, c.n_epochs, c.n_epochs_decay) == (2e-4, 0.5, 0.999, 1, 100, 100)
    assert Pix2Pix.batch_fields == ("A", "B") and Pix2Pix.latent is False and Pix2Pix.evaluation == "paired"
    assert Pix2Pix.schedule == "epoch"
    d = Pix2Pix.data_defaults(c)
    assert d == {"layout": "aligned", "image_size": 256, "load_size": 286, "crop": "random", "flip": True, "channels": 3}
    with pytest.raises(ConfigError, match="power of two"):
        create_method("pix2pix", {"image_size": 100})
    with pytest.raises(ConfigError, match="direction"):
        create_method("pix2pix", {"image_size": 64, "direction": "AtoC"})


def test_gan_losses_on_tiny_tensors() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]])  # sigmoid: 1/2, 3/4
    assert gan_loss(logits, True, "vanilla").item() == pytest.approx((math.log(2) + math.log(4 / 3)) / 2)
    assert gan_loss(logits, False, "vanilla").item() == pytest.approx((math.log(2) + math.log(4)) / 2)
    pred = torch.tensor([0.5, 2.0])
    assert gan_loss(pred, True, "lsgan").item() == pytest.approx((0.25 + 1.0) / 2)
    assert gan_loss(pred, False, "lsgan").item() == pytest.approx((0.25 + 4.0) / 2)
    with pytest.raises(ConfigError, match="wgan"):
        gan_loss(pred, True, "wgan")


def test_step_is_the_reference_step() -> None:
    """Same losses and same updated weights as junyanz ``optimize_parameters``."""
    m = tiny()
    G, D = copy.deepcopy(m.G), copy.deepcopy(m.D)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch = m.example_batch(2)
    a, b = batch["A"], batch["B"]
    torch.manual_seed(7)
    got = m.train_step(batch, CPU)

    torch.manual_seed(7)  # the same dropout masks
    fake = G(a)
    bce = torch.nn.BCEWithLogitsLoss()
    opt_d.zero_grad()
    pf = D(torch.cat([a, fake.detach()], 1))
    pr = D(torch.cat([a, b], 1))
    d_fake, d_real = bce(pf, torch.zeros_like(pf)), bce(pr, torch.ones_like(pr))
    ((d_fake + d_real) * 0.5).backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad()
    pg = D(torch.cat([a, fake], 1))
    g_gan, g_l1 = bce(pg, torch.ones_like(pg)), (fake - b).abs().mean() * 100
    (g_gan + g_l1).backward()
    opt_g.step()

    for k, v in {"D_fake": d_fake, "D_real": d_real, "D": 0.5 * (d_fake + d_real), "G_GAN": g_gan,
                 "G_L1": g_l1 / 100, "G": g_gan + g_l1}.items():
        assert got[k].item() == pytest.approx(v.item(), rel=1e-5), k
    for ours, ref in ((m.G, G), (m.D, D)):
        for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-7), n


def test_btoa_swaps_input_and_target() -> None:
    m = tiny(direction="BtoA", input_nc=1, output_nc=3)
    batch = m.example_batch(2)
    assert batch["A"].shape[1] == 3 and batch["B"].shape[1] == 1  # A is the target side
    x, y = m.input_target(batch)
    assert x is batch["B"] and y is batch["A"]
    m.train_step(batch, CPU)
    assert m.translate(batch["B"]).shape == batch["A"].shape
    with pytest.raises(ConfigError, match="BtoA only"):
        m.translate(batch["B"], "AtoB")


def test_l1_alone_ablation_leaves_d_untouched() -> None:
    m = tiny(lambda_GAN=0.0)
    before = copy.deepcopy(m.D.state_dict())
    out = m.train_step(m.example_batch(2), CPU)
    assert set(out) == {"G_L1", "G"}
    assert all(torch.equal(before[k], v) for k, v in m.D.state_dict().items())


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_linear_decay_per_epoch() -> None:
    # junyanz lambda rule: 1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1)
    assert [linear_decay_factor(e, 2, 3) for e in range(5)] == [1.0, 1.0, 0.75, 0.5, 0.25]
    m = tiny(n_epochs=2, n_epochs_decay=3)
    lrs = []
    for _ in range(5):
        lrs.append(m.optimizers["G"].param_groups[0]["lr"])
        for s in m.schedulers.values():
            s.step()
    assert lrs == pytest.approx([2e-4, 2e-4, 1.5e-4, 1e-4, 5e-5])
    assert set(m.schedulers) == {"G", "D"}


def test_test_mode_train_uses_dropout_and_keeps_running_stats() -> None:
    m = tiny()
    m.eval()
    x = m.example_batch(2)["A"]
    stats = copy.deepcopy({k: v for k, v in m.G.state_dict().items() if "running" in k})
    assert not torch.equal(m.translate(x), m.translate(x))  # paper: dropout at test time
    assert all(torch.equal(stats[k], m.G.state_dict()[k]) for k in stats)
    assert not m.G.training  # mode restored
    e = tiny(test_mode="eval")
    assert torch.equal(e.translate(x), e.translate(x))


def test_visuals_rows_and_describe() -> None:
    m = tiny(input_nc=1)
    batch = m.example_batch(3)
    v = m.visuals(batch)["translation"]
    assert v.shape == (9, 3, 64, 64)
    assert torch.equal(v[0], batch["A"][0].expand(3, -1, -1)) and torch.equal(v[5], batch["B"][1])
    assert rows(torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)).shape == (4, 3, 4, 4)
    d = m.describe()
    assert d["G"]["output_shape"] == [3, 64, 64] and d["D"]["output_shape"] == [1, 6, 6]
    with pytest.raises(ConfigError, match="latent"):
        m.sample(2)


def test_pad_to_multiple_reflects() -> None:
    x = torch.arange(6.0).view(1, 1, 2, 3)
    y = pad_to_multiple(x, 4)
    assert y.shape == (1, 1, 4, 4)
    assert torch.equal(y[0, 0, :2, 3], torch.tensor([1.0, 4.0]))  # reflect of column 1
    assert torch.equal(y[0, 0, 2, :3], torch.tensor([0.0, 1.0, 2.0]))  # reflect of row 0
    big = pad_to_multiple(torch.randn(1, 3, 5, 7), 64)  # pad larger than the image
    assert big.shape == (1, 3, 64, 64)


def _write(path, w, h, mode="RGB") -> None:
    rng = np.random.default_rng(w * h)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)


def test_translate_folder_every_image_at_its_size(tmp_path) -> None:
    m = tiny(test_mode="eval").eval()
    src = tmp_path / "in"
    src.mkdir()
    sizes = {"a.png": (37, 50), "b.png": (64, 64), "c.jpg": (90, 20)}
    for name, (w, h) in sizes.items():
        _write(src / name, w, h)
    _write(src / "gray.png", 30, 30, "L")  # converted to the generator's 3 channels
    (src / "notes.txt").write_text("not an image")
    out = translate_folder(m, src, tmp_path / "out", progress=False)
    assert sorted(p.name for p in out) == ["a.png", "b.png", "c.jpg", "gray.png"]
    for name, (w, h) in sizes.items():
        with Image.open(tmp_path / "out" / name) as im:
            assert im.size == (w, h) and im.mode == "RGB"
    # the written image is the network's output on the padded input, cropped back
    with Image.open(src / "a.png") as im:
        x = torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    y = m.translate(pad_to_multiple(x, 64))[..., :50, :37]
    want = ((y[0].clamp(-1, 1) + 1) * 127.5 + 0.5).floor().permute(1, 2, 0).numpy().astype(np.uint8)
    with Image.open(tmp_path / "out" / "a.png") as im:
        assert np.array_equal(np.asarray(im), want)


def test_translate_folder_is_seeded_and_refuses_bad_folders(tmp_path) -> None:
    m = tiny()  # test_mode=train: dropout noise, fixed by the seed
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "x.png", 20, 24)
    state = torch.get_rng_state()
    translate_folder(m, src, tmp_path / "o1", progress=False, seed=3)
    assert torch.equal(state, torch.get_rng_state())  # the caller's RNG is left alone
    translate_folder(m, src, tmp_path / "o2", progress=False, seed=3)
    translate_folder(m, src, tmp_path / "o3", progress=False, seed=4)
    read = lambda d: np.asarray(Image.open(tmp_path / d / "x.png"))  # noqa: E731
    assert np.array_equal(read("o1"), read("o2")) and not np.array_equal(read("o1"), read("o3"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        translate_folder(m, tmp_path / "empty", tmp_path / "o4", progress=False)
    with pytest.raises(DataError, match="output folder is the input"):
        translate_folder(m, src, src, progress=False)
    (src / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="bad.png"):
        translate_folder(m, src, tmp_path / "o5", progress=False)
