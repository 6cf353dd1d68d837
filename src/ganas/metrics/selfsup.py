"""``selfsup``: a feature extractor that needs no labels and no download -- a small CNN
trained self-supervised on the dataset's own training split, for FD and precision/recall
on unlabelled or single-class data (faces, rooms: the usual DCGAN case), where the
metric classifier is refused.

Method: SimCLR (Chen et al., ICML 2020, "A Simple Framework for Contrastive Learning of
Visual Representations"): two random augmentations of each image, an encoder ``f``
(here ``classifier.conv_trunk``, three conv-BN-ReLU blocks and global average pooling),
a 2-layer MLP projection head ``g``, and the NT-Xent loss (sec. 2.1, eq. 1) with
temperature 0.5 (their CIFAR-10 setting); the features are ``f``'s output, before the
projection head (sec. 4.2: the representation before ``g`` is the better one).
Augmentations (their appendix A, CIFAR-10 variant): random resized crop, horizontal flip,
colour jitter (brightness, contrast, saturation with strength ``jitter``, applied with
probability 0.8) and random grayscale (p = 0.2, RGB only).

NOTE: departures, for a CPU budget of well under a minute at 32 px: a width-16 trunk,
AdamW for a fixed number of steps instead of LARS with batch 4096 for hundreds of
epochs, crop scales from 0.35 rather than 0.08 (digits and shapes cut to 8% of their
area lose their identity), no Gaussian blur and no hue jitter. Keeping blur and
noise *out* of the augmentations is deliberate: the features must not be invariant to the
degradations a metric has to see.

Cached like the classifier (``metrics/cache.py``), keyed on the train split's contents,
resolution, channels, this config and the ganas version, in ``$GANAS_CACHE/selfsup``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..errors import CheckpointError, DataError
from ..train import supervised
from ..train.supervised import DatasetFn, LabelledData, from_pixels, open_split, read_split
from .cache import base_key, cache_path, dataset_fingerprint, load_network, resolve_cache_dir, save_network
from .classifier import conv_trunk, fit_input
from .features import FEATURES

log = logging.getLogger(__name__)

FORMAT = "ganas-selfsup"
VERSION = 1
FIT_SPLIT = "train"
CACHE_KIND = "selfsup"


@dataclass
class SelfSupConfig:
    """Encoder size, augmentations and schedule of the self-supervised extractor."""

    width: int = 16  # trunk channels of the first block (features: 4 * width)
    input_size: int = 32  # larger images are box-filtered down to this
    proj_dim: int = 64  # output of the projection head (the loss's space)
    steps: int = 200
    batch_size: int = 128  # images per step (2 views each)
    lr: float = 2e-3  # AdamW, cosine decay to 0
    weight_decay: float = 1e-4
    temperature: float = 0.5  # NT-Xent, SimCLR's CIFAR-10 value
    crop_min: float = 0.35  # smallest crop, as a fraction of the image area
    flip: bool = True
    jitter: float = 0.4  # colour jitter strength (brightness/contrast/saturation factors 1 +- jitter)
    seed: int = 0


class SelfSupNet(nn.Module):
    """Encoder (the features) and projection head (the loss only)."""

    def __init__(self, channels: int, width: int = 16, proj_dim: int = 64, input_size: int = 32) -> None:
        super().__init__()
        self.input_size = input_size
        d = 4 * width
        self.body = conv_trunk(channels, width)
        self.proj = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True), nn.Linear(d, proj_dim))

    def features(self, x: Tensor) -> Tensor:
        return self.body(fit_input(x, self.input_size))  # (B, C, H, W) -> (B, 4 * width)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.features(x))  # (B, proj_dim)


# -- augmentations (batched, on [-1, 1] tensors) -----------------------------------------


def random_resized_crop(x: Tensor, crop_min: float, flip: bool, gen: torch.Generator) -> Tensor:
    """Per image: a crop of area U(crop_min, 1) and aspect ratio in [3/4, 4/3] (log-uniform)
    at a random place, resized back to full size; mirrored with probability 0.5."""
    b = x.shape[0]
    area = crop_min + (1 - crop_min) * torch.rand(b, generator=gen)
    log_r = (torch.rand(b, generator=gen) * 2 - 1) * math.log(4 / 3)
    w = (area * log_r.exp()).sqrt().clamp(max=1.0)  # crop width / image width
    h = (area / log_r.exp()).sqrt().clamp(max=1.0)
    cx = (torch.rand(b, generator=gen) * 2 - 1) * (1 - w)  # centre in [-1, 1] grid units
    cy = (torch.rand(b, generator=gen) * 2 - 1) * (1 - h)
    sign = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if flip else torch.ones(b)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: Tensor, strength: float, gen: torch.Generator, p: float = 0.8, p_gray: float = 0.2) -> Tensor:
    """Brightness, contrast and (RGB) saturation factors U(1 - s, 1 + s), each image with
    probability ``p``; then grayscale with probability ``p_gray`` (RGB only)."""
    if strength <= 0:
        return x
    b, c = x.shape[:2]
    y = (x + 1) / 2  # (B, C, H, W) in [0, 1]

    def factor() -> Tensor:
        on = (torch.rand(b, generator=gen) < p).float()
        f = 1 + (torch.rand(b, generator=gen) * 2 - 1) * strength
        return (on * f + (1 - on)).view(b, 1, 1, 1).to(x.device)

    def gray(t: Tensor) -> Tensor:
        if c == 1:
            return t
        wts = torch.tensor([0.299, 0.587, 0.114], device=t.device).view(1, 3, 1, 1)
        return (t * wts).sum(dim=1, keepdim=True)  # (B, 1, H, W)

    y = (y * factor()).clamp(0, 1)  # brightness
    mean = gray(y).mean(dim=(1, 2, 3), keepdim=True)
    y = ((y - mean) * factor() + mean).clamp(0, 1)  # contrast
    if c == 3:
        g = gray(y)
        y = ((y - g) * factor() + g).clamp(0, 1)  # saturation
        to_gray = (torch.rand(b, generator=gen) < p_gray).view(b, 1, 1, 1).to(x.device)
        y = torch.where(to_gray, gray(y).expand_as(y), y)
    return y * 2 - 1


def augment(x: Tensor, config: SelfSupConfig, gen: torch.Generator) -> Tensor:
    return colour_jitter(random_resized_crop(x, config.crop_min, config.flip, gen), config.jitter, gen)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """SimCLR's NT-Xent over 2B projections (z1[i], z2[i] are the positive pairs)."""
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2B, P)
    sim = z @ z.t() / temperature  # (2B, 2B) cosine similarities
    sim.fill_diagonal_(float("-inf"))  # an image is not its own negative
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, target)


