"""The Fréchet distance between two Gaussians fitted to feature sets (FID's formula).

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium", eq. (6):

    d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})

The reference implementation (bioinf-jku/TTUR, mseitzer/pytorch-fid ``fid_score.py``)
takes ``scipy.linalg.sqrtm(S1 @ S2)``, retries with ``eps * I`` added to both
covariances when the product is singular, and drops the imaginary part when it is
negligible. NOTE: we compute the same trace without a non-symmetric square root:
``S1 S2`` and ``S1^{1/2} S2 S1^{1/2}`` have the same non-zero eigenvalues (AB and BA do,
with A = S1^{1/2}, B = S1^{1/2} S2), and the second matrix is symmetric positive
semi-definite, so ``tr (S1 S2)^{1/2} = sum sqrt(eig(S1^{1/2} S2 S1^{1/2}))`` with two
``eigh`` calls. Tiny negative eigenvalues from rounding are clipped to zero, which
makes singular covariances (fewer samples than dimensions) work without an ``eps``.

FD is biased upward at finite sample sizes (the bias shrinks roughly as 1/n), so two
values compare only at equal sizes. ``fd_infinity`` gives the bias-corrected FD-infinity
of Chong & Forsyth 2020 ("Effectively Unbiased FID and Inception Score and where to find
them", sec. 3.1): FD at several sample sizes, a linear fit in 1/n, extrapolated to 1/n = 0.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from ..errors import GanasError

ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_f64(x: ArrayLike, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise GanasError(f"frechet_distance: {name} has NaN or inf entries")
    return a


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, root1: np.ndarray | None = None) -> float:
    """``tr((S1 S2)^{1/2})`` for symmetric PSD ``S1``, ``S2`` via ``eig(S1^{1/2} S2 S1^{1/2})``
    (``root1``: ``S1^{1/2}`` when already known)."""
    r = _psd_sqrt(sigma1) if root1 is None else root1  # (D, D)
    m = r @ sigma2 @ r  # (D, D), symmetric PSD up to rounding
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def feature_stats(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of ``features`` (N, D), as pytorch-fid does."""
    f = _as_f64(features, "features")
    if f.ndim != 2:
        raise GanasError(f"feature_stats: expected features of shape (N, D), got {tuple(f.shape)}")
    if f.shape[0] < 2:
        raise GanasError(f"feature_stats: need at least 2 samples for a covariance, got {f.shape[0]}")
    mu = f.mean(axis=0)  # (D,)
    sigma = np.cov(f, rowvar=False)  # (D, D), ddof=1
    return mu, np.atleast_2d(sigma)


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the FID value).

    Covariances must be symmetric positive semi-definite (as ``feature_stats`` returns);
    they may be singular. The result is >= 0; a clearly negative value (which only a
    non-PSD input can produce) raises ``GanasError``.
    """
    m1, m2 = _as_f64(mu1, "mu1"), _as_f64(mu2, "mu2")
    s1, s2 = np.atleast_2d(_as_f64(sigma1, "sigma1")), np.atleast_2d(_as_f64(sigma2, "sigma2"))
    if m1.ndim != 1 or m1.shape != m2.shape:
        raise GanasError(f"frechet_distance: means must be vectors of the same length, got {m1.shape} and {m2.shape}")
    d = m1.shape[0]
    if s1.shape != (d, d) or s2.shape != (d, d):
        raise GanasError(
            f"frechet_distance: covariances must be ({d}, {d}) to match the means, got {s1.shape} and {s2.shape}"
        )
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if not np.allclose(s, s.T, rtol=1e-6, atol=1e-8 * max(1.0, float(np.abs(s).max()))):
            raise GanasError(f"frechet_distance: {name} is not symmetric")
    return _distance(m1, s1, m2, s2)


def _distance(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray, root1: np.ndarray | None = None) -> float:
    diff = m1 - m2
    tr_covmean = trace_sqrt_product(s1, s2, root1)
    fd = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    scale = float(diff @ diff + np.trace(s1) + np.trace(s2))
    if fd < 0.0:
        # rounding only: eigenvalue errors are ~ machine eps relative to the traces
        if fd < -1e-6 * max(scale, 1e-12):
            raise GanasError(
                f"frechet_distance: got {fd:.3g} < 0; the covariances are not positive semi-definite"
            )
        fd = 0.0
    return fd


class FrechetReference:
    """Gaussian statistics of a fixed reference feature set (N, D), with ``S^{1/2}`` computed
    once, so many feature sets can be scored against it cheaply."""

    def __init__(self, features: ArrayLike) -> None:
        self.mu, self.sigma = feature_stats(features)  # (D,), (D, D)
        self.root = _psd_sqrt(self.sigma)
        self.n = int(features.shape[0])

    def distance(self, features: ArrayLike) -> float:
        """FD between the Gaussian of ``features`` (M, D) and the reference."""
        mu, sigma = feature_stats(features)
        if mu.shape != self.mu.shape:
            raise GanasError(f"FrechetReference: features have {mu.shape[0]} dims, the reference {self.mu.shape[0]}")
        return _distance(self.mu, self.sigma, mu, sigma, self.root)


def fd_infinity(
    features: ArrayLike,
    reference: FrechetReference,
    points: int = 15,
    min_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, object]:
    """Chong & Forsyth's FD-infinity of ``features`` (M, D) against ``reference``.

    FD is computed on random subsets of ``points`` sizes evenly spaced from
    ``min_fraction * M`` to M (at least D/2 + 2 and 4), a line ``FD(n) = a + b / n`` is
    fitted by least squares and ``a`` is returned as ``"fd_inf"`` with the sizes and values.
    NOTE: the reference implementation (mchong6/FID_IS_infinity) spaces 15 sizes from
    5,000 to 50,000, i.e. ``min_fraction`` 0.1; our sample sizes are 100x smaller and FD is
    far from linear in 1/n when n is well below the feature dimension, hence 0.2 and the
    lower bound. The reference keeps its own finite-size bias (a constant here): compare
    FD-infinity only against the same reference (as ``fd_inf_real_floor`` does).
    """
    f = _as_f64(features, "features")
    m, d = f.shape
    lo = min(m, max(int(min_fraction * m), d // 2 + 2, 4))
    sizes = np.unique(np.linspace(lo, m, points).round().astype(int))
    if len(sizes) < 2:
        raise GanasError(f"fd_infinity: need at least two sample sizes, got {m} samples")
    rng = np.random.default_rng(seed)
    fds = np.array([reference.distance(f[rng.permutation(m)[:s]]) for s in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, fds, 1)
    return {"fd_inf": float(intercept), "slope": float(slope), "sizes": sizes.tolist(), "fds": fds.tolist()}
