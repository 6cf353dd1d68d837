"""Generators trained by junyanz/pytorch-CycleGAN-and-pix2pix, loaded into ours.

The reference saves ``net.state_dict()`` (``latest_net_G.pth`` for pix2pix,
``latest_net_G_A.pth`` / ``latest_net_G_B.pth`` for CycleGAN; a ``module.`` prefix when
saved from ``DataParallel``, which we strip). ``import_junyanz`` reads one with
``torch.load(weights_only=True)``, infers the architecture from the keys and shapes
(U-Net depth, ResNet blocks, ngf, channels, norm), builds our method with that config
and loads the converted weights (strictly: any key left over or missing is an error).

Key mapping, reference -> ours (``P_i`` is the Sequential of the ``i``-th nested
``UnetSkipConnectionBlock``, 0 = outermost, n - 1 = innermost: ``P_0 = "model.model."``,
``P_1 = "model.model.1.model."``, ``P_i = P_1 + "3.model." * (i - 1)``, since the
outermost block holds its submodule at index 1 and the others at index 3; ``nb`` =
number of residual blocks):

U-Net (``UnetGenerator`` -> ``nets.unet.UNetGenerator``)::

    P_0 + "0"   -> down.0.conv            P_0 + "3"   -> up.0.conv
    P_i + "1"   -> down.i.conv            P_i + "2"   -> down.i.norm     (0 < i < n-1)
    P_i + "5"   -> up.i.conv              P_i + "6"   -> up.i.norm       (0 < i < n-1)
    P_n-1 + "1" -> down.{n-1}.conv        P_n-1 + "3" -> up.{n-1}.conv   P_n-1 + "4" -> up.{n-1}.norm

ResNet (``ResnetGenerator`` -> ``nets.resnet_gen.ResnetGenerator``)::

    model.1, model.2             -> stem.1, stem.2         (7x7 conv, norm)
    model.4, model.5             -> down.0.0, down.0.1     (stride-2 conv, norm)
    model.7, model.8             -> down.1.0, down.1.1
    model.{10+b}.conv_block.k    -> blocks.b.body.k        (b < nb; same k)
    model.{10+nb}, model.{11+nb} -> up.0.0, up.0.1         (transposed conv, norm)
    model.{13+nb}, model.{14+nb} -> up.1.0, up.1.1
    model.{17+nb}                -> head.1                 (7x7 output conv)

each followed by the parameter or buffer name (``weight``, ``bias``, ``running_mean``,
``running_var``, ``num_batches_tracked``). Old instance-norm checkpoints carry
running statistics our (and today's reference's) ``InstanceNorm2d(track_running_stats=False)``
does not have; they are dropped, as the reference's ``__patch_instance_norm_state_dict``.
Dropout has no weights: pix2pix imports keep ``use_dropout=True`` (the reference's
default) unless ``--set use_dropout=false``.
"""

from __future__ import annotations


import re
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from ..config import to_dict
from ..errors import CheckpointError, ConfigError
from ..nets.resnet_gen import ResnetGenerator
from ..nets.unet import UNetGenerator
from . import create_method
from .base import GANMethod

_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _unet_prefix(i: int) -> str:
    """The Sequential of nested block ``i``: the outermost holds its submodule at index
    1, every middle block at index 3."""
    return "model.model." if i == 0 else "model.model.1.model." + "3.model." * (i - 1)


def unet_key_map(g: UNetGenerator) -> dict[str, str]:
    """Our module prefix -> the reference's, for a U-Net."""
    n = g.num_downs
    m: dict[str, str] = {}
    for i in range(n):
        p = _unet_prefix(i)
        if i == 0:
            m.update({"down.0.conv": p + "0", "up.0.conv": p + "3"})
        elif i == n - 1:
            m.update({f"down.{i}.conv": p + "1", f"up.{i}.conv": p + "3", f"up.{i}.norm": p + "4"})
        else:
            m.update({f"down.{i}.conv": p + "1", f"down.{i}.norm": p + "2",
                      f"up.{i}.conv": p + "5", f"up.{i}.norm": p + "6"})
    return m


def resnet_key_map(g: ResnetGenerator) -> dict[str, str]:
    """Our module prefix -> the reference's, for a ResNet generator."""
    nb = g.n_blocks
    m = {"stem.1": "model.1", "stem.2": "model.2", "down.0.0": "model.4", "down.0.1": "model.5",
         "down.1.0": "model.7", "down.1.1": "model.8", "up.0.0": f"model.{10 + nb}",
         "up.0.1": f"model.{11 + nb}", "up.1.0": f"model.{13 + nb}", "up.1.1": f"model.{14 + nb}",
         "head.1": f"model.{17 + nb}"}
    for b in range(nb):
        for k, _ in g.blocks[b].body.named_children():
            m[f"blocks.{b}.body.{k}"] = f"model.{10 + b}.conv_block.{k}"
    return m


def key_map(g: nn.Module) -> dict[str, str]:
    if isinstance(g, UNetGenerator):
        return unet_key_map(g)
    if isinstance(g, ResnetGenerator):
        return resnet_key_map(g)
    raise ConfigError(f"no reference key mapping for {type(g).__name__}")


