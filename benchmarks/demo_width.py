"""CPU cost of one DCGAN training step against the network width, at the demo's size.

The demo (``ganas demo``) trains DCGAN at 32x32 on one channel, batch 64; this times
``DCGAN.train_step`` on one in-memory batch (channels_last, fp32, as ``memory_format=auto``
picks on the CPU) for each ``ngf = ndf`` width in one process. Rounds alternate the widths
(order rotated) after one untimed warm-up step each; figures are the median CPU time per
step (``time.process_time``: with one thread, what the step costs, far less disturbed by
other processes than wall time) and the median of the per-round ratios to the first width.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/demo_width.py --widths 64 48 32 --steps 5 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from ganas.gan.base import StepContext
from ganas.gan.dcgan import DCGAN, DCGANConfig
from ganas.train.config import autocast_factory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 48, 32])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per width per round")
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    ctx = StepContext(step=1, device=cpu, autocast=autocast_factory("fp32", cpu))
    x = (torch.rand(a.batch, 1, a.size, a.size) * 2 - 1).contiguous(memory_format=torch.channels_last)  # (B,1,H,W)
    models = {}
    for w in a.widths:
        m = DCGAN(DCGANConfig(image_size=a.size, channels=1, ngf=w, ndf=w))
        m.configure_optimizers()
        m.to(memory_format=torch.channels_last)
        models[w] = m
    per_step: dict[int, list[float]] = {w: [] for w in a.widths}
    for r in range(a.rounds):
        k = r % len(a.widths)
        for w in a.widths[k:] + a.widths[:k]:
            models[w].train_step({"image": x}, ctx)  # warm-up, untimed
            c = time.process_time()
            for _ in range(a.steps):
                models[w].train_step({"image": x}, ctx)
            per_step[w].append((time.process_time() - c) / a.steps)
    base = a.widths[0]
    print(json.dumps({str(w): {"cpu_ms_per_step": round(1000 * statistics.median(per_step[w]), 1),
                               f"ratio_to_{base}": round(statistics.median(
                                   p / q for p, q in zip(per_step[w], per_step[base])), 3)}
                      for w in a.widths}))


if __name__ == "__main__":
    main()
