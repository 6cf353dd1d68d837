"""DCGAN training throughput with DistributedDataParallel: 1 and 2 processes on the CPU.

Each variant is one ``ganas train dcgan --data shapes`` run in fresh processes
(``--nproc N`` starts N gloo ranks through ``torch.distributed.run``): the same global
batch (``--batch``), image size and number of steps. The figure is the images/s the
trainer logs in ``metrics.jsonl`` (global images per second of rank 0's wall clock, one
value per ``log_every`` window), the median over the windows after the first (the first
holds the start-up and first-step costs). Variants alternate over ``--rounds`` rounds
(order rotated per round); we report the median over rounds and the median of the
per-round ratios to the first variant (paired ratios cancel part of the drift of a
shared machine), with the 1-minute load average after each run.

    PYTHONPATH=src python benchmarks/ddp_throughput.py
    PYTHONPATH=src python benchmarks/ddp_throughput.py --size 64 --batch 64 --steps 40 --rounds 3

Variants: ``1x1`` one process, one thread; ``2x1`` two processes (DDP), one thread
each; ``1x2`` one process, two intra-op threads (what the two cores give without DDP).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

#: name -> (processes, threads per process)
VARIANTS = {"1x1": (1, 1), "2x1": (2, 1), "1x2": (1, 2)}


def run(nproc: int, threads: int, size: int, batch: int, steps: int, log_every: int) -> list[float]:
    """images/s of each log window of one run (the first window dropped)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "ganas", "train", "dcgan", "--data", "shapes", "--out", str(out),
               "--steps", str(steps), "--device", "cpu", "--quiet", "--nproc", str(nproc),
               "--set", f"image_size={size}", "--set", f"batch_size={batch}", "--set", f"log_every={log_every}",
               "--set", "sample_every=0", "--set", "checkpoint_every=0"]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["images_per_s"] for r in rows[1:]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64, help="the global batch")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args()
    results: dict[str, list[float]] = {v: [] for v in args.variants}
    for r in range(args.rounds):
        order = args.variants[r % len(args.variants):] + args.variants[:r % len(args.variants)]
        for v in order:
            nproc, threads = VARIANTS[v]
            rates = run(nproc, threads, args.size, args.batch, args.steps, args.log_every)
            results[v].append(statistics.median(rates))
            print(f"round {r} {v}: {results[v][-1]:.1f} images/s (windows {[round(x, 1) for x in rates]}), "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
    first = args.variants[0]
    print(f"\nDCGAN {args.size}px, global batch {args.batch}, {args.steps} steps, os.cpu_count()={os.cpu_count()}")
    print(f"| variant | processes x threads | images/s (median of rounds) | per-round ratio to {first} (median) |")
    print("|---|---|---:|---:|")
    for v, vals in results.items():
        ratio = statistics.median(a / b for a, b in zip(vals, results[first]))
        print(f"| {v} | {VARIANTS[v][0]} x {VARIANTS[v][1]} | {statistics.median(vals):.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
