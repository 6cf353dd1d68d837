"""StarGAN on the built-in ``shapes?task=attributes`` task after a fixed CPU budget:
the label at G's input (the paper) against the label at the bottleneck.

Each variant trains the same number of steps with the Trainer (same seed, same data
order), then runs the ``"attributes"`` evaluation (``ganas.metrics.attributes``):
per-domain accuracy of the translations by classifiers fitted on real training images,
reconstruction L1 and FD.

    PYTHONPATH=src .venv/bin/python benchmarks/stargan_quality.py --steps 600 --out runs/bench-stargan

Target (issue 8): attribute accuracy at least 90% on the built-in task.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.gan import create_method
from ganas.gan.stargan import stargan_overrides
from ganas.metrics.attributes import evaluate_attributes
from ganas.metrics.classifier import ClassifierConfig
from ganas.train import TrainConfig, Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600, help="trainer steps (D updates) per variant")
    ap.add_argument("--image-size", type=int, default=16)
    ap.add_argument("--attrs", default="colour,size,background", help="shapes factor groups")
    ap.add_argument("--conv-dim", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3, help="residual blocks of G")
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default="input,bottleneck")
    ap.add_argument("--out", default="runs/bench-stargan")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    size = args.image_size
    opts = DataOptions(image_size=size, progress=False, crop="center", flip=False)
    base = f"shapes?task=attributes&attrs={args.attrs}"
    train = make_dataset(f"{base}&n={args.n_train}", "train", opts)
    test = make_dataset(f"{base}&n={args.n_test}", "test", opts)
    d_repeat = size.bit_length() - 1  # D halves a power-of-two image down to 1x1
    rows = []
    for label_at in args.variants.split(","):
        torch.manual_seed(0)
        m = create_method("stargan", {**stargan_overrides(train), "image_size": size, "d_repeat_num": d_repeat,
                                      "g_conv_dim": args.conv_dim, "d_conv_dim": args.conv_dim,
                                      "g_repeat_num": args.repeat, "n_critic": args.n_critic, "label_at": label_at})
        tc = TrainConfig(steps=args.steps, sample_every=args.steps, checkpoint_every=args.steps, log_every=50,
                         device="cpu", progress=False, n_samples=6)
        t0 = time.time()
        Trainer("stargan", m, train, Path(args.out) / label_at, tc, data_spec=f"{base}&n={args.n_train}",
                visual_data=test).fit()
        train_s = time.time() - t0
        t0 = time.time()
        ev = evaluate_attributes(m, train, test, ClassifierConfig(epochs=4), max_test=args.n_test)
        row = {"label_at": label_at, "steps": args.steps, "g_updates": args.steps // args.n_critic,
               "train_s": round(train_s, 1), "eval_s": round(time.time() - t0, 1),
               "G_params": m.describe()["G"]["params"], "D_params": m.describe()["D"]["params"], **ev}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out) / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
