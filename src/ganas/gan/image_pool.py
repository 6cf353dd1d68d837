"""The history of generated images CycleGAN's discriminators see (Shrivastava et al.
2017, sec. 3.3; Zhu et al. 2017, sec. 4 "we keep an image buffer that stores the 50
previously created images"), as junyanz/pytorch-CycleGAN-and-pix2pix ``util/image_pool.py``.

Per image of the batch: while the pool has room, the image is stored and returned;
once full, with probability 1/2 a uniformly chosen stored image is returned and
replaced by the new one, else the new image is returned.

NOTE: the reference draws with Python's global ``random``; we draw from a
``torch.Generator`` owned by the pool, whose state is part of ``state_dict()``, so a
resumed run makes the same choices (bit-identical resume) without touching global RNGs.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError, CheckpointError


class ImagePool:
    """A buffer of up to ``size`` generated images; ``size=0`` disables it."""

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ConfigError(f"pool_size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []  # each (C, H, W), detached
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) new fakes -> (B, C, H, W) to show the discriminator (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out: list[torch.Tensor] = []
        for image in images:  # (C, H, W)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            p = torch.rand((), generator=self.generator).item()
            if p > 0.5:
                k = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[k])  # the stored one leaves the pool: no copy needed
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out, 0)

    def state_dict(self) -> dict[str, Any]:
        """Stored images (on the CPU) and the generator state: tensors only, for
        ``torch.load(weights_only=True)``."""
        stacked = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stacked, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str | None = None) -> None:
        if int(state["size"]) != self.size:
            raise CheckpointError(f"image pool size mismatch: checkpoint {int(state['size'])}, config {self.size}")
        imgs = state["images"]
        self.images = [im.to(device) if device is not None else im.clone() for im in imgs] if imgs.numel() else []
        self.generator.set_state(state["rng"])
