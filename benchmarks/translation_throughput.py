"""pix2pix / CycleGAN training throughput: our ``train_step`` vs a plain PyTorch loop.

The plain loop is junyanz/pytorch-CycleGAN-and-pix2pix's ``optimize_parameters``
written out with plain modules (``plain_pix2pix_step``, ``plain_cyclegan_step``) on
copies of the same networks (paper configs: unet_{size} + 70x70 PatchGAN with batch
norm; ResNet generator with 6 blocks below 256 px, 9 at 256, instance norm), the same
Adam(2e-4, (0.5, 0.999)) and batch 1. Ours is ``method.train_step`` (the method the
trainer calls), contiguous or with networks and batches in ``channels_last``.
(NOTE: the trainer's own loop around the step is being reworked on the protocol
branch; this measures the step the method owns.)

Variants alternate in one process: every round times ``--steps`` steps of each variant
(after one untimed warm-up step per variant), in an order rotated per round; we report
median images/s and the median of per-round paired ratios to the plain loop, from wall
time and from process CPU time (with one thread the CPU time is what a step costs,
less disturbed by other processes on a shared machine).

Peak memory (fresh subprocess per variant, ``/proc/self/status``): ``echo 5 >
/proc/self/clear_refs`` resets VmHWM after building; ``VmHWM - VmRSS(before)`` over
the first ``--mem-steps`` steps (no warm-up) is training's own peak. Inference peak memory: the same for one
``translate_image`` of a (1, 3, S, S) image (padded as ``ganas translate`` does) under
``no_grad``, in the method's default test mode.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/translation_throughput.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/translation_throughput.py --methods pix2pix --sizes 64
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import random
import subprocess
import sys
from typing import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _paired import paired_ratios, timed  # noqa: E402
from dcgan_throughput import _status_kib  # noqa: E402  (one place for the /proc reader)

from ganas.gan import create_method  # noqa: E402
from ganas.gan.base import StepContext  # noqa: E402
from ganas.gan.translate import translate_image  # noqa: E402

VARIANTS = ("plain", "ours", "ours_channels_last")
CTX = StepContext(1, torch.device("cpu"))


def plain_pix2pix_step(G, D, opt_g, opt_d, a, b, lambda_l1=100.0) -> None:
    """junyanz pix2pix ``optimize_parameters``: D on (fake, real) halved, then G."""
    fake = G(a)
    for p in D.parameters():
        p.requires_grad = True
    opt_d.zero_grad()
    pf = D(torch.cat([a, fake.detach()], 1))
    pr = D(torch.cat([a, b], 1))
    loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pf, torch.zeros_like(pf))
                    + F.binary_cross_entropy_with_logits(pr, torch.ones_like(pr)))
    loss_d.backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad = False
    opt_g.zero_grad()
    pg = D(torch.cat([a, fake], 1))
    loss_g = F.binary_cross_entropy_with_logits(pg, torch.ones_like(pg)) + F.l1_loss(fake, b) * lambda_l1
    loss_g.backward()
    opt_g.step()


class PlainPool:
    """junyanz ``util/image_pool.py``: python ``random``, a list, ``torch.cat``."""

    def __init__(self, size: int = 50) -> None:
        self.size, self.images = size, []
        self.rng = random.Random(0)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                k = self.rng.randint(0, self.size - 1)
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def plain_cyclegan_step(GA, GB, DA, DB, opt_g, opt_d, a, b, pools) -> None:
    """junyanz cycle_gan ``optimize_parameters``, with its image pools."""
    fake_b, fake_a = GA(a), GB(b)
    rec_a, rec_b = GB(fake_b), GA(fake_a)
    for p in itertools.chain(DA.parameters(), DB.parameters()):
        p.requires_grad = False
    opt_g.zero_grad()
    pa, pb = DA(fake_b), DB(fake_a)
    loss = (F.mse_loss(pa, torch.ones_like(pa)) + F.mse_loss(pb, torch.ones_like(pb))
            + F.l1_loss(rec_a, a) * 10 + F.l1_loss(rec_b, b) * 10
            + F.l1_loss(GA(b), b) * 5 + F.l1_loss(GB(a), a) * 5)
    loss.backward()
    opt_g.step()
    for p in itertools.chain(DA.parameters(), DB.parameters()):
        p.requires_grad = True
    opt_d.zero_grad()
    for D, real, fake, pool in ((DA, b, fake_b, pools[0]), (DB, a, fake_a, pools[1])):
        pr, pf = D(real), D(pool.query(fake))
        (0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))).backward()
    opt_d.step()


def build(method: str, variant: str, size: int, steps: int, warm_up: bool = True) -> Callable[[], tuple[float, float]]:
    """A function running ``steps`` steps of ``variant`` and returning (wall, cpu) s."""
    torch.manual_seed(0)
    m = create_method(method, {"image_size": size})
    g = torch.Generator().manual_seed(1)
    batch = {k: torch.rand(1, 3, size, size, generator=g) * 2 - 1 for k in ("A", "B")}
    if variant == "plain":
        nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
        adam = lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999))  # noqa: E731
        if method == "pix2pix":
            opt_g, opt_d = adam(nets["G"].parameters()), adam(nets["D"].parameters())
            step = lambda: plain_pix2pix_step(nets["G"], nets["D"], opt_g, opt_d, batch["A"], batch["B"])  # noqa: E731
        else:
            opt_g = adam(itertools.chain(nets["G_A"].parameters(), nets["G_B"].parameters()))
            opt_d = adam(itertools.chain(nets["D_A"].parameters(), nets["D_B"].parameters()))
            pools = (PlainPool(), PlainPool())
            step = lambda: plain_cyclegan_step(nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"],  # noqa: E731
                                               opt_g, opt_d, batch["A"], batch["B"], pools)
        # ``m`` stays alive: freeing it would hand the plain variant reusable heap and
        # understate its measured peak
    else:
        if variant == "ours_channels_last":
            m = m.to(memory_format=torch.channels_last)
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
            m.configure_optimizers()  # optimizer state follows the converted parameters
        step = lambda: m.train_step(batch, CTX)  # noqa: E731
    if warm_up:
        step()
    return timed(step, steps)


def throughput(method: str, size: int, rounds: int, steps: int) -> dict:
    fns = {v: build(method, v, size, steps) for v in VARIANTS}
    order = list(VARIANTS)
    return paired_ratios(fns, rounds, steps, "plain", lambda r: order[r % 3:] + order[: r % 3])


def _reset_hwm() -> int:
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return before


def train_peak(method: str, variant: str, size: int, steps: int) -> float:
    # from before the first step: activations, gradients and Adam state all count (after a
    # warm-up step the allocator reuses freed memory and the growth says little)
    run = build(method, variant, size, steps, warm_up=False)
    before = _reset_hwm()
    run()
    return (_status_kib("VmHWM") - before) / 1024


def inference_peak(method: str, size: int) -> float:
    torch.manual_seed(0)
    m = create_method(method, {"image_size": 256}).eval()
    x = torch.rand(1, 3, size, size) * 2 - 1
    before = _reset_hwm()
    with torch.no_grad():
        translate_image(m, x, "AtoB" if method == "cyclegan" else None)
    return (_status_kib("VmHWM") - before) / 1024


def _child(args: list[str]) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args], capture_output=True,
                         text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["pix2pix", "cyclegan"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--infer-sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--mem-steps", type=int, default=1)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="training peak memory only (no timing)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.child:
        kind, method, *rest = args.child
        if kind == "train":
            print(train_peak(method, rest[0], int(rest[1]), int(rest[2])))
        else:
            print(inference_peak(method, int(rest[0])))
        return
    results: dict = {"threads": torch.get_num_threads(), "torch": torch.__version__, "train": {}, "inference_peak_mib": {}}
    for method in args.methods:
        for size in args.sizes:
            row = {v: {} for v in VARIANTS} if args.memory_only else throughput(method, size, args.rounds, args.steps)
            if not args.no_memory:
                for v in VARIANTS:
                    row[v]["train_peak_mib"] = round(_child(["train", method, v, str(size), str(args.mem_steps)]), 1)
            results["train"][f"{method}@{size}"] = row
            print(json.dumps({f"{method}@{size}": row}), flush=True)
        if not args.no_memory and not args.memory_only:
            for s in args.infer_sizes:
                mib = round(_child(["infer", method, str(s)]), 1)
                results["inference_peak_mib"][f"{method}@{s}"] = mib
                print(json.dumps({f"infer {method}@{s}": mib}), flush=True)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
