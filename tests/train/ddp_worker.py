"""One rank of the distributed-training test (tests/train/test_distributed.py), started by
``python -m torch.distributed.run --standalone --nproc_per_node=N ddp_worker.py OUT``.

Trains two methods for ``STEPS`` steps with the real trainer, each rank then saving its
own final weights to ``OUT/<run>_rank<r>.pt`` (the test's evidence; the trainer itself
writes only on rank 0):

- ``toy``: ``NoiseFreeGAN``, a pix2pix-shaped GAN without BatchNorm and without noise, so
  its update depends only on the global batch: DDP's gradient average over the ranks'
  slices must give the same weights as one process on the whole batch;
- ``dcgan``: the real DCGAN (tiny config) with its BatchNorm and per-rank noise: the
  weights must be identical on every rank (and equal to rank 0's checkpoint);
- ``method-<name>``: every registered method (``tiny_config()``) on a dataset of its own
  ``example_batch`` items: DDP must keep every rank's weights identical for each of them
  (several generators, image pools, D updates per G update, gradient penalties, a text
  encoder).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ganas.gan.base import GANMethod, StepContext, TrainPlan

STEPS = 3


@dataclass
class NoiseFreeConfig:
    batch_size: int = 8  # the global batch
    lr: float = 1e-3


class NoiseFreeGAN(GANMethod):
    """G: image -> image, D: image -> logit; no BatchNorm, no dropout, no noise."""

    Config = NoiseFreeConfig
    batch_fields = ("image",)
    visual_fields = ()
    latent = False
    evaluation = "paired"

    def __init__(self, config: NoiseFreeConfig) -> None:
        super().__init__(config)
        self.G = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 3, 3, 1, 1), nn.Tanh())
        self.D = nn.Sequential(nn.Conv2d(3, 4, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 4, 1, 0))  # (B, 1, 1, 1)

    @classmethod
    def tiny_config(cls) -> NoiseFreeConfig:
        return NoiseFreeConfig()

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        self.optimizers = {"G": torch.optim.Adam(self.G.parameters(), lr=self.config.lr, betas=(0.5, 0.999)),
                           "D": torch.optim.Adam(self.D.parameters(), lr=self.config.lr, betas=(0.5, 0.999))}

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        x = batch["image"]  # (B, 3, 8, 8)
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        real = F.binary_cross_entropy_with_logits(self.D(x).flatten(), torch.ones(x.size(0)))
        real.backward()  # two backwards through D, as DCGAN's step
        fake_img = self.G(x)  # (B, 3, 8, 8)
        fake = F.binary_cross_entropy_with_logits(self.D(fake_img.detach()).flatten(), torch.zeros(x.size(0)))
        fake.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(False)
        try:
            adv = F.binary_cross_entropy_with_logits(self.D(fake_img).flatten(), torch.ones(x.size(0)))
            loss_g = adv + 10 * F.l1_loss(fake_img, x.flip(-1))
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        opt_g.step()
        return {"loss_D": (real + fake).detach(), "loss_G": loss_g.detach()}

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int) -> dict[str, torch.Tensor]:
        return {}


class Images(torch.utils.data.Dataset):
    """``n`` fixed images (3, 8, 8) in [-1, 1]."""

    def __init__(self, n: int = 32) -> None:
        self.x = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(5)) * 2 - 1

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.x[i]}


def train_toy(out: Path, steps: int = STEPS) -> NoiseFreeGAN:
    from ganas.train import TrainConfig, Trainer, seed_everything

    seed_everything(0)
    method = NoiseFreeGAN(NoiseFreeConfig())
    cfg = TrainConfig(steps=steps, log_every=1, sample_every=0, checkpoint_every=0, progress=False, device="cpu")
    Trainer("noise-free", method, Images(), out, cfg, "images").fit()
    return method


def train_dcgan(out: Path, steps: int = STEPS):
    from ganas.data import DataOptions, make_dataset
    from ganas.gan.dcgan import DCGAN
    from ganas.train import TrainConfig, Trainer, seed_everything

    seed_everything(0)
    method = DCGAN(DCGAN.tiny_config())  # batch_size 4: 2 per rank
    data = make_dataset("shapes", "train", DataOptions(image_size=16, channels=3))
    cfg = TrainConfig(steps=steps, log_every=1, sample_every=0, checkpoint_every=0, progress=False, device="cpu")
    Trainer("dcgan", method, data, out, cfg, "shapes").fit()
    return method


class ExampleItems(torch.utils.data.Dataset):
    """The items of one ``method.example_batch(n)`` (the same on every rank)."""

    def __init__(self, method: GANMethod, n: int) -> None:
        torch.manual_seed(1)
        self.batch = method.example_batch(n)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.batch.items()}


def train_registered(name: str, out: Path, steps: int = 2) -> GANMethod:
    from ganas.gan import METHODS
    from ganas.train import TrainConfig, Trainer, seed_everything

    seed_everything(0)
    cls = METHODS.get(name).factory
    method = cls(cls.tiny_config())
    data = ExampleItems(method, 4 * method.config.batch_size)
    cfg = TrainConfig(steps=steps, log_every=1, sample_every=0, checkpoint_every=0, progress=False, device="cpu")
    Trainer(name, method, data, out, cfg, "example").fit()
    return method


def main(out: Path) -> None:
    import torch.distributed as dist

    from ganas.train.distributed import DistContext, init_from_env, shutdown

    torch.set_num_threads(1)
    assert init_from_env("cpu")
    rank = DistContext.current().rank
    assert dist.get_backend() == "gloo"
    from ganas.gan import list_methods

    runs = [("toy", train_toy), ("dcgan", train_dcgan)]
    runs += [(f"method-{m}", lambda o, m=m: train_registered(m, o)) for m in list_methods()]
    for name, train in runs:
        method = train(out / name)
        torch.save(method.state_dict(), out / f"{name}_rank{rank}.pt")
    shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
