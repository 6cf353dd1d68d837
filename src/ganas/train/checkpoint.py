"""Checkpoints: atomic writes, safe loads (``weights_only=True``), the latest readable one.

A checkpoint is a plain dict of tensors and builtins (format ``"ganas/1"``)::

    {"format", "method", "config", "data", "train", "step", "plan", "model", "optimizers",
     "schedulers", "extra_state", "fixed", "rng", "data_state", "metrics_offset",
     "log_window", "elapsed"}

(``plan``, ``extra_state``, ``fixed`` and ``log_window`` were added later in the same
format: readers take them with defaults, so older checkpoints still load and resume.
A distributed run adds ``rng_ranks``: the RNG states of ranks 1..N-1, ``rng`` being rank 0's.)

so it loads with ``torch.load(weights_only=True)``: no numpy objects, no dataclasses,
never an arbitrary pickle. Files are ``checkpoints/step_XXXXXX.pt``.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from ..errors import CheckpointError
from ..fileio import atomic_write
from ..layout import CHECKPOINTS, STEP_FILE, checkpoint_file
from ..rng import global_rng_state, set_global_rng_state

FORMAT = "ganas/1"


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_file(run_dir, step)


def save_checkpoint(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` atomically (temp file in the same folder, fsync, rename, fsync dir)."""
    p = Path(path)
    buf = io.BytesIO()
    torch.save(dict(payload), buf)
    atomic_write(p, lambda f: f.write(buf.getbuffer()))
    return p


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU, refusing anything but tensors and builtins."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f" ({m.group(1)})" if m else ""
        raise CheckpointError(
            f"{p}: refused to load: it holds a pickled Python object{what}, not only tensors and "
            "builtins; ganas loads checkpoints with torch.load(weights_only=True) and never "
            "unpickles arbitrary objects (a foreign or tampered file?)"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{p}: unreadable or truncated checkpoint ({str(e).splitlines()[0]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{p}: not a ganas checkpoint (format {got!r}, expected {FORMAT!r})")
    return payload


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """``checkpoints/step_*.pt`` of a run, oldest first (temp files are ignored)."""
    d = Path(run_dir) / CHECKPOINTS
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), f) for f in d.iterdir()
             if (m := STEP_FILE.match(f.name)) and m.group(2) == "pt" and f.is_file()]
    return [f for _, f in sorted(found)]


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint file and its payload, read once (``Trainer(resume_from=...)``)."""

    path: Path
    payload: dict[str, Any]


def find_latest(run_dir: str | Path) -> LoadedCheckpoint | None:
    """The newest checkpoint of ``run_dir`` that loads, with its payload (each candidate
    is read once); unreadable ones are skipped with a warning."""
    for f in reversed(list_checkpoints(run_dir)):
        try:
            payload = load_checkpoint(f)
        except CheckpointError as e:
            warnings.warn(f"skipping checkpoint: {e}", stacklevel=3)
            continue
        return LoadedCheckpoint(f, payload)
    return None


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The path of the newest checkpoint of ``run_dir`` that loads (see ``find_latest``)."""
    found = find_latest(run_dir)
    return found.path if found is not None else None


def prune_checkpoints(run_dir: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints; returns the deleted paths."""
    old = list_checkpoints(run_dir)[:-keep] if keep > 0 else []
    for f in old:
        f.unlink(missing_ok=True)
    return old


def remove_temp_files(run_dir: str | Path) -> None:
    """Temp files left by a killed writer (``.step_XXXXXX.pt.*.tmp``)."""
    d = Path(run_dir) / CHECKPOINTS
    if d.is_dir():
        for f in d.glob(".*.tmp"):
            f.unlink(missing_ok=True)


# -- random number generators: one encoding, in ganas.rng -----------------------------
rng_state = global_rng_state
set_rng_state = set_global_rng_state


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Every global RNG (torch, CUDA, python, numpy) as it was before the block: what
    runs inside (sample grids, picking the fixed batch) cannot change a training's
    random stream."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
