"""The ``"text"`` evaluation (GAN-CLS): do generated images show what their captions say?

Reed et al. 2016 report no number on their own; the protocol here is the one issue 8
asks for on the built-in task (``shapes?task=captions``), whose captions name known
factors:

- ``caption_consistency``: a factor classifier trained on *real* training images
  (``fit_factor_classifier``: one head over the joint shape x colour label) reads each
  generated image; per factor, the share that agrees with its caption; ``by_size`` the
  same per size the caption names; ``classifier_accuracy`` the classifier on the real
  test images (the ceiling a perfect generator reaches);
- ``fd``: Fréchet distance in that classifier's features;
- ``r_precision``: image-to-text retrieval with the run's trained encoders (AttnGAN's
  R-precision, R = 1), beside the real images' (``r_precision_real``).

Methods are duck-typed (``GANCLS``'s ``config``, ``latent_sampler``,
``generate_from_text``, ``encode_text``, ``E_image``, ``device``), as
``metrics.attributes`` is for StarGAN; ``workflows.text`` calls this for ``ganas eval``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError
from .cache import base_key, cache_path, dataset_fingerprint, load_or_fit, resolve_cache_dir
from .classifier import ClassifierConfig, SmallClassifier, fit_classifier_on, from_pixels, to_pixels
from .frechet import feature_stats, frechet_distance

if TYPE_CHECKING:
    from ..gan.gancls import GANCLS

#: the factors a built-in caption names that the caption-consistency score checks
#: (indices into the items' ``"factors"``: ganas.data.shapes.FACTOR_NAMES)
CONSISTENCY_FACTORS: tuple[str, ...] = ("shape", "colour")


def r_precision(image_feats: torch.Tensor, text_feats: torch.Tensor, candidates: torch.Tensor) -> float:
    """Image-to-text R-precision with R = 1 (AttnGAN's protocol, Xu et al. 2018).

    ``image_feats`` (N, E), ``text_feats`` (M, E); ``candidates`` (N, K) int64 rows of
    ``text_feats`` for each image, column 0 its own caption. The share of images whose
    own caption has the highest cosine similarity among its K candidates (ties count as
    misses)."""
    v = F.normalize(image_feats.float(), dim=1)  # (N, E)
    t = F.normalize(text_feats.float(), dim=1)[candidates]  # (N, K, E)
    s = torch.einsum("ne,nke->nk", v, t)  # (N, K)
    return float((s[:, 0] > s[:, 1:].max(dim=1).values).float().mean())


def _candidates(keys: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """(N, K) caption indices: column 0 = i, then K-1 captions of items whose key (the
    (shape, colour) pair, or the class) differs from item i's, drawn without replacement."""
    n = keys.numel()
    rows = []
    for i in range(n):
        others = torch.nonzero(keys != keys[i]).reshape(-1)
        if others.numel() < k - 1:
            raise DataError(f"R-precision: item {i} has {others.numel()} mismatching captions, fewer than "
                            f"candidates - 1 = {k - 1}; evaluate on more items or fewer candidates")
        pick = others[torch.randperm(others.numel(), generator=gen)[: k - 1]]
        rows.append(torch.cat([torch.tensor([i]), pick]))
    return torch.stack(rows)  # (N, K)


def fitting_candidates(keys: torch.Tensor, k: int) -> int:
    """``k`` or fewer: 1 + the fewest mismatching captions any item has (keys (N,)), so
    every item gets the same number of candidates; 1 when some item has none."""
    fewest = min(int((keys != keys[i]).sum()) for i in range(keys.numel()))
    return max(1, min(k, fewest + 1))


def read_items(spec: str, split: str, image_size: int, channels: int, limit: int, seed: int,
          factors: bool = True) -> dict[str, Any]:
    """Up to ``limit`` items of ``split`` (a seeded choice): uint8 images (N, C, H, W),
    captions (N), factors (N, F) (None with ``factors=False``) and labels (N,) (the
    item's ``label``, -1 where it has none)."""
    from ..data import make_dataset
    from ..data.base import DataOptions

    ds = make_dataset(spec, split, DataOptions(image_size=image_size, channels=channels, flip=False))
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:limit].tolist()
    images, captions, facs, labels = [], [], [], []
    for i in order:
        item = ds[i]
        if "caption" not in item or (factors and "factors" not in item):
            raise DataError(f"evaluate_text: {spec!r} yields no 'factors'/'caption' (it has {', '.join(item)}); "
                            "caption consistency needs the built-in task shapes?task=captions")
        images.append(to_pixels(item["image"]))
        captions.append(item["caption"])
        if factors:
            facs.append(item["factors"])
        labels.append(int(item["label"]) if "label" in item else -1)
    return {"image": torch.stack(images), "caption": captions,
            "factors": torch.stack(facs) if factors else None, "label": torch.tensor(labels),
            "index": torch.tensor(order, dtype=torch.int64)}