def fit_selfsup(
    data: LabelledData, config: SelfSupConfig, device: torch.device, progress: Optional[bool] = False
) -> SelfSupNet:
    """Train a ``SelfSupNet`` on the images of ``data`` (labels unused)."""
    if len(data) < 2:
        raise DataError(f"dataset {data.spec!r}: {len(data)} training image(s); self-supervised features need more")
    model = supervised.build_seeded(
        lambda: SelfSupNet(data.pixels.shape[1], config.width, config.proj_dim, config.input_size), config.seed
    ).to(device, memory_format=torch.channels_last)  # measured 1.5x faster on CPU than contiguous
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    gen = torch.Generator().manual_seed(config.seed)
    bsz = min(config.batch_size, len(data))
    model.train()
    perm, pos = torch.randperm(len(data), generator=gen), 0
    bar = tqdm(range(config.steps), desc="self-supervised features", unit="step",
               disable=supervised.tqdm_disable(progress), leave=False)
    for step in bar:
        if pos + bsz > len(data):  # a new epoch
            perm, pos = torch.randperm(len(data), generator=gen), 0
        idx = perm[pos : pos + bsz]
        pos += bsz
        x = from_pixels(data.pixels[idx].to(device))  # (B, C, H, W) in [-1, 1]
        views = [augment(x, config, gen).contiguous(memory_format=torch.channels_last) for _ in range(2)]
        loss = nt_xent(model(views[0]), model(views[1]), config.temperature)
        supervised.optimizer_step(loss, opt, sched, f"self-supervised features: loss is {{}} at step {step}")
        if step % 20 == 0:
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    return model.eval()


@dataclass
class SelfSupFeatures:
    """A trained self-supervised encoder; a ``FeatureExtractor``."""

    model: SelfSupNet
    meta: dict[str, Any]
    path: Optional[Path] = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def feature_dim(self) -> int:
        return int(self.model.proj[0].in_features)

    @torch.no_grad()
    def features(self, images: Tensor, batch: int = 500) -> Tensor:
        """(N, C, H, W) in [-1, 1] (or uint8 pixels) -> (N, feature_dim) on CPU."""
        self.model.eval()
        out = [self.model.features(images[i : i + batch].to(self.device)).float().cpu() for i in range(0, len(images), batch)]
        return torch.cat(out)


def cache_key(spec: str, image_size: int, channels: int, config: SelfSupConfig, data: dict[str, Any]) -> dict[str, Any]:
    return {**base_key(FORMAT, VERSION, spec, image_size, channels), "fit_split": FIT_SPLIT, "data": data,
            "config": dataclasses.asdict(config)}


def load_selfsup(path: Path, key: Optional[dict[str, Any]] = None, device: str | torch.device = "cpu") -> SelfSupFeatures:
    meta, state = load_network(path, FORMAT, "self-supervised extractor", key)
    k, cfg = meta["key"], meta["key"]["config"]
    model = SelfSupNet(k["channels"], cfg["width"], cfg["proj_dim"], cfg["input_size"])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"self-supervised extractor cache {path} does not match the network ({e}); delete it") from e
    dev = torch.device(device)
    return SelfSupFeatures(model.to(dev).eval(), meta, path, dev)


@FEATURES.register("selfsup", help="small CNN trained self-supervised (SimCLR) on the dataset itself; no labels (cached)")
def get_selfsup(
    spec: str,
    image_size: int,
    channels: int,
    cache_dir: Optional[str | Path] = None,
    config: Optional[SelfSupConfig] = None,
    dataset_fn: Optional[DatasetFn] = None,
    device: str | torch.device = "cpu",
    retrain: bool = False,
    progress: Optional[bool] = None,
) -> SelfSupFeatures:
    """The self-supervised extractor of ``spec`` at this size: from the cache, or trained on
    the ``train`` split (labels ignored) and cached."""
    config = config or SelfSupConfig()
    ds = open_split(spec, FIT_SPLIT, image_size, channels, dataset_fn)
    key = cache_key(spec, image_size, channels, config, {FIT_SPLIT: dataset_fingerprint(ds)})
    path = cache_path(resolve_cache_dir(cache_dir, CACHE_KIND), key)
    if path.exists() and not retrain:
        log.info("self-supervised extractor: cache hit %s", path)
        return load_selfsup(path, key, device)
    dev = torch.device(device)
    t0 = time.perf_counter()
    data = read_split(ds, spec, FIT_SPLIT, image_size, channels, labelled=False, progress=progress)
    model = fit_selfsup(data, config, dev, progress)
    meta = {"key": key, "n_train": len(data), "train_seconds": time.perf_counter() - t0}
    log.info("self-supervised extractor for %s: %d images, %.1f s", spec, len(data), meta["train_seconds"])
    save_network(path, model, meta)
    return SelfSupFeatures(model, meta, path, dev)
