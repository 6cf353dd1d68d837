import numpy as np
import pytest
import scipy.linalg
import torch

from ganas.errors import GanasError
from ganas.metrics import feature_stats, frechet_distance


def test_diagonal_gaussians_match_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_full_covariances_match_scipy_sqrtm_and_are_symmetric():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    s1, s2 = a @ a.T + 0.1 * np.eye(8), b @ b.T + 0.1 * np.eye(8)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    fd12 = frechet_distance(mu1, s1, mu2, s2)
    assert fd12 == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(fd12, rel=1e-10)


def test_identical_stats_give_zero_and_torch_inputs_work():
    f = torch.randn(50, 5, generator=torch.Generator().manual_seed(0))
    mu, sigma = feature_stats(f)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(torch.as_tensor(mu), torch.as_tensor(sigma), mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_feature_stats_mean_and_unbiased_covariance():
    f = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    mu, sigma = feature_stats(f)
    np.testing.assert_allclose(mu, [2.0, 4.0])
    np.testing.assert_allclose(sigma, np.cov(f.T, ddof=1))
    assert sigma.shape == (2, 2)


def test_singular_covariances_fewer_samples_than_dims():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 20)), rng.normal(size=(5, 20)) + 1.0  # rank <= 4 in 20 dims
    mx, sx = feature_stats(x)
    my, sy = feature_stats(y)
    assert np.linalg.matrix_rank(sx) < 20
    fd = frechet_distance(mx, sx, my, sy)
    # reference: pytorch-fid's eps fallback on the singular product
    eps = 1e-6 * np.eye(20)
    ref = np.sum((mx - my) ** 2) + np.trace(sx + sy - 2 * scipy.linalg.sqrtm((sx + eps) @ (sy + eps)).real)
    assert np.isfinite(fd) and fd > 0
    assert fd == pytest.approx(ref, rel=1e-3)
    assert frechet_distance(mx, sx, mx, sx) == pytest.approx(0.0, abs=1e-8)


def test_mean_shift_only_adds_squared_distance():
    mu, sigma = feature_stats(np.random.default_rng(3).normal(size=(100, 4)))
    assert frechet_distance(mu, sigma, mu + np.array([3.0, 0, 0, 4.0]), sigma) == pytest.approx(25.0, rel=1e-8)


def test_bad_inputs_are_refused():
    with pytest.raises(GanasError, match="same length"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(GanasError, match=r"\(3, 3\)"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(GanasError, match="NaN"):
        frechet_distance(np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(GanasError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(GanasError, match="positive semi-definite"):
        frechet_distance(np.zeros(2), -np.eye(2), np.zeros(2), -np.eye(2))
    with pytest.raises(GanasError, match="at least 2"):
        feature_stats(np.zeros((1, 3)))


def test_fd_infinity_removes_the_small_sample_bias():
    """FD at n=300 in 16 dims is biased up by ~0.28; the 1/n extrapolation (Chong &
    Forsyth 2020) lands within 0.1 of the truth, with and without a true distance."""
    from ganas.metrics import FrechetReference, fd_infinity

    d = 16
    ref = FrechetReference(np.random.default_rng(123).normal(size=(50000, d)))  # (N, D), ~no bias of its own
    for shift in (0.0, 1.0):  # true FD: shift**2
        inf, last = [], []
        for seed in range(20):
            x = np.random.default_rng(seed).normal(size=(300, d))
            x[:, 0] += shift
            r = fd_infinity(x, ref, seed=seed)
            assert r["sizes"][-1] == 300 and r["sizes"][0] >= d // 2 + 2 and len(r["sizes"]) == 15
            inf.append(r["fd_inf"] - shift**2)
            last.append(r["fds"][-1] - shift**2)
        assert np.mean(last) > 0.2  # the bias FD-infinity is there to remove
        assert abs(np.mean(inf)) < 0.1


def test_frechet_reference_matches_frechet_distance():
    from ganas.metrics import FrechetReference

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) * 1.5 + 0.3
    ref = FrechetReference(a)
    assert ref.distance(b) == pytest.approx(frechet_distance(*feature_stats(a), *feature_stats(b)), rel=1e-9)
    with pytest.raises(GanasError, match="dims"):
        ref.distance(b[:, :5])
