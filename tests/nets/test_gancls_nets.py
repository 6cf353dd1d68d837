"""GAN-CLS networks and the text encoder: parameter counts beside the references, shapes,
conditioning, the vocabulary and the contrastive loss against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganas.errors import ConfigError
from ganas.gan.base import count_params
from ganas.nets.gancls import GANCLSDiscriminator, GANCLSGenerator
from ganas.nets.text_encoder import (PAD, UNK, ImageEncoder, TextEncoder, Vocabulary, contrastive_loss,
                                     scaled_embedding, tokenize)

#: aelnouby/Text-to-Image-Synthesis models/gan_cls.py, 1024-d embeddings, 64 px
AELNOUBY_G, AELNOUBY_D = 4_756_736, 2_899_072


def test_parameter_counts_beside_aelnouby() -> None:
    # reedscot's G projection (Linear + LeakyReLU): aelnouby's BatchNorm1d(128) is 2*128 more
    assert count_params(GANCLSGenerator()) == AELNOUBY_G - 256
    assert count_params(GANCLSGenerator(projection_bn=True)) == AELNOUBY_G
    # the paper's 1x1 conv after the join: 640*512 weights + BN(512), head reads 512 maps not 640
    assert count_params(GANCLSDiscriminator()) == AELNOUBY_D + 640 * 512 + 2 * 512 - 128 * 16
    assert count_params(GANCLSDiscriminator(join_conv=False)) == AELNOUBY_D


def test_reedscot_residual_generator() -> None:
    """``residual=True``: reedscot's blocks at 4x4 (ngf*8 -> ngf*2 inside) and 8x8 (ngf*4 ->
    ngf), counted by hand at reedscot's ngf 128 (its convs carry biases, zeroed every step
    by ``main_cls.lua``: counted here without)."""
    from ganas.nets.layers import Residual

    def block(c: int) -> int:  # 1x1 c -> c/4, 3x3 c/4 -> c/4, 3x3 c/4 -> c, three BNs
        m = c // 4
        return c * m + 2 * m + m * m * 9 + 2 * m + m * c * 9 + 2 * c

    plain, res = GANCLSGenerator(ngf=128), GANCLSGenerator(ngf=128, residual=True)
    assert count_params(res) - count_params(plain) == block(1024) + block(512)
    seen: list[tuple[int, ...]] = []
    for m in res.modules():
        if isinstance(m, Residual):
            m.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape[1:])))
    small = GANCLSGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=32, residual=True)
    for m in small.modules():
        if isinstance(m, Residual):
            m.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape[1:])))
    x = small(torch.randn(3, 8), torch.randn(3, 12))
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1
    assert seen == [(16, 4, 4), (8, 8, 8)]  # after the 4x4 and the 8x8 layer, full width
    x.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in small.parameters())


@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_at_each_size(size: int) -> None:
    g = GANCLSGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=size)
    d = GANCLSDiscriminator(ndf=4, image_size=size, embed_dim=12, proj_dim=6)
    x = g(torch.randn(3, 8, 1, 1), torch.randn(3, 12))
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    assert d(x, torch.randn(3, 12)).shape == (3,)


def test_both_networks_read_the_text() -> None:
    torch.manual_seed(0)
    g = GANCLSGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=16).eval()
    d = GANCLSDiscriminator(ndf=4, image_size=16, embed_dim=12, proj_dim=6).eval()
    z, x = torch.randn(2, 8), torch.rand(2, 3, 16, 16) * 2 - 1
    t1, t2 = torch.randn(2, 12), torch.randn(2, 12)
    assert not torch.allclose(g(z, t1), g(z, t2))
    assert not torch.allclose(d(x, t1), d(x, t2))
    # the projected text is replicated over the 4x4 map: D's join sees proj_dim constant maps
    seen: dict[str, torch.Tensor] = {}

    def keep(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["in"] = inputs[0].detach().clone()

    d.joint.register_forward_hook(keep)
    d(x, t1)
    txt = seen["in"][:, -6:]  # (2, 6, 4, 4)
    assert txt.shape[-2:] == (4, 4) and torch.equal(txt, txt[:, :, :1, :1].expand_as(txt))


def test_vocabulary() -> None:
    assert tokenize("A mid-sized, RED box!") == ["a", "mid-sized", "red", "box"]
    v = Vocabulary(5)
    v.add(["a red box", "a blue star"])  # room for 3 words: a, red, box
    assert v.state() == ["a", "red", "box"] and len(v) == 5
    ids, lengths = v.encode(["red box", "a blue", ""], max_words=4)
    assert ids.tolist() == [[3, 4], [2, UNK], [UNK, PAD]] and lengths.tolist() == [2, 2, 1]
    assert Vocabulary.from_state(5, v.state()).index == v.index
    with pytest.raises(ConfigError, match="vocab_size"):
        Vocabulary(2)


def test_text_encoder_ignores_padding() -> None:
    torch.manual_seed(0)
    enc = TextEncoder(10, embed_dim=6, word_dim=4, hidden=5)
    alone = enc(torch.tensor([[2, 3]]), torch.tensor([2]))
    padded = enc(torch.tensor([[2, 3, PAD, PAD], [4, 5, 6, 7]]), torch.tensor([2, 4]))
    assert torch.allclose(alone[0], padded[0], atol=1e-6)
    assert ImageEncoder(3, 4, 16, 6)(torch.randn(2, 3, 16, 16)).shape == (2, 6)


def test_contrastive_loss_by_hand() -> None:
    t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    v = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    tau = 0.5
    c = 1 / math.sqrt(2)  # cos between (0,1)/(1,0) and (1,1)
    s = torch.tensor([[1.0, c], [0.0, c]]) / tau  # s[i, j] = cos(t_i, v_j) / tau
    rows = -(s[0, 0] - torch.logsumexp(s[0], 0)) - (s[1, 1] - torch.logsumexp(s[1], 0))
    cols = -(s[0, 0] - torch.logsumexp(s[:, 0], 0)) - (s[1, 1] - torch.logsumexp(s[:, 1], 0))
    assert torch.allclose(contrastive_loss(t, v, tau), (rows + cols) / 4)
    e = scaled_embedding(torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(e, torch.tensor([[0.6, 0.8]]) * math.sqrt(2))
    assert torch.allclose(F.normalize(e, dim=1), torch.tensor([[0.6, 0.8]]))


def test_canonical_frame_generator_turns_by_the_direction_of_z() -> None:
    """``CanonicalFrameGenerator``: the trunk reads z[2:] (its input is nz - 2 + proj wide);
    the turn is the direction of z[:2] only, about the frame's centre: with the placement
    at its start (no translation) and a flat background, turning z[:2] by 90 degrees
    turns the image by 90 degrees; z[:2] scaled (same direction) changes nothing."""
    from ganas.nets.gancls import CanonicalFrameGenerator

    torch.manual_seed(0)
    g = CanonicalFrameGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=16).eval().requires_grad_(False)
    assert g.net.main[0][0].in_channels == 8 - 2 + 6 and g.net.main[-1][0].out_channels == 4
    with torch.no_grad():
        for lin in (g.place, g.background):
            lin.weight.zero_()
            lin.bias.zero_()
        g.background.bias.fill_(0.3)  # a flat background, tanh(0.3)
    z, e = torch.randn(2, 8), torch.randn(2, 12)
    z90 = z.clone()
    z90[:, 0], z90[:, 1] = -z[:, 1], z[:, 0]  # the direction turned by +90 degrees
    x, x90 = g(z, e), g(z90, e)  # (2, 3, 16, 16)
    assert x.shape == (2, 3, 16, 16) and x.abs().max() <= 1
    turned = [float((torch.rot90(x, k, dims=(2, 3)) - x90).abs().max()) for k in (1, 3)]
    assert min(turned) < 1e-4 and float((x - x90).abs().max()) > 1e-2
    zs = z.clone()
    zs[:, :2] *= 3.0
    assert torch.allclose(g(zs, e), x, atol=1e-5)
    z_other = z.clone()
    z_other[:, 2:] = torch.randn(2, 6)
    assert float((g(z_other, e) - x).abs().max()) > 1e-3  # the trunk reads the rest of z
    with pytest.raises(ValueError, match="nz >= 3"):
        CanonicalFrameGenerator(nz=2)


def test_canonical_frame_generator_places_and_trains_every_parameter() -> None:
    from ganas.nets.gancls import CanonicalFrameGenerator

    torch.manual_seed(0)
    g = CanonicalFrameGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=32, residual=True)
    x = g(torch.randn(5, 8), torch.randn(5, 12))
    assert x.shape == (5, 3, 32, 32) and torch.isfinite(x).all()
    x.square().mean().backward()
    missing = [n for n, p in g.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing
    # beside the plain G: the trunk's input is 2 narrower, its head one map wider, plus
    # the placement (3) and background (3 x 16) layers on the trunk's input
    plain = GANCLSGenerator(nz=8, embed_dim=12, proj_dim=6, ngf=4, image_size=32, residual=True)
    width = 8 - 2 + 6
    # first layer: 2 fewer inputs x 16 maps x 4x4; head: ngf 4 x one more map x 4x4
    expected = count_params(plain) - 2 * 16 * 16 + 4 * 16 + (width + 1) * 3 + (width + 1) * 48
    assert count_params(g) == expected


def test_placement_affine_turns_a_render_about_its_centre() -> None:
    """``placement_affine``'s turn, in ``affine_grid``'s y-down frame: the built-in task's
    upright render, shifted to the shape's centre and turned by (cos a, -sin a) for the
    renderer's counter-clockwise a, is the scene rendered at rotation a."""
    import dataclasses

    import numpy as np

    from ganas.data.shapes import _geometry, render, scene_for
    from ganas.data.transforms import to_tensor
    from ganas.nets.gancls import placement_affine

    side = 64
    for i in range(6):
        s = dataclasses.replace(scene_for(i, "test"), shape="triangle", size="large",
                                rotation=25.0 + 50 * i, background="black")  # a flat background turns into itself
        rotated, upright = (to_tensor(np.asarray(render(t, side)), normalize=True)[None]
                            for t in (s, dataclasses.replace(s, rotation=0.0)))
        cx, cy, _ = _geometry(s, side)
        centre = torch.tensor([[cx / side * 2 - 1, cy / side * 2 - 1]])  # (1, 2), normalised
        a = math.radians(s.rotation)
        theta = placement_affine(torch.zeros(1), -centre, torch.tensor([[math.cos(a), -math.sin(a)]]))
        theta[:, :, 2] += centre  # back from the shape's frame to the upright image's
        grid = F.affine_grid(theta, [1, 3, side, side], align_corners=False)
        turned = F.grid_sample(upright, grid, align_corners=False, padding_mode="border")
        err, unturned = float((turned - rotated).abs().mean()), float((upright - rotated).abs().mean())
        assert err < 0.01 and err < unturned / 3, (i, err, unturned)
