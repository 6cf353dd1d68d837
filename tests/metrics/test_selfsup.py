"""The self-supervised feature extractor (``selfsup``) on unlabelled data: it ranks
degraded samples in the right order and held-out real images score at the floor."""

import pytest
import torch
import torch.nn.functional as F

from ganas.data import DataOptions, make_dataset
from ganas.metrics import FEATURES, NeedsLabelsError, SelfSupConfig, evaluate_generator, fd_at_matched_sizes, get_selfsup, replay
from ganas.metrics.selfsup import nt_xent, random_resized_crop, colour_jitter
from ganas.train.supervised import load_split

from metrics_toydata import HalfOfTest

SPEC, SIZE = "digits?test_fraction=0.5", 16


class Unlabelled(torch.utils.data.Dataset):
    """A dataset with its labels removed (label -1, no class names): the DCGAN case."""

    def __init__(self, ds) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.ds[i]["image"], "label": torch.tensor(-1)}


def unlabelled(spec, split, options):
    ds = make_dataset(spec, split, options)
    return Unlabelled(ds if split == "train" else HalfOfTest(ds, 0))


@pytest.fixture
def tiny():
    return SelfSupConfig(width=8, steps=60, batch_size=64, seed=0)


def _blur(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # (B, C, H, W)


def test_selfsup_ranks_degradations_and_scores_real_images_at_the_floor(tmp_path, tiny):
    opts = DataOptions(image_size=SIZE, channels=1)
    held = HalfOfTest(make_dataset(SPEC, "test", opts), 1)
    images = torch.stack([held[i]["image"] for i in range(len(held))])  # (M, 1, 16, 16), unseen by both

    with pytest.raises(NeedsLabelsError, match="--features selfsup"):
        evaluate_generator(replay(images), SPEC, SIZE, 1, n=100, cache_dir=tmp_path, dataset_fn=unlabelled)
    real = evaluate_generator(replay(images), SPEC, SIZE, 1, n=len(images), batch=100, cache_dir=tmp_path,
                              dataset_fn=unlabelled, extractor="selfsup", extractor_options={"config": tiny})
    assert real["features"] == "selfsup"
    assert real["coverage"] is None and real["confidence"] is None and real["classifier_accuracy"] is None
    noise = max(3 * real["fd_real_floor_std"], 0.1 * real["fd_real_floor"])
    assert abs(real["fd"] - real["fd_real_floor"]) < noise

    ext = get_selfsup(SPEC, SIZE, 1, tmp_path, tiny, unlabelled)  # the cached network evaluate_generator used
    reference = ext.features(load_split(SPEC, "test", SIZE, 1, dataset_fn=unlabelled, labelled=False).pixels)
    m = real["n_floor"]
    train = load_split(SPEC, "train", SIZE, 1)  # labelled, only to pick the kept classes
    g = torch.Generator().manual_seed(0)
    cases = {
        "real": images,
        "mild noise": (images + 0.1 * torch.randn(images.shape, generator=g)).clamp(-1, 1),
        "strong noise": (images + 0.4 * torch.randn(images.shape, generator=g)).clamp(-1, 1),
        "blur": _blur(images),
        "3 of 10 digits": train.images[train.labels < 3],
    }
    fd = {k: fd_at_matched_sizes(reference, ext.features(x), m)["fd"] for k, x in cases.items()}
    assert fd["real"] == pytest.approx(real["fd"])
    assert fd["real"] < fd["mild noise"] < fd["strong noise"]
    for bad in ("strong noise", "blur", "3 of 10 digits"):
        assert fd[bad] > real["fd_real_floor"] + noise, (bad, fd)


def test_cache_registry_and_key(tmp_path, tiny, monkeypatch):
    assert "selfsup" in FEATURES.list()
    one = get_selfsup(SPEC, SIZE, 1, tmp_path, tiny, unlabelled)
    assert one.feature_dim == 4 * tiny.width and one.features(torch.zeros(3, 1, SIZE, SIZE)).shape == (3, 32)
    assert one.path is not None and one.path.exists() and one.meta["key"]["data"]["train"]["kind"] == "items"

    def no_training(*a, **k):
        raise AssertionError("trained again despite a cache hit")

    monkeypatch.setattr("ganas.metrics.selfsup.fit_selfsup", no_training)
    again = FEATURES.create("selfsup", SPEC, SIZE, 1, cache_dir=tmp_path, config=tiny, dataset_fn=unlabelled)
    assert again.path == one.path
    x = torch.rand(4, 1, SIZE, SIZE) * 2 - 1
    torch.testing.assert_close(again.features(x), one.features(x))
    with pytest.raises(AssertionError, match="trained again"):  # another recipe is another network
        get_selfsup(SPEC, SIZE, 1, tmp_path, SelfSupConfig(width=8, steps=61, batch_size=64), unlabelled)


def test_augmentations_and_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 12, 12) * 2 - 1
    flat = torch.full((2, 1, 12, 12), 0.3)
    torch.testing.assert_close(random_resized_crop(flat, 0.35, True, g), flat)  # crops stay inside the image
    y = random_resized_crop(x, 0.35, True, g)
    assert y.shape == x.shape and not torch.allclose(y, x)
    same = [random_resized_crop(x, 0.35, True, torch.Generator().manual_seed(5)) for _ in range(2)]
    torch.testing.assert_close(same[0], same[1])  # seeded
    torch.testing.assert_close(colour_jitter(x, 0.0, g), x)
    j = colour_jitter(x, 0.4, g)
    assert j.shape == x.shape and j.min() >= -1 and j.max() <= 1
    z = torch.randn(8, 5, generator=g)
    assert nt_xent(z, z, 0.5) < nt_xent(z, z[torch.randperm(8, generator=g)], 0.5)  # positives matched: lower loss
