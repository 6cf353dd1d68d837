"""DCGAN: Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", 2015 (arXiv:1511.06434).

The training step is the loop of pytorch/examples ``dcgan/main.py``: update D on a real
batch (target 1) and on ``G(z).detach()`` (target 0) as two separate forward passes,
then update G with the non-saturating loss ``BCE(D(G(z)), 1)`` where ``D(G(z))`` is
recomputed with the freshly updated D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..data.latent import LATENT_DISTS, LatentSampler
from ..errors import ConfigError
from ..nets.dcgan import DCGAN_CHANNELS, DCGANDiscriminator, DCGANGenerator, dcgan_depth
from ..nets.layers import init_dcgan_weights, preserved_bn_stats
from .base import METHODS, GANMethod, StepContext, TrainPlan, count_params

#: What memory_format "auto" should pick per image size, from benchmarks/dcgan_throughput.py
#: (docs/benchmarks.md, CPU, batch 64): channels_last trained 1.16x/1.21x/1.24x/1.33x
#: faster than the plain loop at 16/32/64/128 px (contiguous: 1.08/1.00/1.06/1.10x) with
#: the lowest peak memory; 256 px is extrapolated (not measured).
AUTO_MEMORY_FORMAT: dict[int, str] = {16: "channels_last", 32: "channels_last", 64: "channels_last",
                                      128: "channels_last", 256: "channels_last"}


@dataclass
class DCGANConfig:
    """DCGAN (Radford et al. 2015, sec. 4; pytorch/examples dcgan/main.py defaults)."""

    image_size: int = 64
    channels: int = 3
    nz: int = 100  # length of z
    ngf: int = 64  # G's width at the last hidden layer
    ndf: int = 64  # D's width at the first layer
    # NOTE: the paper trained with mini-batches of 128; we follow pytorch/examples (64),
    # the value the issue asks for and the one our throughput figures use.
    batch_size: int = 64
    lr: float = 2e-4  # paper: 0.0002 (0.001 was too high)
    beta1: float = 0.5  # paper: 0.5 (0.9 oscillated and was unstable)
    beta2: float = 0.999
    # NOTE: the paper drew z uniformly (U(-1, 1) in its Theano code); pytorch/examples
    # uses N(0, 1), our default.
    latent: Literal["normal", "uniform"] = "normal"

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad option."""
        dcgan_depth(self.image_size)
        if self.channels not in DCGAN_CHANNELS:
            raise ConfigError(f"channels={self.channels} is not supported by DCGAN; allowed: 1, 3")
        for key in ("nz", "ngf", "ndf", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be a positive integer, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{key} must be in [0, 1), got {getattr(self, key)}")
        if self.latent not in LATENT_DISTS:
            raise ConfigError(f"latent={self.latent!r} is not supported; allowed: {', '.join(LATENT_DISTS)}")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """BCE on logits (B,) against a constant target, in float32 (outside autocast)."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@METHODS.register("dcgan", help="DCGAN (Radford et al. 2015): unconditional image generation")
class DCGAN(GANMethod):
    """Generator ``G`` and discriminator ``D`` of DCGAN, trained as pytorch/examples."""

    Config = DCGANConfig
    batch_fields = ("image",)
    visual_fields = ()  # the grid is G(fixed noise): no data needed
    latent = True
    evaluation = "unconditional"
    schedule = "step"  # no schedulers (constant lr, as the paper)
    #: what each loss measures, for the report's legend (D: BCE on a real and a fake batch)
    loss_units = {"loss_D": "BCE real + BCE fake", "loss_G": "BCE"}

    def __init__(self, config: DCGANConfig | None = None) -> None:
        config = config if config is not None else DCGANConfig()
        config.validate()
        super().__init__(config)
        c = config
        self.G = init_dcgan_weights(DCGANGenerator(c.nz, c.ngf, c.channels, c.image_size))
        self.D = init_dcgan_weights(DCGANDiscriminator(c.channels, c.ndf, c.image_size))
        self.latent_sampler = LatentSampler(c.nz, c.latent)
        self.configure_optimizers()

    # -- declarations ------------------------------------------------------------------
    @classmethod
    def data_defaults(cls, config: DCGANConfig) -> dict[str, Any]:
        return {"image_size": config.image_size, "channels": config.channels}

    @classmethod
    def train_defaults(cls, config: DCGANConfig) -> dict[str, Any]:
        # NOTE: pytorch/examples trains 25 epochs (--niter); our default is a length in
        # steps, independent of the dataset's size (the CLI's --steps).
        return {"steps": 1000, "n_samples": 64}

    @classmethod
    def tiny_config(cls) -> DCGANConfig:
        return DCGANConfig(image_size=16, nz=8, ngf=4, ndf=4, batch_size=4)

    # -- protocol --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        """Adam(lr=2e-4, betas=(0.5, 0.999)) for each network, as the paper (no schedule)."""
        betas = (self.config.beta1, self.config.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=self.config.lr, betas=betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=self.config.lr, betas=betas),
        }

    def preferred_memory_format(self) -> str:
        """What ``memory_format="auto"`` should pick for this model: the format that
        measured fastest at this image size (``AUTO_MEMORY_FORMAT``, docs/benchmarks.md)."""
        return AUTO_MEMORY_FORMAT.get(self.config.image_size, "contiguous")

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        real = batch["image"]  # (B, C, H, W) in [-1, 1]
        b = real.size(0)
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        z = self.latent_sampler.sample(b, device=real.device)  # (B, nz, 1, 1)

        # (1) Update D: maximize log D(x) + log(1 - D(G(z))).
        # Real and fake go through D in separate passes, so BatchNorm never mixes them.
        opt_d.zero_grad(set_to_none=True)
        with ctx.autocast():
            out_real = self.D(real)  # (B,) logits
        err_real = _bce(out_real, 1.0)
        err_real.backward()
        with ctx.autocast():
            fake = self.G(z)  # (B, C, H, W)
            out_fake = self.D(fake.detach())  # (B,)
        err_fake = _bce(out_fake, 0.0)
        err_fake.backward()
        opt_d.step()

        # (2) Update G: maximize log D(G(z)) (non-saturating), D(G(z)) recomputed by the
        # updated D. NOTE: the reference also lets this backward fill D's gradients, then
        # discards them at the next netD.zero_grad(); we freeze D's parameters instead
        # (same update, less work, and D's gradients of step (1) stay inspectable).
        opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(False)
        try:
            with ctx.autocast():
                out_gen = self.D(fake)  # (B,)
            err_g = _bce(out_gen, 1.0)
            err_g.backward()
        finally:
            self.D.requires_grad_(True)
        opt_g.step()

        with torch.no_grad():
            return {
                "loss_D": (err_real + err_fake).detach(),
                "loss_G": err_g.detach(),
                "D_x": torch.sigmoid(out_real.float()).mean(),
                "D_G_z1": torch.sigmoid(out_fake.float()).mean(),
                "D_G_z2": torch.sigmoid(out_gen.float()).mean(),
            }

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) for z (n, nz, 1, 1) or (n, nz) -> (n, C, H, W) in [-1, 1].

        G runs in its current mode: in training mode BatchNorm uses the batch's
        statistics, as pytorch/examples' ``netG(fixed_noise)``; running statistics are
        left untouched. Call ``.eval()`` first to use the running averages instead.
        """
        device = next(self.G.parameters()).device
        with preserved_bn_stats(self.G):
            return self.G(z.to(device))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.G.parameters()).device
        return self.generate(self.latent_sampler.sample(n, generator=generator, device=device))

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int = 64) -> dict[str, torch.Tensor]:
        """``{"samples": G(fixed noise)}``, (n, C, H, W): pytorch/examples' ``fake``
        grid of ``netG(fixed_noise)`` (G in its current mode, BN statistics untouched)."""
        return {"samples": self.sample(n, generator=generator)}

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        c = self.config
        device = next(self.G.parameters()).device
        image = torch.rand(batch_size, c.channels, c.image_size, c.image_size, device=device) * 2 - 1
        return {"image": image, "label": torch.full((batch_size,), -1, dtype=torch.long, device=device)}

    def describe(self) -> dict[str, dict[str, Any]]:
        c = self.config
        return {
            "G": {"params": count_params(self.G), "output_shape": [c.channels, c.image_size, c.image_size]},
            "D": {"params": count_params(self.D), "output_shape": [1]},
        }


def reference_step(
    G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, opt_g: torch.optim.Optimizer,
    real: torch.Tensor, z: torch.Tensor,
) -> dict[str, float]:
    """One iteration of the plain pytorch/examples ``dcgan/main.py`` loop, for comparison.

    The baseline that tests (same updates as ``DCGAN.train_step``) and
    ``benchmarks/dcgan_throughput.py`` (same algorithm, plain implementation) measure
    against: ``zero_grad`` on the modules, D not frozen during G's backward, no autocast.
    BCE is taken on logits because our D returns logits.
    """
    D.zero_grad()
    out = D(real)  # (B,)
    err_real = _bce(out, 1.0)
    err_real.backward()
    fake = G(z)  # (B, C, H, W)
    out = D(fake.detach())
    err_fake = _bce(out, 0.0)
    err_fake.backward()
    opt_d.step()
    G.zero_grad()
    out = D(fake)
    err_g = _bce(out, 1.0)
    err_g.backward()
    opt_g.step()
    return {"loss_D": (err_real + err_fake).item(), "loss_G": err_g.item()}

