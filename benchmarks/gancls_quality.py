"""GAN-CLS quality after a fixed CPU budget on the built-in caption task (docs/benchmarks.md).

Trains the encoder for ``--encoder-steps`` steps, then the GAN until ``--gan-steps`` steps
or ``--minutes`` of wall time (``--cpu-minutes`` of process CPU time; whichever first),
then runs ``evaluate_text`` (caption consistency per factor, FD, R-precision) with G in
eval mode (``result``: BatchNorm running statistics, as ``ganas eval``) and in train
mode (``result_train_mode``), one factor classifier for both, and prints one JSON line.

    PYTHONPATH=src python benchmarks/gancls_quality.py --image-size 16 --minutes 12

``--classifier-only``: fit the factor classifier alone and print its accuracy on the real
test images (the ceiling of caption consistency at that size), no GAN training.
``--grid PATH``: also write a sample grid of the trained G (one row per caption of
``GRID_CAPTIONS``, the same z per column; ``ganas.workflows.text.sample_text``).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.gan.base import StepContext
from ganas.gan.gancls import FACTOR_CLASSIFIER, GANCLS, GANCLSConfig, evaluate_text, fit_factor_classifier
from ganas.images import save_grid
from ganas.metrics.classifier import ClassifierConfig
from ganas.workflows.text import sample_text

#: one row each in ``--grid``: every shape, several colours and backgrounds
GRID_CAPTIONS = (
    "a large red circle in the center",
    "a large blue square in the center",
    "a large green triangle in the center",
    "a large yellow pentagon in the center on a black background",
    "a large purple hexagon in the center",
    "a large orange star in the center on a white background",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image-size", type=int, default=16)
    ap.add_argument("--width", type=int, default=32, help="ngf = ndf")
    ap.add_argument("--embed-dim", type=int, default=128)
    ap.add_argument("--encoder-steps", type=int, default=200)
    ap.add_argument("--gan-steps", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=12.0, help="wall budget of the GAN phase")
    ap.add_argument("--cpu-minutes", type=float, default=None,
                    help="budget of the GAN phase in process CPU time instead of wall time (a shared machine)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--gan-int", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classifier-only", action="store_true", help="only the factor classifier's real accuracy")
    ap.add_argument("--grid", help="write a sample grid PNG of the trained G here")
    ap.add_argument("--classifier-epochs", type=int, default=None, help="default: fit_factor_classifier's recipe")
    ap.add_argument("--classifier-n", type=int, default=None, help="its training images (default: its recipe)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = GANCLSConfig(image_size=args.image_size, ngf=args.width, ndf=args.width, embed_dim=args.embed_dim,
                       encoder_hidden=128, word_dim=64, image_encoder_width=16, batch_size=args.batch,
                       encoder_steps=args.encoder_steps, gan_int=args.gan_int)
    m = GANCLS(cfg)
    m.configure_optimizers()
    clf_kw: dict = {}
    if args.classifier_epochs is not None:
        clf_kw["classifier"] = ClassifierConfig(**{**FACTOR_CLASSIFIER, "epochs": args.classifier_epochs})
    if args.classifier_n is not None:
        clf_kw["train_n"] = args.classifier_n
    eval_spec = f"shapes?task=captions&n={max(args.n_train, 2 * args.n_eval, args.classifier_n or 0)}"
    if args.classifier_only:  # an untrained G: only classifier_accuracy means anything
        t0 = time.process_time()
        m.sample_captions = ["a red square"]
        factor_model = fit_factor_classifier(eval_spec, args.image_size, 3, **clf_kw)
        res = evaluate_text(m, eval_spec, n=args.n_eval, candidates=100, factor_model=factor_model)
        print(json.dumps({"classifier_accuracy": res["classifier_accuracy"], "cpu_s": round(time.process_time() - t0, 1),
                          "args": vars(args)}), flush=True)
        return
    spec = f"shapes?task=captions&n={args.n_train}"
    ds = make_dataset(spec, "train", DataOptions(image_size=args.image_size))
    gen = torch.Generator().manual_seed(args.seed)
    clock = time.process_time if args.cpu_minutes is not None else time.perf_counter
    budget = args.cpu_minutes if args.cpu_minutes is not None else args.minutes
    step, t0, t_gan, last = 0, time.perf_counter(), None, {}
    epoch = 0
    while True:
        perm = torch.randperm(len(ds), generator=gen).tolist()
        for i in range(0, len(perm) - args.batch + 1, args.batch):
            items = [ds[(j, epoch, args.seed)] for j in perm[i: i + args.batch]]
            batch = torch.utils.data.default_collate(items)
            step += 1
            if step == args.encoder_steps + 1:
                t_gan = clock()
            last = {k: float(v) for k, v in m.train_step(batch, StepContext(step, torch.device("cpu"))).items()}
            if step % 50 == 0:
                print(json.dumps({"step": step, "elapsed": round(time.perf_counter() - t0, 1), **last}), flush=True)
            gan_done = step - args.encoder_steps
            if t_gan is not None and (gan_done >= args.gan_steps or clock() - t_gan > 60 * budget):
                break
        else:
            epoch += 1
            continue
        break
    train_s = time.perf_counter() - t0
    factor_model = fit_factor_classifier(eval_spec, args.image_size, 3, **clf_kw)
    # G in train mode (BatchNorm on each evaluation batch of 250) and in eval mode (running
    # statistics: what ganas eval and ganas sample use)
    res_train = evaluate_text(m, eval_spec, n=args.n_eval, candidates=100, factor_model=factor_model)
    m.eval()
    res = evaluate_text(m, eval_spec, n=args.n_eval, candidates=100, factor_model=factor_model)
    if args.grid:
        imgs, _ = sample_text(m, GRID_CAPTIONS, 8, seed=args.seed)
        save_grid(imgs, args.grid, nrow=8)
    print(json.dumps({"result": res, "result_train_mode": res_train, "encoder_steps": args.encoder_steps, "cpu_s": round(time.process_time(), 1),
                      "gan_steps": step - args.encoder_steps, "train_s": round(train_s, 1),
                      "eval_s": round(time.perf_counter() - t0 - train_s, 1), "args": vars(args),
                      "last_losses": last}), flush=True)


if __name__ == "__main__":
    main()
