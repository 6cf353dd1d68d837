"""``mnist:PATH``: MNIST in its IDX files, gzipped or not.

Files looked for in PATH (or PATH/raw, PATH/MNIST/raw as torchvision stores them):
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally ``.gz`` (``-idx3-ubyte`` may also be ``.idx3-ubyte``).

The IDX format (LeCun's page): a magic number ``0x00 0x00 <type> <ndim>`` (type 0x08 =
ubyte), ``ndim`` big-endian uint32 sizes, then the data. Wrong magic, wrong type, wrong
number of dimensions, or a size that disagrees with the header -> DataError naming the file.

When the train files are absent but t10k is there (``/work/shared/data/mnist`` ships only
t10k), both splits are carved from t10k: a stratified split keeping 15% of each class for
test (``stratified_split(labels, 0.15, seed)``: 8500 train / 1500 test for seed 0), announced
once with ``warnings.warn``.
"""

from __future__ import annotations

import gzip
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import DATASETS, DataOptions
from .dataset import ArrayImageDataset, folder_of, stratified_split

_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {v.str.lstrip("<>|="): k for k, v in _IDX_TYPES.items()}
_warned: set[str] = set()


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (``.gz`` detected by content) as a native-endian array."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DataError(f"{p}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{p}: corrupt or truncated gzip ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{p}: not an IDX file (magic {raw[:4].hex() or 'missing'})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{p}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    want = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - head != want:
        raise DataError(f"{p}: header says shape {dims} ({want} bytes) but the file holds {len(raw) - head} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=head).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzipped when ``path`` ends with .gz)."""
    a = np.asarray(array)
    code = _CODES.get(a.dtype.str.lstrip("<>|="))
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {a.dtype}")
    body = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    body += a.astype(_IDX_TYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(body, mtime=0) if str(path).endswith(".gz") else body)


def _find(root: Path, prefix: str, kind: str, n: int) -> Path | None:
    for folder in (root, root / "raw", root / "MNIST" / "raw"):
        for sep in ("-", "."):
            for gz in (".gz", ""):
                p = folder / f"{prefix}-{kind}{sep}idx{n}-ubyte{gz}"
                if p.is_file():
                    return p
    return None


def load_mnist_pair(root: Path, prefix: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(images (N, 28, 28) uint8, labels (N,)) of ``prefix`` ("train"/"t10k"); None if both absent."""
    img, lab = _find(root, prefix, "images", 3), _find(root, prefix, "labels", 1)
    if img is None and lab is None:
        return None
    if img is None or lab is None:
        missing = root / (f"{prefix}-images-idx3-ubyte[.gz]" if img is None else f"{prefix}-labels-idx1-ubyte[.gz]")
        raise DataError(f"{missing}: missing (its partner {img or lab} is there)")
    x, y = read_idx(img), read_idx(lab)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise DataError(f"{img}: expected uint8 images with 3 dims (magic 0x00000803), got {x.dtype} {x.shape}")
    if y.dtype != np.uint8 or y.ndim != 1:
        raise DataError(f"{lab}: expected uint8 labels with 1 dim (magic 0x00000801), got {y.dtype} {y.shape}")
    if len(x) != len(y):
        raise DataError(f"{img} holds {len(x)} images but {lab} holds {len(y)} labels")
    if y.size and y.max() > 9:
        raise DataError(f"{lab}: label {int(y.max())} outside 0..9")
    return x, y.astype(np.int64)


@dataclass
class MnistParams:
    seed: int = 0  # seed of the split carved from t10k when the train files are absent
    test_fraction: float = 0.15


@DATASETS.register("mnist", help="mnist:PATH of IDX files (.gz or not); t10k only -> stratified 85/15 split")
class MnistDataset(ArrayImageDataset):
    Params = MnistParams
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: MnistParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        train = load_mnist_pair(root, "train")
        if train is not None and split == "train":
            x, y = train
        else:
            test = load_mnist_pair(root, "t10k")
            if test is None:
                raise DataError(f"{root / 't10k-images-idx3-ubyte[.gz]'}: missing (needed for split {split!r})")
            x, y = test
            if train is None:
                if str(root) not in _warned:
                    _warned.add(str(root))
                    warnings.warn(
                        f"{root}: no MNIST train files; carving train/test from t10k "
                        f"({1 - params.test_fraction:.0%}/{params.test_fraction:.0%} stratified, seed {params.seed})",
                        stacklevel=3,
                    )
                tr, te = stratified_split(y, params.test_fraction, params.seed)
                keep = tr if split == "train" else te
                x, y = x[keep], y[keep]
        self.set_arrays(x, y, [str(c) for c in range(10)])
