"""GAN training on several processes with ``torch.distributed`` (DistributedDataParallel).

``torchrun --nproc_per_node=N -m ganas train ...`` (or ``ganas train --nproc N``, which
starts the same workers through ``torch.distributed.run``) runs one trainer per process:

- the process group is joined from torchrun's environment (``env://``): gloo on the
  CPU, nccl on CUDA (each rank on ``cuda:LOCAL_RANK``);
- ``batch_size`` stays the *global* batch: each rank reads its slice of every global
  batch of the same seeded permutation (``EpochBatchSampler(rank, world_size)``), so the
  plan, the data order state in the checkpoints and the learning dynamics do not depend
  on the number of processes, and a run resumes with another number of processes;
- every network of ``method.networks()`` is wrapped in ``DistributedDataParallel`` in
  place (the attribute that holds it is swapped; ``NetworkWrapper.unwrapped()`` swaps the
  plain modules back, so ``state_dict`` keys, checkpoints, visuals and evaluations see the
  unwrapped networks); gradients are averaged over the ranks in each backward;
- ``sync_bn=true`` converts BatchNorm to ``SyncBatchNorm`` (CUDA only: PyTorch's
  SyncBatchNorm has no CPU kernel); without it each rank normalises with its own slice's
  statistics, and the running statistics are rank 0's (DDP broadcasts buffers from rank 0
  at every forward);
- rank 0 alone writes logs, visuals, checkpoints and reports; the losses in
  ``metrics.jsonl`` are means over the ranks; every rank stops at the same step
  (a Ctrl-C / SIGTERM on any rank, or a non-finite loss on any rank).

Each rank draws its own noise: rank 0 keeps the single-process random stream, rank r > 0
is reseeded from ``rank_seed(seed, r)``; the checkpoints keep every rank's RNG state
(``rng_ranks``), so a resume on the same number of processes is exact.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError


def env_world_size() -> int:
    """The world size torchrun announces (``WORLD_SIZE``; 1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes (``env://``) when ``WORLD_SIZE > 1`` and no
    group exists yet: nccl for a CUDA device, gloo otherwise. True if this call created it
    (the caller then calls ``shutdown()``)."""
    if env_world_size() <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo", init_method="env://")
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s global RNGs (rank 0 keeps ``seed``)."""
    return seed if rank == 0 else (seed * 1_000_003 + rank * 104_729 + 3) % (2**31 - 1)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: rank, world size, local rank (1 process: 0, 1, 0)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def current(cls) -> DistContext:
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
        return cls()

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """``cuda`` without an index means this rank's GPU, ``cuda:LOCAL_RANK``."""
        if self.enabled and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def _comm_device(self) -> torch.device:
        return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, values: Sequence[float]) -> list[float]:
        """Element-wise means over the ranks (every rank gets them)."""
        if not self.enabled or not values:
            return list(values)
        t = torch.tensor(list(values), dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t)
        return (t / self.world_size).cpu().tolist()

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on one of them."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def gather(self, obj: Any) -> list[Any] | None:
        """``obj`` of every rank on rank 0 (in rank order), None elsewhere."""
        if not self.enabled:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out


def _owner(root: nn.Module, target: nn.Module) -> tuple[nn.Module, str]:
    """The module and attribute name that hold ``target`` inside ``root``."""
    for name, module in root.named_modules():
        for child_name, child in module.named_children():
            if child is target:
                return module, child_name
    raise ConfigError(f"{type(root).__name__}.networks() returns a network that is not a submodule of the method; "
                      "distributed training wraps the networks in place, so each must be an attribute (or inside a "
                      "ModuleDict/ModuleList) of the method")


class NetworkWrapper:
    """The method's networks wrapped in ``DistributedDataParallel`` in place.

    The attributes that hold the networks point at the DDP wrappers while training
    (``method.G(z)`` then synchronises gradients); ``unwrapped()`` puts the plain
    networks back for a block (checkpoints, visuals, evaluations: unwrapped
    ``state_dict`` keys, no collective on one rank alone), ``unwrap()`` for good.
    """

    def __init__(self, method: nn.Module, ctx: DistContext, device: torch.device, sync_bn: bool = False,
                 find_unused_parameters: bool = False) -> None:
        from torch.nn.parallel import DistributedDataParallel

        if sync_bn and device.type != "cuda":
            raise ConfigError("train option sync_bn: SyncBatchNorm runs on CUDA only (PyTorch has no CPU kernel "
                              "for it); train on GPUs or leave sync_bn=false")
        self.slots: list[tuple[nn.Module, str, nn.Module, nn.Module]] = []  # (owner, attr, plain, wrapped)
        for net in method.networks().values():
            owner, attr = _owner(method, net)
            if sync_bn:
                # NOTE: converts in place below the top module (same Parameter objects, so the
                # optimizers keep working); a top-level BatchNorm is replaced by a new module.
                net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
                setattr(owner, attr, net)
            if not any(p.requires_grad for p in net.parameters()):
                continue  # a frozen network (a fixed feature extractor) needs no gradient sync
            ids = [device.index] if device.type == "cuda" else None
            wrapped = DistributedDataParallel(net, device_ids=ids, find_unused_parameters=find_unused_parameters)
            self.slots.append((owner, attr, net, wrapped))
        self._wrap()

    def _wrap(self) -> None:
        for owner, attr, _, wrapped in self.slots:
            owner._modules[attr] = wrapped

    def _unwrap(self) -> None:
        for owner, attr, plain, _ in self.slots:
            owner._modules[attr] = plain

    @contextlib.contextmanager
    def unwrapped(self) -> Iterator[None]:
        self._unwrap()
        try:
            yield
        finally:
            self._wrap()

    def unwrap(self) -> None:
        self._unwrap()
        self.slots = []


class NoWrapper:
    """One process: nothing to wrap."""

    @contextlib.contextmanager
    def unwrapped(self) -> Iterator[None]:
        yield

    def unwrap(self) -> None:
        pass


def _strip_nproc(argv: Sequence[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def launch(nproc: int, argv: Sequence[str]) -> int:
    """``ganas ARGV`` on ``nproc`` local worker processes, as ``torchrun --standalone
    --nproc_per_node=NPROC -m ganas ARGV`` would (``--nproc`` removed from ``argv``); the
    exit status of the workers (0 when all succeeded)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    if nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {nproc}")
    args = get_args_parser().parse_args(
        ["--standalone", f"--nproc_per_node={nproc}", "--max_restarts=0", "-m", "ganas", *_strip_nproc(argv)])
    try:
        run(args)
    except ChildFailedError as e:  # the worker printed its own error; keep its exit status
        codes = [f.exitcode for f in e.failures.values()]
        code = max(codes, default=1)
        return code if code > 0 else 1  # a negative code: killed by a signal
    return 0


__all__ = ["DistContext", "NetworkWrapper", "NoWrapper", "init_from_env", "shutdown", "launch", "rank_seed",
           "env_world_size"]
