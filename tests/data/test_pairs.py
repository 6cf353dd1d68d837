"""Translation pairs: aligned:, paired:, unaligned:, on small trees the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganas.data import make_dataset
from ganas.errors import ConfigError, DataError


def _save(path: Path, a: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)
    return path


def _ab(h: int, w: int, seed: int) -> np.ndarray:
    """A|B side by side: A a horizontal ramp, B its negative (so crops and flips can be compared)."""
    ramp = np.tile(np.linspace(0, 250, w // 2).astype(np.uint8)[None, :, None], (h, 1, 3))
    ramp[..., 1] = seed * 20
    return np.concatenate([ramp, 255 - ramp], axis=1)


def _aligned(root: Path, n: int = 3, h: int = 12, w: int = 24) -> Path:
    for split, k in (("train", n), ("test", 2)):
        for i in range(k):
            _save(root / split / f"{i}.png", _ab(h, w, i))
    return root


def test_aligned_splits_halves_and_direction(tmp_path: Path) -> None:
    root = _aligned(tmp_path)
    d = make_dataset(f"aligned:{root}", image_size=8, crop="none", normalize=False)
    assert len(d) == 3 and d.field_shapes == {"A": (3, 8, 8), "B": (3, 8, 8)}
    x = d[1]
    assert x["A"][0, 0, 0] < 0.1 and x["A"][0, 0, -1] > 0.9  # the ramp (left half) is A
    assert torch.allclose(x["A"][0] + x["B"][0], torch.ones(8, 8), atol=0.02)
    assert x["A_path"].endswith("1.png#A") and x["B_path"].endswith("1.png#B")
    s = make_dataset(f"aligned:{root}?direction=BtoA", image_size=8, crop="none", normalize=False)[1]
    assert torch.equal(s["A"], x["B"]) and torch.equal(s["B"], x["A"])
    te = make_dataset(f"aligned:{root}", "test", image_size=8, crop="none")
    assert len(te) == 2


def test_aligned_val_is_the_test_split_and_flat_needs_holdout(tmp_path: Path) -> None:
    for i in range(2):
        _save(tmp_path / "v" / "train" / f"{i}.png", _ab(8, 16, i))
    _save(tmp_path / "v" / "val" / "0.png", _ab(8, 16, 0))
    assert len(make_dataset(f"aligned:{tmp_path / 'v'}", "test", image_size=8)) == 1
    for i in range(10):
        _save(tmp_path / "flat" / f"{i}.png", _ab(8, 16, i))
    with pytest.raises(DataError, match="holdout"):
        make_dataset(f"aligned:{tmp_path / 'flat'}", "test", image_size=8)
    tr = make_dataset(f"aligned:{tmp_path / 'flat'}?holdout=0.3", "train", image_size=8)
    te = make_dataset(f"aligned:{tmp_path / 'flat'}?holdout=0.3", "test", image_size=8)
    assert len(tr) == 7 and len(te) == 3 and not set(tr.files) & set(te.files)


def test_a_and_b_share_one_crop_and_flip(tmp_path: Path) -> None:
    root = _aligned(tmp_path, h=20, w=40)
    d = make_dataset(f"aligned:{root}", image_size=8, load_size=16, crop="random", flip=True, resize="square")
    seen_a = set()
    for e in range(12):
        x = d[(0, e, 5)]
        assert torch.allclose(x["A"] + x["B"], torch.zeros_like(x["A"]), atol=0.05)  # B = 1 - A: same window
        seen_a.add(x["A"].numpy().tobytes())
        assert torch.equal(x["A"], d[(0, e, 5)]["A"])
    assert len(seen_a) > 3  # crops and flips vary over epochs


def test_grayscale_rgb_and_rectangular(tmp_path: Path) -> None:
    root = tmp_path / "r"
    _save(root / "train" / "0.png", _ab(10, 36, 1))  # 18x10 halves
    d = make_dataset(f"aligned:{root}", image_size=8, channels_A=1, channels_B=3)
    x = d[0]
    assert x["A"].shape == (1, 8, 8) and x["B"].shape == (3, 8, 8) and d.image_shape == (1, 8, 8)
    sw = make_dataset(f"aligned:{root}?direction=BtoA", image_size=8, channels_A=1)
    assert sw[0]["A"].shape == (1, 8, 8) and sw[0]["B"].shape == (3, 8, 8)
    with pytest.raises(ConfigError, match="channels_B"):
        make_dataset(f"aligned:{root}", image_size=8, channels_B=2)


def test_aligned_odd_width_names_the_file(tmp_path: Path) -> None:
    _aligned(tmp_path)
    _save(tmp_path / "train" / "odd.png", np.zeros((8, 17, 3), np.uint8))
    with pytest.raises(DataError, match=r"odd\.png.*odd"):
        make_dataset(f"aligned:{tmp_path}", image_size=8)


def test_aligned_missing_split_and_empty(tmp_path: Path) -> None:
    _save(tmp_path / "a" / "train" / "0.png", _ab(8, 16, 0))
    with pytest.raises(DataError, match="no test/ or val/"):
        make_dataset(f"aligned:{tmp_path / 'a'}", "test", image_size=8)
    (tmp_path / "b" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match=r"train.*no images"):
        make_dataset(f"aligned:{tmp_path / 'b'}", image_size=8)


def _paired(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    for i in range(3):
        a = rng.integers(0, 255, (8, 12), dtype=np.uint8)
        _save(root / "A" / "train" / f"{i}.jpg", np.stack([a] * 3, -1))
        _save(root / "B" / "train" / f"{i}.png", a)
    _save(root / "A" / "test" / "9.png", np.zeros((8, 12, 3), np.uint8))
    _save(root / "B" / "test" / "9.png", np.zeros((8, 12), np.uint8))
    return root / "A", root / "B"


def test_paired_matches_by_name(tmp_path: Path) -> None:
    a, b = _paired(tmp_path)
    d = make_dataset(f"paired:{a},{b}", image_size=8, channels_B=1)
    assert len(d) == 3 and [Path(p).stem for p in d.files_B] == ["0", "1", "2"]
    x = d[2]
    assert Path(x["A_path"]).name == "2.jpg" and Path(x["B_path"]).name == "2.png"
    assert x["B"].shape == (1, 8, 8)
    assert float((x["A"][0] - x["B"][0]).abs().mean()) < 0.1  # the same picture (jpeg aside)
    assert len(make_dataset(f"paired:{a},{b}", "test", image_size=8)) == 1


def test_paired_bad_pairs_name_the_file(tmp_path: Path) -> None:
    a, b = _paired(tmp_path)
    _save(a / "train" / "extra.png", np.zeros((8, 12, 3), np.uint8))
    with pytest.raises(DataError, match=r"extra\.png.*side B"):
        make_dataset(f"paired:{a},{b}", image_size=8)
    (a / "train" / "extra.png").unlink()
    _save(b / "train" / "1.png", np.zeros((9, 12), np.uint8))
    with pytest.raises(DataError, match=r"1\.jpg is 12x8 but its partner .*1\.png is 12x9"):
        make_dataset(f"paired:{a},{b}", image_size=8)
    with pytest.raises(DataError, match="two folders"):
        make_dataset(f"paired:{a}", image_size=8)


def _unaligned(root: Path, n_a: int = 3, n_b: int = 5) -> Path:
    for split, (na, nb) in (("train", (n_a, n_b)), ("test", (2, 1))):
        for i in range(na):
            _save(root / f"{split}A" / f"{i}.png", np.full((10, 14, 3), i * 10, np.uint8))
        for i in range(nb):
            _save(root / f"{split}B" / f"{i}.png", np.full((12, 12), 100 + i * 10, np.uint8))
    return root


def test_unaligned_draws_b_from_the_key(tmp_path: Path) -> None:
    root = _unaligned(tmp_path)
    d = make_dataset(f"unaligned:{root}", image_size=8)
    assert len(d) == 5  # the larger side
    assert Path(d[4]["A_path"]).name == "1.png"  # 4 % 3
    draws = {d[(0, e, 0)]["B_path"] for e in range(20)}
    assert len(draws) > 2  # B is drawn at random ...
    assert all(d[(0, e, 0)]["B_path"] == d[(0, e, 0)]["B_path"] for e in range(5))  # ... from the key
    te = make_dataset(f"unaligned:{root}", "test", image_size=8)
    assert len(te) == 2 and te[1]["B_path"] == te[0]["B_path"]  # by index: 1 % 1


def test_unaligned_empty_or_missing_domain(tmp_path: Path) -> None:
    root = _unaligned(tmp_path)
    for f in (root / "trainB").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"trainB.*no images"):
        make_dataset(f"unaligned:{root}", image_size=8)
    (root / "trainB").rmdir()
    with pytest.raises(DataError, match=r"trainB: no such folder"):
        make_dataset(f"unaligned:{root}", image_size=8)


def test_collation_keeps_paths(tmp_path: Path) -> None:
    root = _aligned(tmp_path)
    d = make_dataset(f"aligned:{root}", image_size=8)
    batch = next(iter(torch.utils.data.DataLoader(d, batch_size=2)))
    assert batch["A"].shape == (2, 3, 8, 8) and len(batch["A_path"]) == 2


def test_skip_bad_drops_bad_files_and_pairs(tmp_path: Path) -> None:
    root = _aligned(tmp_path / "al")
    _save(root / "train" / "odd.png", np.zeros((8, 17, 3), np.uint8))
    (root / "train" / "junk.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="skipped 2"):
        d = make_dataset(f"aligned:{root}?skip_bad=true", image_size=8)
    assert len(d) == 3 and sorted(Path(p).name for p, _ in d.skipped) == ["junk.png", "odd.png"]
    a, b = _paired(tmp_path / "pa")
    _save(b / "train" / "1.png", np.zeros((9, 12), np.uint8))
    with pytest.warns(UserWarning, match="skipped 1"):
        p = make_dataset(f"paired:{a},{b}?skip_bad=true", image_size=8)
    assert [Path(f).stem for f in p.files_A] == ["0", "2"] and "12x9" in p.skipped[0][1]
    u = _unaligned(tmp_path / "un")
    (u / "trainB" / "9.png").write_bytes(b"junk")
    plain = make_dataset(f"unaligned:{u}", image_size=8)
    with pytest.raises(DataError, match=r"9\.png"):  # read when drawn
        for e in range(40):
            plain[(0, e, 0)]
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(make_dataset(f"unaligned:{u}?skip_bad=true", image_size=8).files_B) == 5
