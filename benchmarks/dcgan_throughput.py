"""DCGAN training throughput: our training path vs the plain pytorch/examples loop.

Our path is ``ganas.train.Trainer.fit`` training ``DCGAN`` (its data stream, device and
memory-format handling, per-step loss check, logging) on an in-memory synthetic
dataset; the plain loop is pytorch/examples ``dcgan/main.py``'s (``reference_step``)
iterating a ``DataLoader(batch_size=64, shuffle=True)`` over the same dataset. Both
train the same networks (``ganas.nets.dcgan``, DCGAN init) with the same algorithm: D
on the real batch, D on ``G(z).detach()`` in a separate pass, then G on ``D(G(z))``
recomputed after D's update; Adam(2e-4, (0.5, 0.999)); batch 64.

``ours-bf16-*`` variants train with ``precision=bf16`` (``torch.autocast("cpu",
torch.bfloat16)`` around the forward passes, fp32 master weights, losses and optimizer
steps in fp32), still against the plain fp32 loop: bf16 pays off only on CPUs with bf16
matrix units (AMX, avx512_bf16); elsewhere oneDNN emulates it.

Variants run in one process and alternate: every round times ``--steps`` steps of each
variant after one untimed warm-up step (order rotated per round). The Trainer is timed
from the entry of its second ``train_step`` to the entry of its end-of-run ``visuals``
(so the final sample grid and checkpoint are not counted). We report the median
images/s and the median of the per-round ratios to the plain loop (paired ratios cancel
most of the drift of a shared machine), both from wall-clock time and from the
process's CPU time (``time.process_time``; with one thread it is what the step costs,
and far less disturbed than wall time by other processes sharing the cores).

Peak memory is measured per variant in a fresh subprocess from ``/proc/self/status``:
after building the variant the high-water mark is reset (``echo 5 >
/proc/self/clear_refs``), then ``--mem-steps`` steps run and ``VmHWM - VmRSS(before)``
is the training's own peak (activations, gradients, optimizer state, batches).
(``ru_maxrss`` is unusable here: a child started from a big parent inherits its peak.)

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dcgan_throughput.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dcgan_throughput.py --sizes 16 128 --path step
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/dcgan_throughput.py --variants plain ours-channels_last \
        ours-bf16-channels_last ours-bf16-contiguous
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from ganas.gan.base import StepContext
from ganas.gan.dcgan import DCGAN, DCGANConfig, reference_step
from ganas.train import TrainConfig, Trainer
from ganas.train.config import autocast_factory

#: variant name -> (memory format, Adam flavour, precision); "plain" is the reference fp32 loop
VARIANTS: dict[str, tuple[str, str, str]] = {
    "plain": ("contiguous", "default", "fp32"),
    "ours-contiguous": ("contiguous", "default", "fp32"),
    "ours-channels_last": ("channels_last", "default", "fp32"),
    "ours-channels_last-foreach": ("channels_last", "foreach", "fp32"),
    "ours-channels_last-fused": ("channels_last", "fused", "fp32"),
    "ours-bf16-contiguous": ("contiguous", "default", "bf16"),
    "ours-bf16-channels_last": ("channels_last", "default", "bf16"),
}
DEFAULT_VARIANTS = ["plain", "ours-contiguous", "ours-channels_last"]


class SyntheticImages(Dataset):
    """``n`` fixed random images in [-1, 1] held in memory, as dataset dicts."""

    def __init__(self, n: int, channels: int, size: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, channels, size, size, generator=g) * 2 - 1  # (N, C, H, W)
        self.label = torch.tensor(-1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[i], "label": self.label}


def _adam(params: Iterable[torch.nn.Parameter], cfg: DCGANConfig, flavour: str) -> torch.optim.Adam:
    kw = {"foreach": True} if flavour == "foreach" else {"fused": True} if flavour == "fused" else {}
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **kw)


def cpu_description() -> str:
    """The CPU model and its bf16 matrix features (what decides whether bf16 pays off)."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    bf16 = sorted(f for f in flags if f.startswith("amx") or f == "avx512_bf16")
    return f"{model}, bf16 units: {', '.join(bf16) if bf16 else 'none (no AMX, no avx512_bf16)'}"


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class Timer:
    """Clock readings (wall, CPU) at two instants, and the peak RSS (VmHWM) at the second."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []
        self.hwm_kib = 0

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), time.process_time()))
        if len(self.marks) == 2:
            self.hwm_kib = _status_kib("VmHWM")

    def result(self) -> tuple[float, float, int]:
        (w0, c0), (w1, c1) = self.marks
        return w1 - w0, c1 - c0, self.hwm_kib


def build(variant: str, size: int, batch: int, steps: int, path: str = "trainer",
          seed: int = 0) -> Callable[[], tuple[float, float, int]]:
    """A closure that runs one warm-up step then ``steps`` timed steps of ``variant``;
    it returns (wall seconds, CPU seconds) of the timed steps and the peak RSS (KiB) at
    their end (before the Trainer's final sample grid and checkpoint).

    ``path="step"`` leaves data loading and the Trainer out: the plain loop and
    ``DCGAN.train_step`` both train on one in-memory batch (converted to the memory
    format every step, as the Trainer does).
    """
    torch.manual_seed(seed)
    cfg = DCGANConfig(image_size=size, batch_size=batch)
    method = DCGAN(cfg)
    data = SyntheticImages(batch * 8, cfg.channels, size)
    fmt, flavour, precision = VARIANTS[variant]

    if variant == "plain":
        # pytorch/examples: for i, data in enumerate(dataloader): ... (BCE on logits)
        netG, netD = method.G, method.D
        optD, optG = _adam(netD.parameters(), cfg, "default"), _adam(netG.parameters(), cfg, "default")
        loader = DataLoader(data, batch_size=batch, shuffle=True, drop_last=True)
        it = iter(loader)

        def next_batch() -> torch.Tensor:
            nonlocal it
            if path == "step":
                return data.images[:batch]
            try:
                return next(it)["image"]
            except StopIteration:
                it = iter(loader)
                return next(it)["image"]

        def run_plain() -> tuple[float, float, int]:
            timer = Timer()
            for i in range(steps + 1):
                if i == 1:
                    timer.mark()
                real = next_batch()
                reference_step(netG, netD, optD, optG, real, torch.randn(batch, cfg.nz, 1, 1))
            timer.mark()
            return timer.result()

        return run_plain

    def configure(plan: object = None) -> None:  # the Trainer calls it with its plan
        method.optimizers = {"G": _adam(method.G.parameters(), cfg, flavour),
                             "D": _adam(method.D.parameters(), cfg, flavour)}

    method.configure_optimizers = configure  # type: ignore[method-assign]
    configure()

    if path == "step":
        mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        method.to(memory_format=mf)
        cpu = torch.device("cpu")
        ctx = StepContext(step=1, device=cpu, autocast=autocast_factory(precision, cpu))

        def run_step() -> tuple[float, float, int]:
            timer = Timer()
            for i in range(steps + 1):
                if i == 1:
                    timer.mark()
                method.train_step({"image": data.images[:batch].contiguous(memory_format=mf)}, ctx)
            timer.mark()
            return timer.result()

        return run_step

    tmp = tempfile.mkdtemp(prefix="dcgan-bench-")
    rounds = 0

    def run_trainer() -> tuple[float, float, int]:
        nonlocal rounds
        rounds += 1
        timer = Timer()
        calls = 0
        step_fn, visuals_fn = type(method).train_step, type(method).visuals

        def timed_step(batch, ctx):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 2:
                timer.mark()
            return step_fn(method, batch, ctx)

        def timed_visuals(fixed, generator, n):  # type: ignore[no-untyped-def]
            if len(timer.marks) == 1:
                timer.mark()
            return visuals_fn(method, fixed, generator, n)

        method.train_step, method.visuals = timed_step, timed_visuals  # instance attributes
        try:
            tc = TrainConfig(steps=steps + 1, sample_every=0, checkpoint_every=0, log_every=1, keep_checkpoints=1,
                             device="cpu", precision=precision, memory_format=fmt, n_samples=4, progress=False)
            Trainer("dcgan", method, data, os.path.join(tmp, f"r{rounds}"), tc, data_spec="synthetic").fit()
        finally:
            del method.train_step, method.visuals
        return timer.result()

    return run_trainer


def throughput(sizes: list[int], variants: list[str], rounds: int, steps: int, batch: int, path: str) -> dict:
    results: dict = {}
    for size in sizes:
        fns = {v: build(v, size, batch, steps, path) for v in variants}
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for v in order:
                w, c, _ = fns[v]()
                wall[v].append(steps * batch / w)
                cpu[v].append(steps * batch / c)
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


def peak_memory(variant: str, size: int, batch: int, steps: int, path: str) -> dict:
    """Runs in a fresh process: the peak RSS added by training (MiB)."""
    # one warm-up step + ``steps``: the peak includes the first step's optimizer state
    fn = build(variant, size, batch, steps, path)
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
        f.write("5")
    _, _, peak = fn()  # VmHWM read at the end of the timed steps, before the final checkpoint
    return {"rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024, "train_peak_mib": (peak - before) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=list(VARIANTS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=2, help="timed steps per variant per round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--mem-steps", type=int, default=2)
    ap.add_argument("--path", choices=["trainer", "step"], default="trainer",
                    help="our side: Trainer.fit on a dataset (default) or bare train_step on one in-memory batch")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-child", nargs=2, metavar=("VARIANT", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if "plain" not in args.variants:
        args.variants = ["plain"] + args.variants

    if args.memory_child:
        v, s = args.memory_child
        print(json.dumps(peak_memory(v, int(s), args.batch, args.mem_steps, args.path)))
        return

    print(cpu_description())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"{args.rounds} rounds x {args.steps} steps, our path: {args.path}", flush=True)
    res = throughput(args.sizes, args.variants, args.rounds, args.steps, args.batch, args.path)
    if not args.no_memory:
        for size in args.sizes:
            for v in args.variants:
                out = subprocess.run(
                    [sys.executable, __file__, "--memory-child", v, str(size), "--batch", str(args.batch),
                     "--mem-steps", str(args.mem_steps), "--path", args.path],
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