@torch.no_grad()
def text_retrieval(method: GANCLS, fake: torch.Tensor, real: torch.Tensor, captions: Sequence[str],
                   keys: torch.Tensor, candidates: int = 100, batch: int = 250, seed: int = 0) -> dict[str, Any]:
    """Image-to-text R-precision (R = 1) of generated ``fake`` (N, C, H, W) in [-1, 1] and
    of ``real`` (N, C, H, W) uint8 images of ``captions`` (N) with the method's trained
    encoders (``E_image`` against ``E_text``): each image's own caption among
    ``candidates - 1`` captions of items of another ``keys`` (N,) value (fewer when some
    item has fewer mismatching ones: ``fitting_candidates``; the number used is returned).
    ``{"r_precision": None, ...}`` without an image encoder (precomputed embeddings) or
    without two keys."""

    k = fitting_candidates(keys, candidates)
    out: dict[str, Any] = {"r_precision": None, "r_precision_real": None, "candidates": k}
    if method.E_image is None or k < 2:
        return out
    cand = _candidates(keys, k, torch.Generator().manual_seed(seed + 2))  # (N, K)
    was_training = method.E_image.training
    method.E_image.eval()  # BatchNorm running statistics of the encoder phase
    try:
        text_feats = torch.cat([method.encode_text(captions[i: i + batch]).cpu()
                                for i in range(0, len(captions), batch)])  # (N, E)

        def image_feats(x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, E)
            assert method.E_image is not None
            return torch.cat([method.E_image(
                (from_pixels(x[i: i + batch]) if x.dtype == torch.uint8 else x[i: i + batch]).to(method.device)
            ).cpu() for i in range(0, x.size(0), batch)])

        out["r_precision"] = r_precision(image_feats(fake), text_feats, cand)
        out["r_precision_real"] = r_precision(image_feats(real), text_feats, cand)
    finally:
        method.E_image.train(was_training)
    return out


@torch.no_grad()
def generate_for_captions(method: GANCLS, captions: Sequence[str], batch: int = 250,
                          seed: int = 0) -> torch.Tensor:
    """One image per caption (N, C, H, W) in [-1, 1] on the CPU, z from a generator seeded
    with ``seed`` (drawn batch by batch, as ``evaluate_text`` does)."""
    gen = torch.Generator().manual_seed(seed)
    fakes = []
    for i in range(0, len(captions), batch):
        texts = list(captions[i: i + batch])
        z = method.latent_sampler.sample(len(texts), generator=gen)
        fakes.append(method.generate_from_text(texts, z).float().cpu())
    return torch.cat(fakes)


def _joint(factors: torch.Tensor) -> torch.Tensor:
    """(N, F) factors -> (N,) joint label shape * n_colours + colour."""
    from ..data.shapes import COLOURS, FACTOR_NAMES

    shape, colour = (FACTOR_NAMES.index(f) for f in CONSISTENCY_FACTORS)
    return factors[:, shape] * len(COLOURS) + factors[:, colour]


