"""Can GAN-CLS's D check the text when trained on matching alone? (docs/benchmarks.md)

A fresh ``GANCLSDiscriminator`` (the run's sizes) is trained on real training images only:
{image, right caption} -> 1, {image, caption with one factor swapped} -> 0 (the built-in
task with ``wrong=swap``), on the conditioning vectors of a run's trained, frozen
encoders; then ``gancls_quality.d_matching`` reads it in eval mode on held-out test
pairs. ``--batches separate`` scores the two kinds in two passes (as GAN-CLS's D step
with ``matching_batch=separate``), ``mixed`` in one; a training loss far below what the
held-out check allows means D solved its batches by their BatchNorm statistics.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/gancls_matching_probe.py \\
        --checkpoint runs/RUN/checkpoints/step_010000.pt --batches mixed
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.nets.gancls import GANCLSDiscriminator
from ganas.nets.layers import init_dcgan_weights
from ganas.workflows.gan import load_run

from gancls_quality import d_matching


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True, help="a ganas train gancls checkpoint (its encoders)")
    ap.add_argument("--batches", choices=("separate", "mixed"), default="separate")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ndf", type=int, default=None, help="default: the run's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-check", type=int, default=500)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    _, m, _ = load_run(args.checkpoint, "cpu")
    c = m.config
    ds = make_dataset("shapes?task=captions&wrong=swap", "train", DataOptions(image_size=c.image_size, flip=False))
    D = GANCLSDiscriminator(c.channels, args.ndf or c.ndf, c.image_size, c.embed_dim, c.proj_dim, c.join_conv)
    D.apply(init_dcgan_weights)
    opt = torch.optim.Adam(D.parameters(), c.lr, betas=(c.beta1, c.beta2))
    gen = torch.Generator().manual_seed(args.seed)
    ones, zeros = torch.ones(args.batch), torch.zeros(args.batch)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        items = [ds[i] for i in torch.randint(len(ds), (args.batch,), generator=gen).tolist()]
        x = torch.stack([it["image"] for it in items])  # (B, C, H, W)
        with torch.no_grad():
            right = m.embed_text([it["caption"] for it in items])  # (B, E)
            wrong = m.embed_text([it["wrong_caption"] for it in items])
        if args.batches == "mixed":
            loss = 2 * F.binary_cross_entropy_with_logits(D(torch.cat([x, x]), torch.cat([right, wrong])),
                                                          torch.cat([ones, zeros]))
        else:
            loss = F.binary_cross_entropy_with_logits(D(x, right), ones) + \
                F.binary_cross_entropy_with_logits(D(x, wrong), zeros)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % max(1, args.steps // 4) == 0 or step == args.steps:
            D.eval()
            m.D = D
            check = d_matching(m, c.image_size, args.n_check)
            D.train()
            print(json.dumps({"step": step, "batches": args.batches, "train_loss": round(float(loss.detach()), 3),
                              "wall_s": round(time.time() - t0), "d_matching": check}), flush=True)


if __name__ == "__main__":
    main()
