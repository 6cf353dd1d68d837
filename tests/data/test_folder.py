"""folder:PATH layouts, splits, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganas.data import make_dataset
from ganas.errors import ConfigError, DataError


def _img(path: Path, colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def test_class_folders_become_sorted_labels(tmp_path: Path) -> None:
    _img(tmp_path / "dogs" / "a.png", (0, 0, 255))
    _img(tmp_path / "dogs" / "deep" / "b.JPG", (0, 0, 255))  # nested, upper-case extension
    _img(tmp_path / "cats" / "z.bmp", (255, 0, 0))
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    _img(tmp_path / ".hidden" / "x.png")
    d = make_dataset(f"folder:{tmp_path}", image_size=8, crop="none")
    assert d.class_names == ["cats", "dogs"] and len(d) == 3
    assert [int(d[i]["label"]) for i in range(3)] == [0, 1, 1]
    assert [Path(f).name for f in d.files] == ["z.bmp", "a.png", "b.JPG"]
    red = d[0]["image"]  # (3, 8, 8) in [-1, 1]
    assert red[0].min() > 0.95 and red[2].max() < -0.95


def test_root_images_form_one_class(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for i in range(3):
        _img(root / f"{i}.png")
    d = make_dataset(f"folder:{root}", image_size=8)
    assert d.class_names == ["photos"] and d.num_classes == 1 and len(d) == 3


def test_train_test_subfolders_select_the_split(tmp_path: Path) -> None:
    _img(tmp_path / "train" / "cat" / "1.png")
    _img(tmp_path / "train" / "dog" / "1.png")
    _img(tmp_path / "test" / "dog" / "1.png")
    tr = make_dataset(f"folder:{tmp_path}", "train", image_size=8)
    te = make_dataset(f"folder:{tmp_path}", "test", image_size=8)
    assert tr.class_names == te.class_names == ["cat", "dog"]
    assert len(tr) == 2 and len(te) == 1 and int(te[0]["label"]) == 1
    with pytest.raises(ConfigError, match="holdout"):
        make_dataset(f"folder:{tmp_path}?holdout=0.5")


def test_test_split_needs_holdout_which_is_disjoint(tmp_path: Path) -> None:
    for c in ("a", "b"):
        for i in range(10):
            _img(tmp_path / c / f"{i}.png", (i * 20, 0, 0))
    with pytest.raises(DataError, match="holdout"):
        make_dataset(f"folder:{tmp_path}", "test")
    tr = make_dataset(f"folder:{tmp_path}?holdout=0.3&seed=1", "train")
    te = make_dataset(f"folder:{tmp_path}?holdout=0.3&seed=1", "test")
    assert len(te) == 6 and len(tr) == 14 and not set(tr.files) & set(te.files)
    assert np.bincount(te.targets).tolist() == [3, 3]
    assert te.files == make_dataset(f"folder:{tmp_path}?holdout=0.3&seed=1", "test").files


def test_missing_empty_and_imageless_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        make_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty folder") as e:
        make_dataset(f"folder:{tmp_path / 'empty'}")
    assert str(tmp_path / "empty") in str(e.value)
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="no images found"):
        make_dataset(f"folder:{tmp_path / 'txt'}")
    _img(tmp_path / "cls" / "a" / "1.png")
    (tmp_path / "cls" / "b").mkdir()
    with pytest.raises(DataError, match="class folder has no images") as e:
        make_dataset(f"folder:{tmp_path / 'cls'}")
    assert str(tmp_path / "cls" / "b") in str(e.value)
    f = _img(tmp_path / "file.png")
    with pytest.raises(DataError, match="not a folder"):
        make_dataset(f"folder:{f}")


def _bad_files(root: Path) -> dict[str, Path]:
    good = _img(root / "good.png", (0, 255, 0), (16, 16))
    junk = root / "junk.png"
    junk.write_bytes(b"definitely not a png" * 10)
    full = root / "full.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(full)
    trunc = root / "trunc.jpg"
    trunc.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    empty = root / "empty.png"
    empty.write_bytes(b"")
    return {"good": good, "junk": junk, "trunc": trunc, "empty": empty, "full": full}


def test_bad_files_raise_naming_the_file(tmp_path: Path) -> None:
    files = _bad_files(tmp_path)
    d = make_dataset(f"folder:{tmp_path}", image_size=8)
    for name in ("junk", "trunc", "empty"):
        i = d.files.index(files[name])
        with pytest.raises(DataError) as e:
            d[i]
        assert str(files[name]) in str(e.value)


def test_skip_bad_validates_eagerly_and_counts(tmp_path: Path) -> None:
    files = _bad_files(tmp_path)
    with pytest.warns(UserWarning, match="skipped 3"):
        d = make_dataset(f"folder:{tmp_path}?skip_bad=true", image_size=8)
    assert sorted(Path(p).name for p, _ in d.skipped) == ["empty.png", "junk.png", "trunc.jpg"]
    assert all(str(p) in reason for p, reason in d.skipped)
    assert sorted(d.files) == sorted([files["good"], files["full"]])
    assert all(d[i]["image"].shape == (3, 8, 8) for i in range(len(d)))


def test_skip_bad_with_nothing_good_left(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="all 1 image files are bad"):
        make_dataset(f"folder:{tmp_path}?skip_bad", image_size=8)


def test_unreadable_file(tmp_path: Path) -> None:
    import os

    f = _img(tmp_path / "a.png")
    if os.geteuid() == 0:  # root reads anything: use a dangling symlink instead
        (tmp_path / "c.png").symlink_to(tmp_path / "missing-target.png")
        d = make_dataset(f"folder:{tmp_path}", image_size=8)
        with pytest.raises(DataError, match="c.png"):
            d[d.files.index(tmp_path / "c.png")]
    else:
        f.chmod(0)
        d = make_dataset(f"folder:{tmp_path}", image_size=8)
        with pytest.raises(DataError, match="a.png"):
            d[0]


def test_order_and_random_crop_are_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for i in range(4):
        p = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(p)
    spec = f"folder:{tmp_path}?crop=random&load_size=12&flip=true"
    a = make_dataset(spec, image_size=8)
    xa = torch.stack([a[(i, 3, 7)]["image"] for i in range(4)])
    torch.manual_seed(123)  # the global RNG plays no part
    xb = torch.stack([make_dataset(spec, image_size=8)[(i, 3, 7)]["image"] for i in range(4)])
    assert torch.equal(xa, xb)
    assert not torch.equal(xa, torch.stack([a[(i, 4, 7)]["image"] for i in range(4)]))
    assert torch.equal(torch.stack([a[i]["image"] for i in range(4)]),
                       torch.stack([a[(i, 0, 0)]["image"] for i in range(4)]))


def test_train_val_is_two_splits_not_two_classes(tmp_path: Path) -> None:
    """ImageNet layout: train/<class>/ and val/<class>/; "test" reads val/ when no test/."""
    for c in ("cat", "dog"):
        _img(tmp_path / "train" / c / "1.png")
        _img(tmp_path / "train" / c / "2.png")
    _img(tmp_path / "val" / "dog" / "1.png")
    tr = make_dataset(f"folder:{tmp_path}", "train", image_size=8)
    te = make_dataset(f"folder:{tmp_path}", "test", image_size=8)
    assert tr.class_names == te.class_names == ["cat", "dog"]
    assert len(tr) == 4 and all(Path(f).parts[-3] == "train" for f in tr.files)
    assert len(te) == 1 and Path(te.files[0]).parts[-3] == "val" and int(te[0]["label"]) == 1


@pytest.mark.parametrize("name", ["valid", "validation"])
def test_valid_folder_names(tmp_path: Path, name: str) -> None:
    _img(tmp_path / "train" / "a" / "1.png")
    _img(tmp_path / name / "a" / "1.png")
    te = make_dataset(f"folder:{tmp_path}", "test", image_size=8)
    assert len(te) == 1 and name in str(te.files[0])


def test_test_folder_preferred_over_val(tmp_path: Path) -> None:
    _img(tmp_path / "train" / "a" / "1.png")
    _img(tmp_path / "val" / "a" / "1.png")
    _img(tmp_path / "test" / "a" / "1.png")
    _img(tmp_path / "test" / "a" / "2.png")
    te = make_dataset(f"folder:{tmp_path}", "test", image_size=8)
    assert len(te) == 2 and all("test" in str(f) for f in te.files)


def test_only_train_folder(tmp_path: Path) -> None:
    """train/ alone: its class folders are the classes, never "train"; holdout carves test."""
    for c in ("a", "b"):
        for i in range(5):
            _img(tmp_path / "train" / c / f"{i}.png")
    tr = make_dataset(f"folder:{tmp_path}", "train", image_size=8)
    assert tr.class_names == ["a", "b"] and len(tr) == 10
    with pytest.raises(DataError, match="no test/ or val/"):
        make_dataset(f"folder:{tmp_path}", "test", image_size=8)
    tr = make_dataset(f"folder:{tmp_path}?holdout=0.4", "train", image_size=8)
    te = make_dataset(f"folder:{tmp_path}?holdout=0.4", "test", image_size=8)
    assert len(tr) == 6 and len(te) == 4 and not set(tr.files) & set(te.files)
    assert te.class_names == ["a", "b"]


def test_split_folders_of_loose_images_and_missing_train(tmp_path: Path) -> None:
    _img(tmp_path / "train" / "1.png")
    _img(tmp_path / "test" / "1.png")
    d = make_dataset(f"folder:{tmp_path}", "train", image_size=8)
    assert d.num_classes == 1 and d.class_names != ["train"]
    other = tmp_path / "only_val"
    _img(other / "val" / "a" / "1.png")
    with pytest.raises(DataError, match="no train/"):
        make_dataset(f"folder:{other}", "train", image_size=8)


def test_other_folders_beside_splits_warn(tmp_path: Path) -> None:
    _img(tmp_path / "train" / "a" / "1.png")
    _img(tmp_path / "extras" / "x.png")
    with pytest.warns(UserWarning, match="extras"):
        d = make_dataset(f"folder:{tmp_path}", "train", image_size=8)
    assert len(d) == 1


def test_symlink_loop_counts_each_real_file_once(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for i in range(4):
        _img(root / "a" / f"{i}.png")
    for i in range(3):
        _img(root / "b" / "sub" / f"{i}.png")
    (root / "a" / "loop").symlink_to(root / "a")  # a -> a
    (root / "b" / "sub" / "up").symlink_to(root / "b")  # b/sub -> b
    (root / "b" / "to_a").symlink_to(root / "a")  # the same files under another class
    (root / "b" / "dup.png").symlink_to(root / "b" / "sub" / "0.png")
    d = make_dataset(f"folder:{root}", image_size=8)
    assert len(d) == 7
    assert len({str(Path(f).resolve()) for f in d.files}) == 7
    assert np.bincount(d.targets).tolist() == [4, 3]


def test_root_images_linked_twice_count_once(tmp_path: Path) -> None:
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.png")
    (tmp_path / "c.png").symlink_to(tmp_path / "a.png")
    assert len(make_dataset(f"folder:{tmp_path}", image_size=8)) == 2
