"""What pix2pix and CycleGAN share: the GAN losses, junyanz's linear learning-rate
decay, the direction and test-mode handling of ``translate`` and the visuals.

References: junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (``GANLoss``,
``get_scheduler``), ``test.py`` (test-time mode).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.layers import preserved_bn_stats
from ..nets.patchgan import check_patchgan_size
from .base import GANMethod

GAN_MODES: tuple[str, ...] = ("vanilla", "lsgan")
DIRECTIONS: tuple[str, ...] = ("AtoB", "BtoA")
TEST_MODES: tuple[str, ...] = ("train", "eval")
#: junyanz's ``--load_size 286`` for ``--crop_size 256``: resize, then random crop
LOAD_RATIO = 286 / 256


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str) -> torch.Tensor:
    """junyanz ``GANLoss``: the mean over every patch logit of ``pred`` against the
    constant target 1 (real) or 0 (fake). ``"vanilla"``: BCE with logits (pix2pix);
    ``"lsgan"``: mean squared error (CycleGAN, Mao et al. 2017). Float32."""
    pred = pred.float()
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        return F.mse_loss(pred, target)
    raise ConfigError(f"gan_mode={mode!r}; valid: {', '.join(GAN_MODES)}")


def linear_decay_factor(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> float:
    """junyanz ``get_scheduler(lr_policy='linear')``: the lr multiplier after ``epoch``
    scheduler steps (one per finished epoch): ``1 - max(0, epoch + epoch_count -
    n_epochs) / (n_epochs_decay + 1)``. Constant for the first ``n_epochs`` epochs, then
    linearly down to ``1 / (n_epochs_decay + 1)`` in the last epoch (NOTE: as the
    reference, the last epoch's lr is not exactly zero)."""
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)


