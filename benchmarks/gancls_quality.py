"""GAN-CLS quality after a fixed CPU budget on the built-in caption task (docs/benchmarks.md).

Trains the encoder for ``--encoder-steps`` steps, then the GAN until ``--gan-steps`` steps
or ``--minutes`` of wall time (whichever first), then runs ``evaluate_text`` (caption
consistency per factor, FD, R-precision) and prints one JSON line.

    PYTHONPATH=src python benchmarks/gancls_quality.py --image-size 16 --minutes 12
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.gan.base import StepContext
from ganas.gan.gancls import GANCLS, GANCLSConfig, evaluate_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image-size", type=int, default=16)
    ap.add_argument("--width", type=int, default=32, help="ngf = ndf")
    ap.add_argument("--embed-dim", type=int, default=128)
    ap.add_argument("--encoder-steps", type=int, default=200)
    ap.add_argument("--gan-steps", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=12.0, help="wall budget of the GAN phase")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--gan-int", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = GANCLSConfig(image_size=args.image_size, ngf=args.width, ndf=args.width, embed_dim=args.embed_dim,
                       encoder_hidden=128, word_dim=64, image_encoder_width=16, batch_size=args.batch,
                       encoder_steps=args.encoder_steps, gan_int=args.gan_int)
    m = GANCLS(cfg)
    m.configure_optimizers()
    spec = f"shapes?task=captions&n={args.n_train}"
    ds = make_dataset(spec, "train", DataOptions(image_size=args.image_size))
    gen = torch.Generator().manual_seed(args.seed)
    step, t0, t_gan, last = 0, time.perf_counter(), None, {}
    epoch = 0
    while True:
        perm = torch.randperm(len(ds), generator=gen).tolist()
        for i in range(0, len(perm) - args.batch + 1, args.batch):
            items = [ds[(j, epoch, args.seed)] for j in perm[i: i + args.batch]]
            batch = torch.utils.data.default_collate(items)
            step += 1
            if step == args.encoder_steps + 1:
                t_gan = time.perf_counter()
            last = {k: float(v) for k, v in m.train_step(batch, StepContext(step, torch.device("cpu"))).items()}
            if step % 50 == 0:
                print(json.dumps({"step": step, "elapsed": round(time.perf_counter() - t0, 1), **last}), flush=True)
            gan_done = step - args.encoder_steps
            if t_gan is not None and (gan_done >= args.gan_steps or time.perf_counter() - t_gan > 60 * args.minutes):
                break
        else:
            epoch += 1
            continue
        break
    train_s = time.perf_counter() - t0
    res = evaluate_text(m, f"shapes?task=captions&n={max(args.n_train, 2 * args.n_eval)}", n=args.n_eval,
                        train_n=args.n_train, candidates=100)
    print(json.dumps({"result": res, "encoder_steps": args.encoder_steps,
                      "gan_steps": step - args.encoder_steps, "train_s": round(train_s, 1),
                      "eval_s": round(time.perf_counter() - t0 - train_s, 1), "args": vars(args),
                      "last_losses": last}), flush=True)


if __name__ == "__main__":
    main()
