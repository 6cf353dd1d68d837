import numpy as np
import pytest
import torch

from ganas.errors import GanasError
from ganas.metrics import knn_radii, prdc, precision_recall


def clusters(centres: np.ndarray, per: int, seed: int, spread: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([c + spread * rng.normal(size=(per, centres.shape[1])) for c in centres])


ANGLES = np.arange(5) * 2 * np.pi / 5
CENTRES = 10.0 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # 5 well separated 2-D modes


def test_knn_radii_brute_force():
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    d = torch.cdist(x, x)
    expected = d.sort(dim=1).values[:, 3]  # index 0 is the point itself
    torch.testing.assert_close(knn_radii(x, k=3, batch=7), expected)


def test_identical_sets_score_one():
    x = clusters(CENTRES, 40, 0)
    out = prdc(x, x.copy())
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0
    assert out["density"] >= 1.0  # each fake point sits in its own ball and its k neighbours'


def test_same_distribution_scores_high():
    out = precision_recall(clusters(CENTRES, 60, 0), clusters(CENTRES, 60, 1))
    assert out["precision"] > 0.8 and out["recall"] > 0.8


def test_disjoint_sets_score_zero():
    real = clusters(CENTRES, 40, 0)
    out = prdc(real, real + 100.0)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_mode_collapse_high_precision_low_recall():
    real = clusters(CENTRES, 60, 0)
    collapsed = clusters(CENTRES[:1], 300, 1)  # every fake in the first mode only
    out = prdc(real, collapsed)
    assert out["precision"] > 0.9
    assert out["recall"] < 0.3  # about 1/5 of the real modes
    assert out["coverage"] < 0.3


def test_batching_does_not_change_the_result():
    real, fake = clusters(CENTRES, 30, 2), clusters(CENTRES[:3], 50, 3, spread=0.6)
    assert prdc(real, fake, batch=7) == prdc(real, fake, batch=4096)


def test_refusals():
    with pytest.raises(GanasError, match="feature sizes differ"):
        precision_recall(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(GanasError, match="k=3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(GanasError, match=r"\(N, D\)"):
        precision_recall(np.zeros(10), np.zeros((10, 1)))
