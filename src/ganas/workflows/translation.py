"""Workflows of the translation methods (pix2pix, CycleGAN; StarGAN's ``--target``/``--grid``
through ``workflows.attributes``): translate a folder, import
a generator trained by the reference code, and the paired evaluation. Typed arguments
in, plain results out; the CLI prints them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

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


def evaluate_paired(method: Any, data: str, device: str = "auto", max_items: int | None = None,
                    batch_size: int = 8) -> dict[str, Any]:
    """L1, PSNR, SSIM (scikit-image) and the sharpness ratio (high-frequency energy of the
    outputs against the targets') on the data's test split. The target is ``B`` for
    paired data and the hidden true pair ``B_true`` of the built-in unpaired tasks."""
    import torch

    from ..data import make_dataset
    from ..metrics.image_quality import PairedImageMetrics
    from ..train.config import resolve_device
    from .gan import data_options

    ds = make_dataset(data, "test", data_options(type(method), method.config))
    dev = resolve_device(device)
    method.to(dev).eval()
    metrics = PairedImageMetrics()
    n = len(ds) if max_items is None else min(len(ds), max_items)
    if n == 0:
        raise ConfigError(f"--data {data!r}: the test split is empty")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # test-time dropout noise (pix2pix) fixed
        for b in range(0, n, batch_size):
            items = [ds[i] for i in range(b, min(n, b + batch_size))]
            batch = {k: torch.stack([it[k] for it in items]) for k in ("A", "B", "B_true") if k in items[0]}
            if hasattr(method, "input_target"):  # pix2pix: its configured direction
                x, y = method.input_target(batch)
                fake = method.translate(x.to(dev))
            else:  # cyclegan: A -> B against the true pair when the data keeps one
                x, y = batch["A"], batch.get("B_true", batch["B"])
                fake = method.translate(x.to(dev), "AtoB")
            metrics.update(fake.float().cpu(), y.float())
    out = dict(metrics.compute())
    out["n"] = int(out["n"])
    return out


def write_eval(run_dir: Path, step: Any, result: Mapping[str, Any]) -> Path:
    from ..fileio import atomic_write_text

    path = Path(run_dir) / layout.EVAL
    atomic_write_text(path, json.dumps({"step": step, **result}, indent=2))
    return path
