"""StarGAN training throughput: our ``train_step`` vs a plain PyTorch loop of the same networks.

The plain loop is yunjey/stargan ``solver.py`` ``train()`` written out with plain
modules (``plain_step``) on copies of the same networks: target labels by
``randperm``, D on real / fake / interpolates with the WGAN-GP penalty (one backward),
and on every ``n_critic``-th step G's adversarial + reconstruction + classification
loss with G(x, c_trg) computed again (the reference re-runs it after D's update; ours
keeps the first translation's graph) and D's gradients filled and discarded (ours
freezes D). Same Adam(1e-4, (0.5, 0.999)), same batch, multi-label BCE domains.

One timed unit is one full cycle of ``n_critic`` steps (5 D updates, 1 G update). The
variants alternate in one process: every round times ``--cycles`` cycles of each (after
one untimed warm-up cycle), the order rotated per round (``_paired.paired_ratios``);
we report median images/s
(D updates x batch per second) and the median of per-round paired ratios to the plain
loop, from process CPU time (one thread: what a step costs, less disturbed by other
jobs on a shared machine) and from wall time.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/stargan_throughput.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/stargan_throughput.py --configs paper32 --rounds 5
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _paired import paired_ratios, timed  # noqa: E402  (one place for the alternating rounds)

from ganas.gan import create_method  # noqa: E402
from ganas.gan.base import StepContext  # noqa: E402

#: name -> StarGAN config overrides. paper32: the paper's networks (conv_dim 64, 6
#: residual blocks, D's 2x2 last map as at 128 px with 6 convs) at 32 px; reduced16: the
#: quality benchmark's reduced networks (benchmarks/stargan_quality.py) at 16 px.
CONFIGS: dict[str, dict[str, Any]] = {
    "paper32": {"image_size": 32, "d_repeat_num": 4, "c_dim": 5},
    "reduced16": {"image_size": 16, "d_repeat_num": 4, "g_conv_dim": 16, "d_conv_dim": 16, "g_repeat_num": 3,
                  "c_dim": 16, "attrs": ""},
}
VARIANTS = ("plain", "ours")


def _gradient_penalty(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """yunjey/stargan ``gradient_penalty``."""
    weight = torch.ones(y.size())
    dydx = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=weight, retain_graph=True, create_graph=True,
                               only_inputs=True)[0]
    dydx = dydx.view(dydx.size(0), -1)
    return torch.mean((torch.sqrt(torch.sum(dydx**2, dim=1)) - 1) ** 2)


def plain_step(G, D, g_opt, d_opt, x_real, label_org, i: int, n_critic: int = 5, lambda_cls: float = 1.0,
               lambda_rec: float = 10.0, lambda_gp: float = 10.0) -> None:
    """One iteration ``i`` (0-based) of yunjey/stargan ``Solver.train`` (CelebA)."""
    label_trg = label_org[torch.randperm(label_org.size(0))]
    c_org, c_trg = label_org.clone(), label_trg.clone()
    out_src, out_cls = D(x_real)
    d_loss_real = -torch.mean(out_src)
    d_loss_cls = F.binary_cross_entropy_with_logits(out_cls, label_org, reduction="sum") / out_cls.size(0)
    x_fake = G(x_real, c_trg)
    out_src, _ = D(x_fake.detach())
    d_loss_fake = torch.mean(out_src)
    alpha = torch.rand(x_real.size(0), 1, 1, 1)
    x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
    out_src, _ = D(x_hat)
    d_loss = d_loss_real + d_loss_fake + lambda_cls * d_loss_cls + lambda_gp * _gradient_penalty(out_src, x_hat)
    g_opt.zero_grad()
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    if (i + 1) % n_critic == 0:
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake)
        g_loss_fake = -torch.mean(out_src)
        g_loss_cls = F.binary_cross_entropy_with_logits(out_cls, label_trg, reduction="sum") / out_cls.size(0)
        x_reconst = G(x_fake, c_org)
        g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
        g_loss = g_loss_fake + lambda_rec * g_loss_rec + lambda_cls * g_loss_cls
        g_opt.zero_grad()
        d_opt.zero_grad()
        g_loss.backward()
        g_opt.step()


def build(config: str, variant: str, batch_size: int, cycles: int) -> Callable[[], tuple[float, float]]:
    """A function running ``cycles`` cycles (n_critic steps each) of ``variant``: (wall, cpu) s."""
    torch.manual_seed(0)
    m = create_method("stargan", CONFIGS[config])
    n_critic = m.config.n_critic
    batch = m.example_batch(batch_size)
    if variant == "plain":
        G, D = copy.deepcopy(m.G), copy.deepcopy(m.D)
        g_opt = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.999))
        d_opt = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.999))
        x, labels = batch["image"], batch["attrs"]

        def cycle() -> None:
            for i in range(n_critic):
                plain_step(G, D, g_opt, d_opt, x, labels, i, n_critic)
    else:
        def cycle() -> None:
            for i in range(n_critic):
                m.train_step(batch, StepContext(i + 1, torch.device("cpu")))
    cycle()  # warm-up
    run = timed(cycle, cycles)
    run.images = cycles * n_critic * batch_size  # type: ignore[attr-defined]
    return run


def throughput(config: str, batch_size: int, rounds: int, cycles: int) -> dict:
    fns = {v: build(config, v, batch_size, cycles) for v in VARIANTS}
    order = list(VARIANTS)
    return paired_ratios(fns, rounds, fns["plain"].images, "plain",  # type: ignore[attr-defined]
                         lambda r: order[r % len(order):] + order[: r % len(order)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--cycles", type=int, default=1, help="cycles of n_critic steps per timed unit")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results: dict = {"threads": torch.get_num_threads(), "torch": torch.__version__, "batch_size": args.batch_size}
    for config in args.configs:
        results[config] = throughput(config, args.batch_size, args.rounds, args.cycles)
        print(json.dumps({config: results[config]}), flush=True)
    print(json.dumps(results, indent=1))
    if args.out:  # also as a file
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
