"""DCGAN on real MNIST at 32x32, one channel, for a fixed CPU budget.

Trains in chunks of 500 steps (each chunk resumes the run, so this also exercises
resume) until the wall-clock budget is spent, and evaluates after every chunk with the
MNIST classifier (trained on the carved train split; FD references the held-out split).

    .venv/bin/python benchmarks/dcgan_mnist_quality.py --minutes 10 --out runs/bench-mnist

Targets (issue #2): by the end, every digit at least 5% of samples, mean confidence >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ganas.config import parse_sets
from ganas.workflows import EVAL_N, gan

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: the time budget alone)")
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--n", type=int, default=EVAL_N, help="samples per evaluation")
    ap.add_argument("--out", default="runs/bench-mnist")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides, e.g. ngf=32")
    args = ap.parse_args()
    out = Path(args.out)
    spec = f"mnist:{args.mnist}"
    sets = {"image_size": 32, "channels": 1, "checkpoint_every": args.chunk, "sample_every": args.chunk,
            **parse_sets(args.set)}
    t0, step, rows = time.time(), 0, []
    train_time = 0.0
    cpu = 0.0
    while train_time < args.minutes * 60 and not (args.steps and step >= args.steps):
        step += args.chunk
        t, c = time.time(), time.process_time()
        result = gan.train("dcgan", spec, out, sets, steps=step, progress=False)
        if result.status != "completed":  # Ctrl-C / SIGTERM: the trainer saved; stop here
            raise SystemExit(f"training {result.status} at step {result.step}; rerun to continue")
        train_time += time.time() - t
        cpu += time.process_time() - c
        res = gan.evaluate(out, n=args.n).metrics
        cov = res["coverage"]
        row = {"step": step, "train_s": round(train_time), "fd": round(res["fd"], 3),
               "fd_real_floor": round(res["fd_real_floor"], 3),
               "fd_real_floor_std": round(res["fd_real_floor_std"], 3), "fd_inf": round(res["fd_inf"], 3),
               "cpu_s": round(cpu), "confidence": round(res["confidence"], 3),
               "min_coverage": round(min(cov.values()), 3), "precision": round(res["precision"], 3),
               "recall": round(res["recall"], 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    final = rows[-1]
    ok = final["min_coverage"] >= 0.05 and final["confidence"] >= 0.9
    print(f"total {time.time() - t0:.0f} s (training {train_time:.0f} s wall, {cpu:.0f} s CPU); targets met: {ok}")
    print("| step | train s (wall) | train CPU s | FD | FD real floor (± std) | FD-inf | confidence | min class share | "
          "precision | recall |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['step']} | {r['train_s']} | {r['cpu_s']} | {r['fd']} | {r['fd_real_floor']} ± "
              f"{r['fd_real_floor_std']} | {r['fd_inf']} | {r['confidence']} | {r['min_coverage']} | "
              f"{r['precision']} | {r['recall']} |")


if __name__ == "__main__":
    main()
