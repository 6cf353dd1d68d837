"""Workflows of the translation methods (pix2pix, CycleGAN; StarGAN's ``--target``/``--grid``
through ``workflows.attributes``): translate a folder, import
a generator trained by the reference code, and the paired evaluation. Typed arguments
in, plain results out; the CLI prints them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import layout
from ..errors import ConfigError


@dataclass
class Translated:
    run_dir: Path
    out_dir: Path
    files: list[Path]
    direction: str | None  # pix2pix / CycleGAN; None for a multi-domain run (StarGAN)
    target: str | None = None  # StarGAN: the domains switched on
    grid: bool = False  # StarGAN: each file a row of every single-domain change

    def as_dict(self) -> dict[str, Any]:
        """``ganas translate --json``: out, images, and direction (pix2pix, CycleGAN) or
        target / grid (StarGAN)."""
        d: dict[str, Any] = {"out": str(self.out_dir), "images": len(self.files)}
        if self.direction is not None:
            d["direction"] = self.direction
        else:
            d.update({"target": self.target, "grid": self.grid})
        return d


def translate(run_dir: str | Path, input_dir: str | Path, out_dir: str | Path, direction: str | None = None,
              device: str = "auto", seed: int = 0, progress: bool = True, target: str | None = None,
              grid: bool = False) -> Translated:
    """Every image of ``input_dir`` translated by the run's generator into ``out_dir``,
    same file names, each at its own size (padded to what the network needs, cropped
    back). ``direction``: AtoB or BtoA (default: the run's own). A multi-domain run
    (StarGAN) takes ``target`` domain names or ``grid`` instead
    (``workflows.attributes.translate_domains``)."""
    from ..gan.image_translation import TranslationMethod
    from ..gan.translate import translate_folder
    from .attributes import is_multi_domain, translate_domains
    from .gan import load_run

    if direction not in (None, "AtoB", "BtoA"):
        raise ConfigError(f"--direction {direction!r}: use AtoB or BtoA")
    name, method, _ = load_run(run_dir, device)
    if is_multi_domain(method):
        if direction is not None:
            raise ConfigError(f"--direction is for pix2pix/CycleGAN; {run_dir} holds a multi-domain {name!r} run: "
                              f"give --target DOMAIN[,DOMAIN...] (valid: {', '.join(method.names)}) or --grid")
        files = translate_domains(method, input_dir, out_dir, target=target, grid=grid, progress=progress, seed=seed)
        return Translated(Path(run_dir), Path(out_dir), files, None, target, grid)
    if not isinstance(method, TranslationMethod):
        raise ConfigError(f"translate needs an image-to-image method (pix2pix, cyclegan, stargan); {run_dir} "
                          f"holds {name!r}")
    if target is not None or grid:
        raise ConfigError(f"--target and --grid are for multi-domain runs (stargan); {run_dir} holds a {name!r} "
                          "run, which translates one way: use --direction AtoB/BtoA (cyclegan) or no option")
    if direction == "BtoA" and name == "pix2pix":
        raise ConfigError("pix2pix has one generator (its direction is set at training: --set direction=BtoA); "
                          "--direction BtoA needs cyclegan")
    files = translate_folder(method, input_dir, out_dir, direction=direction, progress=progress, seed=seed)
    return Translated(Path(run_dir), Path(out_dir), files, direction or getattr(method.config, "direction", "AtoB"))


def import_junyanz(file: str | Path, method: str, out_dir: str | Path,
                   overrides: Mapping[str, Any] | None = None) -> Path:
    """A run directory holding the generator saved by junyanz/pytorch-CycleGAN-and-pix2pix
    (``latest_net_G.pth``, ``latest_net_G_A.pth``) as a step-0 checkpoint that
    ``ganas translate`` reads. Returns the checkpoint written."""
    from ..gan.junyanz_import import import_junyanz as build, imported_payload
    from ..train.checkpoint import save_checkpoint

    out = Path(out_dir)
    if (out / layout.CHECKPOINTS).exists() and any((out / layout.CHECKPOINTS).iterdir()):
        raise ConfigError(f"--out {out} already holds a run; choose an empty folder")
    m = build(file, method, overrides)
    m.configure_optimizers()
    return save_checkpoint(layout.checkpoint_file(out, 0), imported_payload(m, method, file))


def translation_triples(method: Any, device: Any) -> tuple[Callable[[dict[str, Any]], tuple[Any, Any, Any]], str]:
    """``(fn, target)``: ``fn(batch) -> (inputs, translations, targets)`` of a test batch,
    and the field the translations imitate. pix2pix: its configured direction; CycleGAN:
    A -> B, against the hidden true pair ``B_true`` where the data keep one."""
    pix2pix = hasattr(method, "input_target")

    def fn(batch: dict[str, Any]) -> tuple[Any, Any, Any]:
        if pix2pix:
            x, y = method.input_target(batch)
            return x, method.translate(x.to(device)), y
        return batch["A"], method.translate(batch["A"].to(device), "AtoB"), batch.get("B_true", batch["B"])

    return fn, ("B" if method.config.direction == "AtoB" else "A") if pix2pix else "B"


def evaluate_paired(method: Any, data: str, device: str = "auto", max_items: int | None = None,
                    batch_size: int = 8, *, features: str = "selfsup", weights: str | None = None,
                    seed: int = 0, config: Any = None) -> dict[str, Any]:
    """The evaluation of a translation method on the data's test split
    (``metrics.translation.evaluate_translation``): L1, PSNR, SSIM (scikit-image) and the
    sharpness ratio against the true targets, FD of the translations against the real
    targets with its floor at matched sizes (``features``: self-supervised features of
    the target domain, or ``inception`` with ``weights``), and on the built-in tasks the
    shape and colour classifiers' accuracy on the translations (and on the real targets).
    Targets as ``translation_triples``; without true pairs (an ``unaligned:`` test split) FD
    alone. ``config``: a ``TranslationEvalConfig`` (it then replaces ``features``,
    ``weights``, ``seed`` and ``batch_size``)."""
    from ..metrics.translation import TranslationEvalConfig, evaluate_translation
    from ..train.config import resolve_device
    from .gan import data_options

    dev = resolve_device(device)
    method.to(dev).eval()
    if config is None:
        config = TranslationEvalConfig(features=features, seed=seed, batch_size=batch_size,
                                       extractor_options={"weights": weights} if weights else {})
    fn, target = translation_triples(method, dev)
    opts = data_options(type(method), method.config)
    return evaluate_translation(lambda b: fn(b)[1:], data, opts, target, device=dev,
                                paired=True if method.evaluation == "paired" else None, max_items=max_items,
                                config=config)


def write_eval(run_dir: Path, step: Any, result: Mapping[str, Any]) -> Path:
    from ..fileio import atomic_write_text

    path = Path(run_dir) / layout.EVAL
    atomic_write_text(path, json.dumps({"step": step, **result}, indent=2))
    return path
