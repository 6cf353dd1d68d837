import pytest
import torch

from ganas.errors import CheckpointError, DataError, UnknownNameError
from ganas.metrics import FEATURES, FeatureExtractor, NeedsLabelsError, get_classifier, load_classifier
from ganas.metrics.classifier import SmallClassifier, cache_path, from_pixels, to_pixels

SPEC = "toy3"


def test_train_scores_on_test_split_and_caches(tmp_path, fake_data, tiny_config, monkeypatch):
    clf = get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)
    assert fake_data.calls == [(SPEC, "train"), (SPEC, "test")]
    assert clf.class_names == ["hbar", "vbar", "box"]
    assert clf.accuracy >= 0.9  # three easy classes; chance is 1/3
    assert clf.meta["n_train"] == 192 and clf.meta["n_test"] == 120
    assert clf.path is not None and clf.path.parent == tmp_path and clf.path.exists()
    assert not list(tmp_path.glob("*.tmp"))  # atomic save leaves no temporary file
    x = torch.rand(5, 1, 12, 12) * 2 - 1
    feats, probs = clf.embed(x)
    assert feats.shape == (5, 16) and probs.shape == (5, 3)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(5))
    assert isinstance(clf, FeatureExtractor) and clf.feature_dim == 16

    def no_training(*a, **k):
        raise AssertionError("trained again despite a cache hit")

    monkeypatch.setattr("ganas.metrics.classifier.fit_classifier", no_training)
    again = get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)
    assert again.path == clf.path  # cache hit: the datasets are opened (fingerprinted), nothing trained
    assert again.accuracy == clf.accuracy and again.class_names == clf.class_names
    torch.testing.assert_close(again.features(x), feats)


def test_cache_key_separates_size_and_config(tmp_path, fake_data, tiny_config):
    get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)
    other = type(tiny_config)(**{**tiny_config.__dict__, "epochs": 1})
    get_classifier(SPEC, 12, 1, tmp_path, other, fake_data)
    get_classifier(SPEC, 8, 1, tmp_path, tiny_config, fake_data)
    assert len(list(tmp_path.glob("*.pt"))) == 3
    assert [c[1] for c in fake_data.calls] == ["train", "test"] * 3


def test_registry_entry(tmp_path, fake_data, tiny_config):
    assert "classifier" in FEATURES.list()
    ext = FEATURES.create("classifier", SPEC, 12, 1, cache_dir=tmp_path, config=tiny_config, dataset_fn=fake_data)
    assert ext.features(torch.zeros(2, 1, 12, 12)).shape == (2, 16)
    with pytest.raises(UnknownNameError, match="valid: classifier"):
        FEATURES.get("inceptoin")


def test_cache_dir_from_environment(tmp_path, monkeypatch, fake_data, tiny_config):
    monkeypatch.setenv("GANAS_CACHE", str(tmp_path / "root"))
    clf = get_classifier(SPEC, 12, 1, None, tiny_config, fake_data)
    assert clf.path.parent == tmp_path / "root" / "classifiers"


@pytest.fixture
def cached(tmp_path, fake_data, tiny_config):
    return get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)


def test_modified_weights_are_refused(cached, tmp_path, fake_data, tiny_config):
    payload = torch.load(cached.path, weights_only=True)
    name = next(k for k in payload["state_dict"] if k.endswith("weight"))
    payload["state_dict"][name] = payload["state_dict"][name] + 1.0  # digest left as it was
    torch.save(payload, cached.path)
    with pytest.raises(CheckpointError, match=r"modified or corrupted.*delete"):
        get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)


def test_modified_accuracy_is_refused(cached):
    payload = torch.load(cached.path, weights_only=True)
    payload["meta"]["accuracy"] = payload["meta"]["accuracy"] / 2 + 0.25  # any change
    torch.save(payload, cached.path)
    with pytest.raises(CheckpointError, match="digest mismatch"):
        load_classifier(cached.path)


def test_garbage_and_truncated_files_are_refused(cached):
    data = cached.path.read_bytes()
    cached.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=str(cached.path.name)):
        load_classifier(cached.path)
    cached.path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_classifier(cached.path)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_objects_are_not_executed(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"meta": Evil(), "state_dict": {}, "digest": ""}, path)
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_classifier(path)
    assert "pwned" not in capsys.readouterr().out


def test_wrong_key_is_refused(cached, tiny_config):
    from ganas.metrics.classifier import cache_key

    other = cache_key("other", 12, 1, tiny_config)
    with pytest.raises(CheckpointError, match="different classifier"):
        load_classifier(cached.path, other)
    assert cache_path(cached.path.parent, other) != cached.path


def test_unlabelled_dataset_is_refused(tmp_path, tiny_config):
    from metrics_toydata import Shapes3

    def unlabelled(spec, split, options):
        ds = Shapes3(10, options.image_size, 0)
        ds.labels = [-1] * 10
        return ds

    with pytest.raises(NeedsLabelsError, match=r"no class labels.*--features selfsup"):
        get_classifier("nolabels", 12, 1, tmp_path, tiny_config, unlabelled)
    assert issubclass(NeedsLabelsError, DataError)


