"""Distribution and factor scores of image-to-image translations (pix2pix, CycleGAN).

``evaluate_translation`` (``ganas eval RUN`` on a pix2pix or CycleGAN run, through
``workflows.translation.evaluate_paired``) adds two measures to L1, PSNR, SSIM and
sharpness (``metrics/image_quality.py``):

**FD of the translations against the real targets** (``fd``, with ``fd_real_floor`` at
matched sizes: ``gan_metrics.fd_at_matched_sizes``). Features: the self-supervised
extractor (``metrics/selfsup.py``, SimCLR) trained on the *target domain's training
images* (the field the method outputs: B for AtoB, A for pix2pix BtoA) and cached like
every metric network (``metrics/cache.py``, keyed on those images' fingerprint).
NOTE, why not the metric classifier: translation data carry no class labels (aligned,
paired, unaligned folders have none; the built-in tasks have scene factors, but those
feed the factor classifiers below, the label-based measure); one label-free extractor
for every translation dataset keeps FD defined the same way on built-in and user data.
``features="inception"`` (a local weights file) works too.

When every translated image has its own true target (pix2pix's paired test split, the
hidden pairs of ``shapes?task=day2night``), the comparison is *paired*: the real targets
are split into a probe P and a disjoint reference R; ``fd`` scores the translations of
P's inputs against R and ``fd_real_floor`` P's real targets against R -- the same scenes
at the same size, so a perfect translator scores exactly the floor. Without true pairs
(an ``unaligned:`` test split) the unique translated test A images are scored against
the unique real test B images as an unconditional generator's samples are.

**Factor accuracy** (built-in ``shapes?task=...`` data only, whose items carry the
scene's true ``factors``): one ``SmallClassifier`` per factor (shape, colour), fitted with
``metrics.classifier.fit_classifier_on`` (the machinery of the StarGAN and GAN-CLS
evaluations) on up to ``factor_train`` real *training* images of the target domain with
their own scenes' factors; ``factor_accuracy[f]`` is the share of translated test images
the classifier labels with the true factor of the scene translated (for day2night, the
scene of the hidden pair), ``classifier_accuracy[f]`` the same classifier on the real
test targets (the ceiling a perfect translator reaches).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..data.base import DataOptions
from ..data.transforms import CENTER, item_rng
from ..errors import ConfigError, DataError, GanasError
from .attributes import predict_classes
from .cache import base_key, cache_path, dataset_fingerprint, load_or_fit, resolve_cache_dir
from .classifier import ClassifierConfig, SmallClassifier, fit_classifier_on, to_pixels
from .gan_metrics import create_extractor, fd_at_matched_sizes
from .image_quality import PairedImageMetrics

#: the scene factors the factor classifiers check (names of ``ganas.data.shapes.FACTOR_NAMES``)
FACTOR_GROUPS: tuple[str, ...] = ("shape", "colour")
#: real training images each factor classifier sees (as GAN-CLS's ``fit_factor_classifier``)
FACTOR_TRAIN = 5000
#: NOTE: the metric classifier's recipe with batch 64 and 8 epochs (625 steps on 5,000
#: images, as many as the metric classifier's 4 epochs of 20,000 at batch 128): with its
#: 4 epochs at batch 128 (156 steps) the shape classifier read 41% of real 64 px photos
#: (benchmarks/translation_quality.py, edges2photo), too weak a ceiling
FACTOR_CLASSIFIER = ClassifierConfig(batch_size=64, epochs=8)
FACTOR_FORMAT, FACTOR_VERSION, FACTOR_KIND = "ganas-factor-classifiers", 1, "factor_classifiers"


# -- the target domain as a dataset of single images ----------------------------------------


class TargetImages(Dataset):
    """The images of one side of a pair dataset as ``{"image", "label": -1}`` items (plus
    ``"factors"`` where the pair data has them, which then describe this side's scenes):
    what the self-supervised extractor and the factor classifiers train on.

    ``pairs`` must yield the wanted side as its field "A" (``open_target`` opens it so);
    the attributes ``dataset_fingerprint`` reads (``files`` or the procedural ``targets``,
    ``params``, ``spec``) are forwarded, so the cache key follows the side's contents."""

    def __init__(self, pairs: Any, side: str) -> None:
        self.pairs, self.side = pairs, side
        self.spec = f"{pairs.spec}#{side}"
        self.class_names: list[str] = []
        n = len(pairs)
        self.targets = np.full(n, -1, dtype=np.int64)
        sources = [pairs.side(j, side, (j, 0, 0))[2] for j in range(n)]
        if all(Path(s).is_file() for s in sources):  # paired:, unaligned: one file per image
            self.files = [Path(s) for s in sources]
        elif len(getattr(pairs, "files", None) or []) == n:  # aligned: A|B in one file
            self.files = list(pairs.files)
        else:  # procedural (shapes): its spec, params and options name the images
            self.params = {"params": pairs.params, "options": pairs.options}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """Item ``i`` as ``pairs[i]`` yields its field "A" (the other side is not loaded)."""
        p = self.pairs
        j = p._index(i)
        key = (j, 0, 0)
        jitter = p.transforms["A"].draw(item_rng(j, 0, 0)) if p.transforms["A"].random else CENTER
        cache_key, load, source = p.side(j, self.side, key)
        image = p.field_image((self.side, cache_key), load, source, p.transforms["A"], jitter, "A")
        return {"image": image, "label": torch.tensor(-1, dtype=torch.int64), **p.extras(j, key, jitter)}


def open_target(data: str, split: str, options: DataOptions, target: str) -> TargetImages:
    """The images the field ``target`` ("A" or "B") of ``data`` yields under ``options``,
    of ``split``, centre-cropped and unflipped: the pair data re-opened with the direction
    that puts that side in field "A" (whose ``factors`` the built-in tasks give; the
    fields' channel counts follow the side)."""
    from ..data import make_dataset

    opts = dataclasses.replace(options, crop="center", flip=False)
    probe = make_dataset(data, split, opts)
    side = probe.other(target)  # the data's side ("A"/"B", before direction) behind the field
    ch = {f: probe.field_shapes[f][0] for f in ("A", "B")}
    other = "B" if target == "A" else "A"
    pairs = make_dataset(data, split, opts, direction="AtoB" if side == "A" else "BtoA",
                         channels_A=ch[target], channels_B=ch[other])
    return TargetImages(pairs, side)


# -- factor classifiers -----------------------------------------------------------------------


def _factor_index(name: str) -> int:
    from ..data.shapes import FACTOR_NAMES

    return FACTOR_NAMES.index(name)


def _factor_classes(name: str) -> int:
    from ..data.shapes import FACTORS

    return len(FACTORS[name])


def read_target(images: TargetImages, limit: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded choice of up to ``limit`` items: uint8 images (N, C, s, s), area-resized
    to ``size`` when larger (what the classifier sees anyway), and their factors (N, F)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:limit].tolist()
    loader = DataLoader(torch.utils.data.Subset(images, order), batch_size=256, shuffle=False, num_workers=0,
                        generator=torch.Generator())
    xs, fs = [], []
    for b in loader:
        if "factors" not in b:
            raise DataError(f"{images.spec}: items carry no 'factors'; factor accuracy needs the built-in "
                            "shapes?task=edges2photo|label2photo|day2night")
        x = b["image"].float()  # (b, C, H, W) in [-1, 1]
        if max(x.shape[-2:]) > size:
            x = F.interpolate(x, size=(size, size), mode="area")
        xs.append(to_pixels(x))
        fs.append(b["factors"])
    return torch.cat(xs), torch.cat(fs)


def fit_factor_classifiers(images: torch.Tensor, factors: torch.Tensor, config: ClassifierConfig,
                           device: torch.device, groups: Iterable[str] = FACTOR_GROUPS) -> dict[str, SmallClassifier]:
    """One classifier per factor of ``groups`` on uint8 ``images`` (N, C, H, W) with their
    ``factors`` (N, F) (``FACTOR_NAMES`` order); seed ``config.seed + k`` for the k-th."""
    with torch.enable_grad():
        return {g: fit_classifier_on(images, factors[:, _factor_index(g)], _factor_classes(g),
                                     dataclasses.replace(config, seed=config.seed + k), device)
                for k, g in enumerate(groups)}


def get_factor_classifiers(images: TargetImages, channels: int, config: ClassifierConfig, limit: int, *,
                           seed: int = 0, cache_dir: Optional[str | Path] = None,
                           device: torch.device = torch.device("cpu")) -> tuple[dict[str, SmallClassifier], int]:
    """The factor classifiers of the target images (``FACTOR_GROUPS``) and the number of
    training images they saw: from the cache (``$GANAS_CACHE/factor_classifiers``, keyed on
    the images' fingerprint, ``limit``, ``seed`` and ``config``), else fitted
    (``read_target`` + ``fit_factor_classifiers``) and cached."""
    key = {**base_key(FACTOR_FORMAT, FACTOR_VERSION, images.spec, images.pairs.options.image_size, channels),
           "data": dataset_fingerprint(images), "limit": int(limit), "sample_seed": int(seed),
           "config": dataclasses.asdict(config), "groups": list(FACTOR_GROUPS)}

    def fit() -> tuple[torch.nn.Module, dict[str, Any]]:
        x, f = read_target(images, limit, config.input_size, seed)
        return torch.nn.ModuleDict(fit_factor_classifiers(x, f, config, device)), {"n_train": len(x)}

    models, meta = load_or_fit(
        cache_path(resolve_cache_dir(cache_dir, FACTOR_KIND), key), FACTOR_FORMAT, "factor classifier", key,
        lambda: torch.nn.ModuleDict({g: SmallClassifier(channels, _factor_classes(g), config.width,
                                                        config.feature_dim, config.input_size)
                                     for g in FACTOR_GROUPS}), fit)
    return {g: m.to(device).eval() for g, m in models.items()}, int(meta["n_train"])


@dataclass
class FactorTally:
    """Correct predictions of each factor classifier on translated and real images."""

    models: dict[str, SmallClassifier]
    device: torch.device
    fake: dict[str, int] = field(default_factory=dict)
    real: dict[str, int] = field(default_factory=dict)
    n: int = 0

    def update(self, fake: torch.Tensor, real: torch.Tensor, factors: torch.Tensor) -> None:
        """``fake``, ``real`` (b, C, H, W) in [-1, 1]; ``factors`` (b, F) of their scene."""
        for g, model in self.models.items():
            truth = factors[:, _factor_index(g)].cpu()
            for images, tally in ((fake, self.fake), (real, self.real)):
                pred, _ = predict_classes(model, images, self.device)
                tally[g] = tally.get(g, 0) + int((pred == truth).sum())
        self.n += len(factors)

    def compute(self) -> dict[str, dict[str, float]]:
        return {"factor_accuracy": {g: self.fake[g] / self.n for g in self.models},
                "classifier_accuracy": {g: self.real[g] / self.n for g in self.models}}


# -- the evaluation ---------------------------------------------------------------------------


@dataclass
class TranslationEvalConfig:
    """Options of ``evaluate_translation``."""

    features: str = "selfsup"  # an entry of metrics.FEATURES trained without labels
    extractor_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"config": SelfSupConfig(...)}
    factor_train: int = FACTOR_TRAIN  # real training images per factor classifier
    classifier: ClassifierConfig = field(default_factory=lambda: dataclasses.replace(FACTOR_CLASSIFIER))
    batch_size: int = 8
    seed: int = 0  # test-time dropout noise, FD splits, classifier seeds
    cache_dir: Optional[str | Path] = None
    progress: Optional[bool] = None


