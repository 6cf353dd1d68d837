"""CycleGAN: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv:1703.10593).

The step is junyanz/pytorch-CycleGAN-and-pix2pix ``models/cycle_gan_model.py``
``optimize_parameters``: ``fake_B = G_A(A)``, ``rec_A = G_B(fake_B)``, ``fake_A =
G_B(B)``, ``rec_B = G_A(fake_A)``; update both generators together (discriminators
frozen) on ``LSGAN(D_A(fake_B), 1) + LSGAN(D_B(fake_A), 1) + lambda_A |rec_A - A| +
lambda_B |rec_B - B| + lambda_identity * (lambda_B |G_A(B) - B| + lambda_A |G_B(A) -
A|)``; then the discriminators, each on a real image (target 1) and an image from its
pool of 50 earlier fakes (target 0), loss halved. ``D_A`` judges domain B (G_A's
output), ``D_B`` judges domain A, as the reference.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.layers import init_dcgan_weights
from ..nets.patchgan import PatchDiscriminator
from ..nets.resnet_gen import ResnetGenerator, resnet_blocks_for
from .base import METHODS, StepContext, count_params
from .image_pool import ImagePool
from .image_translation import (
    TranslationMethod, check_choice, check_non_negative, gan_loss, rows, validate_common,
)


@dataclass
class CycleGANConfig:
    """CycleGAN (Zhu et al. 2017, sec. 4 and appendix 7; junyanz train options for
    ``--model cycle_gan``: resnet_9blocks, basic D, instance norm, lsgan, lambda 10,
    identity 0.5, pool 50)."""

    image_size: int = 256
    input_nc: int = 3  # channels of domain A
    output_nc: int = 3  # channels of domain B
    ngf: int = 64
    ndf: int = 64
    n_blocks: int | None = None  # None: 9 at >= 256 px, 6 below (paper appendix 7.2)
    norm: Literal["batch", "instance", "none"] = "instance"
    use_dropout: bool = False  # junyanz: --no_dropout is the cycle_gan default
    n_layers_D: int = 3  # 70x70 PatchGAN
    gan_mode: Literal["vanilla", "lsgan"] = "lsgan"
    lambda_A: float = 10.0  # cycle A -> B -> A
    lambda_B: float = 10.0  # cycle B -> A -> B
    lambda_identity: float = 0.5  # times lambda_A / lambda_B (paper sec. 5.2, photo <-> painting)
    pool_size: int = 50
    pool_seed: int = 0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 1
    n_epochs: int = 100
    n_epochs_decay: int = 100
    load_size: int | None = None  # None: 286/256 of image_size
    flip: bool = True
    # instance norm and no dropout: both modes compute the same function by default
    test_mode: Literal["train", "eval"] = "eval"
    init_gain: float = 0.02

    def validate(self) -> None:
        validate_common(self)
        if self.image_size % 4:
            raise ConfigError(f"image_size={self.image_size} must be a multiple of 4 (two stride-2 convolutions)")
        if self.n_blocks is not None:
            check_non_negative(self, "n_blocks")
        check_non_negative(self, "lambda_A", "lambda_B", "lambda_identity", "pool_size")
        if self.lambda_identity > 0 and self.input_nc != self.output_nc:
            raise ConfigError(
                f"lambda_identity={self.lambda_identity} needs input_nc == output_nc (got {self.input_nc}, "
                f"{self.output_nc}): the identity loss feeds B to G_A; set lambda_identity=0"
            )

    @property
    def blocks(self) -> int:
        return self.n_blocks if self.n_blocks is not None else resnet_blocks_for(self.image_size)


@METHODS.register("cyclegan", help="CycleGAN (Zhu et al. 2017): unpaired image-to-image translation")
class CycleGAN(TranslationMethod):
    """Generators ``G_A`` (A -> B), ``G_B`` (B -> A); discriminators ``D_A`` (of B
    images), ``D_B`` (of A images); image pools of fakes for each discriminator."""

    Config = CycleGANConfig
    evaluation = "unpaired"

    def __init__(self, config: CycleGANConfig | None = None) -> None:
        config = config if config is not None else CycleGANConfig()
        config.validate()
        super().__init__(config)
        c = config

        def gen(i: int, o: int) -> ResnetGenerator:
            return init_dcgan_weights(ResnetGenerator(i, o, c.ngf, c.blocks, c.norm, c.use_dropout), c.init_gain)

        def disc(i: int) -> PatchDiscriminator:
            return init_dcgan_weights(PatchDiscriminator(i, c.ndf, c.n_layers_D, c.norm), c.init_gain)

        self.G_A, self.G_B = gen(c.input_nc, c.output_nc), gen(c.output_nc, c.input_nc)
        self.D_A, self.D_B = disc(c.output_nc), disc(c.input_nc)
        # the pools feed D_A (fakes of B) and D_B (fakes of A); distinct streams
        self.fake_B_pool = ImagePool(c.pool_size, seed=c.pool_seed)
        self.fake_A_pool = ImagePool(c.pool_size, seed=c.pool_seed + 1)
        self.configure_optimizers()

    @classmethod
    def tiny_config(cls) -> CycleGANConfig:
        """32 px (the smallest a 70x70 PatchGAN accepts), one residual block, batch 2
        with a pool of 1, so the second image of every step takes the full-pool path."""
        return CycleGANConfig(image_size=32, ngf=2, ndf=2, n_blocks=1, pool_size=1, batch_size=2,
                              n_epochs=1, n_epochs_decay=1)

    @classmethod
    def data_defaults(cls, config: CycleGANConfig) -> dict[str, Any]:
        """Unaligned domains, resize to load_size (286 at 256), random crop, flip."""
        return cls._data_defaults(config, "unaligned")

    # -- protocol --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def generator_for(self, direction: str) -> nn.Module:
        check_choice("direction", direction, ("AtoB", "BtoA"))
        return self.G_A if direction == "AtoB" else self.G_B

    def configure_optimizers(self, plan: Any = None) -> None:
        """One Adam(2e-4, (0.5, 0.999)) over both generators, one over both
        discriminators (as the reference); linear decay per epoch."""
        c = self.config
        betas = (c.beta1, c.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=c.lr, betas=betas),
            "D": torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=c.lr, betas=betas),
        }
        self.make_schedulers()

    def extra_state(self) -> dict[str, Any]:
        return {"fake_A_pool": self.fake_A_pool.state_dict(), "fake_B_pool": self.fake_B_pool.state_dict()}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.fake_A_pool.load_state_dict(state["fake_A_pool"], self.device)
        self.fake_B_pool.load_state_dict(state["fake_B_pool"], self.device)

    def _d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """junyanz ``backward_D_basic``: (GAN(D(real), 1) + GAN(D(fake), 0)) / 2."""
        with ctx.autocast():
            pred_real = D(real)
            pred_fake = D(fake.detach())
        mode = self.config.gan_mode
        return 0.5 * (gan_loss(pred_real, True, mode) + gan_loss(pred_fake, False, mode))

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]  # (B, C_A, H, W), (B, C_B, H, W)
        with ctx.autocast():
            fake_b = self.G_A(real_a)
            rec_a = self.G_B(fake_b)
            fake_a = self.G_B(real_b)
            rec_b = self.G_A(fake_a)

        # (1) Generators, with the discriminators frozen.
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        ds = (self.D_A, self.D_B)
        for d in ds:
            d.requires_grad_(False)
        try:
            losses: dict[str, torch.Tensor] = {}
            if c.lambda_identity > 0:
                with ctx.autocast():
                    idt_a = self.G_A(real_b)  # G_A should leave B images unchanged
                    idt_b = self.G_B(real_a)
                losses["idt_A"] = F.l1_loss(idt_a.float(), real_b.float()) * c.lambda_B * c.lambda_identity
                losses["idt_B"] = F.l1_loss(idt_b.float(), real_a.float()) * c.lambda_A * c.lambda_identity
            with ctx.autocast():
                pred_a = self.D_A(fake_b)
                pred_b = self.D_B(fake_a)
            losses["G_A"] = gan_loss(pred_a, True, c.gan_mode)
            losses["G_B"] = gan_loss(pred_b, True, c.gan_mode)
            losses["cycle_A"] = F.l1_loss(rec_a.float(), real_a.float()) * c.lambda_A
            losses["cycle_B"] = F.l1_loss(rec_b.float(), real_b.float()) * c.lambda_B
            loss_g = sum(losses.values())
            loss_g.backward()
        finally:
            for d in ds:
                d.requires_grad_(True)
        opt_g.step()

        # (2) Discriminators, on pooled fakes.
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_d_a = self._d_loss(self.D_A, real_b, self.fake_B_pool.query(fake_b), ctx)
        loss_d_a.backward()
        loss_d_b = self._d_loss(self.D_B, real_a, self.fake_A_pool.query(fake_a), ctx)
        loss_d_b.backward()
        opt_d.step()

        out = {k: v.detach() for k, v in losses.items()}
        out.update(G=loss_g.detach(), D_A=loss_d_a.detach(), D_B=loss_d_b.detach())
        return out

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator | None = None,
                n: int = 4) -> dict[str, torch.Tensor]:
        """``{"AtoB": rows of A | G_A(A) | G_B(G_A(A)), "BtoA": B | G_B(B) | G_A(G_B(B))}``:
        an unpaired batch has no target, the third column is the cycle reconstruction."""
        if fixed is None:
            fixed = self.example_batch(n)
        a, b = fixed["A"].to(self.device), fixed["B"].to(self.device)
        with self.seeded_noise(generator):
            fake_b, fake_a = self.translate(a, "AtoB"), self.translate(b, "BtoA")
            return {"AtoB": rows(a.float(), fake_b, self.translate(fake_b, "BtoA")),
                    "BtoA": rows(b.float(), fake_a, self.translate(fake_a, "AtoB"))}

    def describe(self) -> dict[str, dict[str, Any]]:
        c, s = self.config, self.config.image_size
        with torch.no_grad():
            d_out = list(self.D_A(torch.zeros(1, c.output_nc, s, s, device=self.device)).shape[1:])
        return {"G_A": {"params": count_params(self.G_A), "output_shape": [c.output_nc, s, s]},
                "G_B": {"params": count_params(self.G_B), "output_shape": [c.input_nc, s, s]},
                "D_A": {"params": count_params(self.D_A), "output_shape": d_out},
                "D_B": {"params": count_params(self.D_B), "output_shape": d_out}}
