"""A small CNN classifier trained on a dataset's real training split, used as the
feature extractor of the GAN metrics (Fréchet distance, precision/recall) and for the
class coverage / confidence scores.

Why not Inception-v3: FID (Heusel et al. 2017) uses ImageNet Inception features, which
need a large download and say little about 32x32 digits. Domain classifiers are the
usual substitute for small datasets (e.g. the MNIST classifier of "Are GANs Created
Equal?", Lucic et al. 2018, and the "Classifier FID"/mode-count scores built on it).
NOTE: the numbers are therefore comparable only between runs that share the same
classifier (same dataset contents, image size, channels and training config), which is
exactly what the cache key holds.

The classifier needs at least two labelled classes: on unlabelled or single-class data
(the usual DCGAN case: a folder of faces or rooms) it would learn nothing and call
every sample confident, so ``get_classifier`` refuses with ``NeedsLabelsError`` and
points to the self-supervised extractor (``--features selfsup``, ``metrics/selfsup.py``).

The classifier is cached (``metrics/cache.py``) under a hash of the dataset's resolved
contents (train and test splits), image size, channel count, the split it was fitted to
("train"), the split its accuracy was measured on ("test"), the training config and the
ganas version; in ``cache_dir``, else ``$GANAS_CACHE/classifiers``, else
``~/.cache/ganas/classifiers``. Training shows a tqdm bar (``progress``; by default only
on a terminal).

Measured with the default config (one CPU thread, 2-core machine shared with other jobs;
load + train + score): ``mnist:`` t10k carve 8500/1500 at 32x32x1: 99.13% held-out in
44 s; ``digits`` 1438/359 at 32x32x1: 96.4% in 11 s; ``shapes`` 20000/2000 at 32x32x3:
91.9% in 103 s.
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
from torch import nn

from ..errors import CheckpointError, DataError
from ..train import supervised
from ..train.supervised import DatasetFn, LabelledData, from_pixels, open_split, read_split, to_pixels
from .cache import base_key, cache_path, dataset_fingerprint, load_network, resolve_cache_dir, save_network
from .features import FEATURES

log = logging.getLogger(__name__)

__all__ = [
    "ClassifierConfig", "DatasetFn", "NeedsLabelsError", "SmallClassifier", "TrainedClassifier", "cache_key",
    "fit_classifier", "from_pixels", "get_classifier", "load_classifier", "to_pixels",
]

#: bump when the network or the file layout changes (old cache files then miss)
FORMAT = "ganas-classifier"
VERSION = 2
FIT_SPLIT, EVAL_SPLIT = "train", "test"
CACHE_KIND = "classifiers"


class NeedsLabelsError(DataError):
    """The dataset has no labels or a single class: classifier features would be meaningless."""


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
    # robustness to imperfect generated images (0 = none): half the training images are
    # blurred with a Gaussian of sigma ~ U(0, blur) pixels, every image gets noise of
    # std ~ U(0, noise) (in [-1, 1] units). See ``random_degrade``.
    blur: float = 0.0
    noise: float = 0.0
    seed: int = 0


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def conv_trunk(channels: int, width: int) -> nn.Sequential:
    """Three conv blocks (conv-BN-ReLU, max-pool), global average pooling:
    (B, channels, H, W) -> (B, 4 * width). Shared by the classifier and ``selfsup``."""
    w = width
    return nn.Sequential(
        *_conv_bn(channels, w), nn.MaxPool2d(2),
        *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
        *_conv_bn(2 * w, 4 * w), *_conv_bn(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )  # fmt: skip


def fit_input(x: torch.Tensor, input_size: int) -> torch.Tensor:
    """uint8 pixels or floats (B, C, H, W) -> floats in [-1, 1], box-filtered (area) down to
    ``input_size`` when larger."""
    x = from_pixels(x)
    if max(x.shape[-2:]) > input_size:
        x = F.interpolate(x, size=(input_size, input_size), mode="area")  # (B, C, s, s)
    return x


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
        self.body = conv_trunk(channels, width)
        self.embed = nn.Sequential(nn.Linear(4 * width, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.body(fit_input(x, self.input_size)))  # (B, C, H, W) -> (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, num_classes)


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


# -- training --------------------------------------------------------------------------


def random_shift(x: torch.Tensor, frac: float, gen: torch.Generator) -> torch.Tensor:
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


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of ``x`` (B, C, H, W) with its own Gaussian of std ``sigma`` (B,)
    pixels (0 = unchanged), separable, border-replicated."""
    b, c, h, w = x.shape
    r = max(1, int(math.ceil(3 * float(sigma.max()))))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)  # (K,)
    s = sigma.to(x.device, x.dtype).clamp_min(1e-3)[:, None]  # (B, 1)
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, dim=0)  # (B*C, K)
    y = F.pad(x.reshape(1, b * c, h, w), (r, r, r, r), mode="replicate")  # (1, B*C, H+2r, W+2r)
    y = F.conv2d(y, k[:, None, None, :], groups=b * c)  # rows: (1, B*C, H+2r, W)
    y = F.conv2d(y, k[:, None, :, None], groups=b * c)  # columns: (1, B*C, H, W)
    return y.reshape(b, c, h, w)