def convert_state_dict(sd: Mapping[str, torch.Tensor], g: nn.Module, source: str = "state dict") -> dict[str, torch.Tensor]:
    """The reference's generator state dict -> ours for ``g`` (strict on every key)."""
    theirs = {v: k for k, v in key_map(g).items()}
    ours = g.state_dict()
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in sd.items():
        prefix, _, name = key.rpartition(".")
        mine = theirs.get(prefix)
        target = f"{mine}.{name}" if mine is not None else None
        if target is None or target not in ours:
            if name in _STATS and target is not None:  # instance-norm stats of old checkpoints
                continue
            unknown.append(key)
            continue
        if tuple(value.shape) != tuple(ours[target].shape):
            raise CheckpointError(f"{source}: {key} has shape {tuple(value.shape)}, expected {tuple(ours[target].shape)}")
        out[target] = value
    missing = sorted(set(ours) - set(out))
    if unknown or missing:
        inv = key_map(g)
        raise CheckpointError(
            f"{source}: does not match the inferred generator: unexpected keys {unknown[:5]}"
            f"{'...' if len(unknown) > 5 else ''}, missing {[_theirs(k, inv) for k in missing[:5]]}"
        )
    return out


def _theirs(key: str, inv: Mapping[str, str]) -> str:
    prefix, _, name = key.rpartition(".")
    return f"{inv.get(prefix, prefix)}.{name}"


def load_reference_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict saved by the reference (``weights_only=True``; ``module.`` stripped)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: file not found")
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, truncated files, foreign formats
        raise CheckpointError(f"{p}: cannot be read as a state dict with weights_only=True ({str(e).splitlines()[0]})") from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{p}: not a generator state dict (expected a dict of tensors, as latest_net_G.pth)")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def _norm(sd: Mapping[str, torch.Tensor], norm_prefix: str, conv_prefix: str) -> str:
    if f"{norm_prefix}.weight" in sd:
        return "batch"
    return "instance" if f"{conv_prefix}.bias" in sd else "none"


def infer_architecture(sd: Mapping[str, torch.Tensor], source: str = "state dict") -> tuple[str, dict[str, Any]]:
    """``("unet" | "resnet", config overrides)`` from the reference's keys and shapes."""
    if "model.model.0.weight" in sd:
        n = 1
        while any(k.startswith(_unet_prefix(n)) for k in sd):
            n += 1
        w0, wout = sd["model.model.0.weight"], sd["model.model.3.weight"]  # conv (o, i, k, k); convT (i, o, k, k)
        norm = _norm(sd, _unet_prefix(1) + "2", _unet_prefix(1) + "1") if n > 2 else "batch"
        return "unet", {"num_downs": n, "image_size": 2**n, "ngf": w0.shape[0], "input_nc": w0.shape[1],
                        "output_nc": wout.shape[1], "norm": norm}
    blocks = sorted({int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    if "model.1.weight" in sd and (blocks or "model.10.weight" in sd):
        nb = len(blocks)
        w0, wout = sd["model.1.weight"], sd[f"model.{17 + nb}.weight"]
        dropout = any(re.match(r"model\.\d+\.conv_block\.6\.weight", k) for k in sd) and \
            not any(re.match(r"model\.\d+\.conv_block\.5\.weight", k) for k in sd)
        return "resnet", {"n_blocks": nb, "image_size": 256 if nb >= 9 else 128, "ngf": w0.shape[0],
                          "input_nc": w0.shape[1], "output_nc": wout.shape[0], "norm": _norm(sd, "model.2", "model.1"),
                          "use_dropout": dropout}
    raise CheckpointError(f"{source}: neither a reference U-Net (model.model.0.weight) nor a ResNet generator (model.1.weight)")


def import_junyanz(path: str | Path, method: str, overrides: Mapping[str, Any] | None = None,
                   into: str | None = None) -> GANMethod:
    """Our ``method`` ("pix2pix" or "cyclegan") holding the reference generator of
    ``path``: pix2pix's ``G``; CycleGAN's ``G_A`` (or ``G_B`` when the file name holds
    ``G_B``, or ``into="G_B"``). ``overrides`` (``--set``) go over the inferred config."""
    sd = load_reference_state_dict(path)
    kind, arch = infer_architecture(sd, str(path))
    if method == "pix2pix":
        if kind != "unet":
            raise CheckpointError(f"{path}: a {kind} generator; pix2pix imports U-Nets (use --method cyclegan)")
        into = into or "G"
        cfg: dict[str, Any] = dict(arch)
    elif method == "cyclegan":
        if kind != "resnet":
            raise CheckpointError(f"{path}: a {kind} generator; cyclegan imports ResNet generators (use --method pix2pix)")
        into = into or ("G_B" if "G_B" in Path(path).name else "G_A")
        cfg = dict(arch)
        if into == "G_B":  # G_B maps B -> A: its input channels are domain B's
            cfg["input_nc"], cfg["output_nc"] = arch["output_nc"], arch["input_nc"]
        if cfg["input_nc"] != cfg["output_nc"]:
            cfg["lambda_identity"] = 0.0
    else:
        raise ConfigError(f"--method {method!r}: junyanz import supports pix2pix, cyclegan")
    cfg.update(overrides or {})
    m = create_method(method, cfg)
    nets = m.networks()
    if into not in nets:
        raise ConfigError(f"into={into!r}: {method} generators are {', '.join(k for k in nets if k.startswith('G'))}")
    nets[into].load_state_dict(convert_state_dict(sd, nets[into], str(path)))
    return m


def imported_payload(m: GANMethod, method: str, source: str | Path) -> dict[str, Any]:
    """A step-0 checkpoint payload (the trainer's fields) for a run ``ganas translate``
    reads; the lead's CLI writes it with ``train.checkpoint.save_checkpoint``."""
    from ..train.checkpoint import FORMAT

    return {"format": FORMAT, "method": method, "config": to_dict(m.config), "step": 0,
            "model": m.state_dict(), "optimizers": {k: o.state_dict() for k, o in m.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in m.schedulers.items()},
            "imported_from": str(source), "data": {}, "train": {}}


__all__ = ["convert_state_dict", "import_junyanz", "imported_payload", "infer_architecture", "key_map",
           "load_reference_state_dict", "resnet_key_map", "unet_key_map"]

