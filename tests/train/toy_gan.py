"""A tiny GAN for the trainer tests: conv G and D with BatchNorm, real Adam, a scheduler,
and a dataset whose random crop/flip draw from the global torch RNG."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ganas.gan.base import METHODS, GANMethod, StepContext

NAME = "toy-trainer-test"


@dataclass
class ToyConfig:
    batch_size: int = 4
    nz: int = 8
    lr: float = 2e-4
    nan_at_step: int = 0  # return a NaN loss at this step (0: never)
    step_sleep: float = 0.0  # seconds per step (for the kill tests)


class ToyGAN(GANMethod):
    Config = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        nz = config.nz
        self.G = nn.Sequential(
            nn.ConvTranspose2d(nz, 8, 4, 1, 0, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),  # (B, 8, 4, 4)
            nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False), nn.Tanh(),  # (B, 3, 8, 8)
        )
        self.D = nn.Sequential(
            nn.Conv2d(3, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.2, True),  # (B, 8, 4, 4)
            nn.Conv2d(8, 1, 4, 1, 0, bias=False),  # (B, 1, 1, 1)
        )
        self.seen_formats: list[bool] = []  # is each batch channels_last?

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def configure_optimizers(self) -> None:
        c = self.config
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=c.lr, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(self.D.parameters(), lr=c.lr, betas=(0.5, 0.999)),
        }
        self.schedulers = {"G": torch.optim.lr_scheduler.StepLR(self.optimizers["G"], step_size=3, gamma=0.9)}

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        if self.config.step_sleep:
            time.sleep(self.config.step_sleep)
        real = batch["image"]  # (B, 3, 8, 8)
        self.seen_formats.append(real.is_contiguous(memory_format=torch.channels_last))
        b = real.shape[0]
        z = torch.randn(b, self.config.nz, 1, 1, device=ctx.device)  # global RNG
        with ctx.autocast():
            fake = self.G(z)
            d_real, d_fake = self.D(real).flatten(), self.D(fake.detach()).flatten()
        loss_d = F.binary_cross_entropy_with_logits(d_real.float(), torch.ones(b)) + \
            F.binary_cross_entropy_with_logits(d_fake.float(), torch.zeros(b))
        self.optimizers["D"].zero_grad()
        loss_d.backward()
        self.optimizers["D"].step()
        with ctx.autocast():
            d_gen = self.D(fake).flatten()
        loss_g = F.binary_cross_entropy_with_logits(d_gen.float(), torch.ones(b))
        self.optimizers["G"].zero_grad()
        loss_g.backward()
        self.optimizers["G"].step()
        if ctx.step == self.config.nan_at_step:
            loss_g = loss_g * float("nan")
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.config.nz, 1, 1, generator=generator).to(next(self.parameters()).device)
        self.G.eval()
        out = self.G(z)  # (n, 3, 8, 8)
        self.G.train()
        return out


if NAME not in METHODS:
    METHODS.register(NAME, help="trainer test toy")(ToyGAN)


class CropFlipData(torch.utils.data.Dataset):
    """12 fixed 3x10x10 images; random 8x8 crop and horizontal flip from the global torch RNG."""

    def __init__(self, n: int = 12) -> None:
        g = torch.Generator().manual_seed(123)
        self.images = torch.rand(n, 3, 10, 10, generator=g) * 2 - 1  # (N, 3, 10, 10)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        top, left = torch.randint(0, 3, (2,)).tolist()
        x = self.images[i, :, top : top + 8, left : left + 8]  # (3, 8, 8)
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        return {"image": x, "label": torch.tensor(i)}


def run(out_dir: str, steps: int, **overrides: object) -> str:
    """Entry point of the subprocess tests: trains, prints the status, returns it."""
    from ganas.config import replace
    from ganas.train import TrainConfig, Trainer

    cfg_keys = {k: v for k, v in overrides.items() if k in ToyConfig.__dataclass_fields__}
    train_keys = {k: v for k, v in overrides.items() if k not in cfg_keys}
    torch.manual_seed(0)
    method = ToyGAN(replace(ToyConfig(), cfg_keys))
    tc = replace(TrainConfig(), {"steps": steps, "progress": False, "device": "cpu", **train_keys})
    result = Trainer(NAME, method, CropFlipData(), out_dir, tc, data_spec="toy").fit()
    print(f"STATUS {result.status} {result.step}", flush=True)
    return result.status