def _write_folder(root, classes, seed, size=12, per_class=12):
    """An ImageFolder tree ``root/{train,test}/<class>/*.png`` of noisy bars/boxes."""
    from PIL import Image

    from metrics_toydata import draw

    gen = torch.Generator().manual_seed(seed)
    for split, n in (("train", per_class), ("test", per_class // 2)):
        for c, label in classes.items():
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = ((draw(label, size, gen)[0] + 1) * 127.5).round().to(torch.uint8).numpy()
                Image.fromarray(img, "L").save(d / f"{i}.png")


def test_two_folders_behind_one_relative_spec_get_their_own_classifier(tmp_path, tiny_config, monkeypatch):
    cache = tmp_path / "cache"
    _write_folder(tmp_path / "a" / "data", {"hbar": 0, "vbar": 1}, seed=0)
    _write_folder(tmp_path / "b" / "data", {"box": 2, "hbar": 0, "vbar": 1}, seed=1)
    monkeypatch.chdir(tmp_path / "a")
    first = get_classifier("folder:data", 12, 1, cache, tiny_config)
    monkeypatch.chdir(tmp_path / "b")
    second = get_classifier("folder:data", 12, 1, cache, tiny_config)
    assert first.class_names == ["hbar", "vbar"] and second.class_names == ["box", "hbar", "vbar"]
    assert first.path != second.path and len(list(cache.glob("*.pt"))) == 2
    assert get_classifier("folder:data", 12, 1, cache, tiny_config).path == second.path  # a hit, still b's
    # the same folder with one file rewritten: a new classifier
    f = tmp_path / "b" / "data" / "train" / "box" / "0.png"
    f.write_bytes((tmp_path / "b" / "data" / "train" / "hbar" / "1.png").read_bytes())
    assert get_classifier("folder:data", 12, 1, cache, tiny_config).path not in (first.path, second.path)


def test_key_holds_the_ganas_version(tmp_path, fake_data, tiny_config, monkeypatch):
    one = get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)
    monkeypatch.setattr("ganas.metrics.cache.__version__", "99.0")
    two = get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data)
    assert one.path != two.path and two.meta["key"]["ganas"] == "99.0"


def test_single_class_folder_is_refused_with_the_alternative(tmp_path, tiny_config):
    _write_folder(tmp_path / "faces", {"all": 2}, seed=0)
    with pytest.raises(NeedsLabelsError, match=r"single class \('all'\).*--features selfsup"):
        get_classifier(f"folder:{tmp_path / 'faces'}", 12, 1, tmp_path / "cache", tiny_config)


def test_network_shapes_and_input_resize():
    net = SmallClassifier(3, 10, width=8, feature_dim=32, input_size=16).eval()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    assert net.features(x).shape == (4, 32) and net(x).shape == (4, 10)
    big = x.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)  # (4, 3, 64, 64), each pixel a 4x4 block
    torch.testing.assert_close(net.features(big), net.features(x), atol=1e-4, rtol=1e-4)


def test_pixels_round_trip():
    q = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    assert torch.equal(to_pixels(from_pixels(q)), q)
    assert from_pixels(q).min() == -1 and from_pixels(q).max() == 1
    net = SmallClassifier(1, 3, width=8, feature_dim=16).eval()
    torch.testing.assert_close(net(q), net(from_pixels(q)))


def test_progress_bar_while_training(tmp_path, fake_data, tiny_config, capsys):
    get_classifier(SPEC, 12, 1, tmp_path, tiny_config, fake_data, progress=True)
    assert "metric classifier" in capsys.readouterr().err  # tqdm writes to stderr
    get_classifier(SPEC, 12, 1, tmp_path / "quiet", tiny_config, fake_data, progress=False)
    assert "metric classifier" not in capsys.readouterr().err


def test_gaussian_blur_by_hand():
    from ganas.metrics.classifier import gaussian_blur

    x = torch.zeros(2, 3, 9, 9)
    x[:, :, 4, 4] = 1.0
    y = gaussian_blur(x, torch.tensor([0.0, 1.0]))
    assert torch.allclose(y[0], x[0])  # sigma 0: unchanged
    # sigma 1: the separable kernel's centre is 1 / (2 pi), its neighbour exp(-1/2) / (2 pi)
    assert y[1, 0, 4, 4].item() == pytest.approx(1 / (2 * torch.pi), rel=1e-3)
    assert y[1, 0, 4, 3].item() == pytest.approx(torch.exp(torch.tensor(-0.5)).item() / (2 * torch.pi), rel=1e-3)
    assert y[1].sum().item() == pytest.approx(3.0, rel=1e-5)  # mass kept


def test_random_degrade_is_the_identity_when_off_and_seeded_when_on():
    from ganas.metrics.classifier import random_degrade

    x = torch.rand(8, 3, 16, 16) * 2 - 1
    assert random_degrade(x, 0.0, 0.0, torch.Generator().manual_seed(0)) is x
    a = random_degrade(x, 1.5, 0.1, torch.Generator().manual_seed(1))
    b = random_degrade(x, 1.5, 0.1, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert a.min() >= -1 and a.max() <= 1


def test_degrade_settings_are_part_of_the_cache_key(tmp_path, fake_data, tiny_config):
    import dataclasses

    from ganas.metrics.classifier import cache_key

    a = cache_key("x", 16, 3, tiny_config)
    b = cache_key("x", 16, 3, dataclasses.replace(tiny_config, blur=1.0))
    assert cache_path(tmp_path, a) != cache_path(tmp_path, b)
