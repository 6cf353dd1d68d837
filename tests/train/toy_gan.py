"""Tiny GANs for the trainer and the registry-generated tests.

- ``ToyGAN`` ("toy-trainer-test"): conv G and D with BatchNorm, real Adam, a per-step
  scheduler, optionally a loss reported on some steps only; a latent method.
- ``ToyCycle`` ("toy-two-generators"): a CycleGAN-shaped method with two generators and
  two discriminators, an image pool drawing from python's ``random`` (extra state), a
  per-epoch linear decay over the run's plan, and input | output | reconstruction
  visuals: the multi-generator path of the protocol until CycleGAN lands.

Datasets: ``CropFlipData`` crops/flips from the global torch RNG (a dataset without
keys); ``PairData`` takes ``(index, epoch, seed)`` keys (``accepts_keys``) and gives A and
B one shared crop and flip, with an unaligned B draw.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganas.gan.base import METHODS, GANMethod, StepContext, TrainPlan, count_params

NAME = "toy-trainer-test"
CYCLE = "toy-two-generators"


@dataclass
class ToyConfig:
    batch_size: int = 4
    nz: int = 8
    lr: float = 2e-4
    nan_at_step: int = 0  # return a NaN loss at this step (0: never)
    step_sleep: float = 0.0  # seconds per step (for the kill tests)
    sparse_every: int = 0  # report "loss_sparse" = 1.0 on every k-th step only (0: never)


class ToyGAN(GANMethod):
    Config = ToyConfig
    batch_fields = ("image",)
    visual_fields = ()
    latent = True
    evaluation = "unconditional"
    schedule = "step"

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
        self.seen_ctx: list[StepContext] = []
        self.autocast_dtypes: list[torch.dtype] = []

    @classmethod
    def tiny_config(cls) -> ToyConfig:
        return ToyConfig()

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        c = self.config
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=c.lr, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(self.D.parameters(), lr=c.lr, betas=(0.5, 0.999)),
        }
        self.schedulers = {"G": torch.optim.lr_scheduler.StepLR(self.optimizers["G"], step_size=3, gamma=0.9)}

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        if self.config.step_sleep:
            time.sleep(self.config.step_sleep)
        self.seen_ctx.append(ctx)
        real = batch["image"]  # (B, 3, 8, 8)
        self.seen_formats.append(real.is_contiguous(memory_format=torch.channels_last))
        b = real.shape[0]
        z = torch.randn(b, self.config.nz, 1, 1, device=ctx.device)  # global RNG
        with ctx.autocast():
            fake = self.G(z)
            d_real, d_fake = self.D(real).flatten(), self.D(fake.detach()).flatten()
        self.autocast_dtypes.append(d_real.dtype)
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
        out = {"loss_D": loss_d.detach(), "loss_G": loss_g.detach()}
        if self.config.sparse_every and ctx.step % self.config.sparse_every == 0:
            out["loss_sparse"] = torch.tensor(1.0)
        return out

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.config.nz, 1, 1, generator=generator).to(next(self.parameters()).device)
        self.G.eval()
        out = self.G(z)  # (n, 3, 8, 8)
        self.G.train()
        return out

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int) -> dict[str, torch.Tensor]:
        return {"samples": self.sample(n, generator)}

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        return {"image": torch.rand(batch_size, 3, 8, 8) * 2 - 1}

    def describe(self) -> dict[str, dict[str, Any]]:
        return {"G": {"params": count_params(self.G), "output_shape": [3, 8, 8]},
                "D": {"params": count_params(self.D), "output_shape": [1]}}


if NAME not in METHODS:
    METHODS.register(NAME, help="trainer test toy")(ToyGAN)


# -- two generators ---------------------------------------------------------------------

@dataclass
class ToyCycleConfig:
    """A CycleGAN-shaped toy (LSGAN + cycle L1, Zhu et al. 2017 in miniature)."""

    batch_size: int = 2
    channels: int = 3
    width: int = 4
    pool_size: int = 2
    lambda_cycle: float = 10.0
    lr: float = 2e-4
    n_epochs: int = 1  # the default length: n_epochs + n_epochs_decay epochs
    n_epochs_decay: int = 2


class ImagePool:
    """junyanz's image pool: until full, store and return; then with probability 1/2
    return a stored image (replaced by the new one), else the new one (python ``random``)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for x in images:  # (C, H, W)
            x = x.detach().clone()
            if len(self.images) < self.size:
                self.images.append(x)
                out.append(x)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i])
                self.images[i] = x
            else:
                out.append(x)
        return torch.stack(out)  # (B, C, H, W)


def _generator(c: int, w: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, w, 3, 1, 1), nn.InstanceNorm2d(w), nn.ReLU(True),
                         nn.Conv2d(w, c, 3, 1, 1), nn.Tanh())  # (B, C, H, W) -> same


def _discriminator(c: int, w: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(w, 1, 3, 1, 1))  # (B, 1, H/2, W/2)


