"""Can GAN-CLS's generator draw the built-in shapes at all? (docs/benchmarks.md)

The GAN-CLS G of a given size (``GANCLSGenerator``: ngf, residual, image size) trained
without a discriminator, as a renderer: its "embedding" input is the scene's full
description -- one-hots of shape, colour, size, position and background, sin/cos of the
rotation, the position jitter and the size factor -- z is zero, and the loss is L1 to the
real render. Then the factor classifier of the caption-consistency score
(``fit_factor_classifier``, cached) reads G's renders of held-out test scenes: shape /
colour accuracy, per shape (G in eval mode; ``shape_train_mode``: the shape accuracy
with G on batch statistics). High accuracy: the architecture can draw the shapes at this
size and width, so a GAN-CLS run that does not draw them is held back by its training
signal, not by G's capacity. Low: G itself is too small or too coarse.
``--rotation zero``: every scene (training targets and test scenes) drawn upright
instead, which tells a G that cannot draw a shape from one that cannot rotate it.
``--outline-weight W``: L1 weighted by 1 + W on the scene's outline (its ``edges`` view),
so the pixels where a disc and the polygon differ weigh more. ``--train-n N``: train on
N scenes only and also read G on them (``train_shape``), which tells memorising scenes
from learning to draw. ``--coords``: CoordConv (Liu et al. 2018) in the GAN-CLS G. Probe-
only architectures (``--arch``): resize-convolutions, the same with CoordConv, a
layered G (a foreground drawn centred and placed by a predicted affine over a smooth
background, after LR-GAN, Yang et al. 2017), and the same with the foreground drawn
upright and turned into place by a predicted rotation (``rotating``; with
``--known-rotation``, by the scene's own). ``--decay``: the
learning rate falls linearly to zero over the run.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/gancls_render_probe.py --image-size 32 --ngf 32 --residual
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time

import numpy as np
import torch

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.images import save_grid
from ganas.data.shapes import BACKGROUNDS, COLOURS, POSITIONS, SHAPES, SIZES, Scene, render
from ganas.data.transforms import to_tensor
from ganas.metrics.text import confusion, fit_factor_classifier, per_class_accuracy, predict_factors
from ganas.nets.gancls import GANCLSGenerator, placement_affine
from ganas.nets.layers import init_dcgan_weights, preserved_bn_stats

_GROUPS = (("shape", tuple(SHAPES)), ("colour", tuple(COLOURS)), ("size", tuple(SIZES)),
           ("position", tuple(POSITIONS)), ("background", tuple(BACKGROUNDS)))
SCENE_DIM = sum(len(v) for _, v in _GROUPS) + 5


def scene_vector(s: Scene) -> torch.Tensor:
    """(SCENE_DIM,): one-hots of the named factors, sin/cos of the rotation, jitter, scale."""
    parts = [torch.nn.functional.one_hot(torch.tensor(vals.index(getattr(s, name))), len(vals)).float()
             for name, vals in _GROUPS]
    a = math.radians(s.rotation)
    parts.append(torch.tensor([math.sin(a), math.cos(a), s.dx * 30, s.dy * 30, (s.scale - 1.0) * 10]))
    return torch.cat(parts)


class UpsampleRenderer(torch.nn.Module):
    """A probe-only alternative G: the input vector (B, in_dim) -> 4x4 maps by a linear
    layer, then (nearest 2x upsampling, 3x3 conv, BatchNorm, ReLU) per doubling, widths
    halving from ``ngf * 8``, a 3x3 conv to RGB and tanh (the resize-convolution of Odena
    et al. 2016, "Deconvolution and Checkerboard Artifacts", instead of transposed
    convolutions from a 1x1 input)."""

    def __init__(self, in_dim: int, ngf: int, image_size: int) -> None:
        super().__init__()
        width = self.width0 = ngf * 8
        self.fc = torch.nn.Sequential(torch.nn.Linear(in_dim, width * 16), torch.nn.ReLU())
        layers: list[torch.nn.Module] = []
        side = 4
        while side < image_size:
            out = max(ngf, width // 2)
            layers += [torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(width, out, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(out), torch.nn.ReLU()]
            width, side = out, side * 2
        layers += [torch.nn.Conv2d(width, 3, 3, padding=1), torch.nn.Tanh()]
        self.net = torch.nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # z ignored: (B, nz)
        return self.net(self.fc(v).reshape(v.size(0), self.width0, 4, 4))  # (B, 3, S, S)


def coord_channels(b: int, side: int, like: torch.Tensor) -> torch.Tensor:
    """(b, 2, side, side): x and y pixel-centre coordinates in [-1, 1] (CoordConv, Liu et al. 2018)."""
    t = (torch.arange(side, dtype=like.dtype, device=like.device) + 0.5) / side * 2 - 1  # (side,)
    return torch.stack([t[None, :].expand(side, side), t[:, None].expand(side, side)])[None].expand(b, -1, -1, -1)


class CoordUpsampleRenderer(UpsampleRenderer):
    """``UpsampleRenderer`` with x, y coordinate channels concatenated before every 3x3
    convolution (CoordConv), so a layer can place and orient an outline by where it is."""

    def __init__(self, in_dim: int, ngf: int, image_size: int) -> None:
        super().__init__(in_dim, ngf, image_size)
        for i, m in enumerate(self.net):
            if isinstance(m, torch.nn.Conv2d):
                self.net[i] = torch.nn.Conv2d(m.in_channels + 2, m.out_channels, 3, padding=1, bias=m.bias is not None)

    def forward(self, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        h = self.fc(v).reshape(v.size(0), self.width0, 4, 4)  # (B, W, 4, 4)
        for m in self.net:
            if isinstance(m, torch.nn.Conv2d):
                h = torch.cat([h, coord_channels(h.size(0), h.size(2), h)], dim=1)  # (B, W + 2, s, s)
            h = m(h)
        return h  # (B, 3, S, S)


class CoordConvT(torch.nn.Module):
    """A transposed convolution that reads x, y coordinate channels beside its input."""

    def __init__(self, conv: torch.nn.ConvTranspose2d) -> None:
        super().__init__()
        self.conv = torch.nn.ConvTranspose2d(conv.in_channels + 2, conv.out_channels, conv.kernel_size,
                                             conv.stride, conv.padding, bias=conv.bias is not None)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, C, s, s) -> (B, C', 2s, 2s)
        return self.conv(torch.cat([h, coord_channels(h.size(0), h.size(2), h)], dim=1))


def add_coords(G: GANCLSGenerator) -> GANCLSGenerator:
    """CoordConv (Liu et al. 2018) in the GAN-CLS G: every transposed convolution after the
    first (whose input is 1x1) reads the coordinates of its input maps."""
    for block in list(G.net.main)[1:]:
        mods = block if isinstance(block, torch.nn.Sequential) else [block]
        for i, m in enumerate(mods):
            if isinstance(m, torch.nn.ConvTranspose2d):
                block[i] = CoordConvT(m)
    return G


class LayeredRenderer(torch.nn.Module):
    """A probe-only layered G in the manner of LR-GAN (Yang et al. 2017): a foreground
    (RGB + mask) drawn centred in its own frame by resize-convolutions, placed by an affine
    (scale, translation) predicted from the input, over a smooth background
    (a 4x4 map, bilinearly upsampled): out = mask * fg + (1 - mask) * bg."""

    def __init__(self, in_dim: int, ngf: int, image_size: int) -> None:
        super().__init__()
        self.side = image_size
        self.fg = UpsampleRenderer(in_dim, ngf, image_size)
        last = self.fg.net[-2]
        self.fg.net[-2] = torch.nn.Conv2d(last.in_channels, 4, 3, padding=1)  # RGB + mask logit
        del self.fg.net[-1]  # no tanh: split below
        self.bg = torch.nn.Linear(in_dim, 3 * 16)
        self.place = torch.nn.Linear(in_dim, 3)  # log-scale, tx, ty
        torch.nn.init.zeros_(self.place.weight)
        with torch.no_grad():
            self.place.bias.copy_(torch.tensor([math.log(2.0), 0.0, 0.0]))

    def foreground(self, v: torch.Tensor) -> torch.Tensor:
        return self.fg.net(self.fg.fc(v).reshape(v.size(0), self.fg.width0, 4, 4))  # (B, 4, S, S)

    def affine(self, v: torch.Tensor) -> torch.Tensor:
        """(B, 2, 3): output coordinates -> the foreground's frame."""
        p = self.place(v)  # (B, 3)
        return placement_affine(p[:, 0], p[:, 1:])

    def forward(self, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        b, s = v.size(0), self.side
        canon, theta = self.foreground(v), self.affine(v)  # (B, 4, S, S), (B, 2, 3)
        grid = torch.nn.functional.affine_grid(theta, [b, 4, s, s], align_corners=False)
        fg = torch.nn.functional.grid_sample(canon, grid, align_corners=False, padding_mode="zeros")
        rgb, mask = fg[:, :3].tanh(), fg[:, 3:].sigmoid()  # (B, 3, S, S), (B, 1, S, S)
        bg = torch.nn.functional.interpolate(self.bg(v).reshape(b, 3, 4, 4), size=(s, s), mode="bilinear",
                                             align_corners=False).tanh()
        return mask * rgb + (1 - mask) * bg  # (B, 3, S, S)


class RotatingRenderer(LayeredRenderer):
    """``LayeredRenderer`` whose affine also rotates: the foreground is drawn upright in a
    canonical frame (it does not see the rotation, whose two inputs are zeroed for it)
    and a predicted rotation (cos, sin, normalised) turns it into place. The canonical-
    frame G the section "G memorises shapes..." of docs/benchmarks.md names as a lever."""

    def __init__(self, in_dim: int, ngf: int, image_size: int, rot_at: int, known: bool = False) -> None:
        super().__init__(in_dim, ngf, image_size)
        self.rot_at = rot_at  # index of sin(rotation) in the input; cos follows
        self.known = known  # turn by the scene's own rotation instead of a learned one
        self.turn = torch.nn.Linear(in_dim, 2)  # (cos, sin) before normalising
        torch.nn.init.zeros_(self.turn.weight)
        with torch.no_grad():
            self.turn.bias.copy_(torch.tensor([1.0, 0.0]))

    def foreground(self, v: torch.Tensor) -> torch.Tensor:
        v = v.clone()
        v[:, self.rot_at: self.rot_at + 2] = 0.0  # the canonical frame is upright
        return super().foreground(v)

    def affine(self, v: torch.Tensor) -> torch.Tensor:
        if self.known:  # the renderer's counter-clockwise degrees, in affine_grid's y-down frame
            cs = torch.stack([v[:, self.rot_at + 1], -v[:, self.rot_at]], dim=1)  # (B, 2): cos, -sin
        else:
            cs = torch.nn.functional.normalize(self.turn(v), dim=1)  # (B, 2)
        p = self.place(v)  # (B, 3)
        return placement_affine(p[:, 0], p[:, 1:], cs)  # (B, 2, 3): turned about the shape's centre


def shape_by_size(correct: torch.Tensor, sizes: list[str]) -> dict[str, float]:
    """Shape accuracy per size name: whether G fails on the small shapes only or on all."""
    out = {}
    for name in SIZES:
        keep = torch.tensor([s == name for s in sizes])
        if keep.any():
            out[name] = round(float(correct[keep].float().mean()), 3)
    return out


def outline_weight(s: Scene, size: int, rotation_zero: bool) -> torch.Tensor:
    """(1, size, size) in [0, 1]: the scene's ``edges`` view inverted (1 on its outline)."""
    s = dataclasses.replace(s, rotation=0.0) if rotation_zero else s
    return 1.0 - to_tensor(np.asarray(render(s, size, "edges").convert("L"))[:, :, None], normalize=False)


def render_upright(s: Scene, size: int) -> torch.Tensor:
    """The scene's render at rotation 0 (3, size, size) in [-1, 1], as the dataset's."""
    return to_tensor(np.asarray(render(dataclasses.replace(s, rotation=0.0), size)), normalize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--residual", action="store_true")
    ap.add_argument("--coords", action="store_true", help="CoordConv in the GAN-CLS G (add_coords)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rotation", choices=("scene", "zero"), default="scene")
    ap.add_argument("--arch", choices=("gancls", "upsample", "coord", "layered", "rotating"), default="gancls",
                    help="gancls: the GAN-CLS G; upsample: UpsampleRenderer; coord: CoordUpsampleRenderer; "
                         "layered: LayeredRenderer; rotating: RotatingRenderer (the last four probe only)")
    ap.add_argument("--outline-weight", type=float, default=0.0,
                    help="L1 weighted by 1 + this x the scene's outline (its edges view): shape weighs more")
    ap.add_argument("--train-n", type=int, default=0,
                    help="train on the first N training scenes only (0 = all 20,000), and also read G on them "
                         "(train_shape): memorising N scenes against learning the rule")
    ap.add_argument("--known-rotation", action="store_true",
                    help="--arch rotating: turn by the scene's rotation instead of a learned one")
    ap.add_argument("--decay", action="store_true", help="learning rate linearly to zero over the run")
    ap.add_argument("--grid", default=None, help="also write G's renders of 16 test scenes above their real renders")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    opts = DataOptions(image_size=args.image_size, flip=False)
    train = make_dataset("shapes?task=captions", "train", opts)
    test = make_dataset("shapes?task=captions", "test", opts)
    if args.arch == "upsample":
        G: torch.nn.Module = UpsampleRenderer(SCENE_DIM, args.ngf, args.image_size)
    elif args.arch == "coord":
        G = CoordUpsampleRenderer(SCENE_DIM, args.ngf, args.image_size)
    elif args.arch == "layered":
        G = LayeredRenderer(SCENE_DIM, args.ngf, args.image_size)
    elif args.arch == "rotating":
        G = RotatingRenderer(SCENE_DIM, args.ngf, args.image_size, rot_at=SCENE_DIM - 5,  # sin, cos, dx, dy, scale last
                             known=args.known_rotation)
    else:
        G = GANCLSGenerator(nz=100, embed_dim=SCENE_DIM, proj_dim=128, ngf=args.ngf, image_size=args.image_size,
                            residual=args.residual)
        G.apply(init_dcgan_weights)
        if args.coords:
            G = add_coords(G)
            G.apply(init_dcgan_weights)
    opt = torch.optim.Adam(G.parameters(), args.lr, betas=(0.5, 0.999))
    # --decay: the learning rate falls linearly to zero over the run (fine detail after the
    # noise of a constant rate settles), else it stays constant
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / args.steps if args.decay else 1.0)
    factor_model = fit_factor_classifier("shapes?task=captions", args.image_size, 3)
    gen = torch.Generator().manual_seed(args.seed)
    idx_test = torch.randperm(len(test), generator=torch.Generator().manual_seed(1))[: args.n_eval].tolist()
    zero = args.rotation == "zero"
    scene_of = (lambda s: dataclasses.replace(s, rotation=0.0)) if zero else (lambda s: s)
    v_test = torch.stack([scene_vector(scene_of(test.scene(i))) for i in idx_test])  # (n, SCENE_DIM)
    truth = torch.tensor([SHAPES.index(test.scene(i).shape) for i in idx_test])  # (n,)
    colour_truth = torch.tensor([list(COLOURS).index(test.scene(i).colour) for i in idx_test])
    size_truth = [test.scene(i).size for i in idx_test]
    idx_seen = list(range(min(args.train_n or len(train), args.n_eval)))  # training scenes G was fitted on
    v_seen = torch.stack([scene_vector(scene_of(train.scene(i))) for i in idx_seen])
    truth_seen = torch.tensor([SHAPES.index(train.scene(i).shape) for i in idx_seen])
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = torch.randint(args.train_n or len(train), (args.batch,), generator=gen).tolist()
        if zero:
            x = torch.stack([render_upright(train.scene(i), args.image_size) for i in idx])  # (B, 3, S, S)
        else:
            x = torch.stack([train[i]["image"] for i in idx])  # (B, 3, S, S) in [-1, 1]
        v = torch.stack([scene_vector(scene_of(train.scene(i))) for i in idx])  # (B, SCENE_DIM)
        err = (G(torch.zeros(args.batch, 100), v) - x).abs()  # (B, 3, S, S)
        if args.outline_weight:
            w = torch.stack([outline_weight(train.scene(i), args.image_size, zero) for i in idx])  # (B, 1, S, S)
            err = err * (1 + args.outline_weight * w) / (1 + args.outline_weight * w.mean())
        loss = err.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, args.steps // 4) == 0 or step == args.steps:
            with torch.no_grad():  # G in train mode (batch statistics), the running statistics untouched
                with preserved_bn_stats(G):
                    fake = torch.cat([G(torch.zeros(len(b), 100), b) for b in v_test.split(250)])
                train_mode_shape = float((predict_factors(factor_model, fake)[1][:, 0] == truth).float().mean())
                G.eval()
                seen = torch.cat([G(torch.zeros(len(b), 100), b) for b in v_seen.split(250)])
                train_shape = float((predict_factors(factor_model, seen)[1][:, 0] == truth_seen).float().mean())
                fake = torch.cat([G(torch.zeros(len(b), 100), b) for b in v_test.split(250)])  # (n, 3, S, S)
                G.train()
            _, pred = predict_factors(factor_model, fake)
            conf = confusion(truth, pred[:, 0], len(SHAPES))
            print(json.dumps({"step": step, "l1": round(float(loss.detach()), 4), "wall_s": round(time.time() - t0),
                              "shape": round(float((pred[:, 0] == truth).float().mean()), 3),
                              "colour": round(float((pred[:, 1] == colour_truth).float().mean()), 3),
                              "shape_train_mode": round(train_mode_shape, 3), "train_shape": round(train_shape, 3),
                              "per_shape": dict(zip(SHAPES, [round(a, 3) if a is not None else None
                                                             for a in per_class_accuracy(conf)])),
                              "shape_by_size": shape_by_size(pred[:, 0] == truth, size_truth)}),
                  flush=True)

    if args.grid:
        real = torch.stack([render_upright(test.scene(i), args.image_size) if zero else test[i]["image"]
                            for i in idx_test[:16]])  # (16, 3, S, S)
        save_grid(torch.cat([fake[:16], real]), args.grid, nrow=16)


if __name__ == "__main__":
    main()
