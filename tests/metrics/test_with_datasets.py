"""evaluate_generator through ganas.data.make_dataset on the built-in datasets (no files)."""

import pytest
import torch

from ganas.data import DataOptions, make_dataset
from ganas.metrics import evaluate_generator, fd_at_matched_sizes, get_classifier, replay
from ganas.train.supervised import load_split

from metrics_toydata import HalfOfTest


def test_held_out_real_images_score_within_the_floor_noise(tmp_path, tiny_config):
    """Real images neither the classifier nor the reference has seen, fed in as the
    "generator", score FD within the real-vs-real floor's noise; noisy or blurred ones do not."""
    spec, size = "digits?test_fraction=0.5", 8  # 898 train / 899 test images
    tiny_config.epochs = 3

    def data(s, split, options):  # the reference is half of the test split; the other half is held out
        ds = make_dataset(s, split, options)
        return ds if split == "train" else HalfOfTest(ds, 0)

    held = HalfOfTest(make_dataset(spec, "test", DataOptions(image_size=size, channels=1)), 1)
    images = torch.stack([held[i]["image"] for i in range(len(held))])  # (M, 1, size, size)
    real = evaluate_generator(replay(images), spec, size, 1, n=len(images), batch=100, cache_dir=tmp_path,
                              config=tiny_config, dataset_fn=data)
    clf = get_classifier(spec, size, 1, tmp_path, tiny_config, data)
    assert list(real["coverage"]) == clf.class_names == held.class_names
    assert real["classifier_accuracy"] == clf.accuracy > 1.5 / len(clf.class_names)  # well above chance
    assert real["n"] == len(images) > real["n_floor"] > 200  # more fakes than probe images
    noise = max(3 * real["fd_real_floor_std"], 0.1 * real["fd_real_floor"])
    assert abs(real["fd"] - real["fd_real_floor"]) < noise

    # degraded images against the same reference, splits and seeds as evaluate_generator's
    reference = clf.embed(load_split(spec, "test", size, 1, dataset_fn=data).pixels)[0]  # (N, D)
    g = torch.Generator().manual_seed(0)
    noisy = (images + 0.5 * torch.randn(images.shape, generator=g)).clamp(-1, 1)
    blurred = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)
    again = fd_at_matched_sizes(reference, clf.features(images), real["n_floor"])
    assert again["fd"] == pytest.approx(real["fd"]) and again["fd_real_floor"] == pytest.approx(real["fd_real_floor"])
    for bad in (blurred, noisy):
        res = fd_at_matched_sizes(reference, clf.features(bad), real["n_floor"])
        assert res["fd"] > real["fd_real_floor"] + noise
        assert res["fd_inf"] > real["fd_inf_real_floor"] + noise
