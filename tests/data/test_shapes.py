"""The procedural shapes dataset: factors, views, captions, splits, determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ganas.data import make_dataset
from ganas.errors import ConfigError
from ganas.data.shapes import (
    COLOURS, FACTORS, LABEL_COLOURS, POSITIONS, SHAPES, SIZES, VIEWS, Scene, caption, render, scene_for,
)


def test_factor_vocabulary_is_rich_enough() -> None:
    assert len(SHAPES) >= 6 and len(COLOURS) >= 6 and len(SIZES) == 3 and len(POSITIONS) == 9


def test_scene_for_is_a_pure_function_and_covers_factors() -> None:
    assert scene_for(7, "train", 3) == scene_for(7, "train", 3)
    assert scene_for(7, "train", 3) != scene_for(7, "train", 4)
    scenes = [scene_for(i, "train", 0) for i in range(400)]
    for f, values in FACTORS.items():
        assert {getattr(s, f) for s in scenes} == set(values), f


def test_train_and_test_share_no_scene_or_image() -> None:
    train = {scene_for(i, "train", 0) for i in range(1500)}
    test = {scene_for(i, "test", 0) for i in range(300)}
    assert len(train) == 1500 and not train & test
    a = make_dataset("shapes?n=200", "train", image_size=16)
    b = make_dataset("shapes?n=200", "test", image_size=16)
    ha = {a[i]["image"].numpy().tobytes() for i in range(len(a))}
    hb = {b[i]["image"].numpy().tobytes() for i in range(len(b))}
    assert not ha & hb


def test_dataset_is_deterministic_and_labels_match_scenes() -> None:
    a = make_dataset("shapes?n=20&label=colour&seed=5", image_size=32)
    b = make_dataset("shapes?n=20&label=colour&seed=5&cache=false", image_size=32)
    for i in range(20):
        assert torch.equal(a[i]["image"], b[i]["image"])
        assert torch.equal(a[i]["image"], b[i]["image"])  # second read: from a's cache
        assert a.class_names[int(a[i]["label"])] == a.scene(i).colour
    assert a._cache is not None and len(a._cache) == 20 and b._cache is None
    assert a.num_classes == len(COLOURS)
    for label, n in (("shape", 6), ("size", 3), ("position", 9)):
        d = make_dataset(f"shapes?n=30&label={label}", image_size=16)
        assert d.num_classes == n and d.class_names[int(d[3]["label"])] == getattr(d.scene(3), label)


def test_cache_respects_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganas.data.dataset import ImageDataset

    monkeypatch.setattr(ImageDataset, "CACHE_BYTES", 10 * 3 * 16 * 16)
    small, big = make_dataset("shapes?n=10", image_size=16), make_dataset("shapes?n=11", image_size=16)
    small[0], big[0]
    assert small._cache is not None and big._cache is None
    rnd = make_dataset("shapes?n=2&crop=random&load_size=20", image_size=16)
    rnd[0]
    assert rnd._cache is not None and rnd._cache[0].shape == (20, 20, 3)  # cached before the crop
    crops = {rnd[(0, e, 0)]["image"].numpy().tobytes() for e in range(10)}
    assert len(crops) > 1 and rnd[(0, 3, 0)]["image"].numpy().tobytes() in crops


def _scene(**kw: object) -> Scene:
    base = dict(shape="square", colour="red", size="large", position="center", rotation=0.0,
                background="white", dx=0.0, dy=0.0, scale=1.0, seed=1)
    base.update(kw)
    return Scene(**base)  # type: ignore[arg-type]


def test_photo_puts_the_colour_where_the_position_says() -> None:
    s = _scene(position="top left", size="medium")
    a = np.asarray(render(s, 64, "photo")).astype(int)  # (64, 64, 3)
    red = np.all(np.abs(a - np.array(COLOURS["red"])) < 30, axis=-1)
    ys, xs = np.nonzero(red)
    assert red.sum() > 50
    assert xs.mean() < 32 and ys.mean() < 32  # top left quadrant
    assert np.abs(a[60, 60] - 248).max() < 3  # background stays white


def test_size_and_shape_change_the_area() -> None:
    def area(**kw: object) -> int:
        a = np.asarray(render(_scene(**kw), 64, "label_map"))
        return int((a.sum(-1) > 0).sum())

    assert area(size="small") < area(size="medium") < area(size="large")
    assert area(shape="star") < area(shape="hexagon") < area(shape="circle")


def test_views() -> None:
    s = _scene(shape="triangle", background="sky gradient")
    imgs = {v: np.asarray(render(s, 32, v)) for v in VIEWS}
    for v, a in imgs.items():
        assert a.shape == (32, 32, 3) and a.dtype == np.uint8, v
    lm = imgs["label_map"].reshape(-1, 3)
    assert {tuple(c) for c in lm} == {(0, 0, 0), LABEL_COLOURS["triangle"]}  # flat, no blends
    e = imgs["edges"]
    assert e[0, 0].tolist() == [255, 255, 255] and e.min() < 60  # black lines on white
    assert imgs["night"].mean() < imgs["photo"].mean() - 60  # dark palette
    assert np.std(imgs["night"][:4, :4].astype(float)) > 2  # textured, not flat
    with pytest.raises(Exception, match="view"):
        render(s, 32, "sepia")
    with pytest.raises(Exception, match="16..256"):
        render(s, 8)


@pytest.mark.parametrize("size", [16, 48, 100])
def test_any_resolution(size: int) -> None:
    d = make_dataset("shapes?n=2&view=night", image_size=size, channels=1)
    assert d[0]["image"].shape == (1, size, size)


def test_captions_name_the_factors_and_vary() -> None:
    s = _scene(shape="circle", colour="red", size="small", position="top left")
    texts = {caption(s, np.random.default_rng(k)) for k in range(60)}
    assert len(texts) > 10
    for t in texts:
        assert any(w in t for w in ("red", "crimson", "scarlet")), t
        assert any(w in t for w in ("circle", "disc", "round dot")), t
        assert "left" in t, t
    assert caption(s, 3) == caption(s, 3)
    assert caption(_scene(colour="orange"), 0).count("a orange") == 0
    d = make_dataset("shapes?n=4", "test")
    assert d.caption(2) == make_dataset("shapes?n=4", "test").caption(2)


def test_random_flip_follows_the_key() -> None:
    d = make_dataset("shapes?n=4", image_size=16, flip=True)
    torch.manual_seed(0)
    a = [d[(0, e, 1)]["image"] for e in range(8)]
    torch.manual_seed(1)  # the global RNG plays no part
    b = [d[(0, e, 1)]["image"] for e in range(8)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    plain = d[(0, 0, 0)]["image"]
    unflipped = make_dataset("shapes?n=4", image_size=16)[0]["image"]
    assert any(torch.equal(x, unflipped.flip(-1)) for x in a) and any(torch.equal(x, unflipped) for x in a)
    assert torch.equal(d[0]["image"], plain)
    t = make_dataset("shapes?n=4", "test", image_size=16, flip=True)  # never flips the test split
    assert all(torch.equal(t[0]["image"], t[0]["image"]) for _ in range(5))


def test_render_rounded_cuts_corners_and_keeps_edges() -> None:
    from ganas.data.shapes import render_rounded

    # a large axis-aligned square in the centre: circumradius 0.28 * 64 = 17.9 px, half side 12.7 px
    square = dataclasses.replace(scene_for(0), shape="square", size="large", rotation=0.0, position="center",
                                 background="white", colour="blue", dx=0.0, dy=0.0, scale=1.0)
    sharp = np.asarray(render(square, 64))
    assert np.array_equal(np.asarray(render_rounded(square, 64, 0.0)), sharp)
    blue, white = COLOURS["blue"], tuple(int(v) for v in sharp[0, 0])
    rounded = np.asarray(render_rounded(square, 64, 0.2))
    corner, edge_mid, centre = (43, 43), (32, 43), (32, 32)  # (row, col), 11 px from the centre
    assert tuple(sharp[corner]) == blue and tuple(rounded[corner]) == white  # the corner is cut
    assert tuple(rounded[edge_mid]) == blue and tuple(rounded[centre]) == blue  # the straight edge stays
    assert (rounded != sharp).any(-1).sum() < 0.05 * 64 * 64  # only near the corners
    with pytest.raises(ConfigError, match="rounding"):
        render_rounded(square, 64, -0.1)
