"""cifar10:PATH through the restricted unpickler."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from ganas.data import make_dataset
from ganas.data.cifar10 import CIFAR10_CLASSES
from ganas.errors import DataError


def _batch(path: Path, n: int, seed: int, bytes_keys: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    d = {"data": data, "labels": [int(v) for v in rng.integers(0, 10, n)], "batch_label": "x"}
    if bytes_keys:
        d = {k.encode(): v for k, v in d.items()}
    path.write_bytes(pickle.dumps(d, protocol=2))
    return data


def _layout(root: Path) -> list[np.ndarray]:
    root.mkdir(parents=True, exist_ok=True)
    batches = [_batch(root / f"data_batch_{i}", 3, i, bytes_keys=i == 2) for i in range(1, 6)]
    batches.append(_batch(root / "test_batch", 4, 9))
    return batches


def test_reads_batches_in_both_layouts(tmp_path: Path) -> None:
    b = _layout(tmp_path / "cifar-10-batches-py")
    tr = make_dataset(f"cifar10:{tmp_path}", image_size=32, normalize=False)
    te = make_dataset(f"cifar10:{tmp_path / 'cifar-10-batches-py'}", "test", image_size=32, normalize=False)
    assert len(tr) == 15 and len(te) == 4 and tr.class_names == CIFAR10_CLASSES
    want = b[1][1].reshape(3, 32, 32) / 255.0  # data_batch_2, row 1: planar R, G, B
    assert np.allclose(tr[4]["image"].numpy(), want, atol=1e-6)
    assert np.allclose(te[0]["image"].numpy(), b[5][0].reshape(3, 32, 32) / 255.0, atol=1e-6)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}, protocol=2))
    assert make_dataset(f"cifar10:{tmp_path}", "test").class_names[3] == "c3"


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("payload", [_Evil(), {"data": eval}])
def test_malicious_pickle_is_refused(tmp_path: Path, payload: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _layout(tmp_path / "c")
    (tmp_path / "c" / "test_batch").write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataError, match=r"test_batch: refusing to unpickle (posix\.system|(__)?builtins?(__)?\.eval)"):
        make_dataset(f"cifar10:{tmp_path / 'c'}", "test")
    assert not (tmp_path / "pwned").exists()


def test_bad_batches(tmp_path: Path) -> None:
    _layout(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3: missing"):
        make_dataset(f"cifar10:{tmp_path}")
    (tmp_path / "test_batch").write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, protocol=2))
    with pytest.raises(DataError, match=r"test_batch: 'data' must be uint8 \(N, 3072\)"):
        make_dataset(f"cifar10:{tmp_path}", "test")
    (tmp_path / "test_batch").write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 11]}, protocol=2))
    with pytest.raises(DataError, match="0..9"):
        make_dataset(f"cifar10:{tmp_path}", "test")
    (tmp_path / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(DataError, match="test_batch: not a readable CIFAR batch"):
        make_dataset(f"cifar10:{tmp_path}", "test")