def random_degrade(x: torch.Tensor, blur: float, noise: float, gen: torch.Generator) -> torch.Tensor:
    """The blur / noise augmentation of ``ClassifierConfig`` on (B, C, H, W) in [-1, 1]:
    half the images (at random) blurred with sigma ~ U(0, ``blur``), then Gaussian noise
    of std ~ U(0, ``noise``) per image; clamped to [-1, 1]. Identity when both are 0."""
    b = x.shape[0]
    if blur > 0:
        sigma = torch.rand(b, generator=gen) * blur * (torch.rand(b, generator=gen) < 0.5)  # (B,)
        if bool((sigma > 0).any()):
            x = gaussian_blur(x, sigma)
    if noise > 0:
        std = (torch.rand(b, 1, 1, 1, generator=gen) * noise).to(x.device, x.dtype)
        x = x + std * torch.randn(x.shape, generator=gen).to(x.device, x.dtype)
    return x.clamp(-1, 1) if blur > 0 or noise > 0 else x


def fit_classifier(
    data: LabelledData, config: ClassifierConfig, device: torch.device, progress: Optional[bool] = False
) -> SmallClassifier:
    """Train a ``SmallClassifier`` on ``data`` (AdamW, one-cycle schedule, random shifts)."""
    model = supervised.build_seeded(
        lambda: SmallClassifier(
            data.pixels.shape[1], data.num_classes, config.width, config.feature_dim, config.input_size
        ),
        config.seed,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    stats = supervised.fit(
        model, data, epochs=config.epochs, batch_size=config.batch_size, optimizer=opt,
        make_scheduler=lambda o, total: torch.optim.lr_scheduler.OneCycleLR(o, config.lr, total_steps=total),
        seed=config.seed, device=device,
        augment=lambda x, g: random_degrade(random_shift(x, config.shift, g), config.blur, config.noise, g),
        drop_last=True, progress=progress, what="metric classifier",
    )  # fmt: skip
    log.info("metric classifier: last-epoch loss %.4f after %d steps", stats["train_loss"], stats["steps"])
    return model.eval()



def fit_classifier_on(images: torch.Tensor, labels: torch.Tensor, num_classes: int, config: ClassifierConfig,
                      device: torch.device, progress: Optional[bool] = False) -> SmallClassifier:
    """``fit_classifier`` on images already in memory: (N, C, H, W) floats in [-1, 1] or
    uint8 pixels, and labels (N,) in 0..num_classes-1 (the attribute and caption
    evaluations' factor classifiers)."""
    pixels = images.cpu() if images.dtype == torch.uint8 else supervised.to_pixels(images.cpu())
    data = supervised.LabelledData(pixels, labels.long().cpu(),
                                   [str(k) for k in range(int(num_classes))], "tensors", "train")
    return fit_classifier(data, config, device, progress)

def require_classes(labels: torch.Tensor, class_names: list[str], spec: str, split: str) -> None:
    """Refuse unlabelled or single-class training data (``labels`` (N,)), saying what to use instead."""
    present = torch.unique(labels[labels >= 0])
    if int(labels.min()) >= 0 and present.numel() >= 2:
        return
    if int(labels.min()) < 0:
        what = "has no class labels"
    else:
        name = class_names[int(present[0])] if int(present[0]) < len(class_names) else str(int(present[0]))
        what = f"has a single class ({name!r})"
    raise NeedsLabelsError(
        f"dataset {spec!r}: the {split} split {what}, so a classifier learns nothing and its features and "
        "confidences mean nothing. Use features learned without labels on the dataset itself: "
        "`ganas eval RUN --features selfsup` (Python: evaluate_generator(..., extractor=\"selfsup\"))"
    )


# -- cache -----------------------------------------------------------------------------


def cache_key(
    spec: str, image_size: int, channels: int, config: ClassifierConfig, data: Optional[dict[str, Any]] = None
) -> dict[str, Any]:
    """Everything that decides which classifier a cache file holds (``data``: the
    ``dataset_fingerprint`` of each split, by split name)."""
    return {
        **base_key(FORMAT, VERSION, spec, image_size, channels),
        "fit_split": FIT_SPLIT,
        "eval_split": EVAL_SPLIT,
        "data": data or {},
        "config": dataclasses.asdict(config),
    }


def save_classifier(path: Path, model: SmallClassifier, meta: dict[str, Any]) -> None:
    save_network(path, model, meta)


def load_classifier(
    path: Path, key: Optional[dict[str, Any]] = None, device: str | torch.device = "cpu"
) -> TrainedClassifier:
    """Load a cached classifier (``weights_only=True``), refusing files that fail the digest
    or whose stored key differs from ``key``."""
    meta, state = load_network(path, FORMAT, "classifier", key)
    k, cfg = meta["key"], meta["key"]["config"]
    model = SmallClassifier(k["channels"], len(meta["class_names"]), cfg["width"], cfg["feature_dim"], cfg["input_size"])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"classifier cache {path} does not match the network ({e}); delete it to retrain") from e
    dev = torch.device(device)
    return TrainedClassifier(model.to(dev).eval(), float(meta["accuracy"]), list(meta["class_names"]), meta, path, dev)


