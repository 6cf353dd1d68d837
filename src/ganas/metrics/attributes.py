"""The ``"attributes"`` evaluation (StarGAN): do translated images carry their target domain?

The paper's quantitative protocol (Choi et al. 2018, sec. 5.5 on RaFD; the AMT study on
CelebA): a classifier trained on *real* training images labels the translations, and
the accuracy counts how often it finds the target. Here:

- one ``SmallClassifier`` per mutually exclusive group of domains (``method.groups``:
  CelebA's hair colours, shapes' colour/size/background, RaFD's expressions; a binary
  attribute is a 2-class group), each fitted with ``metrics.classifier.fit_classifier``
  on up to ``ATTRIBUTE_TRAIN_N`` real images of the training split, with the
  ``ATTRIBUTE_CLASSIFIER`` recipe unless the caller gives another;
- every test image is translated to each single-domain change (``single_domain_targets``,
  the visuals' columns); ``attribute_accuracy[name]`` is the share of the translations to
  domain ``name`` whose group the classifier labels as the target's;
- ``rec_l1``: mean |G(G(x, c_trg), c_org) - x| over those translations (pixels in [-1, 1]);
- ``fd``: Fréchet distance between the classifiers' concatenated features of the real
  test images and of all translations (comparable only between runs on the same data
  and classifier config, as ``metrics/classifier.py`` explains);
- ``classifier_accuracy[group]``: each classifier's accuracy on the real test images, so
  a low attribute accuracy can be told apart from a weak classifier;
- ``d_accuracy[group]``: the accuracy of StarGAN's own domain classifier (D's ``cls``
  head, ``estimate_labels``) on the real test images: G learns the domains only as
  well as D tells them apart.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from .classifier import ClassifierConfig, SmallClassifier, fit_classifier_on, from_pixels, to_pixels
from .frechet import feature_stats, frechet_distance

#: The attribute classifiers' recipe: ``ClassifierConfig`` fields over the defaults.
# NOTE: with ``ClassifierConfig()`` (4 epochs, random shifts of 10% of the side) on the
# 4,000 images of the StarGAN benchmark (~125 steps) the size classifier read 0.70 of
# 2,000 real 16 px test images of ``shapes?task=attributes`` (colour and background
# 1.00), which capped and blurred every StarGAN size figure. This recipe on 20,000
# images reads colour 1.00, size 0.978, background 1.00 (248 CPU s for the 3 groups,
# rendering included; ``benchmarks/stargan_quality.py --classifiers-only``, figures in
# docs/benchmarks.md "StarGAN"). On the way (size alone, seed 0): 16 epochs on 4,000
# images 0.92, 4 epochs on 20,000 0.946, 5 epochs on 20,000 without the shift 0.980.
# The shift is dropped because its bilinear resampling blurs the edges a 16 px size is
# read from, and the shapes' positions already vary over a 3x3 grid with jitter.
ATTRIBUTE_CLASSIFIER: dict[str, Any] = {"epochs": 5, "shift": 0.0}
#: real training images the attribute classifiers are fitted on (at most)
ATTRIBUTE_TRAIN_N = 20000


def attribute_classifier_config(seed: int = 0) -> ClassifierConfig:
    """The ``ClassifierConfig`` of the attribute classifiers (``ATTRIBUTE_CLASSIFIER``)."""
    return ClassifierConfig(**ATTRIBUTE_CLASSIFIER, seed=seed)


def load_labelled(method: Any, dataset: Any, limit: int, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``limit`` items of ``dataset`` as uint8 pixels (N, C, H, W) (area-resized to
    ``size`` when given) and the method's label vectors c_org (N, c_dim)."""
    fields = method.batch_fields
    loader = torch.utils.data.DataLoader(dataset, batch_size=256, shuffle=False, num_workers=0)
    xs, cs, n = [], [], 0
    for b in loader:
        missing = [f for f in fields if f not in b]
        if missing:
            raise DataError(f"{getattr(dataset, 'spec', 'the dataset')}: items lack field(s) {', '.join(missing)} "
                            f"that {type(method).__name__} reads ({', '.join(fields)})")
        x = b["image"].float()  # (b, C, H, W) in [-1, 1]
        if size is not None and max(x.shape[-2:]) > size:
            x = F.interpolate(x, size=(size, size), mode="area")
        xs.append(to_pixels(x))
        cs.append(method.labels(b)[0].cpu())
        n += len(x)
        if n >= limit:
            break
    if not xs:
        raise DataError(f"{getattr(dataset, 'spec', 'the dataset')}: no items to evaluate on")
    return torch.cat(xs)[:limit], torch.cat(cs)[:limit]


def group_labels(c: torch.Tensor, group: Sequence[int]) -> torch.Tensor:
    """Class index (N,) of each label vector ``c`` (N, c_dim) within ``group``: the set
    member (one-hot groups), or the 0/1 value of a binary attribute."""
    if len(group) > 1:
        return c[:, list(group)].argmax(dim=1)
    return (c[:, group[0]] > 0.5).long()


