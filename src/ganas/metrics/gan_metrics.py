"""One call that scores a generator against a dataset's real test split.

Features come from the dataset's metric classifier (``metrics/classifier.py``), trained
on the real *train* split; the real reference features come from the *test* split, so
neither the classifier nor the reference has seen the other's images.

Sample sizes (FD and precision/recall are biased by the number of samples, so every
comparison is made at matched sizes):

- The N real test features are split once (seeded permutation) into a probe P of
  ``n_floor = min(n, N // 2)`` features and a disjoint reference A of the other N - n_floor.
- ``fd`` = FD(n fakes, A); ``fd_real_floor`` = FD(P, A): the score a perfect generator
  drawing ``n_floor`` real images would get against the same reference. When the test
  split has at least 2n images the floor is computed at exactly the fakes' sample size;
  otherwise (n_floor < n) the floor is slightly pessimistic (FD's bias grows as 1/n).
  NOTE: the brief suggested halves of size n/2; a probe of the fakes' own size against
  the same reference matches both of FD's sample sizes, which halves would not.
- precision/recall (Kynkäänniemi et al. 2019, k = 3) use ``n_pr = min(n, N)`` fakes and
  as many real test features, equal sizes as in the paper.

FD and precision/recall use the classifier's features unless ``extractor`` names another
entry of ``FEATURES`` (e.g. ``"inception"`` with ``extractor_options={"weights": PATH}``)
or is a ``FeatureExtractor`` object; coverage and confidence always come from the
dataset's classifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch

from ..errors import GanasError
from .classifier import EVAL_SPLIT, ClassifierConfig, DatasetFn, from_pixels, get_classifier, load_split
from .features import FEATURES, FeatureExtractor
from .frechet import feature_stats, frechet_distance
from .prdc import precision_recall


def _draw(
    sample_fn: Callable[[int], torch.Tensor], n: int, batch: int, shape: tuple[int, int, int]
) -> Iterator[torch.Tensor]:
    done = 0
    while done < n:
        b = min(batch, n - done)
        with torch.no_grad():
            x = sample_fn(b)
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != (b, *shape):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise GanasError(f"evaluate_generator: sample_fn({b}) returned {got}, expected {(b, *shape)}")
        if not torch.isfinite(x).all():
            raise GanasError(f"evaluate_generator: sample_fn returned NaN or inf pixels (samples {done}..{done + b})")
        yield x
        done += b


def evaluate_generator(
    sample_fn: Callable[[int], torch.Tensor],
    data_spec: str,
    image_size: int,
    channels: int,
    n: int = 2000,
    batch: int = 200,
    cache_dir: Optional[str | Path] = None,
    *,
    k: int = 3,
    seed: int = 0,
    config: Optional[ClassifierConfig] = None,
    dataset_fn: Optional[DatasetFn] = None,
    device: str | torch.device = "cpu",
    extractor: str | FeatureExtractor = "classifier",
    extractor_options: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Score ``sample_fn`` (``m -> (m, channels, image_size, image_size)`` images in [-1, 1]).

    Returns ``{"fd", "fd_real_floor", "coverage": {class: share of fakes}, "confidence",
    "precision", "recall", "classifier_accuracy", "n", "n_ref", "n_floor", "n_pr", "features"}`` (the extractor's name).
    """
    if n < 2 * (k + 1) or batch < 1:
        raise GanasError(
            f"evaluate_generator: need n >= {2 * (k + 1)} samples (k={k}) and batch >= 1; got n={n}, batch={batch}"
        )
    clf = get_classifier(data_spec, image_size, channels, cache_dir, config, dataset_fn, device)
    if isinstance(extractor, str) and extractor != "classifier":
        extractor = FEATURES.create(extractor, data_spec, image_size, channels, **(extractor_options or {}))
    ext = None if isinstance(extractor, str) else extractor
    shape = (channels, image_size, image_size)

    real_x, _, _ = load_split(data_spec, EVAL_SPLIT, image_size, channels, dataset_fn)
    real = ext.features(from_pixels(real_x)).cpu() if ext else clf.embed(real_x)[0]  # (N, D)
    n_real = real.shape[0]
    if n_real < 2 * (k + 1) + 2:
        raise GanasError(f"evaluate_generator: the {EVAL_SPLIT!r} split of {data_spec!r} has only {n_real} images")

    feats, probs = [], []
    for x in _draw(sample_fn, n, batch, shape):
        f, p = clf.embed(x)  # (b, D), (b, K)
        feats.append(ext.features(x).cpu() if ext else f)
        probs.append(p)
    fake, prob = torch.cat(feats), torch.cat(probs)  # (n, D), (n, K)

    perm = torch.randperm(n_real, generator=torch.Generator().manual_seed(seed))
    n_floor = min(n, n_real // 2)
    probe, ref = real[perm[:n_floor]], real[perm[n_floor:]]  # disjoint
    mu_ref, sigma_ref = feature_stats(ref)
    fd = frechet_distance(*feature_stats(fake), mu_ref, sigma_ref)
    floor = frechet_distance(*feature_stats(probe), mu_ref, sigma_ref)

    n_pr = min(n, n_real)
    pr = precision_recall(real[perm[:n_pr]], fake[:n_pr], k=k)

    counts = torch.bincount(prob.argmax(dim=1), minlength=len(clf.class_names)).double() / n  # (K,)
    return {
        "fd": fd,
        "fd_real_floor": floor,
        "coverage": {name: float(c) for name, c in zip(clf.class_names, counts)},
        "confidence": float(prob.max(dim=1).values.mean()),
        "precision": pr["precision"],
        "recall": pr["recall"],
        "classifier_accuracy": clf.accuracy,
        "n": n,
        "n_ref": int(ref.shape[0]),
        "n_floor": n_floor,
        "n_pr": n_pr,
        "features": extractor if isinstance(extractor, str) else type(extractor).__name__,
    }
