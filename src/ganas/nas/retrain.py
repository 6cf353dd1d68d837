"""After a search: retrain the chosen architecture from scratch, export it, load it back.

- ``retrain``: train on the training split (all of it, or minus a validation carve-out)
  with the same recipe as search-time children (``evaluators.common.TrainSettings``) but
  usually longer, then report TEST accuracy -- the only place ganas reads a test split in
  NAS. The data spec may differ from the search's (transfer, as NASNet moved CIFAR-10
  cells to ImageNet).
- ``export``: ``.py`` -> the space's standalone source (torch only, no ganas import);
  ``.pt`` -> a checkpoint of plain data (space name, settings, architecture string,
  input shape, class count, state dict), loadable with ``torch.load(weights_only=True)``.
- ``load_exported``: the network back from either file.
- ``best_from_search``: (space, arch) of a search run directory (``search.yaml`` +
  ``best.json``, or the best line of ``journal.jsonl``; file names from ``ganas.layout``).
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import to_dict
from ..fileio import atomic_write, atomic_write_text, read_jsonl
from ..errors import CheckpointError, ConfigError, DataError
from ..layout import BEST, JOURNAL, SEARCH_CONFIG, read_search_config
from .base import Arch, SearchSpace
from ..train.config import resolve_device
from .evaluators.common import accuracy, carve_validation, fit_and_score, load_split, make_settings
from .best import running_best

EXPORT_FORMAT = "ganas-nas-export"
EXPORT_VERSION = 1


def _space_settings(space: SearchSpace) -> dict[str, Any]:
    get = getattr(space, "settings_dict", None)
    return dict(get()) if callable(get) else {}


def _make_space(name: str, settings: dict[str, Any] | None) -> SearchSpace:
    from .spaces import make_space  # registers every space

    return make_space(name, settings or {})


def retrain(
    space: SearchSpace,
    arch: Arch,
    data_spec: str,
    epochs: int = 12,
    seed: int = 0,
    val_fraction: float = 0.0,
    out_file: str | Path | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train ``arch`` from scratch on ``data_spec``'s training split and test it.

    ``val_fraction`` > 0 holds out that share of the training split (same carve-out as the
    train evaluator) and also reports ``val_acc``. ``out_file`` (``.pt``) saves the
    trained weights with ``export``. ``options`` are ``TrainSettings`` fields (batch_size,
    optimizer, lr, image_size, channels, device, max_train, max_test...). Accuracies in
    the result are percentages.
    """
    arch = tuple(arch)
    space.validate(arch)
    st = make_settings({"data_spec": data_spec, "epochs": epochs, "val_fraction": val_fraction, **options})
    if out_file is not None and Path(out_file).suffix != ".pt":
        raise ConfigError(f"retrain: out_file {str(out_file)!r} must end in .pt (trained weights); use export for .py")
    full = load_split(data_spec, "train", st.image_size, st.channels, st.max_train, st.split_seed)
    train, val = carve_validation(full, st.val_fraction, st.split_seed)
    test = load_split(data_spec, "test", st.image_size, st.channels, st.max_test, st.split_seed)
    if test.num_classes != train.num_classes:
        raise DataError(f"data spec {data_spec!r}: train has {train.num_classes} classes, test {test.num_classes}")
    model, r = fit_and_score(lambda: space.build(arch, st.input_shape, train.num_classes), train, test, st, seed)
    result: dict[str, Any] = {
        "space": space.name,
        "settings": _space_settings(space),
        "arch": space.to_string(arch),
        "data": data_spec,
        "train_settings": to_dict(st),
        "epochs": st.epochs,
        "seed": int(seed),
        "train_items": len(train),
        "test_items": len(test),
        "test_acc": 100.0 * r["acc"],
        "val_acc": None if val is None else 100.0 * accuracy(model, val, resolve_device(st.device)),
        "train_loss": r["train_loss"],
        "params": int(r["params"]),
        "flops": int(r["flops"]),
        "seconds": r["seconds"],
    }
    if out_file is not None:
        metrics = {k: result[k] for k in ("test_acc", "val_acc", "data", "epochs", "seed") if result[k] is not None}
        export(space, arch, out_file, st.input_shape, train.num_classes, model=model, metrics=metrics)
        result["out_file"] = str(out_file)
    return result