#: the factor classifier's recipe. NOTE: ``ClassifierConfig``'s default 4 epochs on 5,000
#: images (156 steps) read only 35.4% of the real 32 px test shapes (colour 100%), too
#: few steps for 6 shapes in 3 sizes at any rotation; 10 epochs on 10,000 images (780
#: steps) read 98.5% of them and 100% of colours (1,000 test images; docs/benchmarks.md,
#: "GAN-CLS quality"), for about 4.5 CPU minutes on one thread. Trained on crisp renders
#: only, that classifier called the right-coloured blurred blobs of an early G one class:
#: colour consistency 0.19 (chance 0.14) on a checkpoint whose grid shows the colours
#: following the captions. With blur (sigma up to 1.5 px on half the training images)
#: and noise (std up to 0.1) it reads 0.63 on the same checkpoint and still 97.4% of
#: real shapes and 100% of real colours; rotated colour channels score far below the
#: real images (``tests/gan/test_gancls.py``).
#: (the seed is set at fit time)
FACTOR_CLASSIFIER = ClassifierConfig(epochs=10, blur=1.5, noise=0.1)
FACTOR_TRAIN_N = 10000
#: ``rounding``: draw a seeded half of the factor classifier's training images with rounded
#: outlines (``data.shapes.render_rounded``, sigma ~ U(0, rounding) x the circumradius).
#: Off by default, measured (``measure_check``, 1,000 test images, docs/benchmarks.md
#: "GAN-CLS"): the default classifier reads shapes rounded by 0.1 of their size at 0.846,
#: by 0.2 at 0.235 (rounded squares 5%, triangles 19%, though still plain to the eye; the
#: rounded pentagons and hexagons are near-discs), and a disc for every caption at 0.170
#: (the floor); trained with rounding 0.1 / 0.2 it reads 0.888 / 0.902 at 0.1 and 0.263 /
#: 0.390 at 0.2, but real shapes at 0.957 / 0.874 instead of 0.980: the ceiling drops more
#: than the rounded readings gain, so caption consistency asks for corners.
FACTOR_ROUNDING = 0.0


#: the factor classifier's cache: ``$GANAS_CACHE/factor_classifiers`` (bump the version
#: when the network, the joint label or the file layout changes; old files then miss)
FACTOR_FORMAT, FACTOR_VERSION, FACTOR_KIND = "ganas-gancls-factor-classifier", 2, "factor_classifiers"
#: options of the built-in caption task that change the captions but neither the images
#: nor their factors (what the factor classifier reads): dropped from its spec, so a run
#: trained with ``wrong=swap`` shares the plain spec's fitted classifier. ``rotation`` does
#: change the images, but ``rotation=upright`` scenes are a subset of the free ones (the
#: same scenes at angle 0), so one classifier, fitted on every rotation, reads both task
#: variants and their figures stay comparable (its ceiling and floor on upright images:
#: ``benchmarks/gancls_quality.py --classifier-only --rotation upright``)
CAPTION_ONLY_OPTIONS: tuple[str, ...] = ("wrong", "rotation")


def factor_classifier_spec(data_spec: str) -> str:
    """``data_spec`` without the options of ``CAPTION_ONLY_OPTIONS`` (``shapes`` only):
    ``shapes?task=captions&wrong=swap`` -> ``shapes?task=captions``."""
    from ..data.spec import parse_spec

    spec = parse_spec(data_spec)
    if spec.name != "shapes" or not set(spec.params) & set(CAPTION_ONLY_OPTIONS):
        return data_spec
    return str(dataclasses.replace(spec, params={k: v for k, v in spec.params.items()
                                                 if k not in CAPTION_ONLY_OPTIONS}))