def linear_decay_scheduler(optimizer: torch.optim.Optimizer, n_epochs: int, n_epochs_decay: int) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` with ``linear_decay_factor``; step it once per epoch."""

    def rule(epoch: int) -> float:
        return linear_decay_factor(epoch, n_epochs, n_epochs_decay)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=rule)


def check_choice(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{key}={value!r}; valid: {', '.join(valid)}")


def check_positive(config: Any, *keys: str) -> None:
    for key in keys:
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be a positive integer, got {getattr(config, key)}")


def check_non_negative(config: Any, *keys: str) -> None:
    for key in keys:
        if getattr(config, key) < 0:
            raise ConfigError(f"{key} must be >= 0, got {getattr(config, key)}")


def validate_common(config: Any) -> None:
    """The checks pix2pix and CycleGAN configs share (sizes, D depth, losses, optimiser,
    schedule, jitter, test mode); raises ``ConfigError`` naming the option."""
    check_positive(config, "image_size", "input_nc", "output_nc", "ngf", "ndf", "batch_size")
    check_non_negative(config, "n_layers_D", "n_epochs", "n_epochs_decay")
    check_patchgan_size(config.image_size, config.n_layers_D)
    check_choice("gan_mode", config.gan_mode, GAN_MODES)
    check_choice("test_mode", config.test_mode, TEST_MODES)
    for key in ("lr", "init_gain"):
        if not getattr(config, key) > 0:
            raise ConfigError(f"{key} must be > 0, got {getattr(config, key)}")
    resolved_load_size(config.image_size, config.load_size)


def resolved_load_size(image_size: int, load_size: int | None) -> int:
    """``load_size`` or the reference's 286/256 ratio of ``image_size``."""
    if load_size is None:
        return round(image_size * LOAD_RATIO)
    if load_size < image_size:
        raise ConfigError(f"load_size ({load_size}) must be >= image_size ({image_size})")
    return load_size


@contextlib.contextmanager
def test_time_mode(net: nn.Module, mode: str) -> Iterator[None]:
    """Run ``net`` for inference in ``mode`` and restore its mode afterwards.

    ``"train"``: as the pix2pix paper (sec. 3.2.1 / 4: "we apply dropout at test time,
    and we apply batch normalization using the statistics of the test batch") and the
    reference's ``test.py`` without ``--eval``; BatchNorm running stats are restored.
    ``"eval"``: ``net.eval()``, as ``test.py --eval`` (no dropout, running statistics).
    """
    check_choice("test_mode", mode, TEST_MODES)
    was_training = net.training
    net.train(mode == "train")
    try:
        with preserved_bn_stats(net):
            yield
    finally:
        net.train(was_training)


def _three_channels(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def rows(*columns: torch.Tensor) -> torch.Tensor:
    """(N, C_k, H, W) columns -> (N * k, C, H, W), row ``i`` = column images ``i``
    (grayscale expanded to 3 channels when the columns mix channel counts)."""
    if len({c.shape[1] for c in columns}) > 1:
        columns = tuple(_three_channels(c) for c in columns)
    return torch.stack([c.float() for c in columns], 1).flatten(0, 1)


class TranslationMethod(GANMethod):
    """Image-to-image translation: ``batch_fields`` A and B, no latent input."""

    batch_fields: tuple[str, ...] = ("A", "B")
    latent = False
    schedule = "epoch"

    # -- to provide ----------------------------------------------------------------
    def generator_for(self, direction: str) -> nn.Module:
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def pad_multiple(self, direction: str | None = None) -> int:
        """What height and width must be multiples of for ``translate``."""
        return int(self.generator_for(self._direction(direction)).multiple)

    def in_channels(self, direction: str | None = None) -> int:
        g = self.generator_for(self._direction(direction))
        first = next(m for m in g.modules() if isinstance(m, nn.Conv2d))
        return first.in_channels

    def _direction(self, direction: str | None) -> str:
        return direction or "AtoB"

    def extra_state(self) -> dict[str, Any]:
        """State beyond networks, optimizers and schedulers (none; CycleGAN: its pools)."""
        return {}

    def load_extra_state(self, state: Any) -> None:
        return None

    def preferred_memory_format(self) -> str:
        """Contiguous: channels_last trained slower at every size measured
        (benchmarks/translation_throughput.py, docs/benchmarks.md "Translation": pix2pix
        0.72x / 0.80x / 0.87x of the plain loop at 64 / 128 / 256 px, CycleGAN 0.89x /
        0.75x / 0.55x at 64 / 128 / 256 px, CPU time, 1 thread; contiguous: 0.97x-1.06x)."""
        return "contiguous"

    def make_schedulers(self) -> None:
        c = self.config
        self.schedulers = {k: linear_decay_scheduler(o, c.n_epochs, c.n_epochs_decay) for k, o in self.optimizers.items()}

    @contextlib.contextmanager
    def seeded_noise(self, generator: torch.Generator | None) -> Iterator[None]:
        """The dropout noise of test-time "train" mode drawn from ``generator`` (the
        visuals' fixed seed), the global RNG untouched: the same grid at every call."""
        if generator is None:
            yield
            return
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            yield

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str | None = None, **_: Any) -> torch.Tensor:
        """(B, C_in, H, W) in [-1, 1] -> (B, C_out, H, W) by the generator of
        ``direction``, in the config's ``test_mode``; H, W multiples of ``pad_multiple``."""
        g = self.generator_for(self._direction(direction))
        with test_time_mode(g, self.config.test_mode):
            return g(x.to(self.device)).float()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise ConfigError(f"{type(self).__name__} translates images; it has no latent input to sample from")

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """Random A and B images of the configured size and channels."""
        c, s = self.config, self.config.image_size
        a_nc, b_nc = (c.input_nc, c.output_nc) if getattr(c, "direction", "AtoB") == "AtoB" else (c.output_nc, c.input_nc)
        return {"A": torch.rand(batch_size, a_nc, s, s, device=self.device) * 2 - 1,
                "B": torch.rand(batch_size, b_nc, s, s, device=self.device) * 2 - 1}

    @classmethod
    def train_defaults(cls, config: Any) -> dict[str, Any]:
        """junyanz's length: ``n_epochs`` at the initial lr, then ``n_epochs_decay`` of
        linear decay; visual grids of 4 rows (input | output | target)."""
        return {"epochs": config.n_epochs + config.n_epochs_decay, "n_samples": 4}

    @staticmethod
    def _data_defaults(config: Any, layout: str) -> dict[str, Any]:
        d: dict[str, Any] = {"layout": layout, "image_size": config.image_size,
                             "load_size": resolved_load_size(config.image_size, config.load_size),
                             "crop": "random", "flip": config.flip}
        if config.input_nc == config.output_nc:
            d["channels"] = config.input_nc
        return d
