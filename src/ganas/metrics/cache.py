"""The content-keyed cache of the metric feature networks (the classifier and the
self-supervised extractor).

A cache file is named after a hash of its *key*: everything the network depends on --
the dataset's resolved contents (``dataset_fingerprint``: its files with sizes and
modification times, or a hash of its in-memory images; its labels and class names), the
resolution, channel count, training recipe and the ganas version. Two folders reached by
the same relative spec from different working directories therefore get different
networks, and a folder whose files change gets a new one.

A file holds only tensors and plain values (loaded with ``torch.load(weights_only=True)``)
plus a SHA-256 digest of both, so a modified or truncated file is refused with
``CheckpointError``. The cache directory is ``cache_dir`` when given, else
``$GANAS_CACHE/<kind>``, else ``~/.cache/ganas/<kind>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from .. import __version__
from ..errors import CheckpointError
from ..fileio import atomic_write
from ..train.supervised import dataset_labels


def default_cache_dir(kind: str) -> Path:
    root = os.environ.get("GANAS_CACHE")
    return Path(root) / kind if root else Path.home() / ".cache" / "ganas" / kind


def resolve_cache_dir(cache_dir: Optional[str | Path], kind: str) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir(kind)


def _update_array(h: Any, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype}|{a.shape}|".encode())
    h.update(a.tobytes())


def dataset_fingerprint(ds: Any) -> dict[str, Any]:
    """What identifies a dataset's contents, cheaply where the dataset allows it:

    - ``files`` (image folders): each file's absolute path, size and mtime (ns);
    - ``images`` as a numpy array (digits, MNIST, CIFAR-10): a hash of the array;
    - other ``ImageDataset`` subclasses (procedural, e.g. ``shapes``): the class, spec and
      params (the ganas version in the key covers the rendering code);
    - anything else: a hash of every item's image and label (small in-memory datasets).

    Labels (when the dataset exposes them) and class names are always included.
    """
    h = hashlib.sha256()
    n = len(ds)
    files = getattr(ds, "files", None)
    images = getattr(ds, "images", None)
    if files is not None and len(files) == n:
        kind = "files"
        for f in files:
            st = os.stat(f)
            h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    elif isinstance(images, np.ndarray) and len(images) == n:
        kind = "array"
        _update_array(h, images)
    elif hasattr(ds, "targets") and hasattr(ds, "params") and hasattr(ds, "spec"):
        kind = "procedural"
        h.update(f"{type(ds).__module__}.{type(ds).__qualname__}|{ds.spec}|{ds.params!r}".encode())
    else:
        kind = "items"
        for i in range(n):
            item = ds[i]
            _update_array(h, item["image"].detach().cpu().float().numpy())
            h.update(f"|{int(item['label'])}\n".encode())
    labels = dataset_labels(ds)
    if labels is not None:
        _update_array(h, labels)
    h.update(json.dumps([str(c) for c in (getattr(ds, "class_names", None) or [])]).encode())
    return {"kind": kind, "n": n, "sha256": h.hexdigest()}


def base_key(fmt: str, version: int, spec: str, image_size: int, channels: int) -> dict[str, Any]:
    """The fields every cache key has (callers add the data fingerprints and the recipe)."""
    return {
        "format": fmt,
        "version": version,
        "ganas": __version__,
        "spec": spec,
        "image_size": int(image_size),
        "channels": int(channels),
    }


def cache_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    """``<cache_dir>/<dataset name>-<size>px-<channels>ch-<hash of key>.pt``."""
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    spec = key["spec"]
    slug = re.sub(r"[^A-Za-z0-9]+", "_", Path(spec.split("?")[0]).name if ":" not in spec else spec.split(":")[0])
    return cache_dir / f"{slug.strip('_')[:40]}-{key['image_size']}px-{key['channels']}ch-{h}.pt"


def _digest(meta: dict[str, Any], state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_network(path: Path, model: torch.nn.Module, meta: dict[str, Any]) -> None:
    """Write ``{"meta", "state_dict", "digest"}`` atomically (``ganas.fileio.atomic_write``)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"meta": meta, "state_dict": state, "digest": _digest(meta, state)}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_network(
    path: Path, fmt: str, what: str, key: Optional[dict[str, Any]] = None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of a cache file (``weights_only=True``), refusing files that fail
    the digest, are not of format ``fmt`` or whose stored key differs from ``key``."""
    hint = f"delete {path} to retrain it"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or a pickle with disallowed objects
        raise CheckpointError(f"{what} cache {path} cannot be loaded safely ({type(e).__name__}: {e}); {hint}") from e
    if not (isinstance(payload, dict) and {"meta", "state_dict", "digest"} <= payload.keys()):
        raise CheckpointError(f"{what} cache {path} is not a ganas {what} file; {hint}")
    meta, state = payload["meta"], payload["state_dict"]
    if not (isinstance(meta, dict) and isinstance(state, dict) and isinstance(meta.get("key"), dict)) or (
        meta["key"].get("format") != fmt
    ):
        raise CheckpointError(f"{what} cache {path} is not a ganas {what} file; {hint}")
    if _digest(meta, state) != payload["digest"]:
        raise CheckpointError(f"{what} cache {path} was modified or corrupted (digest mismatch); {hint}")
    if key is not None and meta["key"] != key:
        raise CheckpointError(f"{what} cache {path} holds a different {what} ({meta['key']}); {hint}")
    return meta, state


def load_or_fit(path: Optional[Path], fmt: str, what: str, key: dict[str, Any],
                build: Callable[[], torch.nn.Module],
                fit: Callable[[], tuple[torch.nn.Module, dict[str, Any]]]) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network of cache file ``path``: ``build()`` loaded with its weights when the
    file exists (``load_network``: digest, format and ``key`` checked), else ``fit()``'s
    network, saved to ``path`` (None: no cache) with ``{"key": key, **extra}``. Returns
    the network and its meta."""
    if path is not None and path.exists():
        meta, state = load_network(path, fmt, what, key)
        model = build()
        model.load_state_dict(state)
        return model, meta
    model, extra = fit()
    meta = {"key": key, **extra}
    if path is not None:
        save_network(path, model, meta)
    return model, meta