class ToyCycle(GANMethod):
    Config = ToyCycleConfig
    batch_fields = ("A", "B")
    latent = False
    evaluation = "unpaired"
    schedule = "epoch"

    def __init__(self, config: ToyCycleConfig) -> None:
        super().__init__(config)
        c, w = config.channels, config.width
        self.G_A, self.G_B = _generator(c, w), _generator(c, w)  # A -> B, B -> A
        self.D_A, self.D_B = _discriminator(c, w), _discriminator(c, w)  # judge domain B, domain A
        self.pool_A, self.pool_B = ImagePool(config.pool_size), ImagePool(config.pool_size)
        self.lr_seen: list[float] = []

    @classmethod
    def data_defaults(cls, config: ToyCycleConfig) -> dict[str, Any]:
        return {"layout": "unaligned", "image_size": 8, "channels": config.channels, "flip": True}

    @classmethod
    def train_defaults(cls, config: ToyCycleConfig) -> dict[str, Any]:
        return {"epochs": config.n_epochs + config.n_epochs_decay, "n_samples": 2}

    @classmethod
    def tiny_config(cls) -> ToyCycleConfig:
        return ToyCycleConfig()

    def networks(self) -> dict[str, nn.Module]:
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        lr, betas = self.config.lr, (0.5, 0.999)
        g = list(self.G_A.parameters()) + list(self.G_B.parameters())
        d = list(self.D_A.parameters()) + list(self.D_B.parameters())
        self.optimizers = {"G": torch.optim.Adam(g, lr=lr, betas=betas), "D": torch.optim.Adam(d, lr=lr, betas=betas)}
        self.schedulers = {}
        if plan is not None:  # linear decay to 0 over the run's epochs
            epochs = plan.total_epochs
            self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 - e / epochs)
                               for k, o in self.optimizers.items()}

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"], batch["B"]  # (B, C, H, W) each
        self.lr_seen.append(self.optimizers["G"].param_groups[0]["lr"])
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        lam = self.config.lambda_cycle
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        with ctx.autocast():
            fake_B, fake_A = self.G_A(real_A), self.G_B(real_B)
            rec_A, rec_B = self.G_B(fake_B), self.G_A(fake_A)
            pa, pb = self.D_A(fake_B).float(), self.D_B(fake_A).float()
        loss_gan = F.mse_loss(pa, torch.ones_like(pa)) + F.mse_loss(pb, torch.ones_like(pb))
        loss_cyc = lam * (F.l1_loss(rec_A.float(), real_A) + F.l1_loss(rec_B.float(), real_B))
        opt_g.zero_grad(set_to_none=True)
        (loss_gan + loss_cyc).backward()
        opt_g.step()
        self.D_A.requires_grad_(True)
        self.D_B.requires_grad_(True)
        losses = {}
        opt_d.zero_grad(set_to_none=True)
        for name, D, real, fake in (("D_A", self.D_A, real_B, self.pool_B.query(fake_B)),
                                    ("D_B", self.D_B, real_A, self.pool_A.query(fake_A))):
            with ctx.autocast():
                pr, pf = D(real).float(), D(fake).float()
            loss = 0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))
            loss.backward()
            losses[f"loss_{name}"] = loss.detach()
        opt_d.step()
        return {"loss_G_GAN": loss_gan.detach(), "loss_cycle": loss_cyc.detach(), **losses}

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int) -> dict[str, torch.Tensor]:
        assert fixed is not None
        a, b = fixed["A"], fixed["B"]  # (N, C, H, W)
        fb, fa = self.G_A(a), self.G_B(b)
        return {"AtoB": torch.stack([a, fb, self.G_B(fb)], dim=1),  # (N, 3, C, H, W)
                "BtoA": torch.stack([b, fa, self.G_A(fa)], dim=1)}

    def extra_state(self) -> dict[str, Any]:
        return {name: torch.stack(pool.images) if pool.images else torch.empty(0)
                for name, pool in (("pool_A", self.pool_A), ("pool_B", self.pool_B))}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        for name, pool in (("pool_A", self.pool_A), ("pool_B", self.pool_B)):
            t = state[name]
            pool.images = [x.clone() for x in t.to(next(self.parameters()).device)] if t.numel() else []

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        c = self.config.channels
        return {"A": torch.rand(batch_size, c, 8, 8) * 2 - 1, "B": torch.rand(batch_size, c, 8, 8) * 2 - 1}

    def describe(self) -> dict[str, dict[str, Any]]:
        c = self.config.channels
        return {k: {"params": count_params(m), "output_shape": [c, 8, 8] if k.startswith("G") else [1, 4, 4]}
                for k, m in self.networks().items()}


if CYCLE not in METHODS:
    METHODS.register(CYCLE, help="two-generator protocol toy")(ToyCycle)


# -- data -------------------------------------------------------------------------------

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


class PairData(torch.utils.data.Dataset):
    """``n`` A images and ``n`` B images (3x10x10); item ``(index, epoch, seed)``: A[index]
    and a B drawn from the key (unaligned), one shared 8x8 crop and flip."""

    accepts_keys = True

    def __init__(self, n: int = 8) -> None:
        g = torch.Generator().manual_seed(321)
        self.A = torch.rand(n, 3, 10, 10, generator=g) * 2 - 1  # (N, 3, 10, 10)
        self.B = torch.rand(n, 3, 10, 10, generator=g) * 2 - 1

    def __len__(self) -> int:
        return len(self.A)

    def __getitem__(self, key: int | tuple[int, int, int]) -> dict[str, torch.Tensor]:
        index, epoch, seed = key if isinstance(key, tuple) else (key, 0, 0)
        rng = np.random.default_rng([index, epoch, seed])
        j = int(rng.integers(len(self.B)))
        top, left = (int(v) for v in rng.integers(0, 3, size=2))
        a, b = self.A[index, :, top : top + 8, left : left + 8], self.B[j, :, top : top + 8, left : left + 8]
        if rng.random() < 0.5:
            a, b = a.flip(-1), b.flip(-1)
        return {"A": a, "B": b, "key": torch.tensor([index, epoch, seed])}


def logged(run_dir: Any) -> list[dict[str, Any]]:
    """The lines of a run's metrics.jsonl without the timing fields (what must repeat)."""
    from ganas.train import read_metrics

    return [{k: v for k, v in r.items() if k not in ("images_per_s", "elapsed")} for r in read_metrics(run_dir)]


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
