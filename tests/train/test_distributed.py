"""GAN training with torch.distributed: 2 ranks on the CPU (gloo), started by torchrun in
fresh interpreters (no fork after OpenMP threads exist).

The equivalence with one process is checked on ``NoiseFreeGAN`` (ddp_worker.py): a GAN
without BatchNorm and without noise. With BatchNorm each rank normalises with its own
slice's statistics (SyncBatchNorm, which would make them global, has no CPU kernel), and
each rank draws its own noise, so DCGAN on 2 ranks is a different (equally valid) run
than on one process; for DCGAN the test checks what DDP guarantees: identical weights on
every rank, and rank 0's checkpoint holding them under the plain state_dict keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_worker import STEPS, Images, NoiseFreeGAN, train_dcgan, train_toy

from ganas.errors import ConfigError, DataError
from ganas.gan import METHODS, list_methods
from ganas.train import load_checkpoint, read_metrics, seed_everything
from ganas.train.checkpoint import list_checkpoints
from ganas.train.data import EpochBatchSampler
from ganas.train.distributed import DistContext, NetworkWrapper, _strip_nproc

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "ddp_worker.py"), str(out)]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    return out


def _params(method: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in method.named_parameters()}


def test_two_ranks_equal_one_process_with_the_global_batch(two_ranks: Path, tmp_path: Path) -> None:
    r0 = torch.load(two_ranks / "toy_rank0.pt", weights_only=True)
    r1 = torch.load(two_ranks / "toy_rank1.pt", weights_only=True)
    assert r0.keys() == r1.keys()
    assert all(torch.equal(r0[k], r1[k]) for k in r0), "the ranks' weights differ"
    one = train_toy(tmp_path / "one")  # one process, the same global batch of 8
    seed_everything(0)
    init = NoiseFreeGAN(NoiseFreeGAN.tiny_config())  # the weights train_toy starts from
    for k, v in _params(one).items():
        torch.testing.assert_close(r0[k], v, rtol=1e-5, atol=1e-6, msg=f"{k}: 2 ranks != 1 process")
    moved = [k for k, v in _params(one).items() if not torch.allclose(v, dict(init.named_parameters())[k])]
    assert moved, "training changed no weight: the comparison would prove nothing"
    # each rank read only its half of each global batch: the losses logged are their means
    assert [r["step"] for r in read_metrics(two_ranks / "toy")] == list(range(1, STEPS + 1))
    ref = read_metrics(tmp_path / "one")
    for a, b in zip(read_metrics(two_ranks / "toy"), ref):
        assert a["losses"]["loss_G"] == pytest.approx(b["losses"]["loss_G"], rel=1e-5)


def test_dcgan_two_ranks_identical_weights_and_rank0_checkpoint(two_ranks: Path) -> None:
    r0 = torch.load(two_ranks / "dcgan_rank0.pt", weights_only=True)
    r1 = torch.load(two_ranks / "dcgan_rank1.pt", weights_only=True)
    from ganas.gan.dcgan import DCGAN

    names = {k for k, _ in DCGAN(DCGAN.tiny_config()).named_parameters()}
    assert names <= r0.keys()
    for k in names:
        assert torch.equal(r0[k], r1[k]), f"{k} differs between the ranks"
    # BatchNorm running statistics are per rank (each normalises its own slice); not compared
    ckpts = list_checkpoints(two_ranks / "dcgan")
    assert [c.name for c in ckpts] == [f"step_{STEPS:06d}.pt"]  # rank 0 alone wrote, once
    payload = load_checkpoint(ckpts[0])
    assert not any(".module." in k or k.startswith("module.") for k in payload["model"])  # unwrapped keys
    for k, v in r0.items():
        assert torch.equal(payload["model"][k], v)
    assert len(payload["rng_ranks"]) == 1  # rank 1's RNG state kept for an exact resume
    assert payload["data_state"]["position"] == STEPS  # global batches, not per-rank ones
    assert [r["step"] for r in read_metrics(two_ranks / "dcgan")] == list(range(1, STEPS + 1))  # no duplicates


#: the package's own methods (the worker's fresh interpreter registers only those; other
#: test modules may add toy methods to the registry of this process)
BUILT_IN = [m for m in list_methods() if METHODS.get(m).factory.__module__.startswith("ganas.")]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_registered_method_trains_on_two_ranks_with_identical_weights(two_ranks: Path, name: str) -> None:
    r0 = torch.load(two_ranks / f"method-{name}_rank0.pt", weights_only=True)
    r1 = torch.load(two_ranks / f"method-{name}_rank1.pt", weights_only=True)
    cls = METHODS.get(name).factory
    seed_everything(0)  # the worker's initialisation
    before = cls(cls.tiny_config())
    names = {k for k, _ in before.named_parameters()}
    assert names and names <= r0.keys()
    for k in names:
        assert torch.equal(r0[k], r1[k]), f"{name}: {k} differs between the ranks"
    init = before.state_dict()
    moved = [k for k in names if not torch.equal(r0[k], init[k])]
    assert len(moved) > len(names) // 2, f"{name}: only {len(moved)} of {len(names)} parameters trained"
    assert [r["step"] for r in read_metrics(two_ranks / f"method-{name}")] == [1, 2]


def test_resume_on_one_process_from_two(two_ranks: Path, tmp_path: Path) -> None:
    run = tmp_path / "dcgan"
    shutil.copytree(two_ranks / "dcgan", run)
    method = train_dcgan(run, steps=STEPS + 2)  # the run resumes at step STEPS on 1 process
    payload = load_checkpoint(list_checkpoints(run)[-1])
    assert payload["step"] == STEPS + 2 and payload["data_state"]["position"] == STEPS + 2
    assert "rng_ranks" not in payload
    assert [r["step"] for r in read_metrics(run)] == list(range(1, STEPS + 3))
    r0 = torch.load(two_ranks / "dcgan_rank0.pt", weights_only=True)
    assert not torch.equal(method.state_dict()["G.main.0.0.weight"], r0["G.main.0.0.weight"])  # it trained on


def test_ranks_read_slices_of_the_same_global_batches() -> None:
    one = EpochBatchSampler(20, 4, seed=3)
    parts = [EpochBatchSampler(20, 4, seed=3, rank=r, world_size=2) for r in range(2)]
    for p in (one, *parts):
        p.set_epoch(2, 1)
    batches, halves = list(one), [list(p) for p in parts]
    assert len(batches) == 4 and all(len(h) == 4 for h in halves)
    assert [a + b for a, b in zip(*halves)] == batches
    with pytest.raises(DataError, match="batch_size 4 does not divide among 3"):
        EpochBatchSampler(20, 4, seed=3, rank=0, world_size=3)


def test_sync_bn_on_the_cpu_is_a_clear_error_and_nproc_is_stripped() -> None:
    with pytest.raises(ConfigError, match="sync_bn"):
        NetworkWrapper(NoiseFreeGAN(NoiseFreeGAN.tiny_config()), DistContext(0, 2, 0), torch.device("cpu"),
                       sync_bn=True)
    assert _strip_nproc(["train", "dcgan", "--nproc", "2", "--out", "x"]) == ["train", "dcgan", "--out", "x"]
    assert _strip_nproc(["train", "--nproc=2", "dcgan"]) == ["train", "dcgan"]
    assert len(Images()) == 32


@pytest.mark.slow
def test_cli_nproc_shortcut(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ganas", "train", "dcgan", "--data", "shapes", "--out", str(out), "--steps", "2",
           "--set", "image_size=16", "--set", "ngf=4", "--set", "ndf=4", "--set", "batch_size=4", "--quiet",
           "--device", "cpu", "--nproc", "2"]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    assert res.stdout.count("completed at step 2") == 1  # rank 0 alone reports
    assert [c.name for c in list_checkpoints(out)] == ["step_000002.pt"]
