"""The trainer's options (``--set`` keys of ``ganas train`` that are not the method's)
and the resolution of ``auto`` device / precision / memory format."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, ContextManager, Literal

import torch

from ..errors import ConfigError


@dataclass
class TrainConfig:
    """How to run a training (the method's config says *what* to train)."""

    steps: int = 1000  # optimisation steps (one ``train_step`` call each)
    sample_every: int = 500  # steps between sample grids (0: only at the end)
    checkpoint_every: int = 500  # steps between checkpoints (0: only at the end / on Ctrl-C)
    keep_checkpoints: int = 3  # the last k checkpoints are kept
    log_every: int = 50  # steps between metrics.jsonl lines (the last step is always logged)
    seed: int = 0  # seeds python, numpy, torch, the data order and the fixed sample noise
    device: str = "auto"  # auto: cuda, then mps, then cpu; or any torch device string
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on CUDA, else fp32
    memory_format: Literal["auto", "channels_last", "contiguous"] = "auto"  # auto: the method's measured choice
    num_workers: int = 0  # DataLoader worker processes
    n_samples: int = 64  # images in each sample grid
    progress: bool = True  # progress bar on stderr (plain lines when stderr is not a TTY)

    def validate(self) -> None:
        for name in ("steps", "keep_checkpoints", "log_every", "n_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train option {name} must be >= 1, got {getattr(self, name)}")
        for name in ("sample_every", "checkpoint_every", "num_workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train option {name} must be >= 0, got {getattr(self, name)}")

    def __post_init__(self) -> None:
        self.validate()


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
    """The ``StepContext.autocast`` callable: bf16 autocast, or a no-op for fp32."""
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
