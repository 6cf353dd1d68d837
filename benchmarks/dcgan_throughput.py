"""DCGAN training throughput: our ``DCGAN.train_step`` vs the plain pytorch/examples loop.

Both paths train the same networks (``ganas.nets.dcgan``, DCGAN init) with the same
algorithm: D on the real batch, D on ``G(z).detach()`` in a separate pass, then G on
``D(G(z))`` recomputed after D's update; Adam(2e-4, (0.5, 0.999)); batch 64; in-memory
synthetic images (no data loading in the timing). Variants run in one process and
alternate: every round times ``--steps`` steps of each variant (order rotated per
round). We report the median images/s and the median of the per-round ratios to the
plain loop (paired ratios cancel most of the drift of a shared machine), both from
wall-clock time and from the process's CPU time (``time.process_time``; with one
thread it is what the step costs, and much less disturbed by other processes sharing
the cores than wall time).

Peak memory is measured per variant in a fresh subprocess from ``/proc/self/status``:
after building the variant the high-water mark is reset (``echo 5 >
/proc/self/clear_refs``), then ``--mem-steps`` steps run and ``VmHWM - VmRSS(before)``
is the training's own peak (activations, gradients, optimizer state). (``ru_maxrss``
is unusable here: a child started from a big parent inherits the parent's peak.)

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dcgan_throughput.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dcgan_throughput.py --sizes 32 --rounds 5 --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

import torch

from ganas.gan.base import StepContext
from ganas.gan.dcgan import DCGAN, DCGANConfig, reference_step

#: variant name -> (memory format, Adam flavour); "plain" is the reference loop
DEFAULT_VARIANTS = ["plain", "ours-contiguous", "ours-channels_last"]
VARIANTS: dict[str, tuple[str, str]] = {
    "plain": ("contiguous", "default"),
    "ours-contiguous": ("contiguous", "default"),
    "ours-channels_last": ("channels_last", "default"),
    "ours-channels_last-foreach": ("channels_last", "foreach"),
    "ours-channels_last-fused": ("channels_last", "fused"),
}


def _adam(params, cfg: DCGANConfig, flavour: str) -> torch.optim.Adam:
    kw = {"foreach": True} if flavour == "foreach" else {"fused": True} if flavour == "fused" else {}
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **kw)


def build(variant: str, size: int, batch: int, seed: int = 0) -> Callable[[], None]:
    """A closure running one training step of ``variant`` at ``size`` px."""
    torch.manual_seed(seed)
    cfg = DCGANConfig(image_size=size, batch_size=batch)
    method = DCGAN(cfg)
    real = torch.rand(batch, cfg.channels, size, size) * 2 - 1  # (B, C, H, W)
    fmt, flavour = VARIANTS[variant]

    if variant == "plain":
        # pytorch/examples dcgan/main.py, with BCEWithLogits on D's logits (our D has no
        # sigmoid); set_to_none is zero_grad's default since torch 2.0.
        netG, netD = method.G, method.D
        optD = _adam(netD.parameters(), cfg, "default")
        optG = _adam(netG.parameters(), cfg, "default")

        def step() -> None:
            reference_step(netG, netD, optD, optG, real, torch.randn(batch, cfg.nz, 1, 1))

        return step

    mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    method.to(memory_format=mf)
    method.optimizers = {"G": _adam(method.G.parameters(), cfg, flavour), "D": _adam(method.D.parameters(), cfg, flavour)}
    ctx = StepContext(step=0, device=torch.device("cpu"))

    def step() -> None:
        # the trainer converts each batch to the module's memory format
        method.train_step({"image": real.contiguous(memory_format=mf)}, ctx)

    return step


def throughput(sizes: list[int], variants: list[str], rounds: int, steps: int, batch: int) -> dict:
    results: dict = {}
    for size in sizes:
        fns = {v: build(v, size, batch) for v in variants}
        for fn in fns.values():  # warm-up (allocator, first-call overheads)
            fn()
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for v in order:
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(steps):
                    fns[v]()
                wall[v].append(steps * batch / (time.perf_counter() - t0))
                cpu[v].append(steps * batch / (time.process_time() - c0))
        results[size] = {}
        for v in variants:
            row = {}
            for clock, ips in (("wall", wall), ("cpu", cpu)):
                ratios = [a / b for a, b in zip(ips[v], ips["plain"])]
                row[f"{clock}_images_per_s"] = statistics.median(ips[v])
                row[f"{clock}_ratio"] = statistics.median(ratios)
                row[f"{clock}_ratios"] = [round(x, 3) for x in ratios]
            results[size][v] = row
    return results


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory(variant: str, size: int, batch: int, steps: int) -> dict:
    """Runs in a fresh process: the peak RSS added by ``steps`` training steps (MiB)."""
    fn = build(variant, size, batch)
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
        f.write("5")
    for _ in range(steps):
        fn()
    peak = _status_kib("VmHWM")
    return {"rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024, "train_peak_mib": (peak - before) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=list(VARIANTS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=2, help="steps per variant per round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--mem-steps", type=int, default=2)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-child", nargs=2, metavar=("VARIANT", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if "plain" not in args.variants:
        args.variants = ["plain"] + args.variants

    if args.memory_child:
        v, s = args.memory_child
        print(json.dumps(peak_memory(v, int(s), args.batch, args.mem_steps)))
        return

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"{args.rounds} rounds x {args.steps} steps", flush=True)
    res = throughput(args.sizes, args.variants, args.rounds, args.steps, args.batch)
    if not args.no_memory:
        for size in args.sizes:
            for v in args.variants:
                out = subprocess.run(
                    [sys.executable, __file__, "--memory-child", v, str(size), "--batch", str(args.batch),
                     "--mem-steps", str(args.mem_steps)],
                    capture_output=True, text=True, check=True, env=os.environ.copy(),
                )
                res[size][v].update(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| size | variant | img/s (wall) | ratio (wall) | img/s (CPU time) | ratio (CPU time) | training peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for size, rows in res.items():
        for v, r in rows.items():
            mem = f"{r['train_peak_mib']:.0f}" if "train_peak_mib" in r else "-"
            print(f"| {size} | {v} | {r['wall_images_per_s']:.1f} | {r['wall_ratio']:.3f} | "
                  f"{r['cpu_images_per_s']:.1f} | {r['cpu_ratio']:.3f} {r['cpu_ratios']} | {mem} |")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
