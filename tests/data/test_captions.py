"""captions:PATH (Reed's text_c10 layout, CSV, JSONL) and the shapes caption/attribute tasks."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganas.data import make_dataset
from ganas.data.shapes import COLOURS, FACTOR_NAMES, SHAPES, SWAP_FACTORS
from ganas.errors import ConfigError, DataError


def _reed(root: Path) -> Path:
    for cls, stems in (("001.Albatross", ["a1", "a2"]), ("002.Auklet", ["b1", "b2", "b3"])):
        for s in stems:
            (root / "images" / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (10, 8), (200, 0, 0) if cls.startswith("001") else (0, 0, 200)).save(root / "images" / cls / f"{s}.jpg")
            (root / "text_c10" / cls).mkdir(parents=True, exist_ok=True)
            (root / "text_c10" / cls / f"{s}.txt").write_bytes(
                f"{cls} {s} caption one\r\n{cls} {s} caption two\r\n\r\n".encode())
    return root


def test_reed_layout_captions_and_wrong_captions(tmp_path: Path) -> None:
    root = _reed(tmp_path)
    d = make_dataset(f"captions:{root}", image_size=8)
    assert len(d) == 5 and d.class_names == ["001.Albatross", "002.Auklet"]
    assert d.captions[0] == ["001.Albatross a1 caption one", "001.Albatross a1 caption two"]
    seen = set()
    for e in range(10):
        x = d[(0, e, 0)]
        assert x["caption"] in d.captions[0]
        assert x["wrong_caption"].startswith("002.Auklet")  # another class
        seen.add(x["caption"])
        assert d[(0, e, 0)]["caption"] == x["caption"]  # from the key
    assert len(seen) == 2
    batch = next(iter(torch.utils.data.DataLoader(d, batch_size=3)))
    assert batch["image"].shape == (3, 3, 8, 8) and len(batch["caption"]) == 3 and isinstance(batch["caption"][0], str)
    with pytest.raises(DataError, match="holdout"):
        make_dataset(f"captions:{root}", "test")


def test_reed_class_split_files(tmp_path: Path) -> None:
    root = _reed(tmp_path)
    for i in range(2):
        (root / "images" / "003.Crow").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(root / "images" / "003.Crow" / f"c{i}.jpg")
        (root / "text_c10" / "003.Crow").mkdir(parents=True, exist_ok=True)
        (root / "text_c10" / "003.Crow" / f"c{i}.txt").write_text("a crow\n")
    (root / "trainvalclasses.txt").write_text("001.Albatross\n003.Crow\n")
    (root / "testclasses.txt").write_text("002.Auklet\n003.Crow\n")
    te = make_dataset(f"captions:{root}", "test", image_size=8)
    assert len(te) == 5 and {te.class_names[y] for y in te.targets} == {"002.Auklet", "003.Crow"}


def test_missing_image_and_empty_caption_file(tmp_path: Path) -> None:
    root = _reed(tmp_path)
    (root / "images" / "002.Auklet" / "b2.jpg").unlink()
    with pytest.raises(DataError, match=r"b2\.txt: no image"):
        make_dataset(f"captions:{root}", image_size=8)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(make_dataset(f"captions:{root}?skip_bad=true", image_size=8)) == 4
    (root / "text_c10" / "002.Auklet" / "b3.txt").write_text("\n \n")
    with pytest.raises(DataError, match=r"b3\.txt: empty caption file"):
        make_dataset(f"captions:{root}?skip_bad=true", image_size=8)


def test_csv_and_jsonl_tables(tmp_path: Path) -> None:
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 50, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "caps.csv").write_text(
        "image,caption\n0.png,\"red, dark\"\n0.png,second caption of 0\n1.png,one\n2.png,two\n3.png,three\n")
    d = make_dataset(f"captions:{tmp_path / 'caps.csv'}?holdout=0.5", image_size=8)
    t = make_dataset(f"captions:{tmp_path / 'caps.csv'}?holdout=0.5", "test", image_size=8)
    assert len(d) == 2 and len(t) == 2 and not set(d.files) & set(t.files)
    full = make_dataset(f"captions:{tmp_path / 'caps.csv'}", image_size=8)
    assert full.captions[0] == ["red, dark", "second caption of 0"] and int(full[0]["label"]) == -1
    assert full[(1, 0, 0)]["wrong_caption"] != "one"  # another image's caption
    lines = [json.dumps({"image": "0.png", "captions": ["a", "b"], "class": "x"}),
             json.dumps({"image": "1.png", "caption": "c", "class": "y"})]
    (tmp_path / "caps.jsonl").write_text("\n".join(lines) + "\n\n")
    j = make_dataset(f"captions:{tmp_path / 'caps.jsonl'}", image_size=8)
    assert j.class_names == ["x", "y"] and j[0]["wrong_caption"] == "c"
    (tmp_path / "bad.jsonl").write_text(lines[0] + "\n{oops\n")
    with pytest.raises(DataError, match=r"bad\.jsonl: line 2"):
        make_dataset(f"captions:{tmp_path / 'bad.jsonl'}")
    (tmp_path / "bad.csv").write_text("file,words\n0.png,x\n")
    with pytest.raises(DataError, match=r"bad\.csv: the header must name"):
        make_dataset(f"captions:{tmp_path / 'bad.csv'}")
    (tmp_path / "gone.csv").write_text("image,caption\n0.png,a\nnope.png,b\n")
    with pytest.raises(DataError, match=r"nope\.png: no image"):
        make_dataset(f"captions:{tmp_path / 'gone.csv'}")


def test_shapes_caption_task() -> None:
    d = make_dataset("shapes?n=30&task=captions", image_size=16)
    for i in range(5):
        x = d[(i, 2, 1)]
        scene = d.scene(i)
        assert isinstance(x["caption"], str) and x["caption"] == d.caption(i, 2, 1)
        assert int(x["factors"][FACTOR_NAMES.index("shape")]) == SHAPES.index(scene.shape)
        assert int(x["factors"][FACTOR_NAMES.index("colour")]) == list(COLOURS).index(scene.colour)
        assert x["wrong_caption"] != x["caption"]
    assert d[3]["caption"] == d.caption(3)
    assert len({d[(0, e, 0)]["caption"] for e in range(10)}) > 1  # words vary over epochs


def _named(text: str, factor: str) -> str:
    """The value of ``factor`` a shapes caption names (its longest matching phrase)."""
    from ganas.data import shapes

    words = {"shape": shapes._SHAPE_WORDS, "colour": shapes._COLOUR_WORDS, "size": shapes._SIZE_WORDS,
             "position": shapes._WHERE_WORDS}[factor]
    text = re.sub(r" on an? [a-z ]+ background$", "", text)  # background names hold colour words
    hits = [(len(w), v) for v, ws in words.items() for w in ws if re.search(rf"\b{re.escape(w)}\b", text)]
    return max(hits)[1]


def test_shapes_swap_wrong_captions_change_exactly_one_factor() -> None:
    d = make_dataset("shapes?n=200&task=captions&wrong=swap", image_size=16)
    changed = []
    for i in range(200):
        x, scene = d[(i, 1, 0)], d.scene(i)
        assert [_named(x["caption"], f) for f in SWAP_FACTORS] == [getattr(scene, f) for f in SWAP_FACTORS]
        diff = [f for f in SWAP_FACTORS if _named(x["wrong_caption"], f) != getattr(scene, f)]
        assert len(diff) == 1, (x["caption"], x["wrong_caption"])
        changed += diff
    assert set(changed) == set(SWAP_FACTORS)  # every factor gets swapped
    assert max(changed.count(f) for f in SWAP_FACTORS) < 80  # about uniformly (50 each)
    assert d[(5, 1, 0)]["wrong_caption"] == d.wrong_caption(5, 1, 0)  # a function of the key
    # the default draws another scene's caption: colour or shape differs, usually several factors
    o = make_dataset("shapes?n=200&task=captions", image_size=16)
    several = sum(sum(_named(o[i]["wrong_caption"], f) != getattr(o.scene(i), f) for f in SWAP_FACTORS) > 1
                  for i in range(200))
    assert several > 150
    with pytest.raises(ConfigError, match="task=captions"):
        make_dataset("shapes?n=2&wrong=swap")


def test_shapes_upright_keeps_every_factor_but_the_rotation() -> None:
    free = make_dataset("shapes?n=40&task=captions", image_size=32)
    up = make_dataset("shapes?n=40&task=captions&rotation=upright", image_size=32)
    turned = 0
    for i in range(40):
        a, b = free.scene(i), up.scene(i)
        assert b.rotation == 0.0 and dataclasses.replace(a, rotation=0.0) == b
        assert free.caption(i) == up.caption(i)  # captions never name the rotation
        turned += a.shape != "circle" and not torch.equal(free[i]["image"], up[i]["image"])
    assert turned > 25  # the images do change (all but the circles, whose turn is invisible)
    pairs = make_dataset("shapes?n=4&task=day2night&rotation=upright", "train", image_size=16)
    assert all(s.rotation == 0.0 for s in pairs._b_scenes)  # B's scenes too
    with pytest.raises(ConfigError, match="rotation"):
        make_dataset("shapes?n=2&rotation=sideways")


def test_shapes_attribute_task() -> None:
    d = make_dataset("shapes?n=10&task=attributes&attrs=colour,size", image_size=16)
    assert d.attr_groups == [list(range(7)), [7, 8, 9]] and d.attr_names[0] == "colour=red"
    for i in range(4):
        a, scene = d[i]["attrs"], d.scene(i)
        assert a.sum() == 2 and d.attr_names[int(a[:7].argmax())] == f"colour={scene.colour}"
        assert d.attr_names[7 + int(a[7:].argmax())] == f"size={scene.size}"
    assert make_dataset("shapes?n=2&task=attributes", image_size=16)[0]["attrs"].shape == (16,)
    with pytest.raises(ConfigError, match="attrs"):
        make_dataset("shapes?n=2&task=attributes&attrs=colour,smell")
    with pytest.raises(ConfigError, match="task=attributes"):
        make_dataset("shapes?n=2&attrs=colour")
