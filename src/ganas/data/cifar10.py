"""``cifar10:PATH``: the CIFAR-10 python batches, read without trusting pickle.

Layout (Krizhevsky's ``cifar-10-python.tar.gz``, extracted): ``data_batch_1`` ..
``data_batch_5`` (train, 10000 each), ``test_batch`` and ``batches.meta``, in PATH or in
``PATH/cifar-10-batches-py``. Each batch is a pickled dict with ``data`` (N, 3072) uint8
(1024 red, 1024 green, 1024 blue values, row-major 32x32) and ``labels`` (N ints).

The files are pickles, and ``pickle.load`` runs whatever a file names. ``SafeUnpickler``
resolves only the globals a numpy array needs (``_reconstruct``, ``ndarray``, ``dtype`` and
``_codecs.encode`` for Python 3 protocol-2 bytes) and refuses anything else with a
DataError naming the file. Keys are read with ``encoding="latin1"`` as torchvision does.
"""

from __future__ import annotations

import importlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .base import DATASETS, DataOptions
from .dataset import ArrayImageDataset, folder_of

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_ALLOWED: dict[tuple[str, str], tuple[str, str]] = {
    # pickled name -> where it lives now (numpy 2 moved numpy.core to numpy._core)
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),
    ("codecs", "encode"): ("codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that can only rebuild numpy arrays and plain containers."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        target = _ALLOWED.get((module, name))
        if target is None:
            raise DataError(f"{self.source}: refusing to unpickle {module}.{name} (only numpy arrays are allowed)")
        try:
            mod = importlib.import_module(target[0])
        except ImportError:  # numpy 1.x has no numpy._core
            mod = importlib.import_module(target[0].replace("numpy._core", "numpy.core"))
        return getattr(mod, target[1])


def safe_unpickle(path: Path) -> Any:
    """Load a pickle through ``SafeUnpickler``; any failure -> DataError naming ``path``."""
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(f, str(path)).load()
    except DataError:
        raise
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # UnpicklingError, EOFError, ValueError... from a corrupt file
        raise DataError(f"{path}: not a readable CIFAR batch ({type(e).__name__}: {e})") from None


def _str_keys(d: Any) -> Any:
    """Python 3 protocol-2 pickles keep bytes keys (b"data"); Python 2 ones give str."""
    if not isinstance(d, dict):
        return d
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}


def load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, labels (N,) int64) of one batch file."""
    d = _str_keys(safe_unpickle(path))
    if not isinstance(d, dict) or "data" not in d or "labels" not in d:
        raise DataError(f"{path}: expected a dict with 'data' and 'labels'")
    x, y = d["data"], np.asarray(d["labels"])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        raise DataError(f"{path}: 'data' must be uint8 (N, 3072), got {getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')}")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DataError(f"{path}: 'labels' must be {len(x)} integers in 0..9")
    return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y.astype(np.int64)  # (N, 32, 32, 3)


@dataclass
class Cifar10Params:
    pass


@DATASETS.register("cifar10", help="cifar10:PATH of the CIFAR-10 python batches (safe unpickling), 10 classes")
class Cifar10Dataset(ArrayImageDataset):
    Params = Cifar10Params
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: Cifar10Params, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        if (root / "cifar-10-batches-py").is_dir():
            root = root / "cifar-10-batches-py"
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        parts = []
        for n in names:
            if not (root / n).is_file():
                raise DataError(f"{root / n}: missing CIFAR-10 batch (needed for split {split!r})")
            parts.append(load_cifar_batch(root / n))
        classes = CIFAR10_CLASSES
        if (root / "batches.meta").is_file():
            meta = _str_keys(safe_unpickle(root / "batches.meta"))
            names_ = meta.get("label_names") if isinstance(meta, dict) else None
            if isinstance(names_, list):
                names_ = [s.decode("latin1") if isinstance(s, bytes) else s for s in names_]
            if not (isinstance(names_, list) and len(names_) == 10 and all(isinstance(s, str) for s in names_)):
                raise DataError(f"{root / 'batches.meta'}: expected 'label_names', a list of 10 strings")
            classes = names_
        self.set_arrays(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), classes)