def group_name(names: Sequence[str], group: Sequence[int]) -> str:
    if len(group) == 1:
        return names[group[0]]
    prefixes = {names[i].split("=", 1)[0] for i in group}
    return prefixes.pop() if len(prefixes) == 1 and "=" in names[group[0]] else "|".join(names[i] for i in group)


@torch.no_grad()
def predict_classes(model: SmallClassifier, x: torch.Tensor, device: torch.device, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes (N,) and features (N, D) of images ``x`` (uint8 or [-1, 1])."""
    model.eval()
    preds, feats = [], []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch].to(device)
        f = model.features(from_pixels(xb) if xb.dtype == torch.uint8 else xb.float())  # (b, D)
        preds.append(model.head(f).argmax(dim=1).cpu())
        feats.append(f.float().cpu())
    return torch.cat(preds), torch.cat(feats)


def fit_group_classifiers(method: Any, train_data: Any, classifier: ClassifierConfig | None = None,
                          max_train: int = ATTRIBUTE_TRAIN_N) -> list[SmallClassifier]:
    """One classifier per group of ``method.groups``, fitted on up to ``max_train`` real
    images of ``train_data`` (a binary attribute is a 2-class group) with ``classifier``
    (default ``attribute_classifier_config()``); reusable across ``evaluate_attributes``
    calls on the same data (a benchmark's curve)."""
    cfg = classifier or attribute_classifier_config()
    device = next(method.parameters()).device
    x_tr, c_tr = load_labelled(method, train_data, max_train, size=cfg.input_size)
    return [fit_classifier_on(x_tr, group_labels(c_tr, g), max(2, len(g)), dc_replace(cfg, seed=cfg.seed + k), device)
            for k, g in enumerate(method.groups)]


def evaluate_attributes(
    method: Any, train_data: Any, test_data: Any, classifier: ClassifierConfig | None = None,
    max_train: int = ATTRIBUTE_TRAIN_N, max_test: int = 2000, batch: int = 64,
    classifiers: Sequence[SmallClassifier] | None = None,
) -> dict[str, Any]:
    """``{"attribute_accuracy": {domain: acc}, "attribute_accuracy_mean", "rec_l1", "fd",
    "classifier_accuracy": {group: acc}, "n_test"}`` for a trained StarGAN ``method``
    (``translate``, ``single_domain_targets``, ``labels``, ``groups``, ``names``) on the
    datasets of its domains (the train split fits the classifiers, unless ``classifiers``
    from ``fit_group_classifiers`` are given; the test split is translated)."""
    device = next(method.parameters()).device
    models = list(classifiers) if classifiers is not None else fit_group_classifiers(
        method, train_data, classifier, max_train)
    if len(models) != len(method.groups):
        raise DataError(f"{len(models)} classifiers for {len(method.groups)} domain groups")
    x_te, c_te = load_labelled(method, test_data, max_test)
    real_feats, cls_acc, d_acc = [], {}, {}
    d_labels = torch.cat([method.estimate_labels(from_pixels(x_te[s : s + 500])).cpu()
                          for s in range(0, len(x_te), 500)])  # (N, c_dim): what D's classifier reads
    for g, model in zip(method.groups, models):
        pred, f = predict_classes(model, x_te, device)
        truth = group_labels(c_te, g)
        cls_acc[group_name(method.names, g)] = float((pred == truth).float().mean())
        d_acc[group_name(method.names, g)] = float((group_labels(d_labels, g) == truth).float().mean())
        real_feats.append(f)

    correct = {name: 0 for name in method.names}
    rec_sum, n_rec, fake_feats = 0.0, 0, [[] for _ in models]
    for s in range(0, len(x_te), batch):
        x = from_pixels(x_te[s : s + batch]).to(device)  # (b, C, H, W)
        c_org = c_te[s : s + batch].to(device)
        for i, t in enumerate(method.single_domain_targets(c_org)):
            fake = method.translate(x, target=t)  # (b, C, H, W)
            rec = method.translate(fake, target=c_org)
            rec_sum += float((rec - x).abs().mean()) * len(x)
            n_rec += len(x)
            k = next(j for j, g in enumerate(method.groups) if i in g)
            for j, model in enumerate(models):
                pred, f = predict_classes(model, fake, device)
                fake_feats[j].append(f)
                if j == k:
                    correct[method.names[i]] += int((pred == group_labels(t.cpu(), method.groups[k])).sum())
    n = len(x_te)
    acc = {name: correct[name] / n for name in method.names}
    mu1, s1 = feature_stats(torch.cat(real_feats, dim=1).numpy())
    mu2, s2 = feature_stats(torch.cat([torch.cat(f) for f in fake_feats], dim=1).numpy())
    return {
        "attribute_accuracy": acc,
        "attribute_accuracy_mean": float(np.mean(list(acc.values()))),
        "rec_l1": rec_sum / n_rec,
        "fd": float(frechet_distance(mu1, s1, mu2, s2)),
        "classifier_accuracy": cls_acc,
        "d_accuracy": d_acc,
        "n_test": n,
    }
