"""Workflows of the text-conditional methods (GAN-CLS): images for sentences
(``ganas sample --text``), interpolation between two sentences (``ganas interpolate
--text A --text B``) and the ``"text"`` evaluation of ``ganas eval``.

Typed arguments in, plain results out; the CLI prints them. A method is text-conditional
when it provides ``generate_from_text(texts, z)`` and ``interpolate_text(a, b, steps, z)``
(``ganas.gan.gancls.GANCLS``); ``require_text`` refuses the others with a clear error.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ConfigError, GanasError

#: the built-in caption task: the only data whose captions name known factors
BUILTIN_TASK = "shapes?task=captions"


def is_text_conditional(method: Any) -> bool:
    return callable(getattr(method, "generate_from_text", None)) and callable(getattr(method, "interpolate_text", None))


def require_text(method: Any, command: str) -> None:
    """``ConfigError`` when ``command --text`` is asked of a method that takes no text."""
    if not is_text_conditional(method):
        raise ConfigError(f"{command} --text needs a text-conditional method (gancls); "
                          f"{type(method).__name__} takes no text: drop --text")


def clean_texts(texts: Sequence[str], option: str = "--text") -> list[str]:
    """The sentences with whitespace collapsed; an empty one is refused."""
    out = [" ".join(str(t).split()) for t in texts]
    for t, raw in zip(out, texts):
        if not t:
            raise ConfigError(f"{option} {raw!r}: an empty sentence")
    return out


def sample_text(method: Any, texts: Sequence[str], n: int, seed: int = 0) -> tuple[Any, int | None]:
    """``n`` images for each sentence of ``texts``: (len(texts) * n, C, H, W) in [-1, 1] on
    the CPU, and the grid's row length (None: square-ish). One sentence: ``n`` images, each its own z (a
    square-ish grid). Several: one row per sentence, ``n`` images each, column j sharing
    the same z across rows (so rows differ only by their sentence)."""
    import torch

    require_text(method, "sample")
    texts = clean_texts(texts)
    if not texts:
        raise ConfigError("sample --text: give at least one sentence")
    z = method.latent_sampler.sample(n, generator=torch.Generator().manual_seed(seed))  # (n, nz, 1, 1)
    z = z.repeat(len(texts), *([1] * (z.dim() - 1)))  # (R*n, nz, 1, 1): rows share the columns' z
    with torch.no_grad():
        imgs = method.generate_from_text([t for t in texts for _ in range(n)], z)  # (R*n, C, H, W)
    return imgs.float().cpu(), (n if len(texts) > 1 else None)


def interpolate_text(method: Any, texts: Sequence[str], rows: int, steps: int, seed: int = 0) -> Any:
    """``rows`` x ``steps`` images: row r keeps one z (seeded), columns go from sentence A
    to sentence B along ``(1 - a) t_A + a t_B`` (the paper's fig. 7; linear in the
    embedding, whatever ``--mode``): (rows * steps, C, H, W) in [-1, 1] on the CPU."""
    import torch

    require_text(method, "interpolate")
    texts = clean_texts(texts)
    if len(texts) != 2:
        raise ConfigError(f"interpolate --text: give exactly two sentences (--text A --text B), got {len(texts)}")
    if steps < 2:
        raise ConfigError(f"--steps must be >= 2 to go from one sentence to the other, got {steps}")
    z = method.latent_sampler.sample(rows, generator=torch.Generator().manual_seed(seed))  # (R, nz, 1, 1)
    with torch.no_grad():
        imgs = torch.cat([method.interpolate_text(texts[0], texts[1], steps, z=z[r: r + 1]) for r in range(rows)])
    return imgs.float().cpu()  # (R*steps, C, H, W)


def latent_rows(method: Any, rows: int) -> list[str]:
    """The caption each row of a latent interpolation of a text-conditional method keeps
    (the fixed held-out batch's, cycled), so a row varies z only."""
    caps = list(getattr(method, "sample_captions", []) or [])
    if not caps:
        raise ConfigError("interpolate: this run has no stored captions yet; give --text A --text B")
    return [caps[r % len(caps)] for r in range(rows)]


# ----------------------------------------------------------------------------- evaluation
def _has_factors(data: str) -> bool:
    from ..data import parse_spec

    spec = parse_spec(data)
    return spec.name == "shapes" and spec.params.get("task") == "captions"


def evaluate(method: Any, data: str, n: int, seed: int = 0, device: str = "auto",
             features: str = "classifier", weights: str | None = None) -> dict[str, Any]:
    """The ``"text"`` evaluation of a run trained on ``data``, on its test split (at most
    ``n`` captions, one generated image each).

    - The built-in task (``shapes?task=captions``): ``metrics.text.evaluate_text``: caption
      consistency per factor (shape, colour) with the factor classifier's accuracy on the
      real test images beside it, the same per size the caption names (``by_size``), the
      shapes read against the shapes named (``shape_confusion``), FD in that classifier's
      features, R-precision.
    - Other caption data (``captions:PATH``): the factors its captions name are unknown,
      so ``caption_consistency`` and ``classifier_accuracy`` are None (the reason in
      ``unavailable``); FD (with ``fd_real_floor``) comes from ``evaluate_generator`` with
      the ``features`` extractor on images generated for the test captions;
      R-precision with the run's encoders, candidates from other classes (other images
      when the data has no classes).

    ``unavailable``: {metric: why} for every metric that is None.
    """
    import torch

    from ..metrics.text import evaluate_text, generate_for_captions, read_items, text_retrieval
    from ..train import resolve_device

    if not is_text_conditional(method):
        raise ConfigError(f"the text evaluation needs a text-conditional method; {type(method).__name__} takes no text")
    dev = resolve_device(device)
    c = method.config
    if _has_factors(data):
        res = evaluate_text(method, data, n=n, seed=seed, device=dev)  # n: at most the split's size
        res["fd_features"] = "factor classifier (shape x colour, trained on real training images)"
        unavailable: dict[str, str] = {}
    else:
        test = read_items(data, "test", c.image_size, c.channels, n, seed + 1, factors=False)
        fake = generate_for_captions(method, test["caption"], seed=seed)  # (N, C, H, W) in [-1, 1]
        try:
            fd = _fd(fake, data, c.image_size, c.channels, seed, features, weights, dev)
            fd_why = None
        except GanasError as e:  # too few test images, unlabelled data with the classifier...
            fd, fd_why = {"fd": None, "fd_features": features}, str(e)
        labels = test["label"]
        keys = labels if bool((labels >= 0).all()) else torch.arange(labels.numel())
        unavailable = {
            "caption_consistency": f"the factors the captions of {data!r} name are unknown; caption consistency "
                                   f"(a factor classifier against the caption's factors) needs {BUILTIN_TASK}",
            **{k: "no factor classifier without known factors"
               for k in ("classifier_accuracy", "by_size", "shape_confusion")},
        }
        res = {**dict.fromkeys(unavailable), **fd, "n": len(test["caption"]),
               **text_retrieval(method, fake, test["image"], test["caption"], keys, seed=seed)}
        if fd_why is not None:
            unavailable["fd"] = fd_why
    if res.get("r_precision") is None:
        unavailable["r_precision"] = ("no image encoder: the run uses precomputed embeddings (embeddings=PATH)"
                                      if getattr(method, "E_image", None) is None
                                      else "fewer than two groups of captions to draw candidates from")
        unavailable["r_precision_real"] = unavailable["r_precision"]
    res["unavailable"] = unavailable
    return res


def _fd(fake: Any, data: str, image_size: int, channels: int, seed: int, features: str, weights: str | None,
        device: Any) -> dict[str, Any]:
    """FD of ``fake`` (N, C, H, W) against the test split of ``data`` (``evaluate_generator``
    with the ``features`` extractor; the images are handed out in order)."""
    from ..metrics import evaluate_generator, replay

    res = evaluate_generator(replay(fake), data, image_size, channels, n=fake.shape[0], seed=seed, device=device,
                             extractor=features, extractor_options={"weights": weights} if weights else None)
    keep = ("fd", "fd_real_floor", "fd_real_floor_std", "precision", "recall")
    return {**{k: res.get(k) for k in keep}, "fd_features": res.get("features")}
