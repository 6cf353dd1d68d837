"""Improved precision and recall (Kynkäänniemi et al. 2019) and density/coverage.

Kynkäänniemi, Karras, Laine, Lehtinen, Aila, "Improved Precision and Recall Metric for
Assessing Generative Models", NeurIPS 2019 (reference code: kynkaat/improved-precision-
and-recall-metric, ``precision_recall.py``). Each feature set approximates its manifold
by the union of hyperspheres centred on its samples, the radius of each being the
distance to its k-th nearest neighbour in the same set (k = 3 in the paper):

- precision = share of fake samples inside the real manifold,
- recall    = share of real samples inside the fake manifold.

Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
Generative Models", clovaai/generative-evaluation-prdc) use the same real k-NN balls:
density = mean over fakes of (number of real balls containing it) / k; coverage = share
of real balls that contain at least one fake.

Distances are computed in row blocks with ``torch.cdist`` so memory stays at
``batch x N`` instead of ``N x N``.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from ..errors import GanasError

ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_features(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().cpu().double()
    if t.ndim != 2:
        raise GanasError(f"precision_recall: {name} features must be (N, D), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise GanasError(f"precision_recall: {name} features have NaN or inf entries")
    return t


def knn_radii(features: torch.Tensor, k: int = 3, batch: int = 1024) -> torch.Tensor:
    """Distance (N,) from each row of ``features`` (N, D) to its k-th nearest other row."""
    n = features.shape[0]
    if not 1 <= k < n:
        raise GanasError(f"knn_radii: k={k} needs 1 <= k < number of samples ({n})")
    out = torch.empty(n, dtype=features.dtype)
    for i in range(0, n, batch):
        d = torch.cdist(features[i : i + batch], features)  # (b, N), includes self at distance 0
        # the k+1 smallest include the point itself (as the reference code does)
        out[i : i + batch] = d.kthvalue(k + 1, dim=1).values
    return out


def _inside_count(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch: int) -> torch.Tensor:
    """For each query (Q, D), how many balls (centres (N, D), radii (N,)) contain it: (Q,)."""
    out = torch.empty(queries.shape[0], dtype=torch.long)
    for i in range(0, queries.shape[0], batch):
        d = torch.cdist(queries[i : i + batch], centres)  # (b, N)
        out[i : i + batch] = (d <= radii[None, :]).sum(dim=1)
    return out


def _checked_pair(real: ArrayLike, fake: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    r, f = _as_features(real, "real"), _as_features(fake, "fake")
    if r.shape[1] != f.shape[1]:
        raise GanasError(f"precision_recall: real and fake feature sizes differ ({r.shape[1]} vs {f.shape[1]})")
    return r, f


def precision_recall(real: ArrayLike, fake: ArrayLike, k: int = 3, batch: int = 1024) -> dict[str, float]:
    """Improved precision and recall of ``fake`` (M, D) against ``real`` (N, D) features.

    Returns ``{"precision", "recall"}``, both in [0, 1]. The paper uses equally many
    real and fake samples; the radii depend on the sample count, so callers should too.
    """
    return prdc(real, fake, k, batch, density_coverage=False)


def prdc(
    real: ArrayLike, fake: ArrayLike, k: int = 3, batch: int = 1024, density_coverage: bool = True
) -> dict[str, float]:
    """Precision, recall (and, by default, density and coverage) of ``fake`` (M, D) vs ``real`` (N, D)."""
    r, f = _checked_pair(real, fake)
    r_radii, f_radii = knn_radii(r, k, batch), knn_radii(f, k, batch)  # (N,), (M,)
    fake_in_real = _inside_count(f, r, r_radii, batch)  # (M,)
    out = {
        "precision": (fake_in_real > 0).double().mean().item(),
        "recall": (_inside_count(r, f, f_radii, batch) > 0).double().mean().item(),
    }
    if density_coverage:
        out["density"] = (fake_in_real.double().sum() / (k * f.shape[0])).item()
        # coverage: real balls whose centre's nearest fake lies inside the ball
        nearest_fake = torch.empty(r.shape[0], dtype=r.dtype)  # (N,)
        for i in range(0, r.shape[0], batch):
            nearest_fake[i : i + batch] = torch.cdist(r[i : i + batch], f).min(dim=1).values  # (b,)
        out["coverage"] = (nearest_fake <= r_radii).double().mean().item()
    return out
