"""The trainer's options (``--set`` keys of ``ganas train`` that are not the method's)
and the resolution of ``auto`` device / precision / memory format."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Literal, Mapping

import torch

from ..errors import ConfigError
from ..gan.base import TrainPlan


@dataclass
class TrainConfig:
    """How to run a training (the method's config says *what* to train).

    The length is ``steps`` or ``epochs`` (one of them; both unset: the method's
    ``train_defaults``, e.g. DCGAN's 1000 steps or pix2pix's ``n_epochs + n_epochs_decay``
    epochs). An epoch is ``len(dataset) // batch_size`` steps.
    """

    steps: int | None = None  # optimisation steps (one ``train_step`` call each)
    epochs: int | None = None  # or: passes over the data
    sample_every: int = 500  # steps between visual grids (0: only at the end)
    checkpoint_every: int = 500  # steps between checkpoints (0: only at the end / on Ctrl-C)
    keep_checkpoints: int = 3  # the last k checkpoints are kept
    log_every: int = 50  # steps between metrics.jsonl lines (the last step is always logged)
    seed: int = 0  # seeds python, numpy, torch, the data order, the fixed batch and noise
    device: str = "auto"  # auto: cuda, then mps, then cpu; or any torch device string
    # auto: bf16 autocast on CUDA, fp32 elsewhere; bf16 on the CPU is an explicit choice
    # (fp32 master weights, losses in fp32; faster only on CPUs with AMX/avx512_bf16)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    memory_format: Literal["auto", "channels_last", "contiguous"] = "auto"  # auto: the method's measured choice
    num_workers: int = 0  # DataLoader worker processes
    n_samples: int | None = None  # images (latent methods) or rows of each visual grid; None: the method's
    progress: bool = True  # progress bar on stderr (plain lines when stderr is not a TTY)
    # distributed runs only (torchrun / --nproc, ganas.train.distributed):
    sync_bn: bool = False  # BatchNorm -> SyncBatchNorm (statistics over the global batch; CUDA only)
    find_unused_parameters: bool = False  # DDP's option, for a method whose steps leave parameters unused

    def validate(self) -> None:
        for name in ("steps", "epochs", "n_samples"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"train option {name} must be >= 1 (or unset), got {v}")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError(f"train options steps ({self.steps}) and epochs ({self.epochs}) are both set; "
                              "give the length one way (set the other to none)")
        for name in ("keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train option {name} must be >= 1, got {getattr(self, name)}")
        for name in ("sample_every", "checkpoint_every", "num_workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train option {name} must be >= 0, got {getattr(self, name)}")

    def __post_init__(self) -> None:
        self.validate()


#: what an unset option means when the method's ``train_defaults`` does not say either
TRAIN_FALLBACKS: dict[str, int] = {"steps": 1000, "n_samples": 64}


def resolve_plan(cfg: TrainConfig, method_defaults: Mapping[str, Any], steps_per_epoch: int) -> TrainPlan:
    """The run's ``TrainPlan``: ``cfg.steps``, else ``cfg.epochs``, else the method's
    default length (``{"steps": N}`` or ``{"epochs": N}``), else 1000 steps."""
    if cfg.steps is not None:
        total = cfg.steps
    elif cfg.epochs is not None:
        total = cfg.epochs * steps_per_epoch
    elif method_defaults.get("steps") is not None:
        total = int(method_defaults["steps"])
    elif method_defaults.get("epochs") is not None:
        total = int(method_defaults["epochs"]) * steps_per_epoch
    else:
        total = TRAIN_FALLBACKS["steps"]
    return TrainPlan(steps_per_epoch=steps_per_epoch, total_steps=total)


def resolve_n_samples(cfg: TrainConfig, method_defaults: Mapping[str, Any]) -> int:
    if cfg.n_samples is not None:
        return cfg.n_samples
    return int(method_defaults.get("n_samples") or TRAIN_FALLBACKS["n_samples"])


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> cuda if available, then mps, then cpu; else ``torch.device(name)``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"device option: {name!r} is not a torch device ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device option: cuda was asked for but torch.cuda.is_available() is False")
    return dev


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` on CUDA, ``"fp32"`` elsewhere."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"train option precision: {precision!r} is not one of auto, fp32, bf16")
    return precision


def autocast_factory(precision: str, device: torch.device) -> Callable[[], ContextManager]:
    """The ``StepContext.autocast`` callable: bf16 autocast (on CUDA, or on the CPU when
    asked for: weights stay fp32, autocast runs convolutions/matmuls in bf16), or a no-op."""
    if precision == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def resolve_memory_format(memory_format: str, preferred: str = "contiguous") -> torch.memory_format:
    """``"auto"`` takes the method's measured preference (``GANMethod.preferred_memory_format``):
    channels_last sped DCGAN up but slows a U-Net down, so each method says what it measured."""
    if memory_format == "auto":
        memory_format = preferred
    if memory_format == "channels_last":
        return torch.channels_last
    if memory_format == "contiguous":
        return torch.contiguous_format
    raise ConfigError(f"train option memory_format: {memory_format!r} is not one of auto, channels_last, contiguous")
