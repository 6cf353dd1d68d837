import pytest
import torch

from metrics_toydata import CLASSES, sampler
from ganas.errors import GanasError
from ganas.metrics import evaluate_generator

SPEC = "toy3"


@pytest.fixture
def run(tmp_path, fake_data, tiny_config):
    def go(sample_fn, n=60, batch=25):
        return evaluate_generator(sample_fn, SPEC, 12, 1, n, batch, tmp_path, config=tiny_config, dataset_fn=fake_data)

    return go


def test_keys_and_sizes(run):
    out = run(sampler(100))
    assert set(out) >= {"fd", "fd_real_floor", "coverage", "confidence", "precision", "recall", "classifier_accuracy", "n"}
    assert out["n"] == 60 and out["n_floor"] == 60 and out["n_ref"] == 60 and out["n_pr"] == 60
    assert out["fd_chunks"] == 1 and out["fd_repeats"] == 5 and out["fd_real_floor_std"] > 0
    assert out["fd_inf"] is not None and out["fd_inf_real_floor"] is not None
    assert list(out["coverage"]) == CLASSES
    assert sum(out["coverage"].values()) == pytest.approx(1.0)
    assert 1 / 3 <= out["confidence"] <= 1.0
    assert out["classifier_accuracy"] >= 0.9


def test_true_distribution_beats_mode_collapse(run):
    good = run(sampler(100))
    collapsed = run(sampler(200, only=2))
    # samples from the data distribution: FD near the real-vs-real floor, spread over classes
    assert good["fd"] < 3 * good["fd_real_floor"] + 1e-3
    assert min(good["coverage"].values()) > 0.2
    assert good["precision"] > 0.6 and good["recall"] > 0.6
    # one class only: coverage piles up on it, recall and FD get worse, precision stays high
    assert collapsed["coverage"]["box"] > 0.9
    assert collapsed["recall"] < good["recall"] - 0.3
    assert collapsed["precision"] > 0.6
    assert collapsed["fd"] > 3 * good["fd"]
    assert collapsed["fd_real_floor"] == good["fd_real_floor"]  # same reference, same seed


def test_noise_generator_scores_badly(run):
    noise = run(lambda m: torch.rand(m, 1, 12, 12) * 2 - 1)
    good = run(sampler(100))
    assert noise["fd"] > 10 * good["fd"]
    assert noise["precision"] < 0.2


def test_floor_probe_shrinks_when_test_split_is_small(run):
    out = run(sampler(100), n=90, batch=40)  # the test split has 120 images
    assert out["n_floor"] == 60 and out["n_ref"] == 60 and out["n_pr"] == 90 and out["fd_chunks"] == 1


def test_fresh_real_images_score_within_the_floor_noise_at_any_n(run):
    """FD is biased upward at small n: the floor and FD must use the same sample sizes.
    With 4x more fakes than the probe (the case where the old code scored real images at
    about half the floor), samples of the true distribution still score at the floor."""
    good = run(sampler(100), n=240, batch=80)  # test split: 120 -> probe 60, reference 60
    assert good["n_floor"] == 60 and good["fd_chunks"] == 4
    noise = max(3 * good["fd_real_floor_std"], 0.1 * good["fd_real_floor"])
    assert abs(good["fd"] - good["fd_real_floor"]) < noise
    shifted = run(lambda m: (sampler(300)(m) + 0.15).clamp(-1, 1), n=240, batch=80)  # brighter: a degraded generator
    assert shifted["fd"] > good["fd_real_floor"] + noise
    assert shifted["fd_inf"] > good["fd_inf_real_floor"]


def test_bad_samples_are_refused(run):
    with pytest.raises(GanasError, match=r"expected \(25, 1, 12, 12\)"):
        run(lambda m: torch.zeros(m, 3, 12, 12))
    with pytest.raises(GanasError, match="NaN"):
        run(lambda m: torch.full((m, 1, 12, 12), float("nan")))
    with pytest.raises(GanasError, match="n >= 8"):
        run(sampler(0), n=4)
