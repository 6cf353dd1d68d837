"""The method protocol the trainer knows: every GAN method is one file implementing it.

A method is an ``nn.Module`` holding its networks, built from a typed config dataclass
whose defaults are the paper's. The trainer owns the loop, the device, precision,
checkpoints, schedules, visuals and logging; the method owns what one optimisation step
computes and declares what it needs (``docs/protocol.md`` is the contract).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, ContextManager, Literal, Mapping

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry
from ..utils import count_params  # noqa: F401  (re-exported: ganas.gan.count_params)

#: the evaluations ``ganas eval`` knows (one function per kind in ``metrics/``)
EVALUATIONS: tuple[str, ...] = ("unconditional", "paired", "unpaired", "attributes", "text")
#: when the trainer steps a method's schedulers
SCHEDULES: tuple[str, ...] = ("epoch", "step")


@dataclass(frozen=True)
class TrainPlan:
    """How long a training runs, known before the first step (schedules need the total).

    ``steps_per_epoch`` full batches per pass over the data (the last partial batch is
    dropped); ``total_steps`` optimisation steps in all (over every resume).
    """

    steps_per_epoch: int
    total_steps: int

    @property
    def total_epochs(self) -> int:
        """Epochs started by the run (the last one may be partial)."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def epoch_of(self, step: int) -> int:
        """0-based epoch of the 1-based global ``step``."""
        return (step - 1) // self.steps_per_epoch

    def ends_epoch(self, step: int) -> bool:
        return step % self.steps_per_epoch == 0

    def to_dict(self) -> dict[str, int]:
        return {"steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps}


@dataclass
class StepContext:
    """What the trainer hands a method for one step.

    ``step`` is 1-based and global (it continues over resumes), ``epoch`` 0-based.
    ``autocast()`` returns the precision context (bf16 autocast on CUDA, or on the CPU
    with ``precision=bf16``; a no-op for fp32): methods wrap their forward passes in it
    and keep losses and optimizer steps outside, in float32.
    """

    step: int
    device: torch.device
    autocast: Callable[[], ContextManager[Any]] = contextlib.nullcontext
    epoch: int = 0
    steps_per_epoch: int = 1
    total_steps: int = 1


class GANMethod(nn.Module):
    """Base class of every GAN method.

    Subclasses set ``Config`` (a dataclass with the paper's defaults) and the
    declarations below, and implement ``networks``, ``configure_optimizers``,
    ``train_step``, ``visuals``, ``example_batch``, ``describe`` and ``tiny_config``
    (``sample``/``generate``/``latent_sampler`` when ``latent``, ``translate`` for
    translation methods). Networks are attributes (``self.G``, ``self.D``...) listed by
    ``networks()``; optimizers/schedulers live in ``self.optimizers``/``self.schedulers``
    so checkpoints capture them.
    """

    Config: ClassVar[type]
    #: the batch fields ``train_step`` reads; checked on the first batch
    batch_fields: ClassVar[tuple[str, ...]] = ("image",)
    #: the fields of the fixed held-out batch ``visuals`` reads (None: ``batch_fields``;
    #: () when the visuals need no data, e.g. DCGAN's grid of G(fixed noise))
    visual_fields: ClassVar[tuple[str, ...] | None] = None
    #: True when the generator maps a latent vector to an image (sample/interpolate/arithmetic)
    latent: ClassVar[bool] = False
    #: which evaluation ``ganas eval`` runs: one of ``EVALUATIONS``
    evaluation: ClassVar[str] = "unconditional"
    #: when the trainer steps ``self.schedulers``: after every step, or after each epoch's last step
    schedule: ClassVar[Literal["epoch", "step"]] = "step"

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}

    # -- declarations (classmethods: read without building networks) -------------------
    @classmethod
    def data_defaults(cls, config: Any) -> dict[str, Any]:
        """Data options this method expects (``layout``, ``image_size``, ``load_size``,
        ``crop``, ``flip``, ``channels``, ``direction``...); a data spec's ``?key=value``
        overrides them."""
        return {}

    @classmethod
    def train_defaults(cls, config: Any) -> dict[str, Any]:
        """Train options this method prefers where the user left them unset (``None`` in
        ``TrainConfig``): the length, ``{"steps": N}`` or ``{"epochs": N}`` (junyanz's
        ``n_epochs + n_epochs_decay``), and ``n_samples`` (items of each visual grid)."""
        return {}

    @classmethod
    def config_from_data(cls, dataset: Any) -> dict[str, Any]:
        """Config values that follow from the training data (StarGAN: its domains' count
        and names), applied by ``ganas train`` before the method is built; a ``--set``
        that disagrees is refused. ``{}``: nothing follows from the data."""
        return {}

    @classmethod
    def tiny_config(cls) -> Any:
        """The smallest config that exercises every code path (registry-generated tests)."""
        raise NotImplementedError(f"{cls.__name__} defines no tiny_config()")

    # -- what a method must provide ------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        """Fill ``self.optimizers`` (and ``self.schedulers``) with the paper's settings.

        The trainer calls it with the run's ``plan`` before the first step (and before a
        checkpoint's states are loaded); ``plan`` is None outside a training (a method
        built for a unit test or for inference)."""
        raise NotImplementedError

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        """One optimisation step on ``batch``; returns detached scalar losses by name.
        Keys computed only on some steps (several D updates per G update) are returned
        only on those steps: the log averages each key over the steps that reported it."""
        raise NotImplementedError

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int) -> dict[str, torch.Tensor]:
        """Named image grids in [-1, 1]: ``(N, C, H, W)`` (a square-ish grid) or
        ``(R, K, C, H, W)`` (R rows of K images: input | output | target...), one channel
        count per grid. ``fixed`` is the trainer's held-out batch of ``n`` items (the
        ``visual_fields``, on the method's device; None when ``visual_fields == ()``),
        ``generator`` a CPU generator seeded identically at every call (fixed noise),
        ``n`` the grid's size (``TrainConfig.n_samples``). Called under ``no_grad`` in
        the method's current (training) mode, the global RNG forked around it."""
        raise NotImplementedError

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """A random batch of the right shapes and fields, for tests and ``describe``."""
        raise NotImplementedError

    def describe(self) -> dict[str, dict[str, Any]]:
        """``{"G": {"params": int, "output_shape": [...]}, ...}`` for ``ganas describe``."""
        raise NotImplementedError

    # -- optional ------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """State beyond networks, optimizers and schedulers that a bit-identical resume
        needs (CycleGAN's image pools): tensors and builtins only (weights_only loads)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if state:
            raise NotImplementedError(f"{type(self).__name__} saved extra state but cannot load it")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated images, (n, C, H, W) in [-1, 1] (``latent`` methods only)."""
        require_latent(self, "sample")
        raise NotImplementedError

    def preferred_memory_format(self) -> str:
        """What ``memory_format="auto"`` picks: override with the format measured fastest
        for this method (benchmarks/, docs/benchmarks.md). Contiguous unless measured."""
        return "contiguous"


def require_latent(method: GANMethod | type[GANMethod], command: str) -> None:
    """Raise ``ConfigError`` when ``command`` (sample, interpolate, arithmetic) needs a
    latent-variable generator and ``method`` has none; returns None otherwise."""
    if not getattr(method, "latent", False):
        name = method.__name__ if isinstance(method, type) else type(method).__name__
        raise ConfigError(f"{command} needs a latent-variable generator (z -> image); {name} has none "
                          f"(it declares latent = False): use its visuals or translate instead")


METHODS: Registry[GANMethod] = Registry("method")