def export(
    space: SearchSpace,
    arch: Arch,
    out_file: str | Path,
    input_shape: tuple[int, int, int],
    num_classes: int,
    model: nn.Module | None = None,
    metrics: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write ``arch`` as ``.py`` (standalone source, untrained) or ``.pt`` (checkpoint of
    ``model``'s weights; a freshly initialised network seeded by ``seed`` when None)."""
    out = Path(out_file)
    arch = tuple(arch)
    space.validate(arch)
    shape = tuple(int(x) for x in input_shape)
    if out.suffix == ".py":
        if model is not None:
            raise ConfigError(f"export {out}: a .py file holds the architecture only; use .pt to keep trained weights")
        source = getattr(space, "export_source", None)
        if not callable(source):
            raise ConfigError(f"export {out}: space {space.name!r} cannot export source; use .pt")
        atomic_write_text(out, source(arch, shape, int(num_classes)))
    elif out.suffix == ".pt":
        if model is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                model = space.build(arch, shape, int(num_classes))  # type: ignore[arg-type]
        ckpt = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "space": space.name,
            "settings": _space_settings(space),
            "arch": space.to_string(arch),
            "input_shape": list(shape),
            "num_classes": int(num_classes),
            "metrics": dict(metrics or {}),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        }
        atomic_write(out, lambda f: torch.save(ckpt, f))
    else:
        raise ConfigError(f"export: {str(out)!r} must end in .py (source) or .pt (checkpoint)")
    return out


def load_exported(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The network from an ``export`` file and its description (everything but weights).

    ``.pt``: loaded with ``weights_only=True`` and rebuilt through the space registry
    (weights loaded strictly). ``.py``: imported and ``build_model()`` called -- this runs
    the file's code, so only load ``.py`` files you trust (as with any Python import).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: file not found")
    if p.suffix == ".py":
        mod_spec = importlib.util.spec_from_file_location(f"ganas_exported_{uuid.uuid4().hex}", p)
        if mod_spec is None or mod_spec.loader is None:
            raise CheckpointError(f"{p}: cannot import")
        mod = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(mod)
        if not callable(getattr(mod, "build_model", None)):
            raise CheckpointError(f"{p}: no build_model() function (not a ganas export)")
        info = {"input_shape": list(getattr(mod, "INPUT_SHAPE", ())), "num_classes": getattr(mod, "NUM_CLASSES", None)}
        return mod.build_model(), info
    if p.suffix != ".pt":
        raise CheckpointError(f"{p}: expected a .py or .pt export")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated file, not a torch file, disallowed (pickled) objects
        raise CheckpointError(f"{p}: cannot load safely with weights_only=True ({e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != EXPORT_FORMAT:
        raise CheckpointError(f"{p}: not a ganas NAS export (no format {EXPORT_FORMAT!r})")
    missing = [k for k in ("space", "settings", "arch", "input_shape", "num_classes", "state_dict") if k not in ckpt]
    if missing:
        raise CheckpointError(f"{p}: missing key(s) {', '.join(missing)}")
    space = _make_space(ckpt["space"], ckpt["settings"])
    try:
        arch = space.from_string(ckpt["arch"])
        model = space.build(arch, tuple(ckpt["input_shape"]), int(ckpt["num_classes"]))
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except (ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{p}: does not match space {ckpt['space']!r} arch {ckpt['arch']!r} ({e})") from None
    info = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model, info


def best_from_search(run_dir: str | Path) -> tuple[SearchSpace, Arch]:
    """(space, best arch) of a search run directory.

    Reads the space from ``search.yaml`` (``space: NAME`` or ``space: {name, settings}``,
    settings also under ``space_settings``/``settings``) and the architecture string from
    ``best.json`` (``arch`` or ``best.arch``); without ``best.json``, the highest-reward
    line of ``journal.jsonl`` (a torn last line is skipped).
    """
    d = Path(run_dir)
    cfg_file = d / SEARCH_CONFIG
    cfg = read_search_config(d)
    if "space" not in cfg:
        raise DataError(f"{cfg_file}: no 'space' key")
    sp = cfg["space"]
    if isinstance(sp, dict):
        name, settings = sp.get("name"), sp.get("settings") or {}
    else:
        name, settings = sp, cfg.get("space_settings") or cfg.get("settings") or {}
    if not isinstance(name, str) or not isinstance(settings, dict):
        raise DataError(f"{cfg_file}: 'space' must be a name or {{name, settings}}, got {sp!r}")
    space = _make_space(name, settings)
    arch_str = _best_arch_string(d)
    try:
        return space, space.from_string(arch_str)
    except ValueError as e:
        raise DataError(f"{d}: best architecture {arch_str!r} is not in space {name!r} ({e})") from None


def _best_arch_string(d: Path) -> str:
    best = d / BEST
    if best.is_file():
        try:
            data = json.loads(best.read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"{best}: not valid JSON ({e})") from None
        if isinstance(data, dict):
            arch = data.get("arch", (data.get("best") or {}).get("arch") if isinstance(data.get("best"), dict) else None)
            if isinstance(arch, str):
                return arch
        raise DataError(f"{best}: no 'arch' string")
    journal = d / JOURNAL
    if not journal.is_file():
        raise DataError(f"{d}: neither best.json nor journal.jsonl found")
    found: list[tuple[float, str]] = []
    for rec in read_jsonl(journal):  # a torn last line is skipped
        try:
            r, a = float(rec["reward"]), rec["arch"]
        except (KeyError, TypeError, ValueError):
            continue  # a foreign line
        if isinstance(a, str):
            found.append((r, a))
    at = running_best([r for r, _ in found])[-1] if found else -1
    if at < 0:
        raise DataError(f"{journal}: no evaluated architecture")
    return found[at][1]
