"""evaluate_generator through ganas.data.make_dataset on the built-in datasets (no files)."""

import pytest
import torch

from ganas.data import DataOptions, make_dataset
from ganas.metrics import evaluate_generator, get_classifier


@pytest.mark.parametrize("spec,size,epochs", [("digits", 8, 3), ("shapes?n=300&view=label_map", 16, 10)])
def test_real_train_images_score_near_the_floor(spec, size, epochs, tmp_path, tiny_config):
    tiny_config.epochs = epochs
    train = make_dataset(spec, "train", DataOptions(image_size=size, channels=1))
    images = torch.stack([train[i]["image"] for i in range(len(train))])  # (N, 1, size, size)
    pos = [0]

    def real_sampler(m: int) -> torch.Tensor:  # a "generator" replaying unseen-by-reference real images
        out = images[pos[0] : pos[0] + m]
        pos[0] += m
        return out

    out = evaluate_generator(real_sampler, spec, size, 1, n=100, batch=50, cache_dir=tmp_path, config=tiny_config)
    noise = evaluate_generator(
        lambda m: torch.rand(m, 1, size, size) * 2 - 1, spec, size, 1, n=100, batch=50, cache_dir=tmp_path, config=tiny_config
    )
    clf = get_classifier(spec, size, 1, tmp_path, tiny_config)
    assert list(out["coverage"]) == clf.class_names == train.class_names
    assert out["classifier_accuracy"] == clf.accuracy > 1.5 / len(clf.class_names)  # well above chance
    assert out["fd"] < noise["fd"] and out["precision"] > noise["precision"]
    assert out["fd"] < 5 * out["fd_real_floor"] + 1e-3
