"""Latent-vector providers: the "random vectors" half of DCGAN's data provider.

Radford et al. 2015 (sec. 4) draw z from a uniform distribution (their Theano code:
``uniform(-1, 1)``); pytorch/examples ``dcgan/main.py`` draws z ~ N(0, 1). Both are
offered; z is shaped (n, nz, 1, 1), the input the DCGAN generator expects.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

LATENT_DISTS: tuple[str, ...] = ("normal", "uniform")


class LatentSampler:
    """Draws latent vectors z of shape (n, nz, 1, 1).

    ``dist="normal"``: N(0, 1) per coordinate; ``dist="uniform"``: U(-1, 1).
    """

    def __init__(self, nz: int, dist: str = "normal") -> None:
        if dist not in LATENT_DISTS:
            raise ConfigError(f"latent: unknown distribution {dist!r}; valid: {', '.join(LATENT_DISTS)}")
        if nz < 1:
            raise ConfigError(f"nz must be a positive integer, got {nz}")
        self.nz = nz
        self.dist = dist

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``n`` latent vectors, (n, nz, 1, 1), float32.

        Drawn on the generator's device when a generator is given (so a seeded CPU
        generator gives the same noise whatever ``device`` is), then moved to ``device``.
        """
        draw_device = generator.device if generator is not None else (device or "cpu")
        shape = (n, self.nz, 1, 1)
        if self.dist == "normal":
            z = torch.randn(shape, generator=generator, device=draw_device)
        else:
            z = torch.rand(shape, generator=generator, device=draw_device).mul_(2.0).sub_(1.0)
        return z if device is None else z.to(device)  # (n, nz, 1, 1)

    def fixed(self, n: int, seed: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The same ``n`` vectors on every call with the same ``seed`` (for sample grids over time)."""
        return self.sample(n, generator=torch.Generator().manual_seed(seed), device=device)

    def __repr__(self) -> str:
        return f"LatentSampler(nz={self.nz}, dist={self.dist!r})"
