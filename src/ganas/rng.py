"""Random number generator states as tensors and builtins: one encoding for all of ganas.

Training checkpoints (``train/checkpoint.py``) and search strategies
(``nas/strategies/base.py``) both save RNG states inside files loaded with
``torch.load(weights_only=True)``. A python ``random.Random`` state is encoded as
``[version, int64 tensor (625,), gauss]`` (one tensor pickles far faster than 625 ints);
numpy's legacy global state as ``[name, int64 tensor (624,), pos, has_gauss, gauss]``.
The decoders also accept the older encoding with a list of ints.
"""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

import numpy as np
import torch


def python_rng_state(rng: random.Random | Any = random) -> list[Any]:
    """The state of ``rng`` (a ``random.Random``, or the ``random`` module's global one)."""
    version, internal, gauss = rng.getstate()
    return [int(version), torch.tensor(internal, dtype=torch.int64), gauss]


def set_python_rng_state(rng: random.Random | Any, state: Sequence[Any]) -> None:
    """Inverse of ``python_rng_state``."""
    version, internal, gauss = state
    values = internal.tolist() if isinstance(internal, torch.Tensor) else internal
    rng.setstate((int(version), tuple(int(x) for x in values), gauss))


def numpy_rng_state() -> list[Any]:
    """numpy's global (legacy) generator state."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)]


def set_numpy_rng_state(state: Sequence[Any]) -> None:
    name, keys, pos, has_gauss, gauss = state
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
    np.random.set_state((name, keys.astype(np.uint32), int(pos), int(has_gauss), float(gauss)))


def global_rng_state() -> dict[str, Any]:
    """Every global RNG: torch CPU (+ CUDA when initialised), python ``random``, numpy."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": python_rng_state(random),
        "numpy": numpy_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of ``global_rng_state``."""
    torch.set_rng_state(state["torch"])
    set_python_rng_state(random, state["python"])
    set_numpy_rng_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
