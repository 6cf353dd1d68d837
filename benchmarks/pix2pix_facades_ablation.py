"""pix2pix ablation on facades (Isola et al. 2017, Table 1 / Fig. 4): L1 alone vs L1 + cGAN.

Trains the same reduced pix2pix (labels -> photo, i.e. ``direction=BtoA``; U-Net and
70x70 PatchGAN at ``--size`` px with ``--ngf`` / ``--ndf`` filters, batch 1, paper
losses and Adam settings, jitter: resize to 286/256 of the size, random crop, flip)
twice for the same number of steps from the same seed: once with ``lambda_GAN=0``
(L1 alone, no D), once with ``lambda_GAN=1`` (L1 + cGAN). Then translates the 106
test facades and reports L1, PSNR, SSIM and the sharpness ratio
(``ganas.metrics.image_quality``: high-frequency spectral share of the outputs over
that of the real photos; 1 = as sharp as the photos).

The facades layout is junyanz's: ``{train,test}/N.jpg`` with A (photo) | B (labels)
side by side. NOTE: a small local reader, until the aligned loader of the data branch
is merged; it does what junyanz's ``aligned_dataset.py`` does for these files.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/pix2pix_facades_ablation.py --steps 2000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganas.gan import create_method
from ganas.gan.base import StepContext
from ganas.metrics.image_quality import PairedImageMetrics


def load_split(root: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, size, size) photos A and label maps B in [-1, 1], resized with bicubic."""
    a_list, b_list = [], []
    for f in sorted((root).glob("*.jpg"), key=lambda p: int(p.stem)):
        with Image.open(f) as im:
            im = im.convert("RGB")
            w, h = im.size
            for half, out in ((im.crop((0, 0, w // 2, h)), a_list), (im.crop((w // 2, 0, w, h)), b_list)):
                arr = np.asarray(half.resize((size, size), Image.BICUBIC), dtype=np.float32)
                out.append(torch.from_numpy(arr).permute(2, 0, 1) / 127.5 - 1)
    return torch.stack(a_list), torch.stack(b_list)


def jitter(a: torch.Tensor, b: torch.Tensor, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random crop and flip for both sides (already resized to the load size)."""
    ab = torch.stack([a, b])  # (2, 3, load, load)
    y, x = rng.integers(0, ab.shape[-1] - size + 1, 2)
    ab = ab[..., y:y + size, x:x + size]
    if rng.random() < 0.5:
        ab = ab.flip(-1)
    return ab[0:1], ab[1:2]


def train_and_eval(lambda_gan: float, args, train, test) -> dict:
    torch.manual_seed(args.seed)
    m = create_method("pix2pix", {"image_size": args.size, "ngf": args.ngf, "ndf": args.ndf,
                                  "direction": "BtoA", "lambda_GAN": lambda_gan, "test_mode": "train"})
    rng = np.random.default_rng(args.seed)
    ctx = StepContext(1, torch.device("cpu"))
    n = train[0].shape[0]
    t0 = time.process_time()
    for step in range(args.steps):
        if step % n == 0:  # a new epoch: reshuffle
            order = rng.permutation(n)
        k = order[step % n]
        a, b = jitter(train[0][k], train[1][k], args.size, rng)
        m.train_step({"A": a, "B": b}, ctx)
    cpu = time.process_time() - t0
    metrics = PairedImageMetrics()
    torch.manual_seed(args.seed)
    for k in range(0, test[0].shape[0], 16):
        photos, labels = test[0][k:k + 16], test[1][k:k + 16]
        metrics.update(m.translate(labels), photos)
    out = {k: round(v, 4) for k, v in metrics.compute().items()}
    out["train_cpu_s"] = round(cpu, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/facades")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=16)
    ap.add_argument("--ndf", type=int, default=16)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(args.data)
    load = round(args.size * 286 / 256)  # junyanz --load_size 286 for --crop_size 256
    train, test = load_split(root / "train", load), load_split(root / "test", args.size)
    res = {"config": vars(args), "L1": train_and_eval(0.0, args, train, test),
           "L1+cGAN": train_and_eval(1.0, args, train, test)}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
