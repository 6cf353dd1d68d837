"""Do the metric features rank degraded samples in the right order?

Feeds real images and degraded copies of them to ``evaluate_generator`` as the
"generator" and prints FD (at the probe's sample size), the real-vs-real floor with its
noise, FD-infinity, precision and recall, for each feature extractor:

- ``real``: the dataset's training images (what a perfect generator draws);
- ``noise 0.1`` / ``noise 0.3``: plus Gaussian pixel noise of that std (images in [-1, 1]);
- ``blur``: a Gaussian blur of 1 pixel std;
- ``3 classes``: only the training images of the first 3 classes (mode dropping).

Expected: real at the floor; real < noise 0.1 < noise 0.3; real < blur; real < 3 classes.

    .venv/bin/python benchmarks/metric_features.py --data digits --features classifier selfsup
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from ganas.metrics import evaluate_generator, replay
from ganas.train.supervised import load_split


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W), replicate-padded."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1).float() ** 2 / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def fmt(v: object) -> str:
    return "-" if v is None else f"{v:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="digits")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--n", type=int, default=1000, help="samples per case (fewer if a case has fewer images)")
    ap.add_argument("--features", nargs="+", default=["classifier", "selfsup"])
    ap.add_argument("--cache-dir", default=None, help="feature network cache (default: $GANAS_CACHE or ~/.cache/ganas)")
    args = ap.parse_args()

    train = load_split(args.data, "train", args.size, args.channels, labelled=False)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(train), generator=g)
    x, y = train.images[perm], train.labels[perm]  # (N, C, H, W) in [-1, 1], (N,)
    cases = {
        "real": x,
        "noise 0.1": (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(-1, 1),
        "noise 0.3": (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1),
        "blur": gaussian_blur(x, 1.0),
    }
    if train.classes_present >= 3:
        cases["3 classes"] = x[y < 3]
    print(f"data {args.data} at {args.size} px, {args.channels} ch, {len(train)} training images")
    print("| features | case | n | FD | floor (± std) | FD-inf | FD-inf floor | precision | recall | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for feat in args.features:
        for name, imgs in cases.items():
            t = time.time()
            n = min(args.n, len(imgs))
            r = evaluate_generator(replay(imgs), args.data, args.size, args.channels, n=n, batch=250,
                                   cache_dir=args.cache_dir, extractor=feat, progress=False)
            print(f"| {feat} | {name} | {n} | {r['fd']:.3f} | {r['fd_real_floor']:.3f} ± {r['fd_real_floor_std']:.3f} | "
                  f"{fmt(r['fd_inf'])} | {fmt(r['fd_inf_real_floor'])} | {r['precision']:.3f} | {r['recall']:.3f} | "
                  f"{time.time() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
