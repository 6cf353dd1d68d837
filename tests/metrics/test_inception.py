"""The Inception-v3 extractor with random weights (the real file is the user's to supply)."""

import pytest
import torch

from ganas.errors import CheckpointError, ConfigError
from ganas.metrics import FEATURES, InceptionV3Features, evaluate_generator, load_inception
from ganas.metrics.inception import TRUNK_PARAMETERS
from metrics_toydata import sampler


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    net = InceptionV3Features()
    for m in net.modules():  # non-trivial BN statistics, so a load that skipped them would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    state = dict(net.state_dict())
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)  # as in the FID file
    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    torch.save(state, path)
    return path, net.eval()


def test_architecture_matches_torchvision_inception_v3():
    net = InceptionV3Features()
    assert sum(p.numel() for p in net.parameters()) == TRUNK_PARAMETERS
    keys = net.state_dict().keys()
    assert {"Conv2d_1a_3x3.conv.weight", "Mixed_6e.branch7x7dbl_5.bn.running_var", "Mixed_7c.branch3x3dbl_3b.conv.weight"} <= keys
    assert net.Mixed_7c.max_pool and not net.Mixed_7b.max_pool


def test_load_and_extract(weights):
    path, ref = weights
    ext = FEATURES.create("inception", weights=path, resize_to=None, batch=2)
    x = torch.rand(3, 1, 75, 75) * 2 - 1
    f = ext.features(x)
    assert f.shape == (3, 2048) and torch.isfinite(f).all()
    ref.resize_to = None
    with torch.no_grad():
        torch.testing.assert_close(f, ref(x.expand(-1, 3, -1, -1)))
    assert load_inception(path).resize_to == 299


def test_resize_to_299_is_applied(weights):
    path, _ = weights
    net = load_inception(path, resize_to=80)
    seen = []
    net.Conv2d_1a_3x3.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    with torch.no_grad():
        net(torch.zeros(1, 3, 16, 16))
    assert seen == [torch.Size([1, 3, 80, 80])]


def test_refusals(tmp_path, weights, monkeypatch):
    monkeypatch.delenv("GANAS_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(ConfigError, match="GANAS_INCEPTION_WEIGHTS"):
        FEATURES.create("inception")
    with pytest.raises(CheckpointError, match="not found"):
        load_inception(tmp_path / "missing.pth")
    partial = dict(torch.load(weights[0], weights_only=True))
    partial.pop("Mixed_5b.branch1x1.conv.weight")
    partial["extra.weight"] = torch.zeros(1)
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match=r"missing \['Mixed_5b.branch1x1.conv.weight'\].*unexpected \['extra.weight'\]"):
        load_inception(tmp_path / "partial.pth")


class PixelFeatures:
    """A stand-in extractor object: flattened pixels."""

    feature_dim = 144

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)  # (B, 144)


def test_evaluate_generator_with_another_extractor(tmp_path, fake_data, tiny_config):
    good = evaluate_generator(
        sampler(100), "toy3", 12, 1, n=60, batch=30, cache_dir=tmp_path, config=tiny_config, dataset_fn=fake_data, extractor=PixelFeatures()
    )
    assert good["features"] == "PixelFeatures"
    classifier_fd = evaluate_generator(
        sampler(100), "toy3", 12, 1, n=60, batch=30, cache_dir=tmp_path, config=tiny_config, dataset_fn=fake_data
    )["fd"]
    assert good["fd"] != pytest.approx(classifier_fd)  # FD computed in pixel space instead
    assert good["coverage"] == pytest.approx(
        evaluate_generator(sampler(100), "toy3", 12, 1, n=60, batch=30, cache_dir=tmp_path, config=tiny_config, dataset_fn=fake_data)["coverage"]
    )