def _target_features(data: str, options: DataOptions, target: str, shape: tuple[int, int, int],
                     config: TranslationEvalConfig, device: torch.device) -> Any:
    """The feature extractor trained on the target domain's training images."""
    if config.features == "classifier":
        raise ConfigError("translation data carry no class labels for the metric classifier; FD of translations "
                          "uses --features selfsup (the default) or inception")

    def dataset_fn(spec: str, split: str, _opts: DataOptions) -> TargetImages:
        return open_target(data, split, options, target)

    common = {"cache_dir": config.cache_dir, "dataset_fn": dataset_fn, "device": device, "progress": config.progress}
    return create_extractor(config.features, f"{data}#{target}", shape[1], shape[0], common,
                             dict(config.extractor_options))


def _fd(real: torch.Tensor, fake: torch.Tensor, paired: bool, seed: int) -> dict[str, Any]:
    n_probe = real.shape[0] // 2 if paired else min(fake.shape[0], real.shape[0] // 2)
    try:
        return fd_at_matched_sizes(real, fake, n_probe, seed=seed, paired=paired)
    except GanasError:  # too few test images for a probe and a reference
        return {"fd": None, "fd_real_floor": None}


def _first_seen(keys: list[Any], seen: set) -> list[int]:
    """Positions of ``keys`` not in ``seen`` (added to it)."""
    keep = []
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return keep


