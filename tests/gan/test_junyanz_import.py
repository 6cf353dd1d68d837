"""Importing generators saved by junyanz/pytorch-CycleGAN-and-pix2pix.

``RefUnet`` and ``ref_resnet`` below re-build the reference's module trees (nested
``UnetSkipConnectionBlock``s; one flat ``Sequential``) from its ``models/networks.py``
layer lists, so their ``state_dict`` keys are the reference's own
(``model.model.1.model.1.weight``, ``model.10.conv_block.5.weight``...)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganas.errors import CheckpointError
from ganas.gan.junyanz_import import import_junyanz, imported_payload, infer_architecture
from ganas.nets.layers import init_dcgan_weights
from ganas.train.checkpoint import checkpoint_path, save_checkpoint
from ganas.train.trainer import restore_method


def _norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "instance":
        return nn.InstanceNorm2d(c)
    return nn.Identity()


class RefBlock(nn.Module):
    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, norm="batch",
                 dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        input_nc = outer if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=bias)
        if outermost:
            layers = [downconv, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), downconv, _norm(norm, inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnet(nn.Module):
    def __init__(self, i, o, num_downs, ngf, norm="batch", dropout=True):
        super().__init__()
        b = RefBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            b = RefBlock(ngf * 8, ngf * 8, sub=b, norm=norm, dropout=dropout)
        b = RefBlock(ngf * 4, ngf * 8, sub=b, norm=norm)
        b = RefBlock(ngf * 2, ngf * 4, sub=b, norm=norm)
        b = RefBlock(ngf, ngf * 2, sub=b, norm=norm)
        self.model = RefBlock(o, ngf, input_nc=i, sub=b, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


class RefResBlock(nn.Module):
    def __init__(self, dim, norm, bias):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim),
                                        nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias),
                                        _norm(norm, dim))

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnet(nn.Module):
    def __init__(self, i, o, ngf, n_blocks, norm="instance"):
        super().__init__()
        bias = norm == "instance"
        m = [nn.ReflectionPad2d(3), nn.Conv2d(i, ngf, 7, bias=bias), _norm(norm, ngf), nn.ReLU(True)]
        for k in range(2):
            c = ngf * 2**k
            m += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), _norm(norm, 2 * c), nn.ReLU(True)]
        m += [RefResBlock(4 * ngf, norm, bias) for _ in range(n_blocks)]
        for k in range(2):
            c = ngf * 2 ** (2 - k)
            m += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias), _norm(norm, c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, o, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


def _randomise(net: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    init_dcgan_weights(net)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.normal_(0, 0.1)
            if isinstance(m, nn.BatchNorm2d):  # non-trivial running stats and shifts
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return net.eval()


def test_unet_import_gives_the_same_outputs(tmp_path) -> None:
    ref = _randomise(RefUnet(3, 2, 6, 4))
    sd = ref.state_dict()  # their naming: level-2 down norm, innermost up conv
    assert "model.model.1.model.3.model.2.weight" in sd and "model.model.1.model.3.model.3.model.3.model.3.model.3.weight" in sd
    f = tmp_path / "latest_net_G.pth"
    torch.save({"module." + k: v for k, v in ref.state_dict().items()}, f)  # DataParallel prefix
    m = import_junyanz(f, "pix2pix", {"test_mode": "eval"})
    c = m.config
    assert (c.num_downs, c.image_size, c.ngf, c.input_nc, c.output_nc, c.norm) == (6, 64, 4, 3, 2, "batch")
    assert sum(p.numel() for p in m.G.parameters()) == sum(p.numel() for p in ref.parameters())
    x = torch.rand(2, 3, 64, 128) * 2 - 1
    with torch.no_grad():
        want = ref(x)
    assert torch.allclose(m.translate(x), want, atol=1e-6)
    # training-mode (paper) inference agrees too, with the same dropout masks
    m.config.test_mode = "train"
    ref.train()
    torch.manual_seed(3)
    with torch.no_grad():
        want = ref(x)
    torch.manual_seed(3)
    assert torch.allclose(m.translate(x), want, atol=1e-5)


def test_instance_norm_unet_and_resnet_import(tmp_path) -> None:
    ref = _randomise(RefUnet(1, 3, 5, 2, norm="instance"))
    f = tmp_path / "u.pth"
    torch.save(ref.state_dict(), f)
    m = import_junyanz(f, "pix2pix", {"test_mode": "eval"})
    assert m.config.norm == "instance" and m.config.input_nc == 1
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    assert torch.allclose(m.translate(x), ref(x), atol=1e-6)

    res = _randomise(RefResnet(3, 3, 4, 2))
    sd = res.state_dict()
    assert "model.10.conv_block.5.weight" in sd and "model.11.weight" not in sd  # model.10,11 are blocks
    # an old checkpoint (PyTorch 0.4) with instance-norm running stats: dropped on import
    sd["model.2.running_mean"], sd["model.2.running_var"] = torch.zeros(4), torch.ones(4)
    f = tmp_path / "latest_net_G_A.pth"
    torch.save(sd, f)
    kind, arch = infer_architecture(sd)
    assert kind == "resnet" and arch["n_blocks"] == 2 and arch["norm"] == "instance"
    cg = import_junyanz(f, "cyclegan")
    x = torch.rand(1, 3, 24, 36) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(cg.translate(x, "AtoB"), res(x), atol=1e-6)
        assert not torch.allclose(cg.translate(x, "BtoA"), res(x), atol=1e-3)  # G_B untouched
    f_b = tmp_path / "latest_net_G_B.pth"
    torch.save(res.state_dict(), f_b)
    cg_b = import_junyanz(f_b, "cyclegan")
    with torch.no_grad():
        assert torch.allclose(cg_b.translate(x, "BtoA"), res(x), atol=1e-6)


def test_batch_norm_resnet_import(tmp_path) -> None:
    res = _randomise(RefResnet(3, 1, 4, 1, norm="batch"))
    f = tmp_path / "g.pth"
    torch.save(res.state_dict(), f)
    cg = import_junyanz(f, "cyclegan", {"test_mode": "eval"})
    assert cg.config.norm == "batch" and cg.config.lambda_identity == 0.0  # 3 -> 1 channels
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(cg.translate(x, "AtoB"), res(x), atol=1e-6)


def test_imported_run_restores(tmp_path) -> None:
    ref = _randomise(RefUnet(3, 3, 5, 2))
    f = tmp_path / "latest_net_G.pth"
    torch.save(ref.state_dict(), f)
    m = import_junyanz(f, "pix2pix", {"test_mode": "eval", "direction": "BtoA"})
    save_checkpoint(checkpoint_path(tmp_path / "run", 0), imported_payload(m, "pix2pix", f))
    name, restored, _ = restore_method(tmp_path / "run")
    assert name == "pix2pix" and restored.config.direction == "BtoA"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(restored.translate(x), ref(x), atol=1e-6)


class Pickled:
    """An arbitrary Python object: weights_only loading must refuse it."""


def test_bad_files_are_refused(tmp_path) -> None:
    evil = tmp_path / "evil.pth"
    torch.save({"x": Pickled()}, evil)  # a pickled object, not tensors
    with pytest.raises(CheckpointError, match="weights_only"):
        import_junyanz(evil, "pix2pix")
    with pytest.raises(CheckpointError, match="not found"):
        import_junyanz(tmp_path / "missing.pth", "pix2pix")
    unet = tmp_path / "u.pth"
    torch.save(RefUnet(3, 3, 5, 2).state_dict(), unet)
    with pytest.raises(CheckpointError, match="pix2pix"):
        import_junyanz(unet, "cyclegan")
    sd = RefUnet(3, 3, 5, 2).state_dict()
    sd["model.model.1.model.5.weight"] = torch.zeros(1)  # wrong shape
    torch.save(sd, unet)
    with pytest.raises(CheckpointError, match="shape"):
        import_junyanz(unet, "pix2pix")
    other = tmp_path / "o.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(CheckpointError, match="neither"):
        import_junyanz(other, "pix2pix")
