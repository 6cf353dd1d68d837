"""mnist:PATH: IDX round trips, layouts, the carved split, and bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from ganas.data import make_dataset
from ganas.data.mnist import read_idx, write_idx
from ganas.errors import DataError


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    a = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype) if dtype != np.uint8 else np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    write_idx(tmp_path / name, a)
    b = read_idx(tmp_path / name)
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


def _write_mnist(root: Path, prefix: str, n: int, seed: int, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    ext = ".gz" if gz else ""
    write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", x)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", y)
    return x, y


def test_full_layout_reads_exact_pixels(tmp_path: Path) -> None:
    xtr, ytr = _write_mnist(tmp_path, "train", 30, 0, gz=True)
    xte, yte = _write_mnist(tmp_path, "t10k", 20, 1, gz=False)
    tr = make_dataset(f"mnist:{tmp_path}", image_size=28, channels=1, normalize=False)
    te = make_dataset(f"mnist:{tmp_path}", "test", image_size=28, channels=1, normalize=False)
    assert len(tr) == 30 and len(te) == 20 and tr.num_classes == 10
    assert np.allclose(tr[4]["image"][0].numpy(), xtr[4] / 255.0, atol=1e-6) and int(tr[4]["label"]) == ytr[4]
    assert np.allclose(te[7]["image"][0].numpy(), xte[7] / 255.0, atol=1e-6) and int(te[7]["label"]) == yte[7]
    assert make_dataset(f"mnist:{tmp_path}", image_size=32)[0]["image"].shape == (3, 32, 32)


def test_t10k_only_is_carved_disjoint_and_stratified(tmp_path: Path) -> None:
    x, _ = _write_mnist(tmp_path, "t10k", 200, 2)
    with pytest.warns(UserWarning, match="carving"):
        tr = make_dataset(f"mnist:{tmp_path}", image_size=28, channels=1)
    te = make_dataset(f"mnist:{tmp_path}", "test", image_size=28, channels=1)
    assert len(tr) == 170 and len(te) == 30
    assert np.bincount(te.targets).tolist() == [3] * 10
    rows = lambda d: {d.images[i].tobytes() for i in range(len(d))}  # noqa: E731
    assert not rows(tr) & rows(te) and len(rows(tr) | rows(te)) == 200


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        make_dataset(f"mnist:{tmp_path}")
    _write_mnist(tmp_path, "train", 10, 0)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        make_dataset(f"mnist:{tmp_path}", "test")
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        make_dataset(f"mnist:{tmp_path}")
    with pytest.raises(DataError, match="no such folder"):
        make_dataset(f"mnist:{tmp_path / 'nope'}")


def test_bad_idx_files(tmp_path: Path) -> None:
    _write_mnist(tmp_path, "t10k", 10, 0, gz=False)
    img = tmp_path / "t10k-images-idx3-ubyte"
    good = img.read_bytes()
    img.write_bytes(good[:-5])  # truncated
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: header says"):
        make_dataset(f"mnist:{tmp_path}", "test")
    img.write_bytes(b"\x12\x34" + good[2:])  # wrong magic
    with pytest.raises(DataError, match="not an IDX file"):
        make_dataset(f"mnist:{tmp_path}", "test")
    write_idx(img, np.zeros((10, 28), np.uint8))  # labels-shaped images
    with pytest.raises(DataError, match="3 dims"):
        make_dataset(f"mnist:{tmp_path}", "test")
    img.unlink()
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(good)[:-20])  # truncated gzip
    with pytest.raises(DataError, match="gzip"):
        make_dataset(f"mnist:{tmp_path}", "test")
    write_idx(gz, np.zeros((9, 28, 28), np.uint8))
    with pytest.raises(DataError, match="9 images but"):
        make_dataset(f"mnist:{tmp_path}", "test")
