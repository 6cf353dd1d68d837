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

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/gancls_render_probe.py --image-size 32 --ngf 32 --residual
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time

import torch

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.images import save_grid
from ganas.data.shapes import BACKGROUNDS, COLOURS, POSITIONS, SHAPES, SIZES, Scene, render
from ganas.data.transforms import to_tensor
from ganas.metrics.text import confusion, fit_factor_classifier, per_class_accuracy, predict_factors
from ganas.nets.gancls import GANCLSGenerator
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


def render_upright(s: Scene, size: int) -> torch.Tensor:
    """The scene's render at rotation 0 (3, size, size) in [-1, 1], as the dataset's."""
    import numpy as np

    return to_tensor(np.asarray(render(dataclasses.replace(s, rotation=0.0), size)), normalize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--residual", action="store_true")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rotation", choices=("scene", "zero"), default="scene")
    ap.add_argument("--arch", choices=("gancls", "upsample"), default="gancls",
                    help="gancls: the GAN-CLS G; upsample: UpsampleRenderer (probe only)")
    ap.add_argument("--grid", default=None, help="also write G's renders of 16 test scenes above their real renders")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    opts = DataOptions(image_size=args.image_size, flip=False)
    train = make_dataset("shapes?task=captions", "train", opts)
    test = make_dataset("shapes?task=captions", "test", opts)
    if args.arch == "upsample":
        G: torch.nn.Module = UpsampleRenderer(SCENE_DIM, args.ngf, args.image_size)
    else:
        G = GANCLSGenerator(nz=100, embed_dim=SCENE_DIM, proj_dim=128, ngf=args.ngf, image_size=args.image_size,
                            residual=args.residual)
        G.apply(init_dcgan_weights)
    opt = torch.optim.Adam(G.parameters(), args.lr, betas=(0.5, 0.999))
    factor_model = fit_factor_classifier("shapes?task=captions", args.image_size, 3)
    gen = torch.Generator().manual_seed(args.seed)
    idx_test = torch.randperm(len(test), generator=torch.Generator().manual_seed(1))[: args.n_eval].tolist()
    zero = args.rotation == "zero"
    scene_of = (lambda s: dataclasses.replace(s, rotation=0.0)) if zero else (lambda s: s)
    v_test = torch.stack([scene_vector(scene_of(test.scene(i))) for i in idx_test])  # (n, SCENE_DIM)
    truth = torch.tensor([SHAPES.index(test.scene(i).shape) for i in idx_test])  # (n,)
    colour_truth = torch.tensor([list(COLOURS).index(test.scene(i).colour) for i in idx_test])
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = torch.randint(len(train), (args.batch,), generator=gen).tolist()
        if zero:
            x = torch.stack([render_upright(train.scene(i), args.image_size) for i in idx])  # (B, 3, S, S)
        else:
            x = torch.stack([train[i]["image"] for i in idx])  # (B, 3, S, S) in [-1, 1]
        v = torch.stack([scene_vector(scene_of(train.scene(i))) for i in idx])  # (B, SCENE_DIM)
        loss = (G(torch.zeros(args.batch, 100), v) - x).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % max(1, args.steps // 4) == 0 or step == args.steps:
            with torch.no_grad():  # G in train mode (batch statistics), the running statistics untouched
                with preserved_bn_stats(G):
                    fake = torch.cat([G(torch.zeros(len(b), 100), b) for b in v_test.split(250)])
                train_mode_shape = float((predict_factors(factor_model, fake)[1][:, 0] == truth).float().mean())
                G.eval()
                fake = torch.cat([G(torch.zeros(len(b), 100), b) for b in v_test.split(250)])  # (n, 3, S, S)
                G.train()
            _, pred = predict_factors(factor_model, fake)
            conf = confusion(truth, pred[:, 0], len(SHAPES))
            print(json.dumps({"step": step, "l1": round(float(loss.detach()), 4), "wall_s": round(time.time() - t0),
                              "shape": round(float((pred[:, 0] == truth).float().mean()), 3),
                              "colour": round(float((pred[:, 1] == colour_truth).float().mean()), 3),
                              "shape_train_mode": round(train_mode_shape, 3),
                              "per_shape": dict(zip(SHAPES, [round(a, 3) for a in per_class_accuracy(conf)]))}),
                  flush=True)


    if args.grid:
        real = torch.stack([render_upright(test.scene(i), args.image_size) if zero else test[i]["image"]
                            for i in idx_test[:16]])  # (16, 3, S, S)
        save_grid(torch.cat([fake[:16], real]), args.grid, nrow=16)


if __name__ == "__main__":
    main()
