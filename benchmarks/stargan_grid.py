"""The README's StarGAN figure: rows of (input, its translation to every single-domain
change) for the first test images of ``shapes?task=attributes``, from one checkpoint,
upscaled by nearest neighbour so 16 px images stay readable.

    PYTHONPATH=src .venv/bin/python benchmarks/stargan_grid.py runs/bench-stargan-g32-24k-s0/bottleneck \
        --rows 6 --scale 4 --out docs/img/stargan_attributes.png
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.images import save_grid
from ganas.workflows.gan import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a StarGAN run directory or checkpoint file")
    ap.add_argument("--rows", type=int, default=6, help="test images, one row each")
    ap.add_argument("--scale", type=int, default=4, help="nearest-neighbour upscaling")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    name, m, _ = load_run(args.run, "cpu")  # G in eval mode
    if name != "stargan":
        raise SystemExit(f"{args.run}: a {name} run, not stargan")
    c = m.config
    groups = ",".join(dict.fromkeys(n.split("=")[0] for n in m.names))  # "colour,size,background"
    test = make_dataset(f"shapes?task=attributes&attrs={groups}&n={args.rows}", "test",
                        DataOptions(image_size=c.image_size, flip=False))
    x = torch.stack([test[i]["image"] for i in range(args.rows)])  # (R, C, S, S)
    c_org = torch.stack([test[i]["attrs"] for i in range(args.rows)])  # (R, c_dim)
    with torch.no_grad():
        rows = m.translation_grid(x, c_org)  # (R, 1 + c_dim, C, S, S)
    flat = rows.flatten(0, 1)  # (R (1 + c_dim), C, S, S)
    flat = F.interpolate(flat, scale_factor=args.scale, mode="nearest")
    print(save_grid(flat, args.out, nrow=rows.size(1)))


if __name__ == "__main__":
    main()