def _round_half(items: dict[str, Any], ds: Any, image_size: int, rounding: float, seed: int) -> None:
    """Replace a seeded half of ``items["image"]`` (``read_items`` of the dataset ``ds``) by
    the same scenes drawn with outlines rounded by sigma ~ U(0, ``rounding``) x their
    circumradius, in place, through ``ds``'s own mode conversion (``transform.prepare``)."""
    from ..data.shapes import render_rounded

    g = torch.Generator().manual_seed(seed + 7)
    n = len(items["index"])
    rows = torch.randperm(n, generator=g)[: n // 2]
    amounts = torch.rand(len(rows), generator=g) * rounding
    for row, r in zip(rows.tolist(), amounts.tolist()):
        img = render_rounded(ds.scene(int(items["index"][row])), image_size, r)
        a = ds.transform.prepare(img, "render_rounded")  # (H, W, C) uint8
        items["image"][row] = torch.from_numpy(a).permute(2, 0, 1)  # (C, H, W) uint8


def fit_factor_classifier(data_spec: str, image_size: int, channels: int, *, train_n: int = FACTOR_TRAIN_N,
                          classifier: Any = None, seed: int = 0, device: str | torch.device = "cpu",
                          cache_dir: str | Path | None = None, cache: bool = True,
                          rounding: float = FACTOR_ROUNDING) -> nn.Module:
    """A ``SmallClassifier`` over the joint shape x colour label of ``train_n`` real
    training images of ``data_spec`` (``ganas.metrics.classifier.fit_classifier`` with the
    ``ClassifierConfig`` ``classifier``, default ``FACTOR_CLASSIFIER`` with ``seed``).

    Cached (``cache=True``): under ``cache_dir``, else ``$GANAS_CACHE/factor_classifiers``,
    keyed on the train split's contents (``dataset_fingerprint``), the size, ``train_n``,
    ``seed``, ``rounding`` (``FACTOR_ROUNDING``: half the training images drawn with
    outlines rounded by up to that fraction of their size; 0 = none) and the recipe, so a
    second ``ganas eval`` (or ``--eval-every``) of a run on the same data loads it instead
    of fitting it again (minutes on a CPU). Options that change only the captions
    (``factor_classifier_spec``) are not part of the key."""
    from ..data import make_dataset
    from ..data.base import DataOptions
    from ..data.shapes import COLOURS, SHAPES

    cfg = classifier if classifier is not None else dataclasses.replace(FACTOR_CLASSIFIER, seed=seed)
    data_spec = factor_classifier_spec(data_spec)  # one classifier for every caption variant
    n_classes = len(SHAPES) * len(COLOURS)
    dev = torch.device(device)

    if rounding < 0:
        raise ConfigError(f"factor classifier: rounding must be >= 0, got {rounding}")
    ds = make_dataset(data_spec, "train", DataOptions(image_size=image_size, channels=channels, flip=False))
    if rounding > 0 and not hasattr(ds, "scene"):
        raise ConfigError(f"factor classifier: rounding needs the built-in shapes scenes, not {data_spec!r}")

    def fit() -> tuple[nn.Module, dict[str, Any]]:
        train = read_items(data_spec, "train", image_size, channels, train_n, seed)
        if rounding > 0:
            _round_half(train, ds, image_size, rounding, seed)
        with torch.enable_grad():
            return fit_classifier_on(train["image"], _joint(train["factors"]), n_classes, cfg, dev), \
                {"n_train": len(train["caption"])}

    if not cache:
        return fit()[0]
    key = {**base_key(FACTOR_FORMAT, FACTOR_VERSION, data_spec, image_size, channels),
           "data": dataset_fingerprint(ds), "train_n": int(train_n), "sample_seed": int(seed),
           "config": dataclasses.asdict(cfg), "factors": list(CONSISTENCY_FACTORS), "rounding": float(rounding)}
    model, _ = load_or_fit(cache_path(resolve_cache_dir(cache_dir, FACTOR_KIND), key), FACTOR_FORMAT,
                           "factor classifier", key,
                           lambda: SmallClassifier(channels, n_classes, cfg.width, cfg.feature_dim, cfg.input_size),
                           fit)
    return model.to(dev).eval()


@torch.no_grad()
def predict_factors(model: nn.Module, x: torch.Tensor, batch: int = 250,
                    device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The factor classifier ``model`` (``fit_factor_classifier``) on images ``x``
    (N, C, H, W), uint8 pixels or floats in [-1, 1]: its features (N, D) and the predicted
    (shape, colour) (N, 2), each the argmax of its marginal of the joint softmax."""
    from ..data.shapes import COLOURS

    dev = torch.device(device)
    feats, probs = [], []
    for i in range(0, x.size(0), batch):
        xb = x[i: i + batch].to(dev)
        f = model.features(from_pixels(xb) if xb.dtype == torch.uint8 else xb.float())  # (b, D)
        feats.append(f.cpu())
        probs.append(model.head(f).softmax(dim=1).cpu())
    p = torch.cat(probs).reshape(x.size(0), -1, len(COLOURS))  # (N, shapes, colours)
    return torch.cat(feats), torch.stack([p.sum(2).argmax(1), p.sum(1).argmax(1)], dim=1)  # (N, D), (N, 2)


def confusion(truth: torch.Tensor, pred: torch.Tensor, k: int) -> list[list[int]]:
    """(k, k) counts as nested lists: row = the true class (N,), column = the predicted
    one (N,), both int64 in 0..k-1."""
    counts = torch.bincount(truth.long() * k + pred.long(), minlength=k * k)  # (k * k,)
    return counts.reshape(k, k).tolist()


def per_class_accuracy(matrix: Sequence[Sequence[int]]) -> list[float | None]:
    """The diagonal over each row's sum of a ``confusion`` matrix (None for an empty row)."""
    return [row[i] / sum(row) if sum(row) else None for i, row in enumerate(matrix)]


@torch.no_grad()
def evaluate_text(method: GANCLS, data_spec: str = "shapes?task=captions", *, n: int = 1000,
                  train_n: int = FACTOR_TRAIN_N, candidates: int = 100, batch: int = 250, seed: int = 0,
                  classifier: Any = None, factor_model: nn.Module | None = None,
                  device: str | torch.device = "cpu", cache_dir: str | Path | None = None) -> dict[str, Any]:
    """The text-to-image scores of ``method`` on the test split of ``data_spec``.

    - ``caption_consistency``: for ``n`` test captions, one image each; a factor
      classifier (``fit_factor_classifier``: one head over the joint shape x colour
      label, trained on ``train_n`` real *training* images; or ``factor_model``, one such
      model already fitted; the fitted one is cached, see ``fit_factor_classifier``)
      predicts the shape and colour of each generated image (the
      argmax of each marginal); the share that agrees with the caption's factors, per
      factor. ``classifier_accuracy``: the same classifier on the real test images of
      those captions (the ceiling a perfect generator would reach). ``by_size``: both per
      size the caption names; ``shape_confusion``: the (shape named, shape read) counts
      of the generated and of the real images (``confusion``).
    - ``fd``: Fréchet distance between the classifier's features of the generated and of
      the real test images (n each).
    - ``r_precision`` / ``r_precision_real``: image-to-text R-precision (R = 1) of the
      generated / real images with the trained encoders (``E_image`` against
      ``E_text``), among ``candidates`` captions: the own one and ``candidates - 1`` of
      items of another shape or colour (fewer when the test items are too few:
      ``candidates`` in the result is the number used). None with precomputed embeddings
      (no image encoder).

    G runs in the method's current mode (as ``generate``), z ~ the method's latent
    distribution from a generator seeded with ``seed``. ``classifier``: the
    ``ClassifierConfig`` of the factor classifier (default: its defaults, seed ``seed``).
    """
    from ..data.shapes import FACTOR_NAMES, FACTORS

    c = method.config
    dev = torch.device(device)
    model = factor_model if factor_model is not None else fit_factor_classifier(
        data_spec, c.image_size, c.channels, train_n=train_n, classifier=classifier, seed=seed, device=dev,
        cache_dir=cache_dir)
    model = model.to(dev).eval()
    test = read_items(data_spec, "test", c.image_size, c.channels, n, seed + 1)
    fi = [FACTOR_NAMES.index(f) for f in CONSISTENCY_FACTORS]
    fake = generate_for_captions(method, test["caption"], batch, seed)  # (n, C, H, W) in [-1, 1]
    truth = test["factors"][:, fi]  # (n, 2)
    f_fake, p_fake = predict_factors(model, fake, batch, dev)
    f_real, p_real = predict_factors(model, test["image"], batch, dev)

    def agree(p: torch.Tensor, rows: torch.Tensor | slice = slice(None)) -> dict[str, float]:
        return {f: float((p[rows, j] == truth[rows, j]).float().mean()) for j, f in enumerate(CONSISTENCY_FACTORS)}

    size_of = test["factors"][:, FACTOR_NAMES.index("size")]  # (n,)
    by_size = {name: {"n": int(rows.sum()), "generated": agree(p_fake, rows), "real": agree(p_real, rows)}
               for k, name in enumerate(FACTORS["size"]) if (rows := size_of == k).any()}
    shape_j = CONSISTENCY_FACTORS.index("shape")
    return {
        "caption_consistency": agree(p_fake),
        "classifier_accuracy": agree(p_real),
        # the same per size the caption names: a small shape (circumradius 15% of the side,
        # ~5 px at 32 px) is the hardest to draw and to read
        "by_size": by_size,
        # which shape the classifier reads for each shape a caption names: a generator that
        # draws one blob for every shape piles its row counts into one column
        "shape_confusion": {"shapes": list(FACTORS["shape"]),
                            "generated": confusion(truth[:, shape_j], p_fake[:, shape_j], len(FACTORS["shape"])),
                            "real": confusion(truth[:, shape_j], p_real[:, shape_j], len(FACTORS["shape"]))},
        "fd": frechet_distance(*feature_stats(f_fake.double().numpy()), *feature_stats(f_real.double().numpy())),
        "n": len(test["caption"]),
        **text_retrieval(method, fake, test["image"], test["caption"], _joint(test["factors"]), candidates,
                         batch, seed),
    }
