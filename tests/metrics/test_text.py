"""The text-to-image evaluation (``ganas.metrics.text``): R-precision, the factor
classifier and its cache, caption consistency against real images as the "generator"
(it must score as the real images) and degraded ones (they must score lower)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from ganas.errors import DataError
from ganas.gan.gancls import GANCLS


def tiny(**kw) -> GANCLS:
    torch.manual_seed(0)
    return GANCLS(dataclasses.replace(GANCLS.tiny_config(), **kw))


def test_r_precision_by_hand() -> None:
    from ganas.metrics.text import r_precision

    img = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    txt = torch.tensor([[2.0, 0.1], [0.0, 3.0], [1.0, -1.0], [1.0, 0.9]])
    # image 0: own caption 0 (cos ~1) beats 1, 2 -> hit; image 1: own 1 beats 0 -> hit;
    # image 2: own caption 2 (cos 0) loses to caption 3 (cos ~1) -> miss
    cand = torch.tensor([[0, 1, 2], [1, 0, 2], [2, 3, 1]])
    assert r_precision(img, txt, cand) == pytest.approx(2 / 3)


EVAL_SPEC = "shapes?task=captions&n=256"


TINY_CLASSIFIER = dict(width=8, feature_dim=16, epochs=8, batch_size=32, input_size=16, lr=1e-2, shift=0.0)


@pytest.fixture(scope="module")
def factor_model() -> torch.nn.Module:
    from ganas.metrics.text import fit_factor_classifier
    from ganas.metrics.classifier import ClassifierConfig

    return fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=256, classifier=ClassifierConfig(**TINY_CLASSIFIER))


def test_factor_classifier_is_cached_by_data_size_and_recipe(tmp_path, monkeypatch) -> None:
    import ganas.metrics.text as gc
    import ganas.metrics.classifier as mc

    fits: list[int] = []
    monkeypatch.setattr(gc, "fit_classifier_on", _counting(fits, mc.fit_classifier_on))
    ClassifierConfig = mc.ClassifierConfig
    cc = ClassifierConfig(**{**TINY_CLASSIFIER, "epochs": 1})
    a = gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=64, classifier=cc, cache_dir=tmp_path)
    b = gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=64, classifier=cc, cache_dir=tmp_path)
    assert len(fits) == 1  # the second call loaded the file
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path)  # other key
    gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=64, classifier=ClassifierConfig(**{**TINY_CLASSIFIER, "epochs": 2}),
                             cache_dir=tmp_path)
    assert len(fits) == 3 and len(list(tmp_path.glob("*.pt"))) == 3


def test_factor_classifier_is_shared_by_caption_only_options(tmp_path, monkeypatch) -> None:
    """``wrong=swap`` changes the captions, not the images: no second fit."""
    import ganas.metrics.text as gc
    import ganas.metrics.classifier as mc

    assert gc.factor_classifier_spec("shapes?task=captions&wrong=swap&n=9") == "shapes?task=captions&n=9"
    assert gc.factor_classifier_spec("captions:/data/wrong=x") == "captions:/data/wrong=x"
    assert gc.factor_classifier_spec("shapes?task=captions&rotation=upright&n=9") == "shapes?task=captions&n=9"
    fits: list[int] = []
    monkeypatch.setattr(gc, "fit_classifier_on", _counting(fits, mc.fit_classifier_on))
    cc = mc.ClassifierConfig(**{**TINY_CLASSIFIER, "epochs": 1})
    gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path)
    gc.fit_factor_classifier(EVAL_SPEC + "&wrong=swap", 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path)
    assert len(fits) == 1
    gc.fit_factor_classifier("shapes?task=captions&n=128", 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path)
    assert len(fits) == 2  # other images: another fit


def _counting(calls: list, fn):
    def wrapped(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)
    return wrapped


def _eval(m: GANCLS, factor_model: torch.nn.Module, candidates: int = 5) -> dict:
    from ganas.metrics.text import evaluate_text

    return evaluate_text(m, EVAL_SPEC, n=24, candidates=candidates, batch=10, factor_model=factor_model)


def test_evaluate_text_a_perfect_generator_scores_as_the_real_images(monkeypatch: pytest.MonkeyPatch,
                                                                     factor_model: torch.nn.Module) -> None:
    from ganas.metrics.text import read_items
    from ganas.metrics.classifier import from_pixels

    m = tiny()
    real = from_pixels(read_items(EVAL_SPEC, "test", 16, 3, 24, 1)["image"])  # the order evaluate_text reads
    pos = [0]

    def copy_real(texts, z):  # "generates" the real test image of each caption
        x = real[pos[0]: pos[0] + len(texts)]
        pos[0] += len(texts)
        return x

    monkeypatch.setattr(m, "generate_from_text", copy_real)
    out = _eval(m, factor_model)
    assert pos[0] == 24 and out["n"] == 24
    assert out["caption_consistency"] == out["classifier_accuracy"]
    by_size = out["by_size"]  # the same split by the size each caption names
    assert set(by_size) <= {"small", "medium", "large"} and sum(r["n"] for r in by_size.values()) == 24
    assert all(r["generated"] == r["real"] for r in by_size.values())
    for f in ("shape", "colour"):  # the overall figure is the n-weighted mean of the sizes'
        assert sum(r["n"] * r["generated"][f] for r in by_size.values()) / 24 == pytest.approx(out["caption_consistency"][f])
    conf = out["shape_confusion"]  # (shape named, shape read) counts
    assert conf["generated"] == conf["real"] and sum(map(sum, conf["generated"])) == 24
    diag = sum(conf["generated"][i][i] for i in range(len(conf["shapes"])))
    assert diag / 24 == pytest.approx(out["caption_consistency"]["shape"])
    assert out["classifier_accuracy"]["colour"] > 0.5  # a classifier that sees colours (chance 1/7)
    assert out["fd"] == pytest.approx(0.0, abs=1e-4)
    assert out["r_precision"] == out["r_precision_real"] and 0 <= out["r_precision"] <= 1


def test_evaluate_text_on_a_generator(factor_model: torch.nn.Module) -> None:
    m = tiny()
    m.sample_captions = ["a red square"]
    out = _eval(m, factor_model)
    assert set(out["caption_consistency"]) == {"shape", "colour"}
    assert all(0 <= v <= 1 for v in [*out["caption_consistency"].values(), *out["classifier_accuracy"].values()])
    # an untrained G: its images are not the captions' (the classifier reads real ones)
    assert out["caption_consistency"]["colour"] < out["classifier_accuracy"]["colour"]
    assert out["fd"] > 1e-2 and 0 <= out["r_precision"] <= 1
    with pytest.raises(DataError, match="factors"):
        from ganas.metrics.text import evaluate_text
        evaluate_text(m, "shapes?n=16", n=4, train_n=8)


def test_fitting_candidates_by_hand() -> None:
    from ganas.metrics.text import fitting_candidates

    keys = torch.tensor([0, 0, 1, 2, 2, 2])  # item 3 (key 2) has 3 mismatching items, the fewest
    assert fitting_candidates(keys, 100) == 4 and fitting_candidates(keys, 3) == 3
    assert fitting_candidates(torch.tensor([5, 5, 5]), 100) == 1  # nothing to tell apart


def test_evaluate_text_fits_the_candidates_to_a_small_test_split(factor_model: torch.nn.Module) -> None:
    """Fewer mismatching captions than candidates - 1: R-precision with as many as every
    item has (the number used is reported), not an error."""
    m = tiny()
    m.sample_captions = ["a red square"]
    out = _eval(m, factor_model, candidates=100)
    assert 2 <= out["candidates"] <= 24 and 0 <= out["r_precision"] <= 1


def test_text_retrieval_on_data_without_factors(tmp_path: Path) -> None:
    """User caption data: items keyed by class; precomputed embeddings have no image
    encoder, so no R-precision."""
    from ganas.metrics.text import text_retrieval

    m = tiny()
    m.vocab.add(["a red square", "a blue circle"])
    fake = torch.rand(4, 3, 16, 16) * 2 - 1
    real = (torch.rand(4, 3, 16, 16) * 255).to(torch.uint8)
    caps = ["a red square", "a red square", "a blue circle", "a blue circle"]
    out = text_retrieval(m, fake, real, caps, torch.tensor([0, 0, 1, 1]), candidates=100)
    assert out["candidates"] == 3 and 0 <= out["r_precision"] <= 1 and 0 <= out["r_precision_real"] <= 1
    assert text_retrieval(m, fake, real, caps, torch.tensor([0, 0, 0, 0]))["r_precision"] is None
    m.E_image = None  # as with precomputed embeddings
    assert text_retrieval(m, fake, real, caps, torch.tensor([0, 0, 1, 1]))["r_precision"] is None


def test_evaluate_text_wrong_colours_score_below_the_real_images(monkeypatch: pytest.MonkeyPatch,
                                                                factor_model: torch.nn.Module) -> None:
    """A degraded generator -- the real test image of each caption with its colour channels
    rotated (red -> green...) -- must score clearly lower colour consistency."""
    from ganas.metrics.text import read_items
    from ganas.metrics.classifier import from_pixels

    m = tiny()
    real = from_pixels(read_items(EVAL_SPEC, "test", 16, 3, 24, 1)["image"])
    pos = [0]

    def rotated(texts, z):
        x = real[pos[0]: pos[0] + len(texts)]
        pos[0] += len(texts)
        return x[:, [1, 2, 0]]

    monkeypatch.setattr(m, "generate_from_text", rotated)
    out = _eval(m, factor_model)
    assert out["caption_consistency"]["colour"] < out["classifier_accuracy"]["colour"] - 0.3
    for size, r in out["by_size"].items():  # and within every size the captions name
        assert r["generated"]["colour"] < r["real"]["colour"], size


def test_confusion_by_hand() -> None:
    from ganas.metrics.text import confusion, per_class_accuracy

    m = confusion(torch.tensor([0, 0, 1, 2, 2]), torch.tensor([0, 1, 1, 1, 2]), 4)
    assert m == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert per_class_accuracy(m) == [0.5, 1.0, 0.5, None]


def test_shape_confusion_of_a_generator_that_draws_one_image(monkeypatch: pytest.MonkeyPatch,
                                                             factor_model: torch.nn.Module) -> None:
    """The degraded case the confusion is for: one picture for every caption. Every row
    of the generated counts falls in one column; the real images' do not."""
    from ganas.metrics.text import read_items
    from ganas.metrics.classifier import from_pixels

    m = tiny()
    real = from_pixels(read_items(EVAL_SPEC, "test", 16, 3, 24, 1)["image"])
    monkeypatch.setattr(m, "generate_from_text", lambda texts, z: real[:1].expand(len(texts), -1, -1, -1))
    conf = _eval(m, factor_model)["shape_confusion"]
    gen = torch.tensor(conf["generated"])  # (6, 6)
    assert int(gen.sum()) == 24 and int((gen.sum(0) > 0).sum()) == 1
    assert gen.sum(1).tolist() == torch.tensor(conf["real"]).sum(1).tolist()  # rows: the shapes named
    assert int((torch.tensor(conf["real"]).sum(0) > 0).sum()) > 1


