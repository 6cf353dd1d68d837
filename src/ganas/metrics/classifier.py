"""A small CNN classifier trained on a dataset's real training split, used as the
feature extractor of the GAN metrics (Fréchet distance, precision/recall) and for the
class coverage / confidence scores.

Why not Inception-v3: FID (Heusel et al. 2017) uses ImageNet Inception features, which
need a large download and say little about 32x32 digits. Domain classifiers are the
usual substitute for small datasets (e.g. the MNIST classifier of "Are GANs Created
Equal?", Lucic et al. 2018, and the "Classifier FID"/mode-count scores built on it).
NOTE: the numbers are therefore comparable only between runs that share the same
classifier (same dataset spec, image size, channels and training config), which is
exactly what the cache key holds.

The classifier is cached as ``<cache>/<slug>-<hash>.pt`` where the hash covers the
dataset spec, image size, channel count, the split it was fitted to ("train"), the split
its accuracy was measured on ("test") and the training config. The file holds only
tensors and plain values (loaded with ``torch.load(weights_only=True)``) plus a SHA-256
digest of both, so a modified or truncated file is refused with ``CheckpointError``.
The cache directory is ``cache_dir`` when given, else ``$GANAS_CACHE/classifiers``,
else ``~/.cache/ganas/classifiers``.

Measured with the default config (one CPU thread, 2-core machine shared with other jobs;
load + train + score): ``mnist:`` t10k carve 8500/1500 at 32x32x1: 99.13% held-out in
44 s; ``digits`` 1438/359 at 32x32x1: 96.4% in 11 s; ``shapes`` 20000/2000 at 32x32x3:
91.9% in 103 s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data.base import DataOptions
from ..errors import CheckpointError, DataError, NonFiniteLossError
from ..fileio import atomic_write
from .features import FEATURES

log = logging.getLogger(__name__)

#: bump when the network or the file layout changes (old cache files then miss)
FORMAT = "ganas-classifier"
VERSION = 1
FIT_SPLIT, EVAL_SPLIT = "train", "test"

#: ``(spec, split, options) -> dataset``; defaults to ``ganas.data.make_dataset``
DatasetFn = Callable[[str, str, DataOptions], Any]


@dataclass
class ClassifierConfig:
    """Network width and training schedule of the metric classifier."""

    width: int = 32  # channels of the first block; doubled in each of the 3 blocks
    input_size: int = 32  # larger images are box-filtered (area) down to this before the network
    feature_dim: int = 128  # penultimate (feature) layer size
    epochs: int = 4
    batch_size: int = 128
    lr: float = 3e-3  # AdamW peak learning rate (one-cycle schedule)
    weight_decay: float = 5e-4
    shift: float = 0.1  # random translation, as a fraction of the image size (0 = none)
    seed: int = 0


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallClassifier(nn.Module):
    """Three conv blocks (conv-BN-ReLU, max-pool), global average pooling, a
    ``feature_dim`` hidden layer (the features) and a linear classification head.
    Inputs larger than ``input_size`` are first resized to it, which bounds the cost of
    64x64 (or larger) datasets; class identity survives at 32x32 for our datasets."""

    def __init__(
        self, channels: int, num_classes: int, width: int = 32, feature_dim: int = 128, input_size: int = 32
    ) -> None:
        super().__init__()
        self.input_size = input_size
        w = width
        self.body = nn.Sequential(
            *_conv_bn(channels, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w), *_conv_bn(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.embed = nn.Sequential(nn.Linear(4 * w, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = from_pixels(x)
        if max(x.shape[-2:]) > self.input_size:
            s = self.input_size
            x = F.interpolate(x, size=(s, s), mode="area")  # (B, C, s, s), box-filtered
        return self.embed(self.body(x))  # (B, C, H, W) -> (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, num_classes)


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 0..255 (exact for 8-bit sources; 4x smaller in memory)."""
    return ((x.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def from_pixels(q: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 in [-1, 1]."""
    return q.float() / 127.5 - 1


@dataclass
class TrainedClassifier:
    """A fitted classifier with its held-out accuracy; a ``FeatureExtractor``."""

    model: SmallClassifier
    accuracy: float  # on the dataset's test split, never the training split
    class_names: list[str]
    meta: dict[str, Any]
    path: Optional[Path] = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def feature_dim(self) -> int:
        return self.model.head.in_features

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) in [-1, 1] (or uint8 pixels) -> features (N, D) and softmax
        probabilities (N, K), on CPU."""
        self.model.eval()
        feats, probs = [], []
        for i in range(0, images.shape[0], batch):
            xb = images[i : i + batch].to(self.device)
            f = self.model.features(xb if xb.dtype == torch.uint8 else xb.float())  # (b, D)
            feats.append(f.float().cpu())
            probs.append(self.model.head(f).softmax(dim=1).float().cpu())  # (b, K)
        return torch.cat(feats), torch.cat(probs)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed(images)[0]


# -- data ------------------------------------------------------------------------------


def _default_dataset_fn(spec: str, split: str, options: DataOptions) -> Any:
    from ..data import make_dataset  # the data package's spec parser and registry

    return make_dataset(spec, split, options)


def load_split(
    spec: str, split: str, image_size: int, channels: int, dataset_fn: Optional[DatasetFn] = None
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """All images of one split as uint8 pixels (N, C, H, W) (``from_pixels`` gives [-1, 1]),
    their labels (N,) and the class names."""
    options = DataOptions(image_size=image_size, channels=channels, crop="center", flip=False, normalize=True)
    ds = (dataset_fn or _default_dataset_fn)(spec, split, options)
    n = len(ds)
    if n == 0:
        raise DataError(f"dataset {spec!r} has an empty {split!r} split")
    loader = torch.utils.data.DataLoader(ds, batch_size=512, shuffle=False, num_workers=0)
    images, labels = [], []
    for b in loader:
        images.append(to_pixels(b["image"]))
        labels.append(b["label"].long().reshape(-1))
    x, y = torch.cat(images), torch.cat(labels)  # (N, C, H, W), (N,)
    if tuple(x.shape[1:]) != (channels, image_size, image_size):
        raise DataError(
            f"dataset {spec!r} ({split}) gave images of shape {tuple(x.shape[1:])}, "
            f"expected {(channels, image_size, image_size)}"
        )
    names = list(getattr(ds, "class_names", None) or [])
    k = int(getattr(ds, "num_classes", 0) or len(names) or int(y.max()) + 1)
    if int(y.min()) < 0 or int(y.max()) >= k:
        raise DataError(
            f"dataset {spec!r} ({split}) has labels outside 0..{k - 1} (found {int(y.min())}..{int(y.max())}); "
            "the metric classifier needs a labelled dataset"
        )
    return x, y, names if len(names) == k else [str(i) for i in range(k)]


# -- training --------------------------------------------------------------------------


def _random_shift(x: torch.Tensor, frac: float, gen: torch.Generator) -> torch.Tensor:
    """Translate each image (B, C, H, W) by up to ``frac`` of its size, border-padded."""
    if frac <= 0:
        return x
    b = x.shape[0]
    t = (torch.rand(b, 2, generator=gen) * 2 - 1) * (2 * frac)  # in grid units ([-1, 1] spans the image)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = t
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch: int = 500) -> float:
    """Share of ``x`` (N, C, H, W) that ``model`` labels as ``y`` (N,)."""
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        pred = model(x[i : i + batch].to(device)).argmax(dim=1).cpu()  # uint8 or float input
        correct += int((pred == y[i : i + batch]).sum())
    return correct / x.shape[0]


def fit_classifier(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, config: ClassifierConfig, device: torch.device
) -> SmallClassifier:
    """Train a ``SmallClassifier`` on images ``x`` (N, C, H, W) and labels ``y`` (N,)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = SmallClassifier(x.shape[1], num_classes, config.width, config.feature_dim, config.input_size)
        model = model.to(device)
    gen = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(1, x.shape[0] // config.batch_size)  # drop the last partial batch (BN)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs * steps_per_epoch)
    for epoch in range(config.epochs):
        model.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * config.batch_size : (s + 1) * config.batch_size]
            xb = x[idx]
            xb = _random_shift(from_pixels(xb) if xb.dtype == torch.uint8 else xb, config.shift, gen)  # (b, C, H, W)
            xb = xb.to(device)
            loss = F.cross_entropy(model(xb), y[idx].to(device))
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"metric classifier: non-finite loss at epoch {epoch} step {s}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        log.info("metric classifier epoch %d/%d: loss %.4f", epoch + 1, config.epochs, total / steps_per_epoch)
    return model.eval()


# -- cache -----------------------------------------------------------------------------


def default_cache_dir() -> Path:
    root = os.environ.get("GANAS_CACHE")
    return Path(root) / "classifiers" if root else Path.home() / ".cache" / "ganas" / "classifiers"


def cache_key(spec: str, image_size: int, channels: int, config: ClassifierConfig) -> dict[str, Any]:
    """Everything that decides which classifier a cache file holds."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec,
        "image_size": int(image_size),
        "channels": int(channels),
        "fit_split": FIT_SPLIT,
        "eval_split": EVAL_SPLIT,
        "config": dataclasses.asdict(config),
    }


def cache_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "_", Path(key["spec"]).name if ":" not in key["spec"] else key["spec"].split(":")[0])
    return cache_dir / f"{slug.strip('_')[:40]}-{key['image_size']}px-{key['channels']}ch-{h}.pt"


def _digest(meta: dict[str, Any], state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_classifier(path: Path, model: SmallClassifier, meta: dict[str, Any]) -> None:
    """Write atomically (``ganas.fileio.atomic_write``)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"meta": meta, "state_dict": state, "digest": _digest(meta, state)}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_classifier(
    path: Path, key: Optional[dict[str, Any]] = None, device: str | torch.device = "cpu"
) -> TrainedClassifier:
    """Load a cached classifier (``weights_only=True``), refusing files that fail the digest
    or whose stored key differs from ``key``."""
    hint = f"delete {path} to retrain it"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or a pickle with disallowed objects
        raise CheckpointError(f"classifier cache {path} cannot be loaded safely ({type(e).__name__}: {e}); {hint}") from e
    if not (isinstance(payload, dict) and {"meta", "state_dict", "digest"} <= payload.keys()):
        raise CheckpointError(f"classifier cache {path} is not a ganas classifier file; {hint}")
    meta, state = payload["meta"], payload["state_dict"]
    if not (isinstance(meta, dict) and isinstance(state, dict) and isinstance(meta.get("key"), dict)) or (
        meta["key"].get("format") != FORMAT
    ):
        raise CheckpointError(f"classifier cache {path} is not a ganas classifier file; {hint}")
    if _digest(meta, state) != payload["digest"]:
        raise CheckpointError(f"classifier cache {path} was modified or corrupted (digest mismatch); {hint}")
    if key is not None and meta["key"] != key:
        raise CheckpointError(f"classifier cache {path} holds a different classifier ({meta['key']}); {hint}")
    k, cfg = meta["key"], meta["key"]["config"]
    model = SmallClassifier(k["channels"], len(meta["class_names"]), cfg["width"], cfg["feature_dim"], cfg["input_size"])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"classifier cache {path} does not match the network ({e}); {hint}") from e
    dev = torch.device(device)
    return TrainedClassifier(model.to(dev).eval(), float(meta["accuracy"]), list(meta["class_names"]), meta, path, dev)


@FEATURES.register("classifier", help="small CNN trained on the dataset's real training split (cached)")
def get_classifier(
    spec: str,
    image_size: int,
    channels: int,
    cache_dir: Optional[str | Path] = None,
    config: Optional[ClassifierConfig] = None,
    dataset_fn: Optional[DatasetFn] = None,
    device: str | torch.device = "cpu",
    retrain: bool = False,
) -> TrainedClassifier:
    """The metric classifier of ``spec`` at this size: loaded from the cache, or trained on
    the ``train`` split, scored on the ``test`` split and cached."""
    config = config or ClassifierConfig()
    key = cache_key(spec, image_size, channels, config)
    path = cache_path(Path(cache_dir) if cache_dir is not None else default_cache_dir(), key)
    if path.exists() and not retrain:
        log.info("metric classifier: cache hit %s", path)
        return load_classifier(path, key, device)
    dev = torch.device(device)
    t0 = time.perf_counter()
    x, y, names = load_split(spec, FIT_SPLIT, image_size, channels, dataset_fn)
    xt, yt, names_t = load_split(spec, EVAL_SPLIT, image_size, channels, dataset_fn)
    if names_t != names:
        raise DataError(f"dataset {spec!r}: train and test splits name different classes ({names} vs {names_t})")
    if x.shape[0] < 2:
        raise DataError(f"dataset {spec!r}: the train split has {x.shape[0]} image(s); the classifier needs more")
    model = fit_classifier(x, y, len(names), config, dev)
    acc = accuracy(model, xt, yt, dev)
    seconds = time.perf_counter() - t0
    meta = {
        "key": key,
        "accuracy": acc,
        "class_names": names,
        "n_train": int(x.shape[0]),
        "n_test": int(xt.shape[0]),
        "train_seconds": seconds,
    }
    log.info("metric classifier for %s: held-out accuracy %.4f (%d test images, %.1f s)", spec, acc, xt.shape[0], seconds)
    save_classifier(path, model, meta)
    return TrainedClassifier(model, acc, names, meta, path, dev)
