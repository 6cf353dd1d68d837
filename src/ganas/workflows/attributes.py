"""Workflows of the multi-domain translation method (StarGAN; ``evaluation = "attributes"``):
translate a folder to target domains, or write each input's row of single-domain
changes (``ganas translate RUN --target`` / ``--grid``), and the attribute evaluation
(``ganas eval``). Typed arguments in, plain results out; the CLI prints them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: StarGAN's G halves the image twice (two stride-2 convolutions): sides padded to this
G_MULTIPLE = 4


def is_multi_domain(method: Any) -> bool:
    """True for a method whose ``ganas eval`` is the attribute evaluation (StarGAN)."""
    return getattr(method, "evaluation", None) == "attributes"


def translate_domains(method: Any, input_dir: str | Path, out_dir: str | Path, target: str | None = None,
                      grid: bool = False, progress: bool = True, seed: int = 0) -> list[Path]:
    """Every image of ``input_dir`` into ``out_dir`` under the same name, at its own size
    (reflect-padded to a multiple of 4 for G, cropped back; ``gan.translate.map_folder``):

    - ``target`` (``"Blond_Hair"``, ``"colour=red,size=large"``): the image translated to
      its own labels with the named domains switched on (each clearing the rest of its
      group). Its own labels come from D's domain classifier (``estimate_labels``), so
      only the named domains change;
    - ``grid``: one row per image, the input then its translation to every single-domain
      change (the paper's figure layout; ``translation_grid``).

    Returns the written paths. Unknown domain names raise ``ConfigError`` listing the valid ones."""
    from ..gan.translate import map_folder, pad_to_multiple
    from ..images import make_grid, to_uint8

    if grid and target:
        raise ConfigError("--grid writes every single-domain change of each input; give --target or --grid, not both")
    if not grid and not target:
        raise ConfigError(f"translating with a {type(method).__name__} run needs --target DOMAIN[,DOMAIN...] "
                          f"(valid: {', '.join(method.names)}) or --grid")
    if target:
        method.target_labels(target, 1)  # unknown names: the error lists the valid ones, before any file is read
    device = next(method.parameters()).device

    def convert(x: Any) -> Any:  # (1, C, H, W) in [-1, 1] -> uint8 (H', W', C)
        h, w = x.shape[-2:]
        xp = pad_to_multiple(x, G_MULTIPLE)  # (1, C, H4, W4)
        c_org = method.estimate_labels(x)  # (1, c_dim)
        if grid:
            row = method.translation_grid(xp, c_org)[0, :, :, :h, :w]  # (1 + c_dim, C, H, W)
            return make_grid(row.cpu(), nrow=row.size(0))
        y = method.translate(xp, target, source=c_org)[..., :h, :w]  # (1, C, H, W)
        return to_uint8(y[0].cpu()).transpose(1, 2, 0)

    return map_folder(convert, input_dir, out_dir, method.config.channels, device, progress=progress, seed=seed,
                      desc="grid" if grid else "translate")


def evaluate(method: Any, data: str, device: str = "auto", max_test: int = 2000,
             max_train: int | None = None) -> dict[str, Any]:
    """The attribute evaluation of a trained multi-domain method on the data it was
    trained on (``metrics.attributes.evaluate_attributes``): ``attribute_accuracy`` per
    domain (classifiers fitted on the real train split label the translations of at most
    ``max_test`` test images to every single-domain change), its mean, ``rec_l1``, ``fd``
    and each classifier's accuracy on the real test images. The classifiers follow
    ``metrics.attributes.ATTRIBUTE_CLASSIFIER`` on at most ``max_train`` training images
    (default ``ATTRIBUTE_TRAIN_N``)."""
    from ..data import make_dataset
    from ..metrics.attributes import ATTRIBUTE_TRAIN_N, attribute_classifier_config, evaluate_attributes
    from ..train.config import resolve_device
    from .gan import data_options

    if max_test < 1:
        raise ConfigError(f"--n must be >= 1, got {max_test}")
    opts = data_options(type(method), method.config)
    train, test = make_dataset(data, "train", opts), make_dataset(data, "test", opts)
    method.to(resolve_device(device)).eval()
    return evaluate_attributes(method, train, test, attribute_classifier_config(),
                               max_train=ATTRIBUTE_TRAIN_N if max_train is None else max_train, max_test=max_test)