def test_round_half_redraws_half_the_images_with_their_own_scenes() -> None:
    """The factor classifier's rounding: a seeded half of the training images is replaced
    by rounded renders of the same scenes; the other half stays as read."""
    import numpy as np

    import ganas.metrics.text as gc
    from ganas.data import make_dataset
    from ganas.data.base import DataOptions
    from ganas.data.shapes import render_rounded

    items = gc.read_items(EVAL_SPEC, "train", 16, 3, 32, 0)
    before = items["image"].clone()
    ds = make_dataset(EVAL_SPEC, "train", DataOptions(image_size=16, flip=False))
    gc._round_half(items, ds, 16, 0.5, 0)
    changed = [i for i in range(32) if not torch.equal(items["image"][i], before[i])]
    assert 0 < len(changed) <= 16
    for i in changed:  # each changed image lies between its scene's sharp render and a very round one
        scene = ds.scene(int(items["index"][i]))
        now = items["image"][i].permute(1, 2, 0).numpy().astype(np.float32)
        very_round = np.asarray(render_rounded(scene, 16, 0.5), dtype=np.float32)
        sharp = before[i].permute(1, 2, 0).numpy().astype(np.float32)
        assert np.abs(now - very_round).mean() < np.abs(sharp - very_round).mean()


def test_factor_classifier_rounding_is_part_of_its_key(tmp_path, monkeypatch) -> None:
    import ganas.metrics.text as gc
    import ganas.metrics.classifier as mc

    fits: list[int] = []
    monkeypatch.setattr(gc, "fit_classifier_on", _counting(fits, mc.fit_classifier_on))
    cc = mc.ClassifierConfig(**{**TINY_CLASSIFIER, "epochs": 1})
    gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path)
    gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path, rounding=0.1)
    assert len(fits) == 2
    with pytest.raises(gc.ConfigError, match="rounding"):
        gc.fit_factor_classifier(EVAL_SPEC, 16, 3, train_n=32, classifier=cc, cache_dir=tmp_path, rounding=-1.0)