@FEATURES.register("classifier", help="small CNN trained on the dataset's labelled training split (cached)")
def get_classifier(
    spec: str,
    image_size: int,
    channels: int,
    cache_dir: Optional[str | Path] = None,
    config: Optional[ClassifierConfig] = None,
    dataset_fn: Optional[DatasetFn] = None,
    device: str | torch.device = "cpu",
    retrain: bool = False,
    progress: Optional[bool] = None,
) -> TrainedClassifier:
    """The metric classifier of ``spec`` at this size: loaded from the cache, or trained on
    the ``train`` split, scored on the ``test`` split and cached. ``NeedsLabelsError`` on
    unlabelled or single-class data (use ``selfsup``)."""
    config = config or ClassifierConfig()
    train_ds = open_split(spec, FIT_SPLIT, image_size, channels, dataset_fn)
    labels = supervised.dataset_labels(train_ds)
    if labels is not None:  # refuse before reading any image when the labels are known
        require_classes(torch.from_numpy(labels), list(getattr(train_ds, "class_names", [])), spec, FIT_SPLIT)
    test_ds = open_split(spec, EVAL_SPLIT, image_size, channels, dataset_fn)
    data = {FIT_SPLIT: dataset_fingerprint(train_ds), EVAL_SPLIT: dataset_fingerprint(test_ds)}
    key = cache_key(spec, image_size, channels, config, data)
    path = cache_path(resolve_cache_dir(cache_dir, CACHE_KIND), key)
    if path.exists() and not retrain:
        log.info("metric classifier: cache hit %s", path)
        return load_classifier(path, key, device)
    dev = torch.device(device)
    t0 = time.perf_counter()
    read = dict(labelled=False, purpose="the metric classifier", progress=progress)
    train = read_split(train_ds, spec, FIT_SPLIT, image_size, channels, **read)
    require_classes(train.labels, train.class_names, spec, FIT_SPLIT)
    test = read_split(test_ds, spec, EVAL_SPLIT, image_size, channels, **read)
    if test.class_names != train.class_names:
        raise DataError(
            f"dataset {spec!r}: train and test splits name different classes ({train.class_names} vs {test.class_names})"
        )
    if len(train) < 2:
        raise DataError(f"dataset {spec!r}: the train split has {len(train)} image(s); the classifier needs more")
    model = fit_classifier(train, config, dev, progress)
    acc = supervised.accuracy(model, test, dev)
    seconds = time.perf_counter() - t0
    meta = {
        "key": key,
        "accuracy": acc,
        "class_names": train.class_names,
        "n_train": len(train),
        "n_test": len(test),
        "train_seconds": seconds,
    }
    log.info("metric classifier for %s: held-out accuracy %.4f (%d test images, %.1f s)", spec, acc, len(test), seconds)
    save_classifier(path, model, meta)
    return TrainedClassifier(model, acc, train.class_names, meta, path, dev)
