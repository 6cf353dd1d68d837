"""Checkpoint files: atomic saves, safe loads, the latest readable one, pruning, RNG states."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

from ganas.errors import CheckpointError
from ganas.train.checkpoint import (
    FORMAT, checkpoint_path, latest_checkpoint, list_checkpoints, load_checkpoint, prune_checkpoints,
    remove_temp_files, rng_state, save_checkpoint, set_rng_state,
)


def payload(step: int) -> dict:
    return {"format": FORMAT, "step": step, "model": {"w": torch.arange(4.0) * step}, "betas": (0.5, 0.999),
            "rng": rng_state()}


def test_roundtrip_and_atomic_overwrite(tmp_path):
    p = checkpoint_path(tmp_path, 3)
    save_checkpoint(p, payload(3))
    save_checkpoint(p, payload(5))  # overwrite in place
    got = load_checkpoint(p)
    assert got["step"] == 5 and torch.equal(got["model"]["w"], torch.arange(4.0) * 5)
    assert got["betas"] == (0.5, 0.999)
    assert [f.name for f in p.parent.iterdir()] == ["step_000003.pt"]  # no temp file left


class Foreign:
    """An arbitrary Python object: a full unpickle would construct it."""


def test_foreign_pickled_object_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "step": 1, "obj": Foreign()}, p)  # plain torch.save, full pickle
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(p)
    assert str(p) in str(e.value) and "weights_only" in str(e.value) and "Foreign" in str(e.value)


def test_not_a_ganas_checkpoint(tmp_path):
    p = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, p)
    with pytest.raises(CheckpointError, match="not a ganas checkpoint"):
        load_checkpoint(p)


def test_latest_skips_truncated_and_ignores_temp_files(tmp_path):
    for s in (1, 2, 3):
        save_checkpoint(checkpoint_path(tmp_path, s), payload(s))
    last = checkpoint_path(tmp_path, 3)
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])  # a torn file
    tmp = tmp_path / "checkpoints" / ".step_000009.pt.abc.tmp"
    tmp.write_bytes(b"partial")
    with pytest.warns(UserWarning, match="step_000003.pt"):
        assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 2)
    assert [f.name for f in list_checkpoints(tmp_path)] == ["step_000001.pt", "step_000002.pt", "step_000003.pt"]
    remove_temp_files(tmp_path)
    assert not tmp.exists()
    assert latest_checkpoint(tmp_path / "nothing") is None


def test_prune_keeps_the_newest_k(tmp_path):
    for s in (2, 10, 4, 8):  # numeric order, not creation order
        save_checkpoint(checkpoint_path(tmp_path, s), payload(s))
    deleted = prune_checkpoints(tmp_path, 2)
    assert sorted(f.name for f in deleted) == ["step_000002.pt", "step_000004.pt"]
    assert [f.name for f in list_checkpoints(tmp_path)] == ["step_000008.pt", "step_000010.pt"]


def test_rng_state_survives_a_weights_only_roundtrip(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.normal()  # leaves a cached gaussian in numpy's state
    p = tmp_path / "rng.pt"
    save_checkpoint(p, {"format": FORMAT, "rng": rng_state()})
    expected = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        set_rng_state(load_checkpoint(p)["rng"])
    got = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    assert got[:3] == expected[:3] and torch.equal(got[3], expected[3])


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    import os
    import stat

    from ganas.fileio import _UMASK, atomic_write_text

    p = tmp_path / "report.html"
    atomic_write_text(p, "x")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~_UMASK
    assert p.read_text() == "x" and [f.name for f in tmp_path.iterdir()] == ["report.html"]
