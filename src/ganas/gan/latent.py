"""Latent-space tools from DCGAN (Radford et al. 2015, sec. 6): walks between latent
vectors (Fig. 4) and vector arithmetic on averaged exemplars (Fig. 7), plus automatic
exemplar selection with a classifier.

Pure tensor code: the generator and classifier are plain callables, so the tools work
with any method's generator and are tested with fakes.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Sequence

import torch

from ..data.latent import LatentSampler
from ..errors import ConfigError, GanasError

INTERPOLATION_MODES: tuple[str, ...] = ("slerp", "linear")

#: per-image predictions: factor name -> (predicted value, confidence in [0, 1])
Prediction = Mapping[str, tuple[Any, float]]


def _as_vector(z: torch.Tensor, name: str) -> torch.Tensor:
    """(nz,), (nz, 1, 1), (1, nz) or (1, nz, 1, 1) -> (nz,)."""
    shape = tuple(z.shape)
    ok = (
        z.dim() == 1
        or (z.dim() == 2 and shape[0] == 1)
        or (z.dim() == 3 and shape[1:] == (1, 1))
        or (z.dim() == 4 and shape[0] == 1 and shape[2:] == (1, 1))
    )
    if not ok:
        raise ConfigError(f"{name}: expected one latent vector (nz,), (nz, 1, 1) or (1, nz, 1, 1), got {shape}")
    return z.reshape(-1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """``steps`` latents from ``z0`` to ``z1`` (both included): (steps, nz, 1, 1).

    NOTE: the paper walks the latent space linearly (sec. 6.1); ``"slerp"`` (spherical
    interpolation, White 2016, "Sampling Generative Networks") is the default because
    the midpoints of a linear walk between Gaussian samples have atypically small norms.
    Slerp falls back to linear when the two vectors are (anti)parallel.
    """
    if mode not in INTERPOLATION_MODES:
        raise ConfigError(f"interpolate: unknown mode {mode!r}; valid: {', '.join(INTERPOLATION_MODES)}")
    if steps < 2:
        raise ConfigError(f"interpolate: steps must be >= 2, got {steps}")
    a, b = _as_vector(z0, "z0").float(), _as_vector(z1, "z1").float()  # (nz,)
    if a.shape != b.shape:
        raise ConfigError(f"interpolate: z0 has {a.numel()} dims, z1 has {b.numel()}")
    t = torch.linspace(0.0, 1.0, steps, device=a.device)[:, None]  # (steps, 1)
    out = (1 - t) * a + t * b  # (steps, nz)
    if mode == "slerp":
        cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
        omega = torch.arccos(cos.clamp(-1.0, 1.0))
        so = torch.sin(omega)
        if so.abs() > 1e-6:
            out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / so  # (steps, nz)
    return out[:, :, None, None]  # (steps, nz, 1, 1)


def arithmetic(z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor) -> torch.Tensor:
    """mean(z_a) - mean(z_b) + mean(z_c), (1, nz, 1, 1).

    Each argument is a group of exemplars, (k, nz, 1, 1) or (k, nz); the paper averages
    k=3 per group ("smiling woman" - "neutral woman" + "neutral man" = "smiling man")
    because single vectors were unstable.
    """
    means = []
    for name, z in (("z_a", z_a), ("z_b", z_b), ("z_c", z_c)):
        if z.dim() not in (2, 4) or z.shape[0] < 1:
            raise ConfigError(f"arithmetic: {name} must be (k, nz) or (k, nz, 1, 1), got {tuple(z.shape)}")
        means.append(z.reshape(z.shape[0], -1).float().mean(dim=0))  # (nz,)
    if len({m.numel() for m in means}) != 1:
        raise ConfigError(f"arithmetic: groups have different nz: {[m.numel() for m in means]}")
    return (means[0] - means[1] + means[2])[None, :, None, None]  # (1, nz, 1, 1)


def perturb(z: torch.Tensor, n: int, scale: float = 0.25, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` copies of one latent plus U(-scale, scale) noise, (n, nz, 1, 1).

    The paper's Fig. 7 shows 8 samples around each arithmetic result made this way
    ("uniform noise sampled with scale +-0.25 was added").
    """
    v = _as_vector(z, "z").float()  # (nz,)
    noise = torch.rand((n, v.numel()), generator=generator, device=generator.device if generator else "cpu")
    noise = noise.to(v.device).mul_(2 * scale).sub_(scale)  # (n, nz)
    return (v[None, :] + noise)[:, :, None, None]  # (n, nz, 1, 1)


class Selection(NamedTuple):
    """What ``select_latents`` kept: latents, their images and predictions; ``tried`` counts draws."""

    z: torch.Tensor  # (k, nz, 1, 1)
    images: torch.Tensor  # (k, C, H, W)
    predictions: list[Prediction]
    tried: int


def select_latents(
    generator_fn: Callable[[torch.Tensor], torch.Tensor],
    classify_fn: Callable[[torch.Tensor], Sequence[Prediction]],
    predicate: Callable[[Prediction], bool],
    n: int,
    batch: int = 64,
    seed: int = 0,
    max_tries: int = 20,
    *,
    sampler: LatentSampler | None = None,
    allow_fewer: bool = False,
) -> Selection:
    """Sample z, generate, classify, and keep the first ``n`` latents whose images satisfy
    ``predicate`` (e.g. ``lambda p: p["shape"][0] == "circle" and p["color"][1] > 0.9``).

    ``generator_fn``: z (B, nz, 1, 1), on the CPU -> images (B, C, H, W) (e.g.
    ``DCGAN.generate``, which moves z to the model's device); ``classify_fn``: images ->
    one prediction dict per image, ``{factor: (value, confidence)}``. At most
    ``max_tries`` batches of ``batch`` are drawn, from ``sampler`` (default N(0, 1), nz=100)
    seeded with ``seed``. Raises ``GanasError`` when fewer than ``n`` were found (with
    ``allow_fewer``, only when none was found).

    NOTE: the paper picked its exemplars by eye (sec. 6.3); a classifier makes the
    selection repeatable.
    """
    if n < 1 or batch < 1 or max_tries < 1:
        raise ConfigError(f"select_latents: n, batch and max_tries must be >= 1 (got {n}, {batch}, {max_tries})")
    sampler = sampler if sampler is not None else LatentSampler(100)
    gen = torch.Generator().manual_seed(seed)
    kept_z: list[torch.Tensor] = []
    kept_img: list[torch.Tensor] = []
    kept_pred: list[Prediction] = []
    tried = 0
    for _ in range(max_tries):
        z = sampler.sample(batch, generator=gen)  # (B, nz, 1, 1)
        with torch.no_grad():
            images = generator_fn(z)  # (B, C, H, W)
        preds = list(classify_fn(images))
        if len(preds) != batch:
            raise GanasError(f"select_latents: classify_fn returned {len(preds)} predictions for {batch} images")
        tried += batch
        for i, p in enumerate(preds):
            if predicate(p):
                kept_z.append(z[i].cpu())
                kept_img.append(images[i].detach().cpu())
                kept_pred.append(p)
                if len(kept_z) == n:
                    return Selection(torch.stack(kept_z), torch.stack(kept_img), kept_pred, tried)
    if not kept_z or (len(kept_z) < n and not allow_fewer):
        raise GanasError(
            f"select_latents: found {len(kept_z)} of {n} latents matching the predicate in {tried} samples; "
            "raise max_tries or relax the predicate"
        )
    return Selection(torch.stack(kept_z), torch.stack(kept_img), kept_pred, tried)
