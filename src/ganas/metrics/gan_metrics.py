"""One call that scores a generator against a dataset's real test split.

Features come from an entry of ``FEATURES``: the dataset's metric classifier (default,
``metrics/classifier.py``, trained on the real *train* split; labelled data with at least
two classes), the self-supervised extractor ``"selfsup"`` (``metrics/selfsup.py``, no
labels needed, trained on the train split), ``"inception"`` (a local weights file), or a
``FeatureExtractor`` object. The real reference features come from the *test* split, so
neither the feature network nor the reference has seen the other's images.

Sample sizes. FD is biased upward at small n, so the generator and the real-data floor
are scored at *the same* sizes against *the same* reference:

- The N real test features are split (seeded permutation) into a probe P of
  ``m = min(n, N // 2)`` features and a disjoint reference A of the other N - m.
- ``fd_real_floor`` = FD(P, A): what a perfect generator drawing m real images scores.
- ``fd`` = the mean of FD(C_i, A) over the ``n // m`` disjoint chunks C_i of m fakes:
  the fakes at exactly the probe's size, using every drawn sample.
- ``fd_inf`` / ``fd_inf_real_floor``: the bias-corrected FD-infinity (Chong & Forsyth
  2020; ``frechet.fd_infinity``) of all n fakes and of the probe, against A. Both keep
  A's own finite-size bias, so compare them with each other, not with zero.
- Everything is averaged over ``fd_repeats`` random (P, A) splits (default 5; 1 for
  features wider than 512, e.g. Inception's 2048, where one FD takes seconds);
  ``fd_real_floor_std`` is the standard deviation of the floor over those splits (its
  noise). A generator whose samples are indistinguishable from held-out real images
  scores ``fd`` within that noise of ``fd_real_floor``. None when the samples are too few for the feature dimension
  (fewer than about D/2).

NOTE: the previous version scored all n fakes against A while the floor used m < n
probe images whenever the test split had fewer than 2n images; FD's small-sample bias
then made real images score about half the floor.

Precision/recall (Kynkäänniemi et al. 2019, k = 3) use ``n_pr = min(n, N)`` fakes and
as many real test features, equal sizes as in the paper. Class coverage, confidence and
``classifier_accuracy`` come from the dataset's classifier; they are None on unlabelled
or single-class data (where the classifier is refused).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from ..errors import GanasError
from ..train.supervised import DatasetFn, from_pixels, load_split
from .classifier import EVAL_SPLIT, ClassifierConfig, NeedsLabelsError, TrainedClassifier, get_classifier
from .features import FEATURES, FeatureExtractor
from .frechet import FrechetReference, fd_infinity
from .prdc import precision_recall


def replay(images: torch.Tensor) -> Callable[[int], torch.Tensor]:
    """A "generator" handing out ``images`` (N, C, H, W) in order, ``m`` at a time: real
    or precomputed images fed to ``evaluate_generator``."""
    pos = [0]

    def sample(m: int) -> torch.Tensor:
        out = images[pos[0]: pos[0] + m]
        pos[0] += m
        return out

    return sample


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


def create_extractor(name: str, spec: str, image_size: int, channels: int, common: dict[str, Any],
                      options: dict[str, Any]) -> FeatureExtractor:
    """``FEATURES.create`` with the shared options (cache_dir, dataset_fn, device, progress)
    passed to the factories that take them; ``options`` win."""
    factory = FEATURES.get(name).factory
    params = inspect.signature(factory).parameters
    passed = {k: v for k, v in common.items() if k in params}
    return factory(spec, image_size, channels, **{**passed, **options})


def _fd_inf(features: torch.Tensor, reference: FrechetReference, seed: int) -> Optional[float]:
    """FD-infinity, or None when there are too few samples for the feature dimension."""
    try:
        return float(fd_infinity(features, reference, seed=seed)["fd_inf"])
    except GanasError:
        return None


def fd_at_matched_sizes(
    real: torch.Tensor, fake: torch.Tensor, n_probe: int, repeats: Optional[int] = None, seed: int = 0,
    paired: bool = False,
) -> dict[str, Any]:
    """FD of ``fake`` (n, D) and of a real probe, both at ``n_probe`` samples, against the
    rest of ``real`` (N, D), and their FD-infinity, averaged over ``repeats`` random splits
    (None: 5, or 1 when D > 512 where each FD costs seconds); see the module docstring.

    ``paired``: ``fake[i]`` imitates ``real[i]`` (a translation and its true target, n = N);
    the fakes scored are then those of the probe's items (one chunk), so neither the
    probe nor the fakes have their counterparts in the reference, and ``fake == real``
    scores exactly the floor (``metrics/translation.py``)."""
    n_real, n = real.shape[0], fake.shape[0]
    if paired and n != n_real:
        raise GanasError(f"fd_at_matched_sizes: paired needs one fake per real feature, got {n} and {n_real}")
    if not 2 <= n_probe <= min(n, n_real - 2):
        raise GanasError(f"fd_at_matched_sizes: probe size {n_probe} does not fit {n} fakes and {n_real} real features")
    if repeats is None:
        repeats = 5 if real.shape[1] <= 512 else 1
    chunks = 1 if paired else n // n_probe
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for r in range(max(1, repeats)):
        perm = torch.randperm(n_real, generator=gen)
        probe, ref = real[perm[:n_probe]], real[perm[n_probe:]]  # disjoint
        reference = FrechetReference(ref)
        scored = fake[perm[:n_probe]] if paired else fake  # paired: the probe's own translations
        fd = np.mean([reference.distance(scored[i * n_probe : (i + 1) * n_probe]) for i in range(chunks)])
        rows.append((fd, reference.distance(probe), _fd_inf(scored, reference, seed + r),
                     _fd_inf(probe, reference, seed + r)))
    fds, floors, infs, inf_floors = zip(*rows)
    return {
        "fd": float(np.mean(fds)),
        "fd_real_floor": float(np.mean(floors)),
        "fd_real_floor_std": float(np.std(floors, ddof=1)) if len(floors) > 1 else 0.0,
        "fd_inf": None if None in infs else float(np.mean(infs)),
        "fd_inf_real_floor": None if None in inf_floors else float(np.mean(inf_floors)),
        "n_floor": int(n_probe),
        "n_ref": int(n_real - n_probe),
        "fd_chunks": int(chunks),
        "fd_repeats": len(rows),
    }


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
    fd_repeats: Optional[int] = None,
    progress: Optional[bool] = None,
) -> dict[str, Any]:
    """Score ``sample_fn`` (``m -> (m, channels, image_size, image_size)`` images in [-1, 1]).

    Returns ``{"fd", "fd_real_floor", "fd_real_floor_std", "fd_inf", "fd_inf_real_floor",
    "coverage": {class: share of fakes} or None, "confidence", "precision", "recall",
    "classifier_accuracy", "n", "n_ref", "n_floor", "n_pr", "fd_chunks", "fd_repeats",
    "features"}`` (the extractor's name). ``progress``: tqdm bars while a feature network
    trains (None: only on a terminal).
    """
    if n < 2 * (k + 1) or batch < 1:
        raise GanasError(
            f"evaluate_generator: need n >= {2 * (k + 1)} samples (k={k}) and batch >= 1; got n={n}, batch={batch}"
        )
    common = {"cache_dir": cache_dir, "dataset_fn": dataset_fn, "device": device, "progress": progress}
    clf: Optional[TrainedClassifier] = None
    ext: Optional[FeatureExtractor] = None
    if isinstance(extractor, str) and extractor == "classifier":
        clf = get_classifier(data_spec, image_size, channels, config=config, **common)  # refuses unlabelled data
    else:
        try:  # coverage and confidence, where the data has classes
            clf = get_classifier(data_spec, image_size, channels, config=config, **common)
        except NeedsLabelsError:
            clf = None
        ext = (
            create_extractor(extractor, data_spec, image_size, channels, common, dict(extractor_options or {}))
            if isinstance(extractor, str)
            else extractor
        )
    shape = (channels, image_size, image_size)

    real_x = load_split(data_spec, EVAL_SPLIT, image_size, channels, dataset_fn=dataset_fn, labelled=False).pixels
    real = ext.features(from_pixels(real_x)).cpu() if ext is not None else clf.embed(real_x)[0]  # (N, D)
    n_real = real.shape[0]
    if n_real < 2 * (k + 1) + 2:
        raise GanasError(f"evaluate_generator: the {EVAL_SPLIT!r} split of {data_spec!r} has only {n_real} images")

    feats, probs = [], []
    for x in _draw(sample_fn, n, batch, shape):
        if clf is not None:
            f, p = clf.embed(x)  # (b, D), (b, K)
            probs.append(p)
        feats.append(ext.features(x).float().cpu() if ext is not None else f)
    fake = torch.cat(feats)  # (n, D)

    res = fd_at_matched_sizes(real, fake, min(n, n_real // 2), fd_repeats, seed)
    n_pr = min(n, n_real)
    perm = torch.randperm(n_real, generator=torch.Generator().manual_seed(seed))
    pr = precision_recall(real[perm[:n_pr]], fake[:n_pr], k=k)

    coverage, confidence = None, None
    if clf is not None:
        prob = torch.cat(probs)  # (n, K)
        counts = torch.bincount(prob.argmax(dim=1), minlength=len(clf.class_names)).double() / n  # (K,)
        coverage = {name: float(c) for name, c in zip(clf.class_names, counts)}
        confidence = float(prob.max(dim=1).values.mean())
    return {
        "fd": res.pop("fd"),
        "fd_real_floor": res.pop("fd_real_floor"),
        **res,
        "coverage": coverage,
        "confidence": confidence,
        "precision": pr["precision"],
        "recall": pr["recall"],
        "classifier_accuracy": clf.accuracy if clf is not None else None,
        "n": n,
        "n_pr": n_pr,
        "features": extractor if isinstance(extractor, str) else type(extractor).__name__,
    }
