"""pix2pix: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 (arXiv:1611.07004).

The step is junyanz/pytorch-CycleGAN-and-pix2pix ``models/pix2pix_model.py``
``optimize_parameters``: ``fake_B = G(real_A)``; update D on ``D([A, fake_B].detach())``
(target 0) and ``D([A, B])`` (target 1) as separate passes, loss halved ("we divide
the objective by 2 while optimizing D, which slows down the rate at which D learns
relative to G", sec. 3.3); then update G on ``GAN(D([A, fake_B]), 1) + lambda_L1 *
|fake_B - B|_1`` with D frozen and recomputed after its update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.layers import init_dcgan_weights
from ..nets.patchgan import PatchDiscriminator
from ..nets.unet import UNetGenerator, unet_depth
from .base import METHODS, StepContext, count_params
from .image_translation import (
    DIRECTIONS, TranslationMethod, check_choice, check_non_negative, gan_loss, rows, validate_common,
)


@dataclass
class Pix2PixConfig:
    """pix2pix (Isola et al. 2017, sec. 3-4 and appendix 6; junyanz train options for
    ``--model pix2pix``: unet_256, basic D, batch norm, vanilla GAN, lambda_L1 100)."""

    image_size: int = 256  # crop size; the U-Net depth follows it (1x1 bottleneck)
    input_nc: int = 3  # channels of the input domain (A for AtoB)
    output_nc: int = 3
    ngf: int = 64
    ndf: int = 64
    num_downs: int | None = None  # None: log2(image_size) (unet_256: 8, unet_128: 7)
    norm: Literal["batch", "instance", "none"] = "batch"
    use_dropout: bool = True  # the paper's noise z (junyanz: not --no_dropout)
    n_layers_D: int = 3  # 3: 70x70 PatchGAN; 0: 1x1 PixelGAN; 1: 16x16; 5: 286x286
    gan_mode: Literal["vanilla", "lsgan"] = "vanilla"
    lambda_L1: float = 100.0
    # 0 trains the paper's "L1 alone" ablation (Table 1): no D, no adversarial term
    lambda_GAN: float = 1.0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 1
    n_epochs: int = 100  # epochs at the initial lr
    n_epochs_decay: int = 100  # epochs of linear decay to zero
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # facades: BtoA (labels -> photos)
    load_size: int | None = None  # None: 286/256 of image_size (random-jitter resize)
    flip: bool = True
    # "train": dropout and batch statistics at test time (paper; junyanz test.py default);
    # "eval": junyanz test.py --eval
    test_mode: Literal["train", "eval"] = "train"
    init_gain: float = 0.02

    def validate(self) -> None:
        validate_common(self)
        depth = self.depth
        if depth < 2 or self.image_size % 2**depth:
            raise ConfigError(f"num_downs={depth}: image_size={self.image_size} must be a multiple of 2^num_downs")
        check_choice("direction", self.direction, DIRECTIONS)
        check_non_negative(self, "lambda_L1", "lambda_GAN")
        if self.lambda_L1 == 0 and self.lambda_GAN == 0:
            raise ConfigError("lambda_L1 and lambda_GAN are both 0: nothing to train")

    @property
    def depth(self) -> int:
        return self.num_downs if self.num_downs is not None else unet_depth(self.image_size)


@METHODS.register("pix2pix", help="pix2pix (Isola et al. 2017): paired image-to-image translation")
class Pix2Pix(TranslationMethod):
    """U-Net ``G`` (input -> output) and conditional PatchGAN ``D`` on [input, output]."""

    Config = Pix2PixConfig
    evaluation = "paired"

    def __init__(self, config: Pix2PixConfig | None = None) -> None:
        config = config if config is not None else Pix2PixConfig()
        config.validate()
        super().__init__(config)
        c = config
        self.G = init_dcgan_weights(
            UNetGenerator(c.input_nc, c.output_nc, c.depth, c.ngf, c.norm, c.use_dropout), c.init_gain)
        self.D = init_dcgan_weights(PatchDiscriminator(c.input_nc + c.output_nc, c.ndf, c.n_layers_D, c.norm), c.init_gain)
        self.configure_optimizers()

    @classmethod
    def tiny_config(cls) -> Pix2PixConfig:
        """64 px, 6 U-Net levels (one with dropout), 70x70 PatchGAN, batch 2 (BatchNorm
        sees more than one value at every level)."""
        return Pix2PixConfig(image_size=64, ngf=2, ndf=2, batch_size=2, n_epochs=1, n_epochs_decay=1)

    @classmethod
    def data_defaults(cls, config: Pix2PixConfig) -> dict[str, Any]:
        """Aligned pairs, resize to load_size (286 at 256), random crop, flip."""
        return cls._data_defaults(config, "aligned")

    # -- protocol --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def generator_for(self, direction: str) -> nn.Module:
        return self.G

    def _direction(self, direction: str | None) -> str:
        if direction is not None and direction != self.config.direction:
            raise ConfigError(
                f"this pix2pix model translates {self.config.direction} only (it was trained so); got direction={direction}"
            )
        return self.config.direction

    def configure_optimizers(self, plan: Any = None) -> None:
        """Adam(2e-4, (0.5, 0.999)) per network; lr constant for ``n_epochs`` then linear
        decay over ``n_epochs_decay`` (per epoch). ``plan`` (TrainPlan) is not needed:
        the schedule is in epochs, from the config."""
        c = self.config
        betas = (c.beta1, c.beta2)
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=c.lr, betas=betas),
                           "D": torch.optim.Adam(self.D.parameters(), lr=c.lr, betas=betas)}
        self.make_schedulers()

    def input_target(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of the configured direction."""
        a, b = batch["A"], batch["B"]
        return (a, b) if self.config.direction == "AtoB" else (b, a)

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        c = self.config
        real_a, real_b = self.input_target(batch)  # (B, C_in, H, W), (B, C_out, H, W)
        with ctx.autocast():
            fake_b = self.G(real_a)  # (B, C_out, H, W)
        out: dict[str, torch.Tensor] = {}
        use_gan = c.lambda_GAN > 0

        # (1) D: GAN(D([A, G(A)]), 0) + GAN(D([A, B]), 1), halved.
        if use_gan:
            opt_d = self.optimizers["D"]
            opt_d.zero_grad(set_to_none=True)
            with ctx.autocast():
                pred_fake = self.D(torch.cat([real_a, fake_b.detach()], 1))  # (B, 1, h, w)
                pred_real = self.D(torch.cat([real_a, real_b], 1))
            loss_d_fake = gan_loss(pred_fake, False, c.gan_mode)
            loss_d_real = gan_loss(pred_real, True, c.gan_mode)
            loss_d = 0.5 * (loss_d_fake + loss_d_real)
            loss_d.backward()
            opt_d.step()
            out.update(D_real=loss_d_real.detach(), D_fake=loss_d_fake.detach(), D=loss_d.detach())

        # (2) G: lambda_GAN * GAN(D([A, G(A)]), 1) + lambda_L1 * L1(G(A), B), D frozen.
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        loss_l1 = F.l1_loss(fake_b.float(), real_b.float())
        loss_g = c.lambda_L1 * loss_l1
        if use_gan:
            self.D.requires_grad_(False)
            try:
                with ctx.autocast():
                    pred = self.D(torch.cat([real_a, fake_b], 1))
                loss_g_gan = gan_loss(pred, True, c.gan_mode)
                loss_g = loss_g + c.lambda_GAN * loss_g_gan
                loss_g.backward()
            finally:
                self.D.requires_grad_(True)
            out["G_GAN"] = loss_g_gan.detach()
        else:
            loss_g.backward()
        opt_g.step()
        out.update(G_L1=loss_l1.detach(), G=loss_g.detach())
        return out

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator | None = None,
                n: int = 4) -> dict[str, torch.Tensor]:
        """``{"translation": rows of input | output | target}`` for the fixed batch."""
        if fixed is None:
            fixed = self.example_batch(n) if generator is None else self._random_batch(n, generator)
        x, y = self.input_target(fixed)
        with self.seeded_noise(generator):
            return {"translation": rows(x.float(), self.translate(x), y.float())}

    def _random_batch(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        c, s = self.config, self.config.image_size
        a = torch.rand(n, c.input_nc, s, s, generator=generator) * 2 - 1
        b = torch.rand(n, c.output_nc, s, s, generator=generator) * 2 - 1
        a, b = (a, b) if c.direction == "AtoB" else (b, a)
        return {"A": a.to(self.device), "B": b.to(self.device)}

    def describe(self) -> dict[str, dict[str, Any]]:
        c, s = self.config, self.config.image_size
        with torch.no_grad():
            was = self.D.training
            self.D.eval()
            d_out = self.D(torch.zeros(1, c.input_nc + c.output_nc, s, s, device=self.device)).shape[1:]
            self.D.train(was)
        return {"G": {"params": count_params(self.G), "output_shape": [c.output_nc, s, s]},
                "D": {"params": count_params(self.D), "output_shape": list(d_out)}}