def evaluate_translation(
    translate: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]],
    data: str, options: DataOptions, target: str, *, device: torch.device, paired: Optional[bool] = None,
    max_items: Optional[int] = None, config: Optional[TranslationEvalConfig] = None,
) -> dict[str, Any]:
    """Scores of ``translate`` (a test batch ``{"A", "B", ...}`` -> (translations, real
    targets), both (b, C, H, W) in [-1, 1]) on the first ``max_items`` items of the test
    split of ``data`` opened with ``options``. ``target``: the field the translations
    imitate ("A" or "B"); ``paired``: whether each real target is the true pair of its
    translation (None: when the items carry ``B_true``).

    Returns ``{"L1", "PSNR", "SSIM", "sharpness"`` (None when not paired), ``"fd"``,
    ``"fd_real_floor"``... (``fd_at_matched_sizes``; None when the split is too small),
    ``"features"``, ``"paired"``, ``"n"``, and on built-in data ``"factor_accuracy"``,
    ``"classifier_accuracy"`` (``{"shape", "colour"}``) and ``"factor_train"``}``.
    """
    from ..data import make_dataset

    cfg = config or TranslationEvalConfig()
    if target not in ("A", "B"):
        raise ConfigError(f"target must be 'A' or 'B', got {target!r}")
    ds = make_dataset(data, "test", options)
    n = len(ds) if max_items is None else min(len(ds), max_items)
    if n == 0:
        raise ConfigError(f"--data {data!r}: the test split is empty")
    first = ds[0]
    paired = "B_true" in first if paired is None else paired
    shape = tuple(first[target].shape)
    extractor = _target_features(data, options, target, shape, cfg, device)
    tally, n_fit = None, 0
    if "factors" in first:
        models, n_fit = get_factor_classifiers(open_target(data, "train", options, target), shape[0], cfg.classifier,
                                               cfg.factor_train, seed=cfg.seed, cache_dir=cfg.cache_dir, device=device)
        tally = FactorTally(models, device)

    metrics = PairedImageMetrics()
    source = "A" if target == "B" else "B"
    fake_feats, real_feats, seen_in, seen_out = [], [], set(), set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)  # test-time dropout noise (pix2pix) fixed
        for b in range(0, n, cfg.batch_size):
            items = [ds[i] for i in range(b, min(n, b + cfg.batch_size))]
            batch = {k: torch.stack([it[k] for it in items]) for k in ("A", "B", "B_true", "factors") if k in items[0]}
            fake, real = (t.float().cpu() for t in translate(batch))  # (b, C, H, W) each
            keep_fake = keep_real = list(range(len(items)))
            if paired:
                metrics.update(fake, real)
            else:  # each test image once (an unaligned split repeats its shorter side)
                keep_fake = _first_seen([it.get(f"{source}_path", i + b) for i, it in enumerate(items)], seen_in)
                keep_real = _first_seen([it.get(f"{target}_path", i + b) for i, it in enumerate(items)], seen_out)
            if keep_fake:
                fake_feats.append(extractor.features(fake[keep_fake]).float().cpu())
            if keep_real:
                real_feats.append(extractor.features(real[keep_real]).float().cpu())
            if tally is not None:
                tally.update(fake, real, batch["factors"])
    keys = ("L1", "PSNR", "SSIM", "sharpness")
    out: dict[str, Any] = dict(metrics.compute()) if paired else dict.fromkeys(keys)
    out["n"] = n
    out["paired"] = paired
    out.update(_fd(torch.cat(real_feats), torch.cat(fake_feats), paired, cfg.seed))
    out["features"] = cfg.features
    if tally is not None:
        out.update(tally.compute())
        out["factor_train"] = n_fit
    return out
