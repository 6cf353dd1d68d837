"""The method protocol the trainer knows: every GAN method is one file implementing it.

A method is an ``nn.Module`` holding its networks, built from a typed config dataclass
whose defaults are the paper's. The trainer owns the loop, the device, precision,
checkpoints and logging; the method owns what one optimisation step computes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from ..registry import Registry
from ..utils import count_params  # noqa: F401  (re-exported: ganas.gan.count_params)


@dataclass
class StepContext:
    """What the trainer hands a method for one step.

    ``autocast()`` returns the precision context (bf16 autocast on CUDA, a no-op on CPU);
    methods wrap their forward passes in it and keep losses/optimizer steps outside.
    """

    step: int
    device: torch.device
    autocast: Any = contextlib.nullcontext  # Callable[[], ContextManager]


class GANMethod(nn.Module):
    """Base class of every GAN method.

    Subclasses set ``Config`` (a dataclass with the paper's defaults) and implement
    ``train_step`` and ``sample``. Networks are attributes (``self.G``, ``self.D``...)
    listed by ``networks()``. Optimizers/schedulers are created by
    ``configure_optimizers`` and kept on the method so checkpoints capture them.
    """

    Config: ClassVar[type]
    #: which ``Batch`` fields the method reads: "image", "label", ... (data side contract)
    batch_keys: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}

    # -- what a method must provide ------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def configure_optimizers(self) -> None:
        """Fill ``self.optimizers`` (and ``self.schedulers``) with the paper's settings."""
        raise NotImplementedError

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        """One optimisation step on ``batch``; returns detached scalar losses by name."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated images, (n, C, H, W) in [-1, 1], on the method's device."""
        raise NotImplementedError

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """A random batch of the right shapes, for smoke tests and `describe`."""
        raise NotImplementedError

    def describe(self) -> dict[str, dict[str, Any]]:
        """``{"G": {"params": int, "output_shape": [...]}, ...}`` for ``ganas describe``."""
        raise NotImplementedError

    # -- shared helpers --------------------------------------------------------------
    def preferred_memory_format(self) -> str:
        """What ``memory_format="auto"`` picks: override with the format measured fastest
        for this method (benchmarks/, docs/benchmarks.md). Contiguous unless measured."""
        return "contiguous"

    def end_of_step(self) -> None:
        """Called by the trainer after every step (schedulers step here by default)."""
        for s in self.schedulers.values():
            s.step()


METHODS: Registry[GANMethod] = Registry("method")
