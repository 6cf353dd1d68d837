"""celeba:PATH on small attribute files the tests write (CRLF, wrong count, missing image, ...)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganas.data import make_dataset
from ganas.errors import ConfigError, DataError

NAMES = ["5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", "Male", "Young"]


def _celeba(root: Path, n: int = 12, crlf: bool = False, count: int | None = None, spaces: str = "  ") -> Path:
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        Image.new("RGB", (20, 24), (i * 20, 0, 0)).save(root / "images" / name)
        vals = [1 if (i + k) % 3 == 0 else -1 for k in range(len(NAMES))]
        rows.append(name + spaces + spaces.join(f"{v:2d}" if spaces == " " else str(v) for v in vals))
    nl = "\r\n" if crlf else "\n"
    text = nl.join([str(n if count is None else count), " ".join(NAMES), *rows]) + nl
    (root / "list_attr_celeba.txt").write_bytes(text.encode())
    return root


def _value(i: int, attr: str) -> float:
    return 1.0 if (i + NAMES.index(attr)) % 3 == 0 else 0.0


def test_attrs_split_and_crop(tmp_path: Path) -> None:
    root = _celeba(tmp_path)
    spec = f"celeba:{root}?test_size=4&center_crop=16&attrs=Black_Hair,Blond_Hair,Male"
    tr = make_dataset(spec, "train", image_size=8)
    te = make_dataset(spec, "test", image_size=8)
    assert len(tr) == 8 and len(te) == 4 and not set(tr.files) & set(te.files)
    order = list(range(12))
    random.Random(1234).shuffle(order)  # StarGAN's shuffle
    assert [int(Path(f).stem) - 1 for f in te.files] == order[:4]
    x = tr[0]
    i = int(Path(tr.files[0]).stem) - 1
    assert x["attrs"].dtype == torch.float32 and x["attrs"].tolist() == [_value(i, a) for a in ("Black_Hair", "Blond_Hair", "Male")]
    assert x["image"].shape == (3, 8, 8) and int(x["label"]) == -1
    assert tr.attr_names == ["Black_Hair", "Blond_Hair", "Male"] and tr.attr_groups == [[0, 1], [2]]
    batch = next(iter(torch.utils.data.DataLoader(tr, batch_size=4)))
    assert batch["attrs"].shape == (4, 3)


def test_default_attrs_crlf_spaces_and_wrong_count(tmp_path: Path) -> None:
    root = _celeba(tmp_path, crlf=True, count=202599, spaces=" ")
    with pytest.warns(UserWarning, match="202599 images but 12 rows"):
        d = make_dataset(f"celeba:{root}?test_size=2&center_crop=0", image_size=8)
    assert d.attr_names == ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    assert len(d) == 10 and d[0]["attrs"].shape == (5,)


def test_unknown_attribute_and_bad_rows(tmp_path: Path) -> None:
    root = _celeba(tmp_path / "a")
    with pytest.raises(ConfigError, match=r"Purple_Hair.*list_attr_celeba.txt.*valid: 5_o_Clock_Shadow"):
        make_dataset(f"celeba:{root}?attrs=Black_Hair,Purple_Hair&test_size=2", image_size=8)
    f = root / "list_attr_celeba.txt"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:5] + [lines[5] + " 1"] + lines[6:]) + "\n")
    with pytest.raises(DataError, match=r"list_attr_celeba.txt: line 6: 8 values for 7 attributes"):
        make_dataset(f"celeba:{root}?test_size=2", image_size=8)
    f.write_text("\n".join(lines[:4] + [lines[4].replace("-1", "x", 1)] + lines[5:]) + "\n")
    with pytest.raises(DataError, match="line 5"):
        make_dataset(f"celeba:{root}?test_size=2", image_size=8)


def test_missing_image_named_or_skipped(tmp_path: Path) -> None:
    root = _celeba(tmp_path)
    (root / "images" / "000003.jpg").unlink()
    for split in ("train", "test"):
        try:
            make_dataset(f"celeba:{root}?test_size=4&center_crop=0", split, image_size=8)
        except DataError as e:
            assert "000003.jpg" in str(e) and "missing" in str(e)
            break
    else:
        pytest.fail("the missing image was not reported")
    with pytest.warns(UserWarning, match="skipped 1"):
        both = [make_dataset(f"celeba:{root}?test_size=4&center_crop=0&skip_bad=true", s, image_size=8)
                for s in ("train", "test")]
    assert sum(len(d) for d in both) == 11


def test_csv_export_and_missing_attr_file(tmp_path: Path) -> None:
    root = tmp_path / "csv"
    (root / "img_align_celeba").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (8, 8)).save(root / "img_align_celeba" / f"{i}.jpg")
    rows = ["image_id," + ",".join(NAMES)] + [f"{i}.jpg," + ",".join(["1"] * len(NAMES)) for i in range(4)]
    (root / "list_attr_celeba.csv").write_text("\n".join(rows))
    d = make_dataset(f"celeba:{root}?test_size=1&center_crop=0&attrs=Male", image_size=8)
    assert len(d) == 3 and d[0]["attrs"].tolist() == [1.0]
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="no attribute file"):
        make_dataset(f"celeba:{tmp_path / 'none'}")
