"""Training throughput of every method at the paper's settings on a GPU: fp32 vs bf16
autocast, contiguous vs channels_last (what ``precision=auto`` and
``memory_format=auto`` choose there), images/s and peak GPU memory.

One timed unit is ``--steps`` calls of the method's ``train_step`` (StarGAN: a multiple
of n_critic, so D and G updates keep the paper's 5:1 ratio) on one fixed batch from
``example_batch`` (data loading excluded), after ``--warmup`` untimed calls; the four
variants alternate in one process, the order reversed every other round
(``_paired.paired_ratios``); we report median images/s and the median of per-round
ratios to fp32/contiguous. CUDA is synchronised around every timed unit. Run by
``benchmarks/device_check.sh`` on the lent GPU; on the CPU it runs too (``--device
cpu``, for checking the script, with ``--quick``).

    PYTHONPATH=src python3 benchmarks/gpu_throughput.py --out gpu_throughput.json
    PYTHONPATH=src python3 benchmarks/gpu_throughput.py --device cpu --quick --methods dcgan
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _paired import paired_ratios, timed  # noqa: E402  (one place for the alternating rounds)

from ganas.gan import create_method  # noqa: E402
from ganas.gan.base import StepContext, TrainPlan  # noqa: E402
from ganas.train.config import autocast_factory  # noqa: E402
from ganas.train.trainer import batch_to_device  # noqa: E402

#: method -> (the paper's setting: config overrides, batch size). DCGAN 64 px, batch 128
#: (Radford et al. 2016); pix2pix and CycleGAN 256 px, batch 1 (Isola et al. 2017, Zhu et
#: al. 2017); StarGAN 128 px, CelebA's 5 attributes, batch 16 (Choi et al. 2018); GAN-CLS
#: 64 px, 1024-d text embeddings, batch 64 (Reed et al. 2016).
PAPER: dict[str, dict[str, Any]] = {
    "dcgan": {"image_size": 64, "batch_size": 128},
    "pix2pix": {"image_size": 256, "batch_size": 1},
    "cyclegan": {"image_size": 256, "batch_size": 1},
    "stargan": {"image_size": 128, "c_dim": 5, "batch_size": 16},
    "gancls": {"image_size": 64, "batch_size": 64, "encoder_steps": 0},
}
#: the --quick setting (checking the script, not measuring): small images and batches
QUICK: dict[str, dict[str, Any]] = {
    "dcgan": {"image_size": 32, "batch_size": 8, "ngf": 8, "ndf": 8},
    "pix2pix": {"image_size": 64, "batch_size": 1, "ngf": 8, "ndf": 8, "num_downs": 6},
    "cyclegan": {"image_size": 64, "batch_size": 1, "ngf": 8, "ndf": 8, "n_blocks": 2},
    "stargan": {"image_size": 32, "c_dim": 5, "batch_size": 4, "g_conv_dim": 8, "d_conv_dim": 8,
                "g_repeat_num": 1, "d_repeat_num": 4},
    "gancls": {"image_size": 32, "batch_size": 8, "ngf": 8, "ndf": 8, "embed_dim": 64, "encoder_steps": 0},
}
VARIANTS = ("fp32/contiguous", "fp32/channels_last", "bf16/contiguous", "bf16/channels_last")


def _step_fn(name: str, overrides: dict[str, Any], variant: str, device: torch.device) -> tuple[Callable[[], None], Any]:
    precision, layout = variant.split("/")
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    torch.manual_seed(0)
    m = create_method(name, overrides)
    m.to(device, memory_format=fmt)
    m.configure_optimizers(TrainPlan(steps_per_epoch=10**6, total_steps=10**6))
    batch = batch_to_device(m.example_batch(m.config.batch_size), device, fmt)
    autocast = autocast_factory(precision, device)
    state = {"step": 0}

    def step() -> None:
        state["step"] += 1
        ctx = StepContext(step=state["step"], device=device, autocast=autocast, steps_per_epoch=10**6,
                          total_steps=10**6)
        m.train_step(batch, ctx)

    return step, m.config


def _synced(fn: Callable[[], tuple[float, float]], device: torch.device) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        if device.type == "cuda":
            torch.cuda.synchronize()
        w, c = fn()
        if device.type == "cuda":
            t0 = time.perf_counter()
            torch.cuda.synchronize()  # the queued kernels belong to this unit
            w += time.perf_counter() - t0
        return w, c

    return run


def measure(name: str, overrides: dict[str, Any], device: torch.device, rounds: int, steps: int,
            warmup: int) -> dict[str, Any]:
    fns, peaks, batch = {}, {}, 1
    for v in VARIANTS:
        step, cfg = _step_fn(name, overrides, v, device)
        batch, cycle = cfg.batch_size, getattr(cfg, "n_critic", 1)  # StarGAN: whole D/G cycles
        steps = max(cycle, steps - steps % cycle)
        for _ in range(warmup):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(device)
            step()
            torch.cuda.synchronize()
            peaks[v] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        fns[v] = _synced(timed(step, steps), device)
    res = paired_ratios(fns, rounds, steps * batch, VARIANTS[0],
                        lambda r: VARIANTS if r % 2 == 0 else VARIANTS[::-1])
    for v in VARIANTS:
        res[v].pop("cpu_ratios", None)
        if v in peaks:
            res[v]["peak_mib"] = peaks[v]
    return {"method": name, "config": overrides, "steps_per_unit": steps, "rounds": rounds, "variants": res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", nargs="+", default=list(PAPER), choices=list(PAPER))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20, help="train_step calls per timed unit")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="tiny networks: check the script, measure nothing")
    ap.add_argument("--out", help="also write the JSON lines here")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    rows = []
    for name in args.methods:
        overrides = (QUICK if args.quick else PAPER)[name]
        row = measure(name, overrides, device, args.rounds, args.steps, args.warmup)
        row["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        row["torch"] = torch.__version__
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
