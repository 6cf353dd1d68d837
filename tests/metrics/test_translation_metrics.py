"""FD and factor accuracy of translations (``ganas.metrics.translation``) on tiny built-in
tasks and a tiny unaligned tree: the real targets fed in as the "translation" score at
the floor, degraded ones score worse, and the factor classifiers check each
translation against its own scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganas.data import DataOptions, make_dataset
from ganas.data.shapes import FACTOR_NAMES, scene_factors
from ganas.errors import ConfigError, GanasError
from ganas.metrics import SelfSupConfig, fd_at_matched_sizes
from ganas.metrics.classifier import ClassifierConfig
from ganas.metrics.translation import TranslationEvalConfig, evaluate_translation, open_target

SIZE = 32
EDGES = "shapes?task=edges2photo&n=320"
CPU = torch.device("cpu")


@pytest.fixture
def config(tmp_path: Path) -> TranslationEvalConfig:
    return TranslationEvalConfig(
        extractor_options={"config": SelfSupConfig(width=8, steps=25, batch_size=48)},
        classifier=ClassifierConfig(width=8, epochs=6, batch_size=32), factor_train=320, batch_size=80,
        cache_dir=tmp_path / "cache", progress=False)


def _opts() -> DataOptions:
    return DataOptions(image_size=SIZE, channels=3)


def _target(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["B"], batch["B"]


def _degraded(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    y = batch["B"]
    g = torch.Generator().manual_seed(int(y.sum().abs() * 1000) % 2**31)
    blurred = F.avg_pool2d(y, 5, stride=1, padding=2, count_include_pad=False)  # (B, C, H, W)
    return (blurred + 0.4 * torch.randn(y.shape, generator=g)).clamp(-1, 1), y


def _shuffled(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Real photos of *other* scenes: perfect images, the wrong factors."""
    y = batch["B"]
    return y.roll(1, dims=0), y


def test_fd_paired_real_targets_score_exactly_the_floor() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(200, 8, generator=g)
    same = fd_at_matched_sizes(real, real.clone(), 100, paired=True)
    assert same["fd"] == same["fd_real_floor"] and same["fd_chunks"] == 1
    worse = fd_at_matched_sizes(real, real + torch.randn(200, 8, generator=g), 100, paired=True)
    assert worse["fd"] > same["fd_real_floor"] + 3 * same["fd_real_floor_std"]
    # unpaired, the same features score near (not at) the floor: the fakes are other rows
    loose = fd_at_matched_sizes(real, real.clone(), 100)
    assert loose["fd"] != loose["fd_real_floor"]
    with pytest.raises(GanasError, match="paired"):
        fd_at_matched_sizes(real, real[:150], 75, paired=True)


def test_real_targets_at_the_floor_degraded_worse_shuffled_wrong_factors(config) -> None:
    real = evaluate_translation(_target, EDGES, _opts(), "B", device=CPU, paired=True, config=config)
    assert real["paired"] and real["n"] == 320 and real["features"] == "selfsup"
    assert real["L1"] == 0 and real["fd"] == real["fd_real_floor"]
    assert set(real["factor_accuracy"]) == {"shape", "colour"} and real["factor_train"] == 320
    assert real["factor_accuracy"] == real["classifier_accuracy"]  # real images: at the ceiling
    assert real["classifier_accuracy"]["colour"] > 0.6  # the classifier learned something (7 colours)

    bad = evaluate_translation(_degraded, EDGES, _opts(), "B", device=CPU, paired=True, config=config)
    assert bad["fd_real_floor"] == pytest.approx(real["fd_real_floor"], rel=1e-6)  # same splits and extractor
    assert bad["fd"] > real["fd_real_floor"] + 3 * real["fd_real_floor_std"]
    assert bad["L1"] > 0.05 and bad["PSNR"] < real["PSNR"]

    wrong = evaluate_translation(_shuffled, EDGES, _opts(), "B", device=CPU, paired=True, config=config)
    assert wrong["classifier_accuracy"] == real["classifier_accuracy"]
    assert wrong["factor_accuracy"]["colour"] < real["classifier_accuracy"]["colour"] - 0.3


def test_day2night_target_images_carry_their_own_scenes_factors() -> None:
    """The unpaired training split's night side comes from other scenes than its day side:
    the factor classifiers must learn each night image with *its* scene's factors."""
    spec = "shapes?task=day2night&n=12"
    night = open_target(spec, "train", _opts(), "B")
    pairs = make_dataset(spec, "train", _opts())
    raw = night.pairs
    for i in range(len(night)):
        k = raw._b_index(i, (i, 0, 0))
        assert torch.equal(night[i]["factors"], scene_factors(raw._b_scenes[k]))
        assert torch.equal(night[i]["image"], pairs[i]["B"])  # the same night image training sees
    day = open_target(spec, "train", _opts(), "A")
    assert torch.equal(day[3]["factors"], pairs[3]["factors"]) and torch.equal(day[3]["image"], pairs[3]["A"])
    # test split: the hidden pairs, so B_true's scene is A's
    test = make_dataset(spec, "test", _opts())
    assert torch.equal(test[0]["B_true"], open_target(spec, "test", _opts(), "B")[0]["image"])
    assert FACTOR_NAMES[:2] == ("shape", "colour")


def _tree(root: Path, counts: dict[str, int]) -> None:
    rng = np.random.default_rng(0)
    for side, n in counts.items():
        (root / side).mkdir(parents=True)
        for i in range(n):
            level = 40 if "A" in side else 200
            img = np.clip(rng.normal(level, 30, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / side / f"{i}.png")


def test_unaligned_split_without_pairs_scores_fd_alone_on_unique_images(tmp_path: Path, config) -> None:
    _tree(tmp_path / "d", {"trainA": 20, "trainB": 24, "testA": 7, "testB": 12})
    spec = f"unaligned:{tmp_path / 'd'}"
    calls: list[int] = []

    def as_b(batch):  # "translate" A -> B by brightening: near the B domain, not a pair
        calls.append(len(batch["A"]))
        return (batch["A"] + 1.25).clamp(-1, 1), batch["B"]

    res = evaluate_translation(as_b, spec, _opts(), "B", device=CPU, config=config)
    assert res["paired"] is False and res["L1"] is None and res["SSIM"] is None
    assert sum(calls) == res["n"] == 12  # the split's length: the longer side
    assert res["n_floor"] == 6 and res["n_ref"] == 6  # 12 unique B; the fakes: 7 unique A, one chunk of 6
    assert res["fd"] is not None and "factor_accuracy" not in res
    with pytest.raises(ConfigError, match="selfsup"):
        evaluate_translation(as_b, spec, _opts(), "B", device=CPU,
                             config=TranslationEvalConfig(features="classifier", cache_dir=tmp_path))
